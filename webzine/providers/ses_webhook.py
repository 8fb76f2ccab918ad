"""Amazon SES through SNS: the webhook's signature check, its event parser and its endpoint.

SES publishes bounce, complaint, delivery and delay notifications to an SNS topic, which posts
them to `POST /webhooks/ses` (or mails them to the bounce mailbox, read by `webzine bounces
import`). SNS signs each message with RSA (SignatureVersion 1: SHA1, 2: SHA256) over the canonical
"Key\\nValue\\n" string of its fields, with the certificate at `SigningCertURL`, which must be an
https URL on `sns.<topic's region>.amazonaws.com` (a forged message cannot point us at a
certificate of its own); the message's `TopicArn` must be one in `[ses] sns_topic_arns` (anyone
can create a topic and point it at our URL). A subscription confirmation is fetched only once
its signature verifies.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Self
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from webzine.bounces.classify import find_status
from webzine.bounces.events import BounceEvent, Kind, PayloadError
from webzine.config import Settings
from webzine.i18n import _
from webzine.providers.events import bounce_event, judge, load_json, moment
from webzine.providers.tags import ISSUE_TAG
from webzine.providers.webhook import SignatureError, Webhook, Wiring, client_of, log

MAX_CACHED_CERTIFICATES = 16


def recognises(document: object) -> bool:
    """An SNS message or a bare SES notification (a saved event file's first object)."""
    return isinstance(document, dict) and ("notificationType" in document or "eventType" in document
                                           or document.get("Type") in {"Notification", "SubscriptionConfirmation"})


# --- events -----------------------------------------------------------------------------------

SES_BOUNCE_KINDS = {"Permanent": Kind.HARD, "Transient": Kind.SOFT, "Undetermined": Kind.UNKNOWN}
# ARF feedback types (RFC 5965 §7.3) that are no complaint: the reader says the mail is wanted.
NOT_COMPLAINTS = frozenset({"not-spam"})


def parse_events(payload: bytes | str | dict | list) -> list[BounceEvent]:
    """An SNS notification wrapping an SES notification (or the bare SES JSON, or a list of
    either). SubscriptionConfirmation messages carry no events."""
    data = load_json(payload)
    items = data if isinstance(data, list) else [data]
    events: list[BounceEvent] = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError(_("SES: expected a JSON object per notification"))
        if item.get("Type") == "SubscriptionConfirmation":
            continue
        inner = item.get("Message", item) if "Type" in item else item
        events.extend(_ses_notification(load_json(inner) if isinstance(inner, str) else inner))
    return events


def _ses_notification(note: dict) -> list[BounceEvent]:
    kind_name = note.get("notificationType") or note.get("eventType") or ""
    mail = note.get("mail") or {}
    issue = _ses_issue(mail)
    message_id = mail.get("messageId", "")
    if kind_name == "Bounce":
        bounce = note.get("bounce") or {}
        says = SES_BOUNCE_KINDS.get(bounce.get("bounceType", ""), Kind.UNKNOWN)
        sub = bounce.get("bounceSubType", "")
        events = []
        for rcpt in bounce.get("bouncedRecipients") or []:
            email = rcpt.get("emailAddress", "")
            text = rcpt.get("diagnosticCode", "") or sub
            kind, reason, status = judge(email, rcpt.get("status"), text, provider_says=says)
            if sub in {"Suppressed", "OnAccountSuppressionList"} and says is Kind.HARD:
                kind, reason = Kind.HARD, "provider_suppressed"
            events.append(bounce_event(kind, email, f"{bounce.get('feedbackId', message_id)}:{email.lower()}", "ses",
                                 issue=issue, status=status, diagnostic=text[:500], reason=reason,
                                 occurred_at=moment(bounce.get("timestamp")),
                                 evidence={"bounce_type": bounce.get("bounceType"), "bounce_subtype": sub,
                                           "message_id": message_id,
                                           "reporting_mta": bounce.get("reportingMTA")}))
        return events
    if kind_name == "DeliveryDelay":
        delay = note.get("deliveryDelay") or {}
        return [bounce_event(Kind.DELAYED, r.get("emailAddress", ""), f"{message_id}:delay:{delay.get('timestamp', '')}:"
                       f"{r.get('emailAddress', '').lower()}", "ses", issue=issue,
                       status=r.get("status") or find_status(r.get("diagnosticCode", "")),
                       diagnostic=str(r.get("diagnosticCode", ""))[:500], reason="delayed",
                       occurred_at=moment(delay.get("timestamp")),
                       evidence={"delay_type": delay.get("delayType"), "message_id": message_id,
                                 "expires": delay.get("expirationTime"), "reporting_mta": delay.get("reportingMTA")})
                for r in delay.get("delayedRecipients") or []]
    if kind_name == "Complaint":
        complaint = note.get("complaint") or {}
        feedback = complaint.get("complaintFeedbackType", "abuse")
        if feedback in NOT_COMPLAINTS:
            return []
        kind = Kind.UNSUBSCRIBE if feedback == "opt-out" else Kind.COMPLAINT
        return [bounce_event(kind, r.get("emailAddress", ""), f"{complaint.get('feedbackId', message_id)}:"
                       f"{r.get('emailAddress', '').lower()}", "ses", issue=issue, reason=feedback,
                       occurred_at=moment(complaint.get("timestamp")),
                       evidence={"feedback_type": feedback, "message_id": message_id,
                                 "user_agent": complaint.get("userAgent")})
                for r in complaint.get("complainedRecipients") or []]
    if kind_name == "Delivery":
        delivery = note.get("delivery") or {}
        return [bounce_event(Kind.DELIVERED, email, f"{message_id}:delivered:{email.lower()}", "ses", issue=issue,
                       status=find_status(delivery.get("smtpResponse", "")), reason="delivered",
                       diagnostic=delivery.get("smtpResponse", ""), occurred_at=moment(delivery.get("timestamp")),
                       evidence={"message_id": message_id})
                for email in delivery.get("recipients") or []]
    return []


def _ses_issue(mail: dict) -> str | None:
    values = (mail.get("tags") or {}).get(ISSUE_TAG) or []
    return values[0] if values else None


# --- the SNS signature ------------------------------------------------------------------------

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


# --- the endpoint -----------------------------------------------------------------------------


class SesWebhook(Webhook):
    name = "ses"

    def __init__(self, wiring: Wiring, topics: frozenset[str]) -> None:
        super().__init__(wiring)
        self.topics = topics
        self._certificates: dict[str, bytes] = {}

    @classmethod
    def from_settings(cls, settings: Settings, wiring: Wiring) -> Self | None:
        topics = frozenset(settings.ses.sns_topic_arns)
        return cls(wiring, topics) if topics else None

    @classmethod
    def off_reason(cls, settings: Settings) -> str:
        return _("[ses] sns_topic_arns is empty")

    async def receive(self, request: Request) -> Response:
        try:
            message = load_json(await request.body())
        except PayloadError:
            return self.unreadable(request, "not JSON")
        if not isinstance(message, dict):
            return self.unreadable(request, "not an SNS message object")
        topic = str(message.get("TopicArn", ""))
        if topic not in self.topics:
            log.warning("refused ses webhook from %s: topic %r is not in [ses] sns_topic_arns", client_of(request), topic)
            return JSONResponse({"error": "unknown topic"}, status_code=403)
        try:
            region = sns_topic_region(topic)
            await asyncio.to_thread(self._verify, message, region)
        except SignatureError as exc:
            return self.refused(request, exc)
        kind = message.get("Type")
        if kind == "SubscriptionConfirmation":
            return await self._confirm_subscription(request, message, region)
        if kind == "UnsubscribeConfirmation":
            log.warning("SNS topic %s unsubscribed this endpoint", topic)
            return JSONResponse({"stored": 0})
        return self.store(request, lambda: parse_events(message))

    def _verify(self, message: dict[str, object], region: str) -> None:
        url = str(message.get("SigningCertURL", ""))
        check_sns_url(url, region)
        certificate = self._certificates.get(url)
        if certificate is None:
            certificate = self.wiring.fetch(url)
            if len(self._certificates) >= MAX_CACHED_CERTIFICATES:
                self._certificates.clear()
            self._certificates[url] = certificate
        verify_sns(message, certificate, now=datetime.fromtimestamp(self.wiring.clock(), UTC))

    async def _confirm_subscription(self, request: Request, message: dict[str, object], region: str) -> Response:
        url = str(message.get("SubscribeURL", ""))
        try:
            check_sns_url(url, region)
            await asyncio.to_thread(self.wiring.fetch, url)
        except SignatureError as exc:
            return self.refused(request, exc)
        log.info("confirmed the SNS subscription to %s", message.get("TopicArn"))
        return JSONResponse({"confirmed": True})
