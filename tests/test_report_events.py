"""The bounce events the digest and the report read (`managers.load`): parsed by polars, the same
events as the line-by-line reader gives (a number where text belongs reads as text); a file
polars cannot take goes through the line-by-line reader, and a broken line is one error naming
the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webzine.bounces.store import read_records
from webzine.errors import ListError
from webzine.managers.load import _event_from_line, _stored_events

LINES = [
    {"kind": "hard", "email": "Kim@Example.com", "issue": "2026-12", "provider": "mail", "status": "5.1.1",
     "reason": "user_unknown", "diagnostic": "550 no such user", "occurred_at": "2026-12-02T01:00:00+00:00",
     "dedupe_key": "<a>", "source": "imap", "evidence": {"x": 1}},
    {"kind": "soft", "email": "ÄRGER@example.de", "issue": None, "dedupe_key": "<b>"},  # older lines: fewer keys
]


def test_the_events_file_reads_as_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bounce-events.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in LINES), encoding="utf-8")
    events = _stored_events(path)
    assert events == read_records(path, _event_from_line, "a bounce event")
    assert [e.key for e in events] == ["kim@example.com", "ärger@example.de"]
    assert events[1].provider == "mail" and events[1].status == "" and events[1].at == ""


def test_blank_lines_and_a_number_for_text(tmp_path: Path) -> None:
    path = tmp_path / "bounce-events.jsonl"
    path.write_text("\n" + json.dumps({**LINES[0], "status": 550}) + "\n\n", encoding="utf-8")
    [event] = _stored_events(path)
    assert event.status == "550" and event.key == "kim@example.com"


def test_a_broken_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bounce-events.jsonl"
    path.write_text(json.dumps(LINES[0]) + "\n" + '{"kind": "hard"}\n', encoding="utf-8")
    with pytest.raises(ListError, match=r"bounce-events.jsonl:2: "):
        _stored_events(path)
