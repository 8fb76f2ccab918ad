"""SendGrid transport against a local server that answers as SendGrid v3 mail/send documents.

The exact request (Bearer key, one personalization, our headers minus SendGrid's reserved ones,
subscription tracking off, custom_args carrying our Message-ID), 202 + X-Message-Id, 400 error
lists kept in SendGrid's words, 401/403 stopping the run, 429 with X-RateLimit-Reset, 5xx, a slow
answer, and a retry storm in which every message arrives exactly once.
"""

from __future__ import annotations

from dataclasses import replace

import json
import os
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from api_samples import drive, messages
from webzine.models import Mailbox, Message
from api_servers import ApiServer
from webzine.errors import SenderProblem
from webzine.models import Outcome
from webzine.transports.http import build_client
from webzine.providers.sendgrid import SendGridTransport


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    handle = ApiServer("sendgrid")
    yield handle
    handle.stop()


def transport(server: ApiServer, *, timeout: float = 5.0, key: str = "test-token") -> SendGridTransport:
    return SendGridTransport(build_client(server.url, timeout=timeout, connections=4), api_key=key)


def test_send_posts_exactly_the_documented_request(server: ApiServer) -> None:
    server.configure()
    message = messages(1)[0]
    delivery = transport(server).send(message)

    assert delivery.outcome is Outcome.ACCEPTED and delivery.code == 202
    received = server.received()
    (request,) = received["requests"]
    assert (request["method"], request["path"]) == ("POST", "/v3/mail/send")
    assert request["headers"]["Authorization"] == "Bearer test-token"
    assert request["headers"]["Content-Type"] == "application/json"
    body = json.loads(request["body"])
    assert set(body) == {"personalizations", "from", "subject", "content", "tracking_settings", "headers", "reply_to"}
    assert body["personalizations"] == [{"to": [{"email": "user0@example.com", "name": "홍길동"}],
                                         "custom_args": {"webzine_message_id": message.message_id}}]
    assert body["from"] == {"email": "news@example.co.kr", "name": "초록상회 소식지"}
    assert body["reply_to"] == {"email": "manager@example.co.kr", "name": "김담당"}
    assert body["subject"] == "홍길동 님께 드리는 12월 소식"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["content"][1]["value"].startswith("<html><body><p>홍길동 님, 안녕하세요.</p>")
    assert body["tracking_settings"]["subscription_tracking"] == {"enable": False}
    assert body["tracking_settings"]["click_tracking"] == {"enable": False, "enable_text": False}
    assert body["headers"] == {
        "Message-ID": "<2026-12-year-end.0@news.example.co.kr>",
        "List-Id": "=?utf-8?b?7LSI66Gd7IOB7ZqMIOyGjOyLneyngA==?= <news.example.co.kr>",
        "List-Unsubscribe": "<https://news.example.co.kr/u/tok0>, <mailto:unsubscribe@example.co.kr?subject=tok0>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Feedback-ID": "2026-12:newsletter:chorok:webzine",
    }
    (accepted,) = received["messages"]
    assert delivery.provider_id == accepted["provider_id"] and accepted["message_id"] == message.message_id


def test_an_invalid_recipient_is_permanent_in_sendgrids_words(server: ApiServer) -> None:
    server.configure(reject=["user0@example.com"])
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.PERMANENT and delivery.code == 400
    assert delivery.text == "HTTP 400: personalizations.0.to.0.email: Does not contain a valid address."
    assert delivery.status == "5.1.3" and delivery.hard_bounce


@pytest.mark.parametrize(
    "changes, key, status, words",
    [
        ({}, "wrong", 401, "authorization grant is invalid"),
        ({"verified_senders": ["other@example.co.kr"]}, "test-token", 403, "verified Sender Identity"),
    ],
)
def test_auth_and_identity_refusals_stop_the_run(server: ApiServer, changes: dict, key: str, status: int, words: str) -> None:
    server.configure(**changes)
    with pytest.raises(SenderProblem) as refused:
        transport(server, key=key).send(messages(1)[0])
    assert f"HTTP {status}" in refused.value.message and words in refused.value.message
    assert server.messages() == []


def test_429_waits_until_the_rate_limit_reset(server: ApiServer) -> None:
    server.configure(faults=["429"], retry_after=30)
    before = time.time()
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.code == 429
    assert delivery.retry_after is not None and 28 <= delivery.retry_after <= 31 + (time.time() - before)


def test_5xx_is_temporary(server: ApiServer) -> None:
    server.configure(faults=["503"])
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.code == 503 and not delivery.ambiguous


def test_a_slow_answer_past_the_timeout_is_temporary_and_ambiguous(server: ApiServer) -> None:
    server.configure(faults=["slow"], slow_seconds=1.0)
    delivery = transport(server, timeout=0.3).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.ambiguous


def test_storm_of_429s_5xx_and_drops_delivers_each_message_exactly_once(server: ApiServer) -> None:
    server.configure(random_faults={"429": 0.25, "500": 0.05, "503": 0.05, "drop": 0.1}, seed=11, retry_after=1)
    outgoing = messages(300, html_bytes=300)
    final, attempts = drive(transport(server), outgoing)

    assert len(final) == 300 and all(d.outcome is Outcome.ACCEPTED for d in final.values())
    assert max(attempts.values()) > 1
    counts = Counter(m["message_id"] for m in server.messages())
    assert set(counts) == {m.message_id for m in outgoing} and set(counts.values()) == {1}


@pytest.mark.skipif(
    not (os.environ.get("SENDGRID_API_KEY") and os.environ.get("WEBZINE_LIVE_FROM") and os.environ.get("WEBZINE_LIVE_TO")),
    reason="live SendGrid test: set SENDGRID_API_KEY, WEBZINE_LIVE_FROM (a verified sender) and WEBZINE_LIVE_TO",
)
def test_live_sendgrid_accepts_a_message() -> None:
    raw = messages(1)[0]
    to = os.environ["WEBZINE_LIVE_TO"]
    data = raw.data.replace(b"news@example.co.kr", os.environ["WEBZINE_LIVE_FROM"].encode()).replace(b"user0@example.com", to.encode())
    live = SendGridTransport(build_client("https://api.sendgrid.com", timeout=30, connections=1), api_key=os.environ["SENDGRID_API_KEY"])
    delivery = live.send(Message(key=to, mail_from=raw.mail_from, rcpt_to=to, data=data, message_id=raw.message_id,
                                 subject=raw.subject, content=replace(raw.content, to=Mailbox(to),
                                 sender=replace(raw.content.sender, email=os.environ["WEBZINE_LIVE_FROM"]))))
    assert delivery.outcome is Outcome.ACCEPTED and delivery.provider_id
