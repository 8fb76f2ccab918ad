"""The suppression watch re-reads its sources during a send, so a mid-send unsubscribe counts."""

from __future__ import annotations

from pathlib import Path

from webzine.send.pacing import SuppressionWatch


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_file_source_is_reread_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.csv"
    path.write_text("a")
    reads: list[str] = []
    clock = Clock()

    def load(p: Path) -> dict[str, object]:
        reads.append(p.read_text())
        return {}

    watch = SuppressionWatch(path, load, interval=5, clock=clock)
    clock.now = 6
    assert not watch.refresh() and reads == ["a"]
    path.write_text("ab")
    clock.now = 7
    assert not watch.refresh(), "checked at most every interval"
    clock.now = 12
    assert watch.refresh() and reads == ["a", "ab"]


def test_a_database_source_is_reread_every_interval(tmp_path: Path) -> None:
    """A PostgreSQL unsubscribe store has no file whose change could be noticed."""
    database = {"kim@example.com": object()}
    clock = Clock()
    watch = SuppressionWatch(tmp_path / "absent.csv", lambda _: dict(database), interval=5, clock=clock,
                             always_reload=True)  # fmt: skip
    assert watch.get("lee@example.com") is None
    database["lee@example.com"] = object()
    clock.now = 3
    assert not watch.refresh() and watch.get("lee@example.com") is None
    clock.now = 6
    assert watch.refresh() and watch.get("lee@example.com") is not None
