"""The suppression policy: who is suppressed, when, and with what evidence."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bouncekit import TODAY, SentRow
from webzine.bounces.events import BounceEvent, Kind
from webzine.bounces.policy import soft_streak, suppressions
from webzine.models import SuppressionReason

T0 = datetime(2026, 9, 1, tzinfo=timezone.utc)


def _event(kind: Kind, issue: str | None, days: int, email: str = "kim@example.com", **extra) -> BounceEvent:
    return BounceEvent(kind, email, f"{kind}:{issue}:{days}:{email}", "test", issue=issue,
                       occurred_at=T0 + timedelta(days=days), status=extra.pop("status", None), **extra)


def test_hard_bounce_suppresses_at_once_with_evidence() -> None:
    event = _event(Kind.HARD, "2026-09", 0, status="5.1.1", diagnostic="550 5.1.1 user unknown", reason="user_unknown")
    [entry] = suppressions([event], soft_limit=3, today=TODAY)
    assert (entry.email, entry.reason, entry.since.isoformat()) == ("kim@example.com", SuppressionReason.HARD_BOUNCE,
                                                                    "2026-09-01")
    assert "5.1.1" in entry.detail and "550 5.1.1 user unknown" in entry.detail and "2026-09" in entry.detail
    assert entry.source == f"bounces:{event.dedupe_key}"


def test_complaint_and_unsubscribe_request_suppress() -> None:
    found = suppressions([_event(Kind.COMPLAINT, "2026-09", 0, "a@example.com"),
                          _event(Kind.UNSUBSCRIBE, None, 1, "b@example.com")], soft_limit=3, today=TODAY)
    assert {(s.email, s.reason) for s in found} == {("a@example.com", SuppressionReason.COMPLAINT),
                                                    ("b@example.com", SuppressionReason.UNSUBSCRIBED)}


def test_sender_problems_unknowns_and_auto_replies_never_suppress() -> None:
    events = [_event(kind, f"2026-{9 + i:02d}", 30 * i) for i, kind in enumerate(
        [Kind.SENDER_PROBLEM, Kind.SENDER_PROBLEM, Kind.SENDER_PROBLEM, Kind.UNKNOWN, Kind.AUTO_REPLY])]
    assert suppressions(events, soft_limit=1, today=TODAY) == []


def test_soft_bounces_suppress_after_n_distinct_issues_in_a_row() -> None:
    two = [_event(Kind.SOFT, "2026-09", 0), _event(Kind.SOFT, "2026-10", 30)]
    assert suppressions(two, soft_limit=3, today=TODAY) == []
    three = two + [_event(Kind.SOFT, "2026-11", 60)]
    [entry] = suppressions(three, soft_limit=3, today=TODAY)
    assert entry.reason is SuppressionReason.SOFT_BOUNCE_LIMIT
    assert "2026-09, 2026-10, 2026-11" in entry.detail


def test_repeated_soft_bounces_of_one_issue_count_once() -> None:
    same = [_event(Kind.SOFT, "2026-09", day) for day in range(5)]
    assert soft_streak(same).issues == ("2026-09",)
    assert suppressions(same, soft_limit=2, today=TODAY) == []


def test_a_delivery_between_soft_bounces_resets_the_count() -> None:
    events = [_event(Kind.SOFT, "2026-09", 0), _event(Kind.SOFT, "2026-10", 30), _event(Kind.DELIVERED, "2026-11", 60),
              _event(Kind.SOFT, "2026-12", 90)]
    assert soft_streak(events).issues == ("2026-12",)
    assert suppressions(events, soft_limit=3, today=TODAY) == []


def test_the_ledger_counts_an_accepted_issue_without_bounce_as_a_success() -> None:
    events = [_event(Kind.SOFT, "2026-09", 0), _event(Kind.SOFT, "2026-11", 60), _event(Kind.SOFT, "2026-12", 90)]
    sent = [SentRow("2026-09", "accepted", "2026-09-01T00:00:00+00:00"),
            SentRow("2026-10", "accepted", "2026-10-01T00:00:00+00:00"),  # no bounce came back
            SentRow("2026-11", "accepted", "2026-11-01T00:00:00+00:00"),
            SentRow("2026-12", "accepted", "2026-12-01T00:00:00+00:00")]
    assert soft_streak(events, sent).issues == ("2026-11", "2026-12")
    assert suppressions(events, soft_limit=3, today=TODAY, history=lambda email: sent) == []
    assert len(suppressions(events, soft_limit=2, today=TODAY, history=lambda email: sent)) == 1


def test_without_an_issue_the_month_stands_in() -> None:
    events = [_event(Kind.SOFT, None, 0), _event(Kind.SOFT, None, 3), _event(Kind.SOFT, None, 31),
              _event(Kind.SOFT, None, 62)]
    assert soft_streak(events).issues == ("month:2026-09", "month:2026-10", "month:2026-11")


def test_a_complaint_outranks_a_hard_bounce_for_the_same_address() -> None:
    [entry] = suppressions([_event(Kind.HARD, "2026-09", 0), _event(Kind.COMPLAINT, "2026-10", 30)], soft_limit=3, today=TODAY)
    assert entry.reason is SuppressionReason.COMPLAINT


def test_delay_warnings_do_not_count_as_soft_bounces() -> None:
    delayed = [_event(Kind.SOFT, f"2026-{m:02d}", 30 * i, evidence={"action": "delayed"})
               for i, m in enumerate((9, 10, 11))]
    assert soft_streak(delayed).issues == ()
    assert suppressions(delayed, soft_limit=1, today=TODAY) == []
