"""The send's sense of time: a token bucket for the rate, backoff for retries, and a watch on the
suppression list so an unsubscribe that arrives during a long send is honoured.

Clocks and sleeps are injected so tests run in simulated time.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from webzine.config import Send
from webzine.transports import REHEARSALS

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def pacing_rate(send: Send, transport: str) -> float | None:
    """Messages per second for a send through `transport`; None: unpaced. A real transport is
    paced at `[send] rate`; a rehearsal only at `[send] rehearsal_rate`, when one is set."""
    if transport in REHEARSALS:
        return send.rehearsal_rate or None
    return send.rate


class TokenBucket:
    """At most `rate` messages per second on average, bursts of at most `burst`; thread-safe.

    Waiting happens outside the lock, in slices, so a stop request is noticed within 0.2 s."""

    def __init__(self, rate: float, burst: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = threading.Lock()

    def _take(self, count: float) -> float:
        """Take `count` tokens now (going into debt) and return how long to wait for them."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= count
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, count: int = 1, stop: threading.Event | None = None) -> bool:
        """Wait for `count` tokens; False if `stop` was set while waiting (nothing may be sent)."""
        wait = self._take(count)
        deadline = self._clock() + wait
        while wait > 0:
            if stop is not None and stop.is_set():
                return False
            self._sleep(min(wait, 0.2))
            wait = deadline - self._clock()
        return not (stop is not None and stop.is_set())


def backoff(attempt: int, *, base: float = 2.0, cap: float = 300.0, hint: float | None = None,
            rng: random.Random | None = None) -> float:
    """Seconds before retry number `attempt` (1 = first retry): exponential with jitter, so that
    many deferred messages do not come back in one burst; a server's Retry-After is a floor."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    delay = ceiling * (0.5 + 0.5 * (rng or random).random())
    return max(delay, hint or 0.0)


class SuppressionWatch:
    """Answers "is this address suppressed now?", re-reading the suppression file when it changes
    (checked at most every `interval` seconds), so a long send honours an unsubscribe or bounce
    recorded after it started. `load(path)` may merge in other sources (the unsubscribe
    service's store); `also_watch` names their files, whose changes also trigger a re-read."""

    def __init__(self, path: Path, load: Callable[[Path], Mapping[str, object]], *,
                 also_watch: Sequence[Path] = (), interval: float = 5.0, clock: Clock = time.monotonic,
                 always_reload: bool = False, initial: Mapping[str, object] | None = None) -> None:
        self.path = path
        self._always = always_reload  # a source with no file to watch (a database) is re-read each interval
        self._paths = (path, *also_watch)
        self._load = load
        self._interval = interval
        self._clock = clock
        self._checked = clock()
        self._stamp = self._signature()
        self._entries = load(path) if initial is None else initial
        self.reloads = 0

    def _signature(self) -> tuple[tuple[int, int] | None, ...]:
        stamps: list[tuple[int, int] | None] = []
        for path in self._paths:
            try:
                info = os.stat(path)
            except FileNotFoundError:
                stamps.append(None)
            else:
                stamps.append((info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def refresh(self) -> bool:
        """Re-read if a watched file changed since the last look; True when it was re-read."""
        now = self._clock()
        if now - self._checked < self._interval:
            return False
        self._checked = now
        stamp = self._signature()
        if stamp == self._stamp and not self._always:
            return False
        self._entries = self._load(self.path)
        self._stamp = stamp
        self.reloads += 1
        return True

    def get(self, key: str) -> object | None:
        return self._entries.get(key)
