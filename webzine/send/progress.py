"""Progress of a send as plain lines, for output that is not a terminal (a CI log).

A terminal gets the rich progress bar; a log gets one line every `every_seconds` or every
`every_percent` of the list, whichever comes first, so a long scheduled send is never silent.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from webzine.i18n import _
from webzine.send.dispatch import SendSummary
from webzine.send.pacing import Clock


def duration(seconds: float) -> str:
    """A remaining time as a person reads it: "45 s", "3 min 20 s", "1 h 39 min"."""
    whole = int(seconds)
    if whole < 60:
        return _("{seconds} s").format(seconds=whole)
    if whole < 3600:
        return _("{minutes} min {seconds} s").format(minutes=whole // 60, seconds=whole % 60)
    return _("{hours} h {minutes} min").format(hours=whole // 3600, minutes=whole % 3600 // 60)


class ProgressLines:
    """The send's progress callback (`Sender(progress=…)`) that writes a line now and then."""

    def __init__(self, issue: str, total: int, write: Callable[[str], object], *, every_seconds: float = 10,
                 every_percent: float = 10, clock: Clock = time.monotonic) -> None:
        self._issue = issue
        self._total = max(1, total)
        self._write = write
        self._every_seconds = every_seconds
        self._every_percent = every_percent
        self._clock = clock
        self._started = self._last_time = clock()
        self._last_step = 0

    def __call__(self, seen: int, summary: SendSummary) -> None:
        now = self._clock()
        step = int(seen * 100 / self._total // self._every_percent) if self._every_percent else 0
        if step <= self._last_step and now - self._last_time < self._every_seconds:
            return
        self._last_step, self._last_time = max(step, self._last_step), now
        self._write(self.line(seen, summary, now - self._started))

    def line(self, seen: int, summary: SendSummary, elapsed: float) -> str:
        rate = (summary.accepted + summary.failed) / elapsed if elapsed > 0 else 0.0
        pace = seen / elapsed if elapsed > 0 else 0.0
        left = max(0, self._total - seen)
        eta = duration(left / pace) if pace else _("unknown")
        return _("sending {issue}: {seen}/{total} ({percent}%), {accepted} sent, {failed} failed, {deferred} deferred, "
                 "{rate} msg/s, ETA {eta}").format(
            issue=self._issue, seen=f"{seen:,}", total=f"{self._total:,}", percent=seen * 100 // self._total,
            accepted=f"{summary.accepted:,}", failed=f"{summary.failed:,}", deferred=f"{summary.deferred:,}",
            rate=f"{rate:,.1f}", eta=eta)
