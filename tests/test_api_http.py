"""The shared email-API base: Retry-After, httpx failures as outcomes, and message splitting."""

from __future__ import annotations

import re
from email import policy
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from conftest import publication_config

import sendkit
from api_samples import messages
from webzine.config import load_settings
from webzine.errors import ConfigError, MessageUnsupported, SenderProblem, TransportError
from webzine.providers import transport_class
from webzine.models import Mailbox, Message, Outcome
from webzine.models import Delivery
from webzine.transports.http import ApiTransport, build_client, json_content, parse_reset_epoch, parse_retry_after
from webzine.message.compose import Attachment, compose
from webzine.message.factory import MessageFactory


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    moment = datetime(2026, 12, 1, 0, 0, 30, tzinfo=timezone.utc)
    now = (moment - timedelta(seconds=30)).timestamp()
    assert parse_retry_after(format_datetime(moment, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after(format_datetime(moment, usegmt=True), now=now + 60) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("-5") is None
    assert parse_reset_epoch("1000", now=990.5) == 9.5 and parse_reset_epoch("5", now=10) == 0.0
    assert parse_reset_epoch("x") is None


class Probe(ApiTransport):
    name = "probe"
    key_env = "PROBE_KEY"

    @classmethod
    def from_settings(cls, settings):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def send(self, message: Message) -> Delivery:
        return self.deliver(lambda: self.client.build_request("POST", "/send", content=message.data))

    def read_accepted(self, response: httpx.Response) -> Delivery:
        return Delivery(Outcome.ACCEPTED, code=response.status_code, provider_id=response.headers.get("x-id"))


def probe(handler) -> Probe:  # type: ignore[no-untyped-def]
    return Probe(httpx.Client(base_url="https://api.example.test", transport=httpx.MockTransport(handler)))


def failing(exc: type[Exception]):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)  # type: ignore[call-arg]

    return handler


@pytest.mark.parametrize(
    "exc, ambiguous",
    [
        (httpx.ConnectError, False),
        (httpx.ConnectTimeout, False),
        (httpx.PoolTimeout, False),
        (httpx.WriteTimeout, False),
        (httpx.ReadTimeout, True),
        (httpx.RemoteProtocolError, True),
        (httpx.ReadError, True),
    ],
)
def test_network_failures_are_temporary_and_say_whether_a_retry_may_duplicate(exc: type[Exception], ambiguous: bool) -> None:
    delivery = probe(failing(exc)).send(messages(1)[0])
    assert delivery.outcome is Outcome.TEMPORARY and delivery.ambiguous is ambiguous
    assert delivery.text.startswith("probe: ")


def test_statuses_map_to_outcomes() -> None:
    answers = {
        "/ok": httpx.Response(200, headers={"x-id": "abc"}),
        "/busy": httpx.Response(429, headers={"retry-after": "12"}, text="slow down"),
        "/down": httpx.Response(502, text="bad gateway"),
        "/bad": httpx.Response(422, text='{"error": "no such mailbox"}'),
    }
    for path, expected in [("/ok", Outcome.ACCEPTED), ("/busy", Outcome.TEMPORARY), ("/down", Outcome.TEMPORARY), ("/bad", Outcome.PERMANENT)]:
        transport = probe(lambda request, path=path: answers[path])
        delivery = transport.send(messages(1)[0])
        assert delivery.outcome is expected, path
    busy = probe(lambda request: answers["/busy"]).send(messages(1)[0])
    assert busy.retry_after == 12.0 and busy.text == "HTTP 429: slow down (retry after 12 s)"
    assert probe(lambda request: answers["/ok"]).send(messages(1)[0]).provider_id == "abc"
    assert "no such mailbox" in probe(lambda request: answers["/bad"]).send(messages(1)[0]).text


@pytest.mark.parametrize("status", [401, 403, 404])
def test_account_level_statuses_raise_sender_problem_with_the_body(status: int) -> None:
    transport = probe(lambda request: httpx.Response(status, text="key revoked"))
    with pytest.raises(SenderProblem) as refused:
        transport.send(messages(1)[0])
    assert f"HTTP {status}" in refused.value.message and "key revoked" in refused.value.message


def test_client_refuses_a_base_url_without_scheme() -> None:
    with pytest.raises(ConfigError, match="must start with https://"):
        build_client("api.postmarkapp.com", timeout=5, connections=1)


def _read(data: bytes):  # type: ignore[no-untyped-def]
    return __import__("email").message_from_bytes(data, policy=policy.default)


def _unfolded(data: bytes, name: str) -> str:
    raw = __import__("email").message_from_bytes(data, policy=policy.compat32)[name]
    return re.sub(r"\r?\n(?=[ \t])", "", raw).strip()


def test_the_fields_of_our_message_say_what_its_bytes_say() -> None:
    """What a JSON API sends is what a raw-MIME transport sends, read by the `email` package."""
    factory = MessageFactory(sendkit.rendered(), sendkit.settings(), token_key=sendkit.SECRET, managers=sendkit.MANAGERS)
    for number in range(3):
        recipient = sendkit.recipient(number)  # odd numbers have an account manager: their Reply-To
        message = factory.build(recipient)
        content, full = message.content, _read(message.data)
        assert content.text == full.get_body(("plain",)).get_content()
        assert content.html == full.get_body(("html",)).get_content()
        assert message.subject == full["Subject"]
        for field, name in ((content.sender, "From"), (content.to, "To"), (content.reply_to, "Reply-To")):
            (address,) = full[name].addresses
            assert (field.email, field.name) == (address.addr_spec, address.display_name), name  # type: ignore[union-attr]
        assert [name for name, _ in content.headers] == [
            "List-Id", "List-Unsubscribe-Post", "Feedback-ID", "Message-ID", "List-Unsubscribe"]
        assert all(value == _unfolded(message.data, name) for name, value in content.headers)


def test_bytes_and_fields_are_made_once_and_only_when_asked_for() -> None:
    calls: list[str] = []
    signer = type("Signer", (), {"sign": lambda self, data: calls.append("sign") or b"DKIM-Signature: x\r\n"})()
    factory = MessageFactory(sendkit.rendered(), sendkit.settings(), token_key=sendkit.SECRET, managers=sendkit.MANAGERS,
                             signer=signer)
    message = factory.build(sendkit.recipient(1))
    assert message.content.text and calls == []  # what a JSON API reads: nothing encoded, nothing signed
    assert message.data is message.data and calls == ["sign"]
    assert message.data.startswith(b"DKIM-Signature: x\r\n")
    assert all(name != "DKIM-Signature" for name, _ in message.content.headers), "ours would not verify on their MIME"


def test_a_composed_message_carries_its_headers_as_written_and_no_signature() -> None:
    signer = type("Signer", (), {"sign": lambda self, data: b"DKIM-Signature: v=1; d=example.com\r\n"})()
    message = compose(key="a@example.com", mail_from="b@example.com", rcpt_to="a@example.com", message_id="x@example.com",
                      sender=Mailbox("s@example.com", "보내는 곳"), to=Mailbox("a@example.com"), subject="소식",
                      date=datetime(2026, 12, 1, tzinfo=timezone.utc), text="본문",
                      headers=[("Auto-Submitted", "auto-generated"), ("List-Id", "소식지 <news.example.com>")], signer=signer)
    full = _read(message.data)
    assert message.data.startswith(b"DKIM-Signature: ")
    assert message.content.text == "본문" and message.content.html is None
    assert full.get_body(("plain",)).get_content() == "본문\r\n" and full.get_body(("html",)) is None
    assert [name for name, _ in message.content.headers] == ["Message-ID", "Auto-Submitted", "List-Id"]
    assert all(value == _unfolded(message.data, name) for name, value in message.content.headers)


def test_json_apis_refuse_attachments_they_cannot_carry() -> None:
    mixed = compose(key="a@example.com", mail_from="b@example.com", rcpt_to="a@example.com", message_id="x@example.com",
                    sender=Mailbox("s@example.com"), to=Mailbox("a@example.com"), subject="s",
                    date=datetime(2026, 12, 1, tzinfo=timezone.utc), text="본문",
                    attachments=[Attachment("a.pdf", "application", "pdf", b"%PDF")])
    assert json_content(messages(1)[0]).attachments == 0
    with pytest.raises(MessageUnsupported, match="attachments or inline parts"):
        json_content(mixed)


MAILGUN = '[mailgun]\ndomain = "mg.example.co.kr"'
MINIMAL = publication_config(MAILGUN)
ENV = {
    "SENDGRID_API_KEY": "sg",
    "POSTMARK_SERVER_TOKEN": "pm",
    "MAILGUN_API_KEY": "mg",
    "AWS_ACCESS_KEY_ID": "AKID",
    "AWS_SECRET_ACCESS_KEY": "secret",
}


@pytest.fixture()
def settings(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    for name in [*ENV, "AWS_SESSION_TOKEN"]:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "webzine.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    return load_settings(path)


@pytest.mark.parametrize("name, batch_size, base", [
    ("sendgrid", 1, "https://api.sendgrid.com"),
    ("postmark", 500, "https://api.postmarkapp.com"),
    ("mailgun", 1, "https://api.mailgun.net"),
    ("ses", 1, "https://email.ap-northeast-2.amazonaws.com"),
])
def test_each_provider_is_registered_and_built_from_settings_and_the_environment(settings, monkeypatch, name: str, batch_size: int, base: str) -> None:  # type: ignore[no-untyped-def]
    cls = transport_class(name)
    with pytest.raises(ConfigError, match="environment variable"):
        cls.from_settings(settings)
    for variable, value in ENV.items():
        monkeypatch.setenv(variable, value)
    built = cls.from_settings(settings)
    try:
        assert built.name == name and built.batch_size == batch_size
        assert str(built.client.base_url).rstrip("/") == base
        assert built.client.timeout.read == 30
    finally:
        built.close()


@pytest.mark.parametrize("name, table, words", [
    ("mailgun", "[mailgun]\ndomain = \"\"\n", r"\[mailgun\] domain is not set"),
    ("ses", "[ses]\nregion = \"\"\n", r"\[ses\] region is empty"),
])
def test_a_missing_domain_or_region_says_which_key_to_set(tmp_path, monkeypatch, name: str, table: str, words: str) -> None:  # type: ignore[no-untyped-def]
    for variable, value in ENV.items():
        monkeypatch.setenv(variable, value)
    path = tmp_path / "webzine.toml"
    path.write_text(publication_config(table), encoding="utf-8")
    with pytest.raises(ConfigError, match=words):
        transport_class(name).from_settings(load_settings(path))
