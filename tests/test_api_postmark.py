"""Postmark transport against a local server that answers as Postmark documents it.

The exact request (path, token header, JSON fields, our headers in `Headers`), per-message
results inside a 200 batch answer, 406 inactive recipients, account-level refusals that stop the
run, 429/5xx with Retry-After, a slow answer past the timeout, and a retry storm in which every
message arrives exactly once.
"""

from __future__ import annotations

from dataclasses import replace

import json
import os
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from api_samples import drive, messages
from webzine.models import Mailbox, Message
from api_servers import ApiServer
from webzine.errors import SenderProblem
from webzine.i18n import activate
from webzine.models import Outcome
from webzine.transports.http import build_client
from webzine.providers.postmark import MAX_BATCH, PostmarkTransport, _chunks


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    handle = ApiServer("postmark")
    yield handle
    handle.stop()


def transport(server: ApiServer, *, timeout: float = 5.0, token: str = "test-token", stream: str = "broadcast", batch: bool = True) -> PostmarkTransport:
    return PostmarkTransport(build_client(server.url, timeout=timeout, connections=4), token=token, stream=stream, batch=batch)


def test_single_send_sends_exactly_the_documented_request(server: ApiServer) -> None:
    server.configure()
    message = messages(1)[0]
    delivery = transport(server).send(message)

    assert delivery.outcome is Outcome.ACCEPTED and delivery.code == 200
    received = server.received()
    (request,) = received["requests"]
    assert request["method"] == "POST" and request["path"] == "/email"
    assert request["headers"]["X-Postmark-Server-Token"] == "test-token"
    assert request["headers"]["Accept"] == "application/json"
    assert request["headers"]["Content-Type"] == "application/json"
    body = json.loads(request["body"])
    assert set(body) == {"From", "To", "Subject", "MessageStream", "Headers", "TextBody", "HtmlBody", "ReplyTo", "Metadata",
                         "TrackOpens", "TrackLinks"}
    assert (body["TrackOpens"], body["TrackLinks"]) == (False, "None"), "tracking off over the server's default"
    assert body["From"] == "초록상회 소식지 <news@example.co.kr>"
    assert body["To"] == "홍길동 <user0@example.com>"
    assert body["Subject"] == "홍길동 님께 드리는 12월 소식"
    assert body["ReplyTo"] == "김담당 <manager@example.co.kr>"
    assert body["MessageStream"] == "broadcast"
    assert body["Metadata"] == {"webzine-message-id": message.message_id}
    assert body["Headers"] == [
        {"Name": "Message-ID", "Value": "<2026-12-year-end.0@news.example.co.kr>"},
        {"Name": "List-Id", "Value": "=?utf-8?b?7LSI66Gd7IOB7ZqMIOyGjOyLneyngA==?= <news.example.co.kr>"},
        {"Name": "List-Unsubscribe", "Value": "<https://news.example.co.kr/u/tok0>, <mailto:unsubscribe@example.co.kr?subject=tok0>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        {"Name": "Feedback-ID", "Value": "2026-12:newsletter:chorok:webzine"},
    ]
    assert body["TextBody"].startswith("홍길동 님, 안녕하세요.")
    assert body["HtmlBody"].startswith("<html><body><p>홍길동 님, 안녕하세요.</p>")
    (accepted,) = received["messages"]
    assert delivery.provider_id == accepted["provider_id"]
    assert accepted["message_id"] == message.message_id


def test_batch_reads_every_result_of_a_200_answer(server: ApiServer) -> None:
    server.configure(inactive=["user3@example.com"], reject=["user5@example.com"])
    outgoing = messages(8)
    outcomes = transport(server).send_batch(outgoing)

    assert [o.outcome for o in outcomes] == [Outcome.ACCEPTED] * 3 + [Outcome.PERMANENT, Outcome.ACCEPTED, Outcome.PERMANENT] + [Outcome.ACCEPTED] * 2
    assert "ErrorCode 406" in outcomes[3].text and "user3@example.com" in outcomes[3].text
    assert outcomes[3].hard_bounce and outcomes[3].status == "5.1.1", "inactive → our suppression list"
    assert "ErrorCode 300" in outcomes[5].text and not outcomes[5].hard_bounce
    received = server.received()
    assert [r["path"] for r in received["requests"]] == ["/email/batch"]
    assert len(json.loads(received["requests"][0]["body"])) == 8
    by_id = {m["message_id"]: m["provider_id"] for m in received["messages"]}
    for message, outcome in zip(outgoing, outcomes):
        if outcome.outcome is Outcome.ACCEPTED:
            assert outcome.provider_id == by_id[message.message_id]


def test_single_inactive_recipient_is_permanent_not_a_stop(server: ApiServer) -> None:
    server.configure(inactive=["user0@example.com"])
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.PERMANENT and delivery.code == 422
    assert "inactive" in delivery.text and not delivery.sender_problem


def test_wrong_token_stops_the_run_with_status_and_body(server: ApiServer) -> None:
    server.configure()
    with pytest.raises(SenderProblem) as single:
        transport(server, token="wrong").send(messages(1)[0])
    assert "HTTP 401" in single.value.message and "X-Postmark-Server-Token" in single.value.message
    assert "$POSTMARK_SERVER_TOKEN" in (single.value.hint or "")
    with pytest.raises(SenderProblem):
        transport(server, token="wrong").send_batch(messages(3))
    assert server.messages() == []


def test_unknown_message_stream_is_a_sender_problem(server: ApiServer) -> None:
    server.configure()
    with pytest.raises(SenderProblem, match="ErrorCode 1235"):
        transport(server, stream="newsletters").send(messages(1)[0])


def test_account_refusal_inside_a_batch_is_reported_per_message_not_raised() -> None:
    """Postmark can refuse one batch item for an account reason after others were accepted."""
    pm = PostmarkTransport(build_client("http://127.0.0.1:9", timeout=1, connections=1), token="t")
    verdict = pm._item({"ErrorCode": 405, "Message": "Not allowed to send"}, in_batch=True)
    assert verdict.outcome is Outcome.TEMPORARY and verdict.sender_problem
    with pytest.raises(SenderProblem, match="ErrorCode 405"):
        pm._item({"ErrorCode": 405, "Message": "Not allowed to send"}, in_batch=False)


def test_a_refused_batch_call_stops_the_run_before_anything_was_accepted() -> None:
    answer = httpx.Response(422, json={"ErrorCode": 402, "Message": "Received invalid JSON input."})
    pm = PostmarkTransport(httpx.Client(base_url="https://api.postmarkapp.com", transport=httpx.MockTransport(lambda request: answer)), token="t")
    with pytest.raises(SenderProblem, match="whole batch call with HTTP 422: ErrorCode 402: Received invalid JSON input"):
        pm.send_batch(messages(3))


@pytest.mark.parametrize("fault, code", [("429", 429), ("500", 500), ("503", 503)])
def test_rate_limit_and_server_errors_are_temporary_with_the_wait(server: ApiServer, fault: str, code: int) -> None:
    server.configure(faults=[fault], retry_after=7)
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.code == code
    if fault == "429":
        assert delivery.retry_after == 7.0 and "retry after 7 s" in delivery.text
    assert server.messages() == []


def test_a_slow_answer_past_the_timeout_is_temporary_and_flagged_ambiguous(server: ApiServer) -> None:
    server.configure(faults=["slow"], slow_seconds=1.0)
    delivery = transport(server, timeout=0.3).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.ambiguous
    assert "no answer within 0.3 s" in delivery.text


def test_a_connection_dropped_after_acceptance_is_ambiguous_the_documented_duplicate_risk(server: ApiServer) -> None:
    server.configure(faults=["drop_after"])
    pm = transport(server)
    message = messages(1)[0]
    first = pm.send(message)
    assert first.outcome is Outcome.TEMPORARY and first.ambiguous
    assert pm.send(message).outcome is Outcome.ACCEPTED
    assert [m["message_id"] for m in server.messages()] == [message.message_id] * 2


def test_batch_after_a_failed_call_stops_and_returns_the_rest_temporary(server: ApiServer) -> None:
    server.configure(faults=["ok", "429"], retry_after=3)
    outgoing = messages(MAX_BATCH + 20, html_bytes=200)
    outcomes = transport(server).send_batch(outgoing)
    assert len(outcomes) == len(outgoing)
    assert all(o.outcome is Outcome.ACCEPTED for o in outcomes[:MAX_BATCH])
    assert all(o.outcome is Outcome.TEMPORARY and o.retry_after == 3.0 for o in outcomes[MAX_BATCH:])
    assert len(server.messages()) == MAX_BATCH


def test_chunks_respect_count_and_size_limits() -> None:
    assert [len(c) for c in _chunks([b"x"] * 1201)] == [500, 500, 201]
    big = [b"y" * (20 * 1024 * 1024)] * 5
    assert [len(c) for c in _chunks(big)] == [2, 2, 1]
    assert _chunks([]) == []


@pytest.mark.parametrize("batch", [False, True])
def test_storm_of_429s_5xx_and_drops_delivers_each_message_exactly_once(server: ApiServer, batch: bool) -> None:
    server.configure(random_faults={"429": 0.25, "500": 0.05, "503": 0.05, "drop": 0.1}, seed=7, retry_after=2)
    pm = transport(server, batch=batch)
    pm.batch_size = 25 if batch else 1  # several batch calls, so faults hit some and not others
    outgoing = messages(300, html_bytes=300)
    final, attempts = drive(pm, outgoing)

    assert all(d.outcome is Outcome.ACCEPTED for d in final.values()) and len(final) == 300
    assert max(attempts.values()) > 1, "the storm must have forced retries"
    counts = Counter(m["message_id"] for m in server.messages())
    assert set(counts) == {m.message_id for m in outgoing}
    assert set(counts.values()) == {1}


@pytest.mark.skipif(
    not (os.environ.get("POSTMARK_SERVER_TOKEN") and os.environ.get("WEBZINE_LIVE_FROM")),
    reason="live Postmark test: set POSTMARK_SERVER_TOKEN and WEBZINE_LIVE_FROM (a confirmed sender)",
)
def test_live_postmark_accepts_a_message() -> None:
    """Sends to Postmark's black-hole address unless WEBZINE_LIVE_TO names a real mailbox."""
    raw = messages(1)[0]
    to = os.environ.get("WEBZINE_LIVE_TO", "test@blackhole.postmarkapp.com")
    data = raw.data.replace(b"news@example.co.kr", os.environ["WEBZINE_LIVE_FROM"].encode()).replace(b"user0@example.com", to.encode())
    live = PostmarkTransport(
        build_client("https://api.postmarkapp.com", timeout=30, connections=1),
        token=os.environ["POSTMARK_SERVER_TOKEN"],
        stream=os.environ.get("WEBZINE_LIVE_POSTMARK_STREAM", "broadcast"),
    )
    delivery = live.send(Message(key=to, mail_from=raw.mail_from, rcpt_to=to, data=data, message_id=raw.message_id,
                                 subject=raw.subject, content=replace(raw.content, to=Mailbox(to),
                                 sender=replace(raw.content.sender, email=os.environ["WEBZINE_LIVE_FROM"]))))
    assert delivery.outcome is Outcome.ACCEPTED and delivery.provider_id


def test_a_broadcast_stream_whose_unsubscribes_postmark_manages_is_refused_before_any_send(server: ApiServer) -> None:
    """Postmark's own unsubscribe link and List-Unsubscribe would replace ours: readers who
    unsubscribe would never reach `webzine serve`, and no 수신거부 처리결과 notice would go out."""
    server.configure(unsubscribe_handling="Postmark")
    pm = transport(server)
    with pytest.raises(SenderProblem, match="UnsubscribeHandlingType is Postmark") as refused:
        pm.send_batch(messages(3))
    assert "Manage unsubscribes on your own" in (refused.value.hint or "") and "broadcast" in (refused.value.hint or "")
    assert "\n" not in refused.value.message
    assert server.messages() == [] and server.received()["stream_checks"] == ["broadcast"]


@pytest.mark.parametrize("handling", ["Custom", "None"])
def test_a_stream_that_leaves_unsubscribes_to_us_is_checked_once_then_sent(server: ApiServer, handling: str) -> None:
    server.configure(unsubscribe_handling=handling)
    pm = transport(server, batch=False)
    assert all(pm.send(m).outcome is Outcome.ACCEPTED for m in messages(3))
    assert len(server.messages()) == 3 and server.received()["stream_checks"] == ["broadcast"]


@pytest.mark.parametrize("status, body, message, hint", [
    (422, {"ErrorCode": 402, "Message": "Received invalid JSON input."},
     "Postmark가 일괄 발송 요청 전체를 HTTP 422(으)로 거부했습니다: ErrorCode 402: Received invalid JSON input.",
     "$POSTMARK_SERVER_TOKEN의 서버 토큰과 Postmark의 발신자 서명, 'broadcast' 메시지 스트림을 확인한 뒤 같은 명령을 "
     "다시 실행하면 이어서 보냅니다."),
    (401, {"ErrorCode": 10, "Message": "No valid Server token."},
     "postmark이(가) https://api.postmarkapp.com/message-streams/broadcast 요청을 HTTP 401(으)로 거부했습니다: "
     '{"ErrorCode":10,"Message":"No valid Server token."}',
     "$POSTMARK_SERVER_TOKEN의 API 키와 postmark에 등록한 발송 도메인/발신자를 확인한 뒤, 같은 명령을 다시 실행하면 "
     "이어서 보냅니다."),
])
def test_a_refused_call_in_korean(status: int, body: dict[str, object], message: str, hint: str) -> None:
    """The provider's words stay as they came; webzine's own sentence around them is Korean."""
    activate("ko")
    answer = httpx.Response(status, json=body)
    client = httpx.Client(base_url="https://api.postmarkapp.com", transport=httpx.MockTransport(lambda request: answer))
    with pytest.raises(SenderProblem) as refused:
        PostmarkTransport(client, token="t").send_batch(messages(3))
    assert refused.value.message == message
    assert refused.value.hint == hint
