"""Progress lines for a send whose output is not a terminal (CI logs): what is printed and when."""

from __future__ import annotations

from webzine.i18n import activate
from webzine.send.dispatch import SendSummary
from webzine.send.progress import ProgressLines


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def lines_for(steps: list[tuple[float, int, int]], *, total: int = 1000, every_seconds: float = 10,
              every_percent: float = 10) -> list[str]:
    """(seconds since start, recipients seen, accepted) at each call → the lines written."""
    clock, written = Clock(), []
    progress = ProgressLines("2026-12-year-end", total, written.append, every_seconds=every_seconds,
                             every_percent=every_percent, clock=clock)
    for seconds, seen, accepted in steps:
        clock.now = 500.0 + seconds
        progress(seen, SendSummary("2026-12-year-end", "smtp", accepted=accepted, failed=2, deferred=1))
    return written


def test_a_line_every_ten_percent_with_counts_rate_and_eta() -> None:
    steps = [(t / 10, t, t - 3) for t in range(0, 1001, 5)]  # 10 recipients a second, 100 s in all
    written = lines_for(steps, every_seconds=3600)
    assert len(written) == 10
    assert written[0] == ("sending 2026-12-year-end: 100/1,000 (10%), 97 sent, 2 failed, 1 deferred, "
                          "9.9 msg/s, ETA 1 min 30 s")
    assert written[-1].startswith("sending 2026-12-year-end: 1,000/1,000 (100%), 997 sent,")
    assert written[-1].endswith(", ETA 0 s")


def test_a_line_every_n_seconds_when_percent_moves_slowly() -> None:
    steps = [(float(t), t, t) for t in range(0, 61)]  # 1 a second: 1 % a minute of a 6,000 list
    written = lines_for(steps, total=6000, every_seconds=10)
    assert [line.split(": ")[1].split(" ")[0] for line in written] == [f"{n}/6,000" for n in (10, 20, 30, 40, 50, 60)]
    assert written[0].endswith("(0%), 10 sent, 2 failed, 1 deferred, 1.2 msg/s, ETA 1 h 39 min")


def test_nothing_before_the_first_step_and_the_end_once() -> None:
    written = lines_for([(0.1, 1, 1), (0.2, 2, 2), (0.3, 1000, 1000), (0.3, 1000, 1000)])
    assert len(written) == 1 and "(100%)" in written[0]


def test_the_line_in_korean() -> None:
    activate("ko")
    steps = [(t / 10, t, t - 3) for t in range(0, 1001, 5)]
    written = lines_for(steps, every_seconds=3600)
    assert written[0] == ("2026-12-year-end 발송 중: 100/1,000(10%), 발송 97건, 실패 2건, 보류 1건, "
                          "초당 9.9통, 남은 시간 1분 30초")
    assert written[-1].endswith(", 남은 시간 0초")
