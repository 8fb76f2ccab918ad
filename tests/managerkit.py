"""A publication after a send, with something of every kind come back: shared by the digest,
report and browser tests.

The sample issue goes to the outbox for five subscribers and three key customers; then a hard
bounce, an unsubscribe (in the suppression file, dated), two ratings (one low, with a comment)
and an unanswered reply are seeded into the stores `webzine serve` and the imports write.
"""

from __future__ import annotations

from pathlib import Path

from conftest import CONFIG, write_project
from webzine.bounces.events import BounceEvent, Kind
from webzine.bounces.store import append_events
from webzine.cli import main
from webzine.config import load_settings
from webzine.replies.records import Reply
from webzine.replies.store import save_replies
from webzine.unsubscribes.store import Store

SLUG = "2026-12-year-end"
SECRET = "digest-test-secret-0123456789"
SUBSCRIBERS = """\
email,name,adjective,company,manager,consent_at,tags
kim@example.com,김갑수,,갑수상사,m1,2025-01-02,vip
lee@example.com,이을순,,,m1,2025-02-03,
park@example.com,박보검,,보검무역,m2,2025-03-04,
choi@example.com,최민수,,,m2,2025-03-04,
han@example.com,한결,,,,2025-03-04,
"""
KEY_CUSTOMERS = """\
email,name,company,manager
kim@example.com,김갑수,갑수상사,m1
park@example.com,박보검,보검무역,m2
jung@example.com,정하늘,하늘식품,m2
"""

def run(project: Path, *args: str) -> int:
    try:
        main(["--config", str(project / "webzine.toml"), *args])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def sent_and_answered(folder: Path) -> Path:
    """The sample issue sent to the outbox (WEBZINE_UNSUBSCRIBE_SECRET must be set), then what
    came back seeded into every store."""
    project = write_project(folder, config=CONFIG + "[serve]\nnotify = false\n")
    (project / "lists" / "subscribers.csv").write_text(SUBSCRIBERS, encoding="utf-8")
    (project / "lists" / "key-customers.csv").write_text(KEY_CUSTOMERS, encoding="utf-8")
    assert run(project, "send", str(project / "issues" / f"{SLUG}.md"), "--yes", "--today", "2026-12-01",
               "--allow-gaps", "정하늘: 주소 확인 중") == 0
    settings = load_settings(project / "webzine.toml")
    append_events(settings.path(settings.bounces.events), [BounceEvent(
        kind=Kind.HARD, email="park@example.com", dedupe_key="<bounce-1@mx>", source="test", issue=SLUG,
        status="5.1.1", diagnostic="550 5.1.1 <park@example.com>: user unknown", reason="user_unknown")])
    (project / "lists" / "suppressions.csv").write_text(
        "email,reason,since,source,detail\nchoi@example.com,unsubscribed,2026-12-03,web,수신거부 링크\n", encoding="utf-8")
    store = Store.from_settings(settings)
    try:
        store.record_rating(SLUG, "kim@example.com", 2, "배송 일정이 늦었어요")
        store.record_rating(SLUG, "han@example.com", 5, "")
    finally:
        store.close()
    save_replies(settings.path(settings.bounces.events).with_name("replies.jsonl"), [Reply(
        message_id="<reply-1@example.com>", kind="human_reply", sender="lee@example.com",
        received_at="2026-12-02T10:15:00+09:00", subject="Re: 12월 소식", excerpt="견적을 받고 싶습니다",
        issue=SLUG, customer="이을순", manager="m1", matched_by="message_id")], {})
    return project


