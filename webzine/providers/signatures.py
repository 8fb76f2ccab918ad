"""How each email provider proves a webhook came from it, checked without trusting the request.

Pure functions over the raw request parts; the endpoints in `webhooks.py` call them before a body
is parsed. Every comparison of a secret-derived value is constant-time.

- SendGrid (signed event webhook): ECDSA P-256 / SHA-256 over `timestamp + raw body`, signature
  base64 DER in `X-Twilio-Email-Event-Webhook-Signature`, timestamp in `…-Timestamp`; the
  verification key is shown in SendGrid's mail settings as base64 DER (PEM is accepted too).
  SendGrid retries a failed post "at increasing intervals for up to 24 hours after the event
  occurs" (its Event Webhook troubleshooting guide) and does not say whether a retry is signed
  afresh, so a signature older than that window (plus `[serve] webhook_max_age_seconds` of clock
  skew) is refused, and so is each event in a batch that happened before it.
- Mailgun: hex HMAC-SHA256 of `timestamp + token` with the webhook signing key, carried in the
  JSON body's `signature` object; the timestamp must be recent and a token is accepted once.
- Postmark: HTTP basic auth credentials put into the webhook URL.
- Amazon SES through SNS: RSA signature (SignatureVersion 1: SHA1, 2: SHA256) over the canonical
  "Key\\nValue\\n" string of the message's fields, with the certificate at `SigningCertURL`, which
  must be an https URL on `sns.<topic's region>.amazonaws.com` (a forged message cannot point us at
  a certificate of its own); the message's `TopicArn` must be one we subscribed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa


class SignatureError(Exception):
    """Why a webhook was refused; logged, never shown to the caller beyond a status code."""


# --- SendGrid ---------------------------------------------------------------------------------

SENDGRID_RETRY_SECONDS = 24 * 3600


def load_sendgrid_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or as PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"not an EC public key in base64 DER or PEM ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("the key is not an elliptic-curve public key")
    return key


def verify_sendgrid(key: ec.EllipticCurvePublicKey, body: bytes, signature: str, timestamp: str) -> None:
    if not signature or not timestamp:
        raise SignatureError("missing X-Twilio-Email-Event-Webhook-Signature/-Timestamp")
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise SignatureError("SendGrid signature does not verify") from exc


def check_sendgrid_age(timestamp: str, *, now: float, max_age: float) -> None:
    """The signed timestamp must lie within `max_age` seconds of `now`, either side."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > max_age:
        raise SignatureError(f"SendGrid signature timestamp {timestamp!r} is more than {max_age:.0f} s away from now")


def fresh_sendgrid_events(events: list[object], *, now: float, max_age: float) -> tuple[list[object], int]:
    """(the events that happened within `max_age` seconds before `now`, how many did not). An
    event without a numeric timestamp is kept: the parser judges it."""
    fresh = [event for event in events if not _older(event, now - max_age)]
    return fresh, len(events) - len(fresh)


def _older(event: object, horizon: float) -> bool:
    stamp = event.get("timestamp") if isinstance(event, dict) else None
    return isinstance(stamp, int | float) and not isinstance(stamp, bool) and stamp < horizon


# --- Mailgun ----------------------------------------------------------------------------------


def verify_mailgun(signing_key: str, signature: object, *, now: float, max_age: float) -> str:
    """Check the body's `signature` object; returns its token (for the replay check)."""
    if not isinstance(signature, dict):
        raise SignatureError("no 'signature' object in the Mailgun body")
    timestamp, token, digest = (str(signature.get(k, "")) for k in ("timestamp", "token", "signature"))
    if not (timestamp.isdigit() and token and digest):
        raise SignatureError("Mailgun signature object is incomplete")
    expected = hmac.new(signing_key.encode("utf-8"), (timestamp + token).encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest.lower()):
        raise SignatureError("Mailgun signature does not verify")
    if abs(now - int(timestamp)) > max_age:
        raise SignatureError(f"Mailgun timestamp is more than {max_age:.0f} s away from now")
    return token


# --- Postmark ---------------------------------------------------------------------------------


def verify_basic_auth(header: str, username: str, password: str) -> None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise SignatureError("no basic auth credentials")
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise SignatureError("malformed basic auth credentials") from exc
    expected = f"{username}:{password}".encode("utf-8")
    if not hmac.compare_digest(given, expected):
        raise SignatureError("wrong basic auth credentials")


# --- Amazon SNS -------------------------------------------------------------------------------

SNS_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SNS_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_TOPIC_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:sns:([a-z0-9-]+):\d{12}:[\w-]{1,256}")


def sns_string_to_sign(message: dict[str, object]) -> bytes:
    """The canonical text SNS signs: each field name and value on its own line, in this order;
    Subject only when present."""
    kind = message.get("Type")
    if kind == "Notification":
        fields = SNS_NOTIFICATION_FIELDS
    elif kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        fields = SNS_CONFIRMATION_FIELDS
    else:
        raise SignatureError(f"unknown SNS message type {kind!r}")
    lines = []
    for name in fields:
        if name == "Subject" and message.get("Subject") is None:
            continue
        value = message.get(name)
        if not isinstance(value, str):
            raise SignatureError(f"SNS message has no {name}")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode("utf-8")


def sns_topic_region(topic_arn: str) -> str:
    match = _TOPIC_ARN.fullmatch(topic_arn)
    if not match:
        raise SignatureError("TopicArn is not an SNS topic ARN")
    return match.group(1)


def check_sns_url(url: str, region: str) -> None:
    """SNS URLs we may fetch: https on the topic region's SNS host, nothing else."""
    parts = urlsplit(url)
    allowed = {f"sns.{region}.amazonaws.com", f"sns.{region}.amazonaws.com.cn"}
    if parts.scheme != "https" or parts.hostname not in allowed or parts.port not in (None, 443) or parts.username:
        raise SignatureError(f"SNS URL host {parts.hostname!r} is not sns.{region}.amazonaws.com over https")


def verify_sns(message: dict[str, object], certificate_pem: bytes, *, now: datetime) -> None:
    version = message.get("SignatureVersion")
    algorithm: hashes.HashAlgorithm
    if version == "1":
        algorithm = hashes.SHA1()
    elif version == "2":
        algorithm = hashes.SHA256()
    else:
        raise SignatureError(f"unsupported SNS SignatureVersion {version!r}")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise SignatureError("the SNS signing certificate is not a PEM certificate") from exc
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SignatureError("the SNS signing certificate is expired or not yet valid")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the SNS signing certificate does not hold an RSA key")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        key.verify(signature, sns_string_to_sign(message), padding.PKCS1v15(), algorithm)
    except (binascii.Error, InvalidSignature) as exc:
        raise SignatureError("SNS signature does not verify") from exc
