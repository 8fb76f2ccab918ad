"""SendGrid's signed Event Webhook: the signature check, the event parser and the endpoint.

ECDSA P-256 / SHA-256 over `timestamp + raw body`, signature base64 DER in
`X-Twilio-Email-Event-Webhook-Signature`, timestamp in `…-Timestamp`; the verification key is
shown in SendGrid's mail settings as base64 DER (PEM is accepted too) and named by `[sendgrid]
webhook_public_key_env`. SendGrid retries a failed post "at increasing intervals for up to 24 hours
after the event occurs" (its Event Webhook troubleshooting guide) and does not say whether a retry
is signed afresh, so a signature older than that window (plus `[serve] webhook_max_age_seconds` of
clock skew) is refused, and so is each event in a batch that happened before it. Redeliveries
are stored once (by `sg_event_id`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import Response

from webzine.bounces.events import BounceEvent, Kind, PayloadError
from webzine.config import Settings
from webzine.errors import ConfigError
from webzine.i18n import _
from webzine.providers.events import bounce_event, judge, load_json, moment
from webzine.providers.tags import ISSUE_TAG, MESSAGE_ID_TAG
from webzine.providers.webhook import SignatureError, Webhook, Wiring, client_of, log


def recognises(document: object) -> bool:
    return isinstance(document, dict) and ("sg_event_id" in document or "sg_message_id" in document
                                           or ("event" in document and "email" in document))


# --- events -----------------------------------------------------------------------------------

SENDGRID_DROPPED = {"Bounced Address": (Kind.HARD, "provider_suppressed"),
                    "Unsubscribed Address": (Kind.UNSUBSCRIBE, "unsubscribe"),
                    "Spam Reporting Address": (Kind.COMPLAINT, "abuse"),
                    "Invalid": (Kind.HARD, "invalid_address")}


def parse_events(payload: bytes | str | dict | list) -> list[BounceEvent]:
    """The event webhook posts a JSON array; opens, clicks and `processed` carry no verdict."""
    data = load_json(payload)
    events: list[BounceEvent] = []
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict) or "event" not in item:
            raise PayloadError(_("SendGrid: expected a list of event objects with an 'event' field"))
        event = _sendgrid_event(item)
        if event is not None:
            events.append(event)
    return events


# sg_message_id is the send's X-Message-Id plus a suffix naming SendGrid's filter or receiver.
_SENDGRID_SUFFIX = re.compile(r"\.(?:filter|recvd)")


def sendgrid_x_message_id(sg_message_id: str) -> str:
    """The X-Message-Id the send stored, from an event's sg_message_id."""
    return _SENDGRID_SUFFIX.split(sg_message_id, maxsplit=1)[0]


def _sendgrid_event(item: dict) -> BounceEvent | None:
    name, email = item.get("event", ""), item.get("email", "")
    key = item.get("sg_event_id") or f"{item.get('sg_message_id', '')}:{name}:{email.lower()}"
    # Our Message-ID comes back as a custom arg; without it, the provider id names the row.
    common = {"issue": item.get(ISSUE_TAG), "occurred_at": moment(item.get("timestamp")),
              "evidence": {"event": name, "message_id": item.get(MESSAGE_ID_TAG),
                           "provider_id": sendgrid_x_message_id(str(item.get("sg_message_id") or "")),
                           "sg_message_id": item.get("sg_message_id"), "type": item.get("type"),
                           "classification": item.get("bounce_classification")}}
    text = str(item.get("reason") or "")
    if name == "bounce":
        says = Kind.SOFT if item.get("type") == "blocked" else Kind.HARD
        kind, reason, status = judge(email, item.get("status"), text, provider_says=says)
        return bounce_event(kind, email, key, "sendgrid", status=status, diagnostic=text[:500], reason=reason, **common)
    if name == "deferred":  # SendGrid retries: a delay, not yet a bounce
        kind, reason, status = judge(email, item.get("status"), text or str(item.get("response", "")),
                                      provider_says=Kind.SOFT)
        common["evidence"]["action"] = "delayed"
        return bounce_event(kind, email, key, "sendgrid", status=status, diagnostic=text[:500], reason=reason, **common)
    if name == "dropped":
        kind, reason = SENDGRID_DROPPED.get(text, (Kind.UNKNOWN, "dropped"))
        return bounce_event(kind, email, key, "sendgrid", diagnostic=text[:500], reason=reason, **common)
    simple = {"delivered": Kind.DELIVERED, "spamreport": Kind.COMPLAINT, "unsubscribe": Kind.UNSUBSCRIBE,
              "group_unsubscribe": Kind.UNSUBSCRIBE}
    if name in simple:
        return bounce_event(simple[name], email, key, "sendgrid", reason=name,
                      diagnostic=str(item.get("response", ""))[:500], **common)
    return None


# --- the signature ----------------------------------------------------------------------------

RETRY_SECONDS = 24 * 3600


def load_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or as PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise ValueError(_("not an EC public key in base64 DER or PEM ({reason})").format(reason=exc)) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError(_("the key is not an elliptic-curve public key"))
    return key


def verify(key: ec.EllipticCurvePublicKey, body: bytes, signature: str, timestamp: str) -> None:
    if not signature or not timestamp:
        raise SignatureError("missing X-Twilio-Email-Event-Webhook-Signature/-Timestamp")
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise SignatureError("SendGrid signature does not verify") from exc


def check_age(timestamp: str, *, now: float, max_age: float) -> None:
    """The signed timestamp must lie within `max_age` seconds of `now`, either side."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > max_age:
        raise SignatureError(f"SendGrid signature timestamp {timestamp!r} is more than {max_age:.0f} s away from now")


def fresh_events(events: list[object], *, now: float, max_age: float) -> tuple[list[object], int]:
    """(the events that happened within `max_age` seconds before `now`, how many did not). An
    event without a numeric timestamp is kept: the parser judges it."""
    fresh = [event for event in events if not _older(event, now - max_age)]
    return fresh, len(events) - len(fresh)


def _older(event: object, horizon: float) -> bool:
    stamp = event.get("timestamp") if isinstance(event, dict) else None
    return isinstance(stamp, int | float) and not isinstance(stamp, bool) and stamp < horizon


# --- the endpoint -----------------------------------------------------------------------------


class SendGridWebhook(Webhook):
    name = "sendgrid"

    def __init__(self, wiring: Wiring, key: ec.EllipticCurvePublicKey) -> None:
        super().__init__(wiring)
        self.key = key

    @classmethod
    def from_settings(cls, settings: Settings, wiring: Wiring) -> Self | None:
        env = settings.sendgrid.webhook_public_key_env
        text = os.environ.get(env, "")
        if not text:
            return None
        try:
            return cls(wiring, load_key(text))
        except ValueError as exc:
            raise ConfigError(
                f"{env}: {exc}.", hint=_("copy the verification key from SendGrid's Mail Settings → Signed Event Webhook.")
            ) from None

    @classmethod
    def off_reason(cls, settings: Settings) -> str:
        return _("{variable} is not set").format(variable=settings.sendgrid.webhook_public_key_env)

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        now, window = self.wiring.clock(), RETRY_SECONDS + self.wiring.max_age_seconds
        timestamp = request.headers.get("x-twilio-email-event-webhook-timestamp", "")
        try:
            verify(self.key, body, request.headers.get("x-twilio-email-event-webhook-signature", ""), timestamp)
            check_age(timestamp, now=now, max_age=window)
        except SignatureError as exc:
            return self.refused(request, exc)
        try:
            data = json.loads(body)
        except ValueError:
            return self.unreadable(request, "not JSON")
        events, stale = fresh_events(data, now=now, max_age=window) if isinstance(data, list) else (data, 0)
        if not stale:
            return self.store(request, lambda: parse_events(events))
        log.warning("sendgrid webhook from %s: %d event(s) older than %.0f h not stored",
                    client_of(request), stale, window / 3600)  # fmt: skip
        return self.store(request, lambda: parse_events(events), stale=stale)
