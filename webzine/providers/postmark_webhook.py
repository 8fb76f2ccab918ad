"""Postmark's webhooks: the credentials check, the event parser and the endpoint.

Postmark authenticates a webhook with HTTP basic auth credentials put into the webhook URL (named
by `[postmark] webhook_username_env` / `webhook_password_env`), compared in constant time. The
parser reads the Bounce, SpamComplaint, Delivery and SubscriptionChange webhooks, the bounces API
page and saved event files.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from typing import Self

from starlette.requests import Request
from starlette.responses import Response

from webzine.bounces.classify import find_status
from webzine.bounces.events import BounceEvent, Kind, PayloadError
from webzine.config import Settings
from webzine.i18n import _
from webzine.providers.events import bounce_event, judge, load_json, moment
from webzine.providers.tags import ISSUE_TAG
from webzine.providers.webhook import SignatureError, Webhook, Wiring


def recognises(document: object) -> bool:
    return isinstance(document, dict) and ("RecordType" in document or "Bounces" in document
                                           or ("Type" in document and "Email" in document)
                                           or _older_delivery(document))


# --- events -----------------------------------------------------------------------------------

POSTMARK_TYPES = {
    "HardBounce": Kind.HARD, "BadEmailAddress": Kind.HARD, "SoftBounce": Kind.SOFT, "Transient": Kind.SOFT,
    "DnsError": Kind.SOFT, "SpamComplaint": Kind.COMPLAINT, "SpamNotification": Kind.SENDER_PROBLEM,
    "Blocked": Kind.SENDER_PROBLEM, "DMARCPolicy": Kind.SENDER_PROBLEM, "VirusNotification": Kind.SENDER_PROBLEM,
    "Unsubscribe": Kind.UNSUBSCRIBE, "AutoResponder": Kind.AUTO_REPLY, "AddressChange": Kind.UNKNOWN,
}


# SubscriptionChange (SuppressionReason, Origin) → kind. A ManualSuppression is the reader's own
# unsubscribe only with Origin "Recipient" (Postmark's unsubscribe link); "Customer" (you, in the UI
# or API) and "Admin" (Postmark) are not the reader's choice and never read as one.
POSTMARK_SUPPRESSIONS = {("HardBounce", "*"): Kind.HARD, ("SpamComplaint", "*"): Kind.COMPLAINT,
                         ("ManualSuppression", "Recipient"): Kind.UNSUBSCRIBE}


def parse_events(payload: bytes | str | dict | list) -> list[BounceEvent]:
    """Bounce, SpamComplaint, Delivery and SubscriptionChange webhooks (one object each), or a
    list of them, or the bounces API page ({"Bounces": [...]})."""
    data = load_json(payload)
    if isinstance(data, dict) and "Bounces" in data:
        data = data["Bounces"]
    events = []
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict) or not ({"RecordType", "Type"} & item.keys() or _older_delivery(item)):
            raise PayloadError(_("Postmark: expected webhook objects with 'RecordType' or 'Type'"))
        event = _postmark_event(item)
        if event is not None:
            events.append(event)
    return events


def _older_delivery(item: dict) -> bool:
    """Postmark's delivery webhook as first documented: no RecordType, no Type."""
    return "DeliveredAt" in item and "Recipient" in item


def _postmark_event(item: dict) -> BounceEvent | None:
    record = item.get("RecordType") or ("Delivery" if _older_delivery(item) else "Bounce")
    email = item.get("Email") or item.get("Recipient") or ""
    metadata = item.get("Metadata") or {}
    common = {"issue": metadata.get(ISSUE_TAG),
              "evidence": {"record_type": record, "type": item.get("Type"), "message_id": item.get("MessageID"),
                           "description": item.get("Description"), "tag": item.get("Tag")}}
    if record in {"Bounce", "SpamComplaint"}:
        type_name = item.get("Type", "")
        says = POSTMARK_TYPES.get(type_name, Kind.UNKNOWN)
        text = str(item.get("Details") or item.get("Description") or "")
        key = str(item.get("ID") or f"{item.get('MessageID', '')}:{type_name}:{email.lower()}")
        if says in {Kind.HARD, Kind.SOFT}:
            kind, reason, status = judge(email, None, text, provider_says=says)
        else:
            kind, reason, status = says, type_name, find_status(text)
        return bounce_event(kind, email, key, "postmark", status=status, diagnostic=text[:500], reason=reason,
                      occurred_at=moment(item.get("BouncedAt")), **common)
    if record == "Delivery":
        return bounce_event(Kind.DELIVERED, email, f"{item.get('MessageID', '')}:delivered", "postmark",
                      reason="delivered", diagnostic=str(item.get("Details", ""))[:500],
                      occurred_at=moment(item.get("DeliveredAt")), **common)
    if record == "SubscriptionChange" and item.get("SuppressSending"):
        reason = str(item.get("SuppressionReason", ""))
        origin = str(item.get("Origin", ""))
        common["evidence"]["origin"] = origin
        kind = POSTMARK_SUPPRESSIONS.get((reason, origin)) or POSTMARK_SUPPRESSIONS.get((reason, "*"), Kind.UNKNOWN)
        return bounce_event(kind, email, f"{item.get('MessageID', '')}:{reason}:{item.get('ChangedAt', '')}", "postmark",
                      reason=reason or "unsubscribe", occurred_at=moment(item.get("ChangedAt")), **common)
    return None


# --- the credentials --------------------------------------------------------------------------

def verify_basic_auth(header: str, username: str, password: str) -> None:
    scheme, __, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise SignatureError("no basic auth credentials")
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise SignatureError("malformed basic auth credentials") from exc
    expected = f"{username}:{password}".encode("utf-8")
    if not hmac.compare_digest(given, expected):
        raise SignatureError("wrong basic auth credentials")


# --- the endpoint -----------------------------------------------------------------------------


class PostmarkWebhook(Webhook):
    name = "postmark"

    def __init__(self, wiring: Wiring, username: str, password: str) -> None:
        super().__init__(wiring)
        self.credentials = (username, password)

    @classmethod
    def from_settings(cls, settings: Settings, wiring: Wiring) -> Self | None:
        section = settings.postmark
        user = os.environ.get(section.webhook_username_env, "")
        password = os.environ.get(section.webhook_password_env, "")
        return cls(wiring, user, password) if user and password else None

    @classmethod
    def off_reason(cls, settings: Settings) -> str:
        return _("{username} or {password} is not set").format(
            username=settings.postmark.webhook_username_env, password=settings.postmark.webhook_password_env)

    async def receive(self, request: Request) -> Response:
        try:
            verify_basic_auth(request.headers.get("authorization", ""), *self.credentials)
        except SignatureError as exc:
            response = self.refused(request, exc)
            response.headers["WWW-Authenticate"] = 'Basic realm="webzine webhooks"'
            return response
        body = await request.body()
        return self.store(request, lambda: parse_events(body))
