"""Mailgun transport against a local server that answers as Mailgun's messages.mime documents.

Our MIME bytes must arrive byte for byte (every header we wrote survives), the envelope recipient
in `to`, Basic auth `api:<key>`; 400 keeps Mailgun's message; 401 and an unknown domain (404) stop
the run; 429 with Retry-After, 5xx, a slow answer; and a retry storm in which every message
arrives exactly once.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest

from api_samples import drive, messages, raw_message
from api_servers import ApiServer
from webzine.errors import SenderProblem
from webzine.models import Outcome
from webzine.transports.http import build_client
from webzine.providers.mailgun import MailgunTransport


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    handle = ApiServer("mailgun")
    yield handle
    handle.stop()


def transport(server: ApiServer, *, timeout: float = 5.0, key: str = "test-token", domain: str = "mg.example.co.kr") -> MailgunTransport:
    return MailgunTransport(build_client(server.url, timeout=timeout, connections=4), api_key=key, domain=domain)


def test_our_mime_arrives_byte_for_byte_with_the_envelope_recipient(server: ApiServer) -> None:
    server.configure()
    message = messages(1)[0]
    delivery = transport(server).send(message)

    assert delivery.outcome is Outcome.ACCEPTED and delivery.code == 200
    assert delivery.provider_id == message.message_id, "the id from the answer, without angle brackets"
    (request,) = server.received()["requests"]
    assert (request["method"], request["path"]) == ("POST", "/v3/mg.example.co.kr/messages.mime")
    assert request["headers"]["Authorization"] == "Basic YXBpOnRlc3QtdG9rZW4="  # api:test-token
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    (accepted,) = server.messages()
    assert accepted["recipient"] == "user0@example.com" and accepted["message_id"] == message.message_id
    assert accepted["raw"] == message.data.decode("ascii"), "every header and byte we wrote, unchanged"


def test_a_refused_address_is_permanent_in_mailguns_words(server: ApiServer) -> None:
    server.configure(reject=["user0@example.com"])
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.PERMANENT and delivery.code == 400
    assert delivery.text == "HTTP 400: 'to' parameter is not a valid address. please check documentation"
    assert delivery.status == "5.1.3" and delivery.hard_bounce


def test_wrong_key_and_unknown_domain_stop_the_run(server: ApiServer) -> None:
    server.configure()
    with pytest.raises(SenderProblem, match="HTTP 401.*Forbidden"):
        transport(server, key="wrong").send(messages(1)[0])
    with pytest.raises(SenderProblem, match="HTTP 404.*Domain not found: other.example") as refused:
        transport(server, domain="other.example").send(messages(1)[0])
    assert "[mailgun]" in (refused.value.hint or "")
    assert server.messages() == []


@pytest.mark.parametrize("fault, code", [("429", 429), ("500", 500)])
def test_429_and_5xx_are_temporary_with_the_wait(server: ApiServer, fault: str, code: int) -> None:
    server.configure(faults=[fault], retry_after=5)
    delivery = transport(server).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.code == code
    assert delivery.retry_after == (5.0 if fault == "429" else None)


def test_a_slow_answer_past_the_timeout_is_temporary_and_ambiguous(server: ApiServer) -> None:
    server.configure(faults=["slow"], slow_seconds=1.0)
    delivery = transport(server, timeout=0.3).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.ambiguous


def test_storm_of_429s_5xx_and_drops_delivers_each_message_exactly_once(server: ApiServer) -> None:
    server.configure(random_faults={"429": 0.25, "500": 0.05, "503": 0.05, "drop": 0.1}, seed=3, retry_after=1, record_bodies=False)
    outgoing = messages(300, html_bytes=300)
    final, attempts = drive(transport(server), outgoing)

    assert len(final) == 300 and all(d.outcome is Outcome.ACCEPTED for d in final.values())
    assert max(attempts.values()) > 1
    counts = Counter((m["message_id"], m["recipient"]) for m in server.messages())
    assert set(counts) == {(m.message_id, m.rcpt_to) for m in outgoing} and set(counts.values()) == {1}


@pytest.mark.skipif(
    not all(os.environ.get(name) for name in ("MAILGUN_API_KEY", "MAILGUN_DOMAIN", "WEBZINE_LIVE_FROM", "WEBZINE_LIVE_TO")),
    reason="live Mailgun test: set MAILGUN_API_KEY, MAILGUN_DOMAIN, WEBZINE_LIVE_FROM and WEBZINE_LIVE_TO",
)
def test_live_mailgun_accepts_a_message() -> None:
    raw = messages(1)[0]
    to = os.environ["WEBZINE_LIVE_TO"]
    data = raw.data.replace(b"news@example.co.kr", os.environ["WEBZINE_LIVE_FROM"].encode()).replace(b"user0@example.com", to.encode())
    live = MailgunTransport(
        build_client(os.environ.get("MAILGUN_BASE_URL", "https://api.mailgun.net"), timeout=30, connections=1),
        api_key=os.environ["MAILGUN_API_KEY"],
        domain=os.environ["MAILGUN_DOMAIN"],
    )
    delivery = live.send(raw_message(to, raw.mail_from, to, data, raw.message_id))
    assert delivery.outcome is Outcome.ACCEPTED and delivery.provider_id
