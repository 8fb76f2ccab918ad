"""The 수신거부 처리결과 통지: sent through the configured transport (SMTP to a real aiosmtpd server on
127.0.0.1) after a one-click unsubscribe, once per reader, with retries that survive in the store."""

from __future__ import annotations

import time
from email import policy
from email.parser import BytesParser

import httpx
import pytest

from serve_support import LIST_ID, SECRET, running_server, write_project
from smtp_server import Fault, SmtpTestServer
from webzine.web.notice import MAX_ATTEMPTS, NoticeSender, build_notice
from webzine.unsubscribes.store import Store
from webzine.transports.memory import MemoryTransport
from webzine.tokens import unsubscribe_token
from webzine.models import Delivery, Outcome

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture()
def smtp():
    with SmtpTestServer(tls="none") as server:
        yield server


@pytest.fixture()
def settings(tmp_path, monkeypatch, smtp):
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.delenv("WEBZINE_SMTP_USERNAME", raising=False)
    extra = (
        '[send]\ntransport = "smtp"\nreturn_path = "bounces@example.co.kr"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
        "[serve]\nnotify = true\n"
    )
    return write_project(tmp_path, extra, subscribers=["hong@example.com", "ghost@example.com", "kim@example.org"])


@pytest.fixture()
def store(settings):
    opened = Store.from_settings(settings)
    yield opened
    opened.close()


def test_one_click_sends_the_notice_once_through_smtp(settings, store, smtp):
    token = unsubscribe_token(SECRET, LIST_ID, "hong@example.com")
    with running_server(settings, store) as url:
        first = httpx.post(f"{url}/u/{token}", data=ONE_CLICK)
        assert first.status_code == 200 and "처리 결과는 메일로도 알려 드립니다" in first.text
        assert wait_for(lambda: len(smtp.messages) == 1)
        assert wait_for(lambda: store.get_unsubscribe("hong@example.com").notice_status == "sent")
        again = httpx.post(f"{url}/u/{token}", data=ONE_CLICK)
        assert again.status_code == 200
        # The queue is the store: nothing pending, now or at any later time, so no second notice can go out.
        assert store.due_notices("9999-12-31") == [] and store.get_unsubscribe("hong@example.com").notice_status == "sent"
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received.mail_from == "bounces@example.co.kr" and received.rcpt_tos == ("hong@example.com",)
    message = BytesParser(policy=policy.default).parsebytes(received.data)
    assert message["From"] == "초록상회 <news@example.co.kr>"
    assert message["To"] == "hong@example.com"
    assert message["Subject"] == "[초록상회 소식지] 수신거부 처리결과 안내"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" not in message
    text = message.get_content()
    for expected in ("전송자: 초록상회", "수신거부한 주소: hong@example.com", "처리 내용: 초록상회 소식지 수신거부",
                     "처리 일시: ", "(KST)", "초록상회 소식지를 보내 드리지 않습니다", "서울특별시 중구 세종대로 1"):
        assert expected in text


def test_a_refused_notice_is_recorded_as_failed(settings, store, smtp):
    smtp.faults.add(Fault("rcpt", reply="550 5.1.1 no such user", match="ghost@"))
    token = unsubscribe_token(SECRET, LIST_ID, "ghost@example.com")
    with running_server(settings, store) as url:
        assert httpx.post(f"{url}/u/{token}", data=ONE_CLICK).status_code == 200
        assert wait_for(lambda: store.get_unsubscribe("ghost@example.com").notice_status == "failed")
    assert smtp.messages == []
    assert store.unsubscribed() == {"ghost@example.com"}  # the unsubscribe itself stands


def test_notices_wait_for_a_server_that_is_down_and_go_out_later(settings, store, smtp):
    store.record_unsubscribe("kim@example.org", LIST_ID, "one-click", {})
    smtp.faults.add(Fault("mail", reply="421 4.3.2 try again later", times=1))
    sender = NoticeSender(settings, store)
    assert sender.run_once() == 0
    record = store.get_unsubscribe("kim@example.org")
    assert record.notice_status == "pending" and record.notice_attempts == 1
    assert store.due_notices("9999") and not store.due_notices("2000")  # scheduled, not due at once
    with store._lock:  # make the retry due now rather than in two minutes
        store._db.execute("UPDATE unsubscribes SET notice_due = ''")
    assert sender.run_once() == 1
    assert store.get_unsubscribe("kim@example.org").notice_status == "sent"
    assert [m.rcpt_tos for m in smtp.messages] == [("kim@example.org",)]


def test_temporary_failures_give_up_after_the_attempt_limit(settings, store):
    store.record_unsubscribe("kim@example.org", LIST_ID, "one-click", {})
    later = Delivery(Outcome.TEMPORARY, 451, "4.3.0", "try later")
    transport = MemoryTransport(answers={"kim@example.org": [later] * (MAX_ATTEMPTS + 1)})
    sender = NoticeSender(settings, store, lambda: transport)
    for _ in range(MAX_ATTEMPTS):
        with store._lock:
            store._db.execute("UPDATE unsubscribes SET notice_due = ''")
        sender.run_once()
    assert len(transport.handed) == MAX_ATTEMPTS and transport.accepted == []
    assert store.get_unsubscribe("kim@example.org").notice_status == "failed"


def test_notice_message_id_is_stable_per_reader(settings, store):
    store.record_unsubscribe("hong@example.com", LIST_ID, "one-click", {})
    record = store.get_unsubscribe("hong@example.com")
    first, second = build_notice(settings, record), build_notice(settings, record)
    assert first.message_id == second.message_id and first.message_id.endswith("@example.co.kr")
    assert first.data.count(b"\r\n") > 5 and b"\n" not in first.data.replace(b"\r\n", b"")
    assert not first.needs_8bitmime
