"""Provider webhooks against the real server: each one's valid and invalid signatures, dedupe, and
the events reaching `load_unsubscribed` / `store_suppressions`.

Every key here is made by the test (an EC key pair for SendGrid, an RSA key and a self-signed
certificate standing in for SNS's); only SendGrid's published test vector is someone else's.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from serve_support import SECRET, running_server, write_project
from webzine.bounces.events import Kind
from webzine.models import SuppressionReason
from webzine.unsubscribes.store import load_unsubscribed, store_suppressions
from webzine.web.app import Collaborators
from webzine.providers.sendgrid_webhook import RETRY_SECONDS as SENDGRID_RETRY_SECONDS
from webzine.providers.sendgrid_webhook import check_age as check_sendgrid_age
from webzine.providers.sendgrid_webhook import fresh_events as fresh_sendgrid_events
from webzine.providers.sendgrid_webhook import load_key as load_sendgrid_key
from webzine.providers.sendgrid_webhook import verify as verify_sendgrid
from webzine.providers.ses_webhook import sns_string_to_sign
from webzine.providers.webhook import SignatureError
from webzine.unsubscribes.store import Store

MAILGUN_KEY = "mailgun-signing-key-for-tests"
POSTMARK_USER, POSTMARK_PASSWORD = "postmark-hook", "correct horse battery staple"
TOPIC = "arn:aws:sns:ap-northeast-2:123456789012:webzine-ses-events"
CERT_URL = "https://sns.ap-northeast-2.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
SUBSCRIBE_URL = "https://sns.ap-northeast-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=abc"

NOW = 1763881300.0  # the server's clock: 100 s after the sample events happened
DAY = 24 * 3600

SENDGRID_EVENTS = [
    {
        "email": "hong@example.com",
        "timestamp": 1763881200,
        "event": "bounce",
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "sg_event_id": "sg-bounce-1",
        "sg_message_id": "sg-message-1.filter",
    },
    {"email": "kim@example.org", "timestamp": 1763881201, "event": "spamreport", "sg_event_id": "sg-spam-1"},
    {"email": "lee@example.net", "timestamp": 1763881202, "event": "open", "sg_event_id": "sg-open-1"},
]


@pytest.fixture(scope="module")
def sendgrid_keys():
    private = ec.generate_private_key(ec.SECP256R1())
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(public_der).decode()


@pytest.fixture(scope="module")
def sns_identity():
    """An RSA key and a self-signed certificate playing SNS's signing certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com (test)")])
    now = dt.datetime.fromtimestamp(NOW, dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


class FakeFetch:
    """Serves our certificate at SNS's URL and records every URL the server asked for."""

    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem if url == CERT_URL else b"<ConfirmSubscriptionResponse/>"


@pytest.fixture()
def env(monkeypatch, sendgrid_keys):
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("WEBZINE_SENDGRID_WEBHOOK_PUBLIC_KEY", sendgrid_keys[1])
    monkeypatch.setenv("WEBZINE_MAILGUN_WEBHOOK_SIGNING_KEY", MAILGUN_KEY)
    monkeypatch.setenv("WEBZINE_POSTMARK_WEBHOOK_USERNAME", POSTMARK_USER)
    monkeypatch.setenv("WEBZINE_POSTMARK_WEBHOOK_PASSWORD", POSTMARK_PASSWORD)


@pytest.fixture()
def settings(tmp_path, env):
    return write_project(tmp_path, f'[serve]\nnotify = false\n[ses]\nsns_topic_arns = ["{TOPIC}"]\n')


@pytest.fixture()
def store(settings):
    opened = Store.from_settings(settings)
    yield opened
    opened.close()


@pytest.fixture()
def fetch(sns_identity):
    return FakeFetch(sns_identity[1])


@pytest.fixture()
def client(settings, store, fetch):
    with running_server(settings, store, Collaborators(fetch=fetch, clock=lambda: NOW)) as url:
        with httpx.Client(base_url=url, timeout=10) as http:
            yield http


# --- SendGrid -----------------------------------------------------------------------------------


def sendgrid_headers(private: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str) -> dict[str, str]:
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def test_sendgrid_published_test_vector_verifies():
    """The key, signature and payload from SendGrid's own event-webhook library tests."""
    key = load_sendgrid_key(
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnl"
        "vFYPAZFceEu/1FwCM/QmGUhA=="
    )
    signature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
    payload = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'
    verify_sendgrid(key, payload, signature, "1588788367")
    with pytest.raises(SignatureError):
        verify_sendgrid(key, payload + b"\r\n", signature, "1588788367")
    with pytest.raises(SignatureError):
        verify_sendgrid(key, payload, signature, "1588788368")


def test_sendgrid_valid_signature_stores_events(client, store, sendgrid_keys):
    body = json.dumps(SENDGRID_EVENTS).encode()
    response = client.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(sendgrid_keys[0], body, "1763881300"))
    assert response.status_code == 200
    assert response.json() == {"received": 2, "stored": 2}  # the open carries no verdict
    kinds = {event.key: event.kind for event in store.events()}
    assert kinds == {"hong@example.com": Kind.HARD, "kim@example.org": Kind.COMPLAINT}


def test_sendgrid_redelivery_is_stored_once(client, store, sendgrid_keys):
    body = json.dumps(SENDGRID_EVENTS).encode()
    for timestamp in ("1763881300", "1763881360"):
        response = client.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(sendgrid_keys[0], body, timestamp))
        assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert len(store.events()) == 2


def test_sendgrid_invalid_signatures_are_refused_and_logged(client, store, sendgrid_keys, caplog):
    body = json.dumps(SENDGRID_EVENTS).encode()
    stranger = ec.generate_private_key(ec.SECP256R1())
    good = sendgrid_headers(sendgrid_keys[0], body, "1763881300")
    cases = {
        "another key": (body, sendgrid_headers(stranger, body, "1763881300")),
        "altered body": (body.replace(b"hong@", b"h0ng@"), good),
        "altered timestamp": (body, {**good, "X-Twilio-Email-Event-Webhook-Timestamp": "1763881301"}),
        "no signature": (body, {"Content-Type": "application/json"}),
        "garbage signature": (body, {**good, "X-Twilio-Email-Event-Webhook-Signature": "not base64!"}),
    }
    with caplog.at_level("WARNING", logger="webzine.providers.webhook"):
        for name, (content, headers) in cases.items():
            assert client.post("/webhooks/sendgrid", content=content, headers=headers).status_code == 401, name
    assert store.events() == []
    assert sum("refused sendgrid webhook from 127.0.0.1" in r.getMessage() for r in caplog.records) == len(cases)


def test_webhook_batches_may_be_larger_than_reader_requests(client, store, sendgrid_keys, settings):
    padding_events = [
        {"email": f"reader{n}@example.com", "event": "open", "sg_event_id": f"o{n}", "timestamp": 1763881200}
        for n in range(2000)
    ]
    body = json.dumps(SENDGRID_EVENTS + padding_events).encode()
    assert len(body) > settings.serve.max_body_bytes
    response = client.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(sendgrid_keys[0], body, "1763881300"))
    assert response.status_code == 200 and response.json()["stored"] == 2
    huge = b"[" + b" " * settings.serve.webhook_max_body_bytes + b"]"
    huge_headers = sendgrid_headers(sendgrid_keys[0], huge, "1763881300")
    assert client.post("/webhooks/sendgrid", content=huge, headers=huge_headers).status_code == 413


def test_sendgrid_events_older_than_its_retry_window_are_not_stored(client, store, sendgrid_keys, caplog):
    """SendGrid retries an event for at most 24 hours after it happened: a 30-day-old event is a
    replay or a mistake, never a delivery. The fresh events of the same batch are kept."""
    month_old = [{**event, "timestamp": int(NOW) - 30 * DAY, "sg_event_id": f"old-{n}"}
                 for n, event in enumerate(SENDGRID_EVENTS)]
    body = json.dumps(month_old + SENDGRID_EVENTS).encode()
    response = client.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(sendgrid_keys[0], body, "1763881300"))
    assert response.status_code == 200
    assert response.json() == {"received": 2, "stored": 2, "stale": 3}
    assert sorted(event.key for event in store.events()) == ["hong@example.com", "kim@example.org"]
    assert any("3 event(s) older than" in r.getMessage() for r in caplog.records)


def test_a_sendgrid_request_signed_long_ago_is_refused(client, store, sendgrid_keys):
    body = json.dumps(SENDGRID_EVENTS).encode()
    signed_a_month_ago = sendgrid_headers(sendgrid_keys[0], body, str(int(NOW) - 30 * DAY))
    assert client.post("/webhooks/sendgrid", content=body, headers=signed_a_month_ago).status_code == 401
    signed_in_the_future = sendgrid_headers(sendgrid_keys[0], body, str(int(NOW) + 2 * DAY))
    assert client.post("/webhooks/sendgrid", content=body, headers=signed_in_the_future).status_code == 401
    assert store.events() == []


@pytest.mark.parametrize(
    ("age", "fresh"),
    [(0, True), (DAY, True), (SENDGRID_RETRY_SECONDS + 900, True), (SENDGRID_RETRY_SECONDS + 901, False), (30 * DAY, False)],
)
def test_the_sendgrid_window_is_the_retry_window_plus_the_allowed_skew(age: int, fresh: bool):
    events = [{"event": "bounce", "timestamp": int(NOW) - age}, {"event": "open", "timestamp": "not a number"}]
    kept, stale = fresh_sendgrid_events(events, now=NOW, max_age=SENDGRID_RETRY_SECONDS + 900)
    assert (len(kept), stale) == ((2, 0) if fresh else (1, 1))
    if fresh:
        check_sendgrid_age(str(int(NOW) - age), now=NOW, max_age=SENDGRID_RETRY_SECONDS + 900)
    else:
        with pytest.raises(SignatureError):
            check_sendgrid_age(str(int(NOW) - age), now=NOW, max_age=SENDGRID_RETRY_SECONDS + 900)


# --- Mailgun ------------------------------------------------------------------------------------


def mailgun_body(*, timestamp: int | None = None, token: str = "a" * 50, key: str = MAILGUN_KEY, event_id: str = "mg-1") -> dict:
    stamp = str(timestamp if timestamp is not None else int(NOW))
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": stamp, "token": token, "signature": signature},
        "event-data": {
            "id": event_id,
            "event": "failed",
            "severity": "permanent",
            "recipient": "lee@example.net",
            "timestamp": 1763881200.5,
            "reason": "bounce",
            "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist", "enhanced-code": "5.1.1"},
            "message": {"headers": {"message-id": "issue-1.lee@example.co.kr"}},
        },
    }


def test_mailgun_valid_signature_stores_the_event(client, store):
    response = client.post("/webhooks/mailgun", json=mailgun_body())
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert [(e.key, e.kind, e.provider) for e in store.events()] == [("lee@example.net", Kind.HARD, "mailgun")]


def test_mailgun_invalid_signatures_are_refused_with_406_which_alone_stops_mailguns_retries(client, store):
    """Mailgun retries every other non-2xx answer for 8 hours; 406 Not Acceptable tells it to stop."""
    forged = mailgun_body(key="not-the-key")
    altered = mailgun_body()
    altered["signature"]["token"] = "b" * 50
    stale = mailgun_body(timestamp=int(NOW) - 3600)
    no_signature = {"event-data": mailgun_body()["event-data"]}
    for name, body in {"forged": forged, "altered token": altered, "stale": stale, "unsigned": no_signature}.items():
        assert client.post("/webhooks/mailgun", json=body).status_code == 406, name
    assert client.post("/webhooks/mailgun", content=b"not json").status_code == 406
    assert store.events() == []


def test_mailgun_token_is_good_once(client, store):
    body = mailgun_body(token="c" * 50)
    assert client.post("/webhooks/mailgun", json=body).status_code == 200
    assert client.post("/webhooks/mailgun", json=body).status_code == 406
    assert client.post("/webhooks/mailgun", json=mailgun_body(token="d" * 50, event_id="mg-2")).status_code == 200
    assert len(store.events()) == 2


# --- Postmark -----------------------------------------------------------------------------------

POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Email": "park@example.com",
    "BouncedAt": "2026-11-23T07:00:00Z",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
}


def test_postmark_basic_auth(client, store):
    assert client.post("/webhooks/postmark", json=POSTMARK_BOUNCE, auth=(POSTMARK_USER, POSTMARK_PASSWORD)).status_code == 200
    for auth in ((POSTMARK_USER, "wrong"), ("someone", POSTMARK_PASSWORD), None):
        refused = client.post("/webhooks/postmark", json={**POSTMARK_BOUNCE, "ID": 1}, auth=auth)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
    assert [(e.key, e.kind) for e in store.events()] == [("park@example.com", Kind.HARD)]


def test_postmarks_older_delivery_payload_without_record_type_is_accepted(client, store):
    """Postmark's delivery webhook as first documented: no RecordType, no Type."""
    older = {"ServerId": 23, "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Recipient": "john@example.com",
             "Tag": "welcome-email", "DeliveredAt": "2014-08-01T13:28:10.2735393-04:00",
             "Details": "Test delivery webhook details"}
    response = client.post("/webhooks/postmark", json=older, auth=(POSTMARK_USER, POSTMARK_PASSWORD))
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert [(e.key, e.kind) for e in store.events()] == [("john@example.com", Kind.DELIVERED)]


# --- Amazon SES through SNS ----------------------------------------------------------------------


def sns_message(key: rsa.RSAPrivateKey, *, version: str = "2", kind: str = "Notification", **overrides: str) -> dict:
    ses = {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "hong@example.com"}],
            "timestamp": "2026-11-23T07:00:00.000Z",
            "feedbackId": "0100017f-complaint-1",
            "complaintFeedbackType": "abuse",
        },
        "mail": {"messageId": "0100017f-ses-message-1", "timestamp": "2026-11-23T06:00:00.000Z"},
    }
    message = {
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": json.dumps(ses),
        "Timestamp": "2026-11-23T07:00:01.000Z",
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
    }
    if kind == "SubscriptionConfirmation":
        message.update(Message="You have chosen to subscribe to the topic.", Token="abc", SubscribeURL=SUBSCRIBE_URL)
    message.update(overrides)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(key.sign(sns_string_to_sign(message), padding.PKCS1v15(), digest)).decode()
    return message


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_notification_with_a_valid_signature(client, store, sns_identity, fetch, version):
    response = client.post("/webhooks/ses", content=json.dumps(sns_message(sns_identity[0], version=version)),
                           headers={"Content-Type": "text/plain; charset=UTF-8"})
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert [(e.key, e.kind, e.provider) for e in store.events()] == [("hong@example.com", Kind.COMPLAINT, "ses")]
    assert fetch.urls == [CERT_URL]


def test_ses_subject_is_part_of_the_signature(client, store, sns_identity):
    signed = sns_message(sns_identity[0], Subject="Amazon SES Email Event Notification")
    assert client.post("/webhooks/ses", content=json.dumps(signed)).status_code == 200
    signed["Subject"] = "Something else"
    assert client.post("/webhooks/ses", content=json.dumps(signed)).status_code == 401


def test_ses_invalid_signatures_are_refused(client, store, sns_identity, fetch):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tampered = sns_message(sns_identity[0])
    tampered["Message"] = tampered["Message"].replace("hong@", "kim@")
    cases = {
        "signed by another key": sns_message(stranger),
        "message altered": tampered,
        "unknown signature version": {**sns_message(sns_identity[0]), "SignatureVersion": "3"},
        "certificate elsewhere": sns_message(sns_identity[0], SigningCertURL="https://attacker.example.com/sns.pem"),
        "certificate over http": sns_message(sns_identity[0], SigningCertURL=CERT_URL.replace("https", "http")),
        "certificate in another region": sns_message(
            sns_identity[0], SigningCertURL=CERT_URL.replace("ap-northeast-2", "us-east-1")
        ),
        "look-alike host": sns_message(
            sns_identity[0], SigningCertURL="https://sns.ap-northeast-2.amazonaws.com.attacker.example/x.pem"
        ),
    }
    for name, message in cases.items():
        assert client.post("/webhooks/ses", content=json.dumps(message)).status_code == 401, name
    assert set(fetch.urls) <= {CERT_URL}  # never fetched a certificate from anywhere else
    assert store.events() == []


def test_ses_other_topics_are_refused(client, store, sns_identity, fetch):
    other = sns_message(sns_identity[0], TopicArn="arn:aws:sns:ap-northeast-2:999999999999:someone-elses-topic")
    assert client.post("/webhooks/ses", content=json.dumps(other)).status_code == 403
    assert fetch.urls == [] and store.events() == []


def test_ses_expired_certificate_is_refused(settings, store, sns_identity):
    key = sns_identity[0]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired")])
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    expired = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(long_ago).not_valid_after(long_ago + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    ).public_bytes(serialization.Encoding.PEM)
    with running_server(settings, store, Collaborators(fetch=FakeFetch(expired))) as url:
        assert httpx.post(f"{url}/webhooks/ses", content=json.dumps(sns_message(key))).status_code == 401


def test_ses_subscription_confirmation_is_fetched_only_when_signed(client, store, sns_identity, fetch):
    confirmation = sns_message(sns_identity[0], kind="SubscriptionConfirmation")
    response = client.post("/webhooks/ses", content=json.dumps(confirmation))
    assert response.status_code == 200 and response.json() == {"confirmed": True}
    assert fetch.urls == [CERT_URL, SUBSCRIBE_URL]
    forged = sns_message(
        sns_identity[0], kind="SubscriptionConfirmation", SubscribeURL="https://attacker.example.com/confirm"
    )
    assert client.post("/webhooks/ses", content=json.dumps(forged)).status_code == 401
    assert fetch.urls == [CERT_URL, SUBSCRIBE_URL]


# --- configuration and the read side ---------------------------------------------------------------


@pytest.mark.slow
def test_a_provider_without_its_secret_has_no_endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    for name in ("SENDGRID_WEBHOOK_PUBLIC_KEY", "MAILGUN_WEBHOOK_SIGNING_KEY", "POSTMARK_WEBHOOK_USERNAME"):
        monkeypatch.delenv(f"WEBZINE_{name}", raising=False)
    settings = write_project(tmp_path, "[serve]\nnotify = false\n")
    store = Store.from_settings(settings)
    try:
        with running_server(settings, store) as url:
            for provider in ("sendgrid", "mailgun", "postmark", "ses"):
                assert httpx.post(f"{url}/webhooks/{provider}", content=b"[]").status_code == 404, provider
    finally:
        store.close()


def test_a_malformed_sendgrid_key_is_a_config_error(tmp_path, monkeypatch):
    from webzine.errors import ConfigError
    from webzine.web.app import create_app

    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("WEBZINE_SENDGRID_WEBHOOK_PUBLIC_KEY", "not-a-key")
    settings = write_project(tmp_path)
    store = Store.from_settings(settings)
    try:
        with pytest.raises(ConfigError, match="WEBZINE_SENDGRID_WEBHOOK_PUBLIC_KEY: not an EC public key"):
            create_app(settings, store)
    finally:
        store.close()


def test_webhook_events_reach_send_and_suppressions(client, settings, sendgrid_keys, sns_identity):
    body = json.dumps(SENDGRID_EVENTS).encode()
    client.post("/webhooks/sendgrid", content=body, headers=sendgrid_headers(sendgrid_keys[0], body, "1763881300"))
    client.post("/webhooks/postmark", json=POSTMARK_BOUNCE, auth=(POSTMARK_USER, POSTMARK_PASSWORD))
    assert load_unsubscribed(settings) == {"kim@example.org"}  # the spam report; bounces are not opt-outs
    rows = {(r.email, r.reason, r.source) for r in store_suppressions(settings)}
    assert rows == {
        ("hong@example.com", SuppressionReason.HARD_BOUNCE, "webhook:sendgrid"),
        ("kim@example.org", SuppressionReason.COMPLAINT, "webhook:sendgrid"),
        ("park@example.com", SuppressionReason.HARD_BOUNCE, "webhook:postmark"),
    }
