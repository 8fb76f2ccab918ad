"""The provider pre-flight `webzine check` calls (`webzine.providers.preflight(settings, client)`),
against the local stand-ins answering in each provider's documented shapes: Postmark's stream
type, unsubscribe handling and webhooks; SES's identity, Easy DKIM and configuration-set
tracking; SendGrid's and Mailgun's account tracking, beside `[send] track_opens` / `track_clicks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import json

import pytest

import sendkit
from conftest import write_config
from api_samples import messages
from api_servers import SES_DESTINATIONS, SES_IDENTITY, ApiServer
from webzine.config import Settings, load_settings
from webzine.errors import SenderProblem
from webzine.providers import preflight
from webzine.providers.sendgrid import SendGridTransport
from webzine.providers.preflight import Finding, Status
from webzine.transports.http import build_client

# One worker runs the module, so its four stand-in servers start once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("api_preflight")

SECRETS = {"POSTMARK_SERVER_TOKEN": "test-token", "SENDGRID_API_KEY": "test-token", "MAILGUN_API_KEY": "test-token",
           "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ApiServer]]:
    started: dict[str, ApiServer] = {}
    try:
        for name in ("postmark", "sendgrid", "mailgun", "ses"):
            started[name] = ApiServer(name)
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def settings_for(server: ApiServer, section: dict[str, Any] | None = None, dkim: bool = False, **send: Any) -> Settings:
    base = sendkit.settings(transport=server.provider, **send)
    provider = getattr(base, server.provider).model_copy(update={"base_url": server.url, **(section or {})})
    update: dict[str, Any] = {server.provider: provider}
    if dkim:
        update["dkim"] = base.dkim.model_copy(update={"domain": "example.co.kr", "selector": "wz2026"})
    return base.model_copy(update=update)


def run(server: ApiServer, settings: Settings) -> dict[str, Finding]:
    found = preflight(settings, build_client(server.url, timeout=5, connections=1))
    return {finding.check: finding for finding in found}


def statuses(found: dict[str, Finding]) -> dict[str, str]:
    return {check: finding.status.value for check, finding in found.items()}


def test_outbox_and_smtp_have_no_provider_to_ask() -> None:
    assert preflight(sendkit.settings(transport="outbox")) == []
    assert preflight(sendkit.settings(transport="smtp")) == []


def test_a_postmark_broadcast_stream_set_up_for_webzine_passes(servers) -> None:
    server = servers["postmark"]
    server.configure()
    found = run(server, settings_for(server))
    assert statuses(found) == {"postmark_stream": "pass", "postmark_unsubscribe": "pass", "postmark_webhooks": "pass"}
    assert "https://news.example.co.kr/webhooks/postmark" in found["postmark_webhooks"].text("en")


def test_postmark_managing_unsubscribes_fails_with_the_setting_to_change(servers) -> None:
    server = servers["postmark"]
    server.configure(unsubscribe_handling="Postmark")
    found = run(server, settings_for(server))["postmark_unsubscribe"]
    assert found.status is Status.FAIL
    assert '"Manage unsubscribes on your own" (Custom' in found.text("en")
    assert "Manage unsubscribes on your own" in found.text("ko") and "수신거부" in found.text("ko")


def test_a_transactional_or_missing_postmark_stream_fails(servers) -> None:
    server = servers["postmark"]
    server.configure()
    assert run(server, settings_for(server, {"message_stream": "outbound"}))["postmark_stream"].status is Status.FAIL
    missing = run(server, settings_for(server, {"message_stream": "newsletter"}))
    assert statuses(missing) == {"postmark_stream": "fail"}
    assert "no message stream 'newsletter'" in missing["postmark_stream"].text("en")


def test_postmark_webhooks_missing_a_trigger_are_named(servers) -> None:
    server = servers["postmark"]
    hook = {"ID": 2, "Url": "https://news.example.co.kr/webhooks/postmark",
            "MessageStream": "broadcast", "HttpAuth": None, "HttpHeaders": [],
            "Triggers": {"Bounce": {"Enabled": True, "IncludeContent": False}, "SpamComplaint": {"Enabled": False},
                         "SubscriptionChange": {"Enabled": False}}}
    server.configure(webhooks=[hook])
    found = run(server, settings_for(server))["postmark_webhooks"]
    assert found.status is Status.WARN
    assert "missing: SpamComplaint, SubscriptionChange" in found.text("en")
    server.configure(webhooks=[])
    assert run(server, settings_for(server))["postmark_webhooks"].status is Status.WARN


def test_sendgrid_account_tracking_is_reported_beside_what_each_message_asks(servers) -> None:
    server = servers["sendgrid"]
    server.configure()  # click and open tracking on for the account, subscription tracking off
    found = run(server, settings_for(server))
    assert statuses(found) == {"sendgrid_domain": "pass", "sendgrid_click_tracking": "pass",
                               "sendgrid_open_tracking": "pass", "sendgrid_subscription_tracking": "pass"}
    assert found["sendgrid_click_tracking"].text("en") == (
        "click tracking is on for the SendGrid account; every message sets it off.")
    clicks = run(server, settings_for(server, track_clicks=True))["sendgrid_click_tracking"]
    assert clicks.status is Status.WARN and "rewrites every link" in clicks.text("en")


@pytest.mark.parametrize("domains, expected", [
    ([], "fail"),
    ([{"id": 2, "domain": "example.co.kr", "subdomain": "em9", "valid": False}], "fail"),
    ([{"id": 3, "domain": "other.example", "subdomain": "em9", "valid": True}], "fail"),
], ids=["none", "not-valid", "other-domain"])
def test_sendgrid_must_sign_for_the_from_domain(servers, domains, expected: str) -> None:
    """SendGrid rebuilds the MIME and drops our DKIM (tests/test_api_dkim.py): its own signature,
    made for an authenticated domain, is the one that must align with From."""
    server = servers["sendgrid"]
    server.configure(authenticated_domains=domains)
    found = run(server, settings_for(server))["sendgrid_domain"]
    assert found.status.value == expected and "Sender Authentication" in found.text("en")


def test_a_sendgrid_key_limited_to_sending_is_a_warning_a_wrong_key_stops(servers, monkeypatch) -> None:
    server = servers["sendgrid"]
    server.configure(tracking_readable=False)
    assert set(statuses(run(server, settings_for(server))).values()) == {"warn"}
    monkeypatch.setenv("SENDGRID_API_KEY", "wrong-key")
    with pytest.raises(SenderProblem, match="401"):
        run(server, settings_for(server))


def test_tracking_asked_in_webzine_toml_reaches_the_request(servers, tmp_path) -> None:
    """`[send] track_opens` / `track_clicks` → `Tracking` → the body SendGrid receives."""
    server = servers["sendgrid"]
    server.configure()
    path = write_config(tmp_path, f'[send]\ntransport = "sendgrid"\ntrack_clicks = true\n\n[sendgrid]\nbase_url = "{server.url}"')
    settings = load_settings(path)
    assert (settings.send.track_clicks, settings.send.track_opens) == (True, False)
    transport = SendGridTransport.from_settings(settings)
    try:
        transport.send(messages(1)[0])
    finally:
        transport.close()
    [request] = server.received()["requests"]
    tracking = json.loads(request["body"])["tracking_settings"]
    assert tracking["click_tracking"] == {"enable": True, "enable_text": True}
    assert tracking["open_tracking"] == {"enable": False} and tracking["subscription_tracking"] == {"enable": False}


def test_mailgun_domain_state_and_tracking(servers) -> None:
    server = servers["mailgun"]
    server.configure()
    section = {"domain": "mg.example.co.kr"}
    assert statuses(run(server, settings_for(server, section))) == {
        "mailgun_domain": "pass", "mailgun_click_tracking": "pass", "mailgun_unsubscribe_tracking": "pass"}
    server.configure(tracking={"click": True, "open": True, "subscription": False, "unsubscribe": True})
    found = run(server, settings_for(server, section, track_clicks=True))
    assert statuses(found)["mailgun_unsubscribe_tracking"] == "warn"
    assert "breaks webzine's DKIM signature" in found["mailgun_click_tracking"].text("en")
    server.configure(domain_state="unverified")
    assert statuses(run(server, settings_for(server, section))) == {"mailgun_domain": "fail"}


def test_ses_easy_dkim_on_the_from_domain_passes_and_click_tracking_it_was_not_asked_for_fails(servers) -> None:
    server = servers["ses"]
    server.configure(identities={"example.co.kr": SES_IDENTITY},
                     configuration_sets={"newsletter": SES_DESTINATIONS})
    found = run(server, settings_for(server))  # the identity's default configuration set tracks CLICK
    assert statuses(found) == {"ses_identity": "pass", "ses_tracking": "fail"}
    assert "remove CLICK from its event destinations" in found["ses_tracking"].text("en")
    asked = run(server, settings_for(server, track_clicks=True))
    assert statuses(asked) == {"ses_identity": "pass", "ses_tracking": "pass"}


@pytest.mark.parametrize("identities, dkim, expected", [
    ({"news@example.co.kr": {**SES_IDENTITY, "IdentityType": "EMAIL_ADDRESS", "DkimAttributes": {}}}, True, "warn"),
    ({"news@example.co.kr": {**SES_IDENTITY, "IdentityType": "EMAIL_ADDRESS", "DkimAttributes": {}}}, False, "fail"),
    ({"example.co.kr": {**SES_IDENTITY, "DkimAttributes": {"SigningEnabled": True, "Status": "PENDING"}}}, False, "fail"),
    ({}, True, "fail"),
], ids=["address-only-webzine-signs", "address-only-nobody-signs", "easy-dkim-pending", "not-verified"])
def test_ses_without_easy_dkim_depends_on_webzines_own_signature(servers, identities, dkim: bool, expected: str) -> None:
    server = servers["ses"]
    server.configure(identities={name: {**value, "ConfigurationSetName": None} for name, value in identities.items()})
    found = run(server, settings_for(server, dkim=dkim))
    assert statuses(found) == {"ses_identity": expected, "ses_tracking": "pass"}


def test_ses_names_a_configuration_set_that_does_not_exist(servers) -> None:
    server = servers["ses"]
    server.configure(identities={"example.co.kr": SES_IDENTITY})
    found = run(server, settings_for(server, {"configuration_set": "missing"}))
    assert found["ses_tracking"].status is Status.FAIL and "no configuration set 'missing'" in found["ses_tracking"].text("en")
