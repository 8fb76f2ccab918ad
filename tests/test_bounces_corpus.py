"""The shipped subset of the Sisimai corpus: one generated test per expected line.

Each line must name the right recipient, and our hard/soft call must agree with Sisimai's. The
whole corpus (611 messages) is scored by bench/bounce_accuracy.py when ../shared is present.
"""

from __future__ import annotations

import json

import pytest

from bouncekit import FIXTURES
from webzine.bounces.dsn import parse_report
from webzine.bounces.events import Kind
from webzine.bounces.kinds import MessageKind
from webzine.providers import PROVIDERS

READERS = tuple(PROVIDERS.values())  # as `webzine bounces import` reads a mailbox (SES mails JSON)
ROWS = [json.loads(line) for line in (FIXTURES / "expected.jsonl").read_text().splitlines() if line.strip()]
CLASSES = {"feedback": {Kind.COMPLAINT, Kind.UNSUBSCRIBE}, "delivered": {Kind.DELIVERED}}
AUTO_REPLY_ROWS = [row for row in ROWS if row["reason"] == "vacation"]
ROWS = [row for row in ROWS if row["reason"] != "vacation"]


def _found(row: dict):
    report = parse_report((FIXTURES / row["file"]).read_bytes(), readers=READERS)
    names = {row["recipient"].lower()} | ({row["alias"].lower()} if row.get("alias") else set())
    return report, next((f for f in report.findings if f.email.lower() in names), None)


@pytest.mark.parametrize("row", AUTO_REPLY_ROWS, ids=[r["file"][4:-4] for r in AUTO_REPLY_ROWS])
def test_an_auto_reply_is_known_by_its_kind_and_sender_and_names_no_recipient(row: dict) -> None:
    report = parse_report((FIXTURES / row["file"]).read_bytes())
    assert (report.kind, report.sender, report.findings) == (MessageKind.AUTO_REPLY, row["recipient"].lower(), ())


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['file'][4:-4]}:{r['recipient']}" for r in ROWS])
def test_recipient_and_hard_soft_agree_with_sisimai(row: dict) -> None:
    report, finding = _found(row)
    assert finding is not None, f"{row['recipient']} not in {[f.email for f in report.findings]}"
    if row["hard"] is not None:
        assert (finding.kind is Kind.HARD) == row["hard"], (finding.kind, finding.reason, finding.diagnostic)
    if row["reason"] in CLASSES:
        assert finding.kind in CLASSES[row["reason"]]


def test_the_subset_covers_many_mta_families_and_every_class() -> None:
    assert len({row["sample_group"] for row in ROWS}) >= 25
    kinds = {(_found(row)[1].kind) for row in ROWS}
    assert {Kind.HARD, Kind.SOFT, Kind.SENDER_PROBLEM, Kind.COMPLAINT, Kind.DELIVERED} <= kinds


def test_no_hard_call_lands_on_an_address_sisimai_does_not_call_hard() -> None:
    hard_lines = {(r["file"], n.lower()) for r in ROWS if r["hard"] for n in (r["recipient"], r["alias"] or "")}
    for name in sorted({r["file"] for r in ROWS}):
        for finding in parse_report((FIXTURES / name).read_bytes(), readers=READERS).findings:
            if finding.kind is Kind.HARD:
                assert (name, finding.email.lower()) in hard_lines, (name, finding.email)


@pytest.mark.parametrize("name", ["is-not-bounce-01.eml", "is-not-bounce-02.eml"])
def test_ordinary_mail_is_not_a_bounce(name: str) -> None:
    report = parse_report((FIXTURES / "not-bounce" / name).read_bytes())
    assert (report.form, report.kind, report.findings) == ("none", MessageKind.OTHER, ())
