"""The shared email-API base: Retry-After, httpx failures as outcomes, and message splitting."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from conftest import publication_config

from api_samples import messages
from webzine.config import load_settings
from webzine.errors import ConfigError, MessageUnsupported, SenderProblem, TransportError
from webzine.providers import transport_class
from webzine.models import OutgoingMessage, Outcome
from webzine.models import Delivery
from webzine.transports.http import ApiTransport, build_client, parse_reset_epoch, parse_retry_after
from webzine.transports.parts import split_message


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

    def send(self, message: OutgoingMessage) -> Delivery:
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


def test_split_reads_our_message_fast_path_like_the_email_package() -> None:
    message = messages(1, html_bytes=20000)[0]
    parts = split_message(message)
    full = __import__("email").message_from_bytes(message.data, policy=policy.default)
    assert parts.text == full.get_body(("plain",)).get_content()
    assert parts.html == full.get_body(("html",)).get_content()
    assert parts.subject == "홍길동 님께 드리는 12월 소식"
    assert (parts.sender.name, parts.recipient.email, parts.reply_to.name) == ("초록상회 소식지", "user0@example.com", "김담당")  # type: ignore[union-attr]
    names = [name for name, _ in parts.headers]
    assert names == ["Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID"]


def _outgoing(message: EmailMessage) -> OutgoingMessage:
    return OutgoingMessage(key="a@example.com", mail_from="b@example.com", rcpt_to="a@example.com", data=message.as_bytes(policy=policy.SMTP), message_id="x@example.com")


def test_split_falls_back_to_the_email_package_for_other_structures() -> None:
    nested = EmailMessage()
    nested["From"] = "Sender <s@example.com>"
    nested["To"] = "a@example.com"
    nested["Subject"] = "소식"
    nested["DKIM-Signature"] = "v=1; d=example.com"
    nested.set_content("본문", cte="quoted-printable")
    nested.add_alternative("<p>본문</p>", subtype="html", cte="8bit")
    nested.make_mixed()  # nested: not our flat layout, so the email package reads it
    parts = split_message(_outgoing(nested))
    assert parts.text == "본문\r\n" and parts.html == "<p>본문</p>\r\n"
    assert all(name != "DKIM-Signature" for name, _ in parts.headers), "our signature would not verify after re-encoding"

    single = EmailMessage()
    single["From"] = "s@example.com"
    single["To"] = "a@example.com"
    single.set_content("<p>만</p>", subtype="html", cte="quoted-printable")
    assert split_message(_outgoing(single)).html == "<p>만</p>\r\n" and split_message(_outgoing(single)).text is None


def test_split_refuses_attachments_it_cannot_carry() -> None:
    mixed = EmailMessage()
    mixed["From"] = "s@example.com"
    mixed["To"] = "a@example.com"
    mixed.set_content("본문")
    mixed.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="a.pdf")
    with pytest.raises(MessageUnsupported, match="attachments or inline parts"):
        split_message(_outgoing(mixed))


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
