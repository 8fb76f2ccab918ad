"""Email-API event payloads → `BounceEvent`s.

Each provider reports bounces its own way (SES through SNS, SendGrid's event webhook, Mailgun's
event data, Postmark's bounce webhook). These plain functions map them onto the one vocabulary;
the web service calls them for webhooks and `webzine bounces import` for saved event files.
A provider's own "hard" verdict is cross-checked with our classifier: a provider calling a
DMARC rejection a hard bounce must not cost us the recipient. Where the provider has the better
evidence it is kept: its hard bounce counts as a refusal at RCPT TO (it ran the SMTP session), and
its suppression reasons, delay notices and feedback types map by the tables below, each written
from the provider's documented values (docs/email-apis.md links them).

The issue an event belongs to travels in the message's own metadata: the send step tags each
message with `webzine_issue` (SendGrid custom args, Mailgun user-variables, Postmark Metadata,
SES message tags); without it the ledger resolves the provider message id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from webzine.bounces.classify import classify, find_status
from webzine.bounces.events import BounceEvent, Kind
from webzine.providers.tags import ISSUE_TAG, MESSAGE_ID_TAG


class PayloadError(ValueError):
    """The payload is not the provider's JSON shape; the caller decides how loudly to fail."""


def _load(payload: bytes | str | dict | list) -> Any:
    if isinstance(payload, (dict, list)):
        return payload
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"not JSON: {exc}") from exc


def _when(value: Any) -> datetime | None:
    """Epoch seconds or ISO 8601, as the providers send them."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, (int, float)) or str(value).replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None


def _judge(email: str, status: str | None, text: str, *, provider_says: Kind) -> tuple[Kind, str, str | None]:
    """Our classifier on the provider's words, bounded by the provider's own verdict: we may
    weaken a provider's hard bounce (to sender_problem, soft or unknown), never strengthen a soft one."""
    # The provider ran the SMTP session: its hard bounce is the RCPT-stage refusal our text rule
    # otherwise asks for before trusting "unknown recipient" (SendGrid's "500 unknown recipient").
    verdict = classify(status, text, recipient=email, structured=True,
                       command="RCPT" if provider_says is Kind.HARD else "")
    if provider_says is Kind.HARD:
        if verdict.kind in {Kind.SENDER_PROBLEM, Kind.SOFT}:
            return verdict.kind, verdict.reason, verdict.status
        return Kind.HARD, verdict.reason if verdict.kind is Kind.HARD else "provider_hard_bounce", verdict.status
    if provider_says is Kind.SOFT and verdict.kind is Kind.SENDER_PROBLEM:
        return verdict.kind, verdict.reason, verdict.status
    return provider_says, verdict.reason if verdict.kind is provider_says else provider_says.value, verdict.status


def _event(kind: Kind, email: str, key: str, provider: str, **extra: Any) -> BounceEvent:
    evidence = {k: str(v) for k, v in (extra.pop("evidence", None) or {}).items() if v not in (None, "")}
    return BounceEvent(kind=kind, email=email.strip(), dedupe_key=f"{provider}:{key}", source=provider,
                       provider=provider, **extra, evidence=evidence)


# --- Amazon SES (via SNS) ---------------------------------------------------------------------

SES_BOUNCE_KINDS = {"Permanent": Kind.HARD, "Transient": Kind.SOFT, "Undetermined": Kind.UNKNOWN}
# ARF feedback types (RFC 5965 §7.3) that are no complaint: the reader says the mail is wanted.
NOT_COMPLAINTS = frozenset({"not-spam"})


def parse_ses_events(payload: bytes | str | dict | list) -> list[BounceEvent]:
    """An SNS notification wrapping an SES notification (or the bare SES JSON, or a list of
    either). SubscriptionConfirmation messages carry no events."""
    data = _load(payload)
    items = data if isinstance(data, list) else [data]
    events: list[BounceEvent] = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError("SES: expected a JSON object per notification")
        if item.get("Type") == "SubscriptionConfirmation":
            continue
        inner = item.get("Message", item) if "Type" in item else item
        events.extend(_ses_notification(_load(inner) if isinstance(inner, str) else inner))
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
            kind, reason, status = _judge(email, rcpt.get("status"), text, provider_says=says)
            if sub in {"Suppressed", "OnAccountSuppressionList"} and says is Kind.HARD:
                kind, reason = Kind.HARD, "provider_suppressed"
            events.append(_event(kind, email, f"{bounce.get('feedbackId', message_id)}:{email.lower()}", "ses",
                                 issue=issue, status=status, diagnostic=text[:500], reason=reason,
                                 occurred_at=_when(bounce.get("timestamp")),
                                 evidence={"bounce_type": bounce.get("bounceType"), "bounce_subtype": sub,
                                           "message_id": message_id,
                                           "reporting_mta": bounce.get("reportingMTA")}))
        return events
    if kind_name == "DeliveryDelay":
        delay = note.get("deliveryDelay") or {}
        return [_event(Kind.DELAYED, r.get("emailAddress", ""), f"{message_id}:delay:{delay.get('timestamp', '')}:"
                       f"{r.get('emailAddress', '').lower()}", "ses", issue=issue,
                       status=r.get("status") or find_status(r.get("diagnosticCode", "")),
                       diagnostic=str(r.get("diagnosticCode", ""))[:500], reason="delayed",
                       occurred_at=_when(delay.get("timestamp")),
                       evidence={"delay_type": delay.get("delayType"), "message_id": message_id,
                                 "expires": delay.get("expirationTime"), "reporting_mta": delay.get("reportingMTA")})
                for r in delay.get("delayedRecipients") or []]
    if kind_name == "Complaint":
        complaint = note.get("complaint") or {}
        feedback = complaint.get("complaintFeedbackType", "abuse")
        if feedback in NOT_COMPLAINTS:
            return []
        kind = Kind.UNSUBSCRIBE if feedback == "opt-out" else Kind.COMPLAINT
        return [_event(kind, r.get("emailAddress", ""), f"{complaint.get('feedbackId', message_id)}:"
                       f"{r.get('emailAddress', '').lower()}", "ses", issue=issue, reason=feedback,
                       occurred_at=_when(complaint.get("timestamp")),
                       evidence={"feedback_type": feedback, "message_id": message_id,
                                 "user_agent": complaint.get("userAgent")})
                for r in complaint.get("complainedRecipients") or []]
    if kind_name == "Delivery":
        delivery = note.get("delivery") or {}
        return [_event(Kind.DELIVERED, email, f"{message_id}:delivered:{email.lower()}", "ses", issue=issue,
                       status=find_status(delivery.get("smtpResponse", "")), reason="delivered",
                       diagnostic=delivery.get("smtpResponse", ""), occurred_at=_when(delivery.get("timestamp")),
                       evidence={"message_id": message_id})
                for email in delivery.get("recipients") or []]
    return []


def _ses_issue(mail: dict) -> str | None:
    values = (mail.get("tags") or {}).get(ISSUE_TAG) or []
    return values[0] if values else None


# --- SendGrid event webhook -------------------------------------------------------------------

SENDGRID_DROPPED = {"Bounced Address": (Kind.HARD, "provider_suppressed"),
                    "Unsubscribed Address": (Kind.UNSUBSCRIBE, "unsubscribe"),
                    "Spam Reporting Address": (Kind.COMPLAINT, "abuse"),
                    "Invalid": (Kind.HARD, "invalid_address")}


def parse_sendgrid_events(payload: bytes | str | dict | list) -> list[BounceEvent]:
    """The event webhook posts a JSON array; opens, clicks and `processed` carry no verdict."""
    data = _load(payload)
    events: list[BounceEvent] = []
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict) or "event" not in item:
            raise PayloadError("SendGrid: expected a list of event objects with an 'event' field")
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
    common = {"issue": item.get(ISSUE_TAG), "occurred_at": _when(item.get("timestamp")),
              "evidence": {"event": name, "message_id": item.get(MESSAGE_ID_TAG),
                           "provider_id": sendgrid_x_message_id(str(item.get("sg_message_id") or "")),
                           "sg_message_id": item.get("sg_message_id"), "type": item.get("type"),
                           "classification": item.get("bounce_classification")}}
    text = str(item.get("reason") or "")
    if name == "bounce":
        says = Kind.SOFT if item.get("type") == "blocked" else Kind.HARD
        kind, reason, status = _judge(email, item.get("status"), text, provider_says=says)
        return _event(kind, email, key, "sendgrid", status=status, diagnostic=text[:500], reason=reason, **common)
    if name == "deferred":  # SendGrid retries: a delay, not yet a bounce
        kind, reason, status = _judge(email, item.get("status"), text or str(item.get("response", "")),
                                      provider_says=Kind.SOFT)
        common["evidence"]["action"] = "delayed"
        return _event(kind, email, key, "sendgrid", status=status, diagnostic=text[:500], reason=reason, **common)
    if name == "dropped":
        kind, reason = SENDGRID_DROPPED.get(text, (Kind.UNKNOWN, "dropped"))
        return _event(kind, email, key, "sendgrid", diagnostic=text[:500], reason=reason, **common)
    simple = {"delivered": Kind.DELIVERED, "spamreport": Kind.COMPLAINT, "unsubscribe": Kind.UNSUBSCRIBE,
              "group_unsubscribe": Kind.UNSUBSCRIBE}
    if name in simple:
        return _event(simple[name], email, key, "sendgrid", reason=name,
                      diagnostic=str(item.get("response", ""))[:500], **common)
    return None


# --- Mailgun ----------------------------------------------------------------------------------

# `failed` events Mailgun sends without trying, because the address is on one of its lists.
MAILGUN_SUPPRESSED = {"suppress-bounce": Kind.HARD, "suppress-unsubscribe": Kind.UNSUBSCRIBE,
                      "suppress-complaint": Kind.COMPLAINT}

def parse_mailgun_events(payload: bytes | str | dict | list) -> list[BounceEvent]:
    """A webhook body ({"signature", "event-data"}), an events-API page ({"items": [...]}), or a
    list of event-data objects. Signature checking belongs to the web service, which has the key."""
    data = _load(payload)
    if isinstance(data, dict) and "event-data" in data:
        items: Iterable[Any] = [data["event-data"]]
    elif isinstance(data, dict) and "items" in data:
        items = data["items"]
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict) and "event" in data:
        items = [data]
    else:
        raise PayloadError("Mailgun: expected 'event-data', 'items' or event objects")
    events = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError("Mailgun: event data must be objects")
        event = _mailgun_event(item)
        if event is not None:
            events.append(event)
    return events


def _mailgun_event(item: dict) -> BounceEvent | None:
    name, email = item.get("event", ""), item.get("recipient", "")
    status_block = item.get("delivery-status") or {}
    headers = (item.get("message") or {}).get("headers") or {}
    variables = item.get("user-variables") or {}
    key = item.get("id") or f"{headers.get('message-id', '')}:{name}:{email.lower()}"
    common = {"issue": variables.get(ISSUE_TAG), "occurred_at": _when(item.get("timestamp")),
              "evidence": {"event": name, "severity": item.get("severity"), "mailgun_reason": item.get("reason"),
                           "message_id": headers.get("message-id"), "code": status_block.get("code")}}
    if name == "failed":
        text = " ".join(str(status_block.get(k) or "") for k in ("code", "message", "description")).strip()
        says = Kind.HARD if item.get("severity") == "permanent" else Kind.SOFT
        if says is Kind.SOFT:
            common["evidence"]["action"] = "delayed"  # Mailgun retries temporary failures
        suppressed = MAILGUN_SUPPRESSED.get(str(item.get("reason")))
        if suppressed is not None:
            return _event(suppressed, email, key, "mailgun", reason="provider_suppressed", diagnostic=text[:500],
                          **common)
        kind, reason, status = _judge(email, status_block.get("enhanced-code"), text, provider_says=says)
        return _event(kind, email, key, "mailgun", status=status, diagnostic=text[:500], reason=reason, **common)
    simple = {"delivered": Kind.DELIVERED, "complained": Kind.COMPLAINT, "unsubscribed": Kind.UNSUBSCRIBE}
    if name in simple:
        return _event(simple[name], email, key, "mailgun", reason=name, **common)
    return None


# --- Postmark ---------------------------------------------------------------------------------

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


def parse_postmark_events(payload: bytes | str | dict | list) -> list[BounceEvent]:
    """Bounce, SpamComplaint, Delivery and SubscriptionChange webhooks (one object each), or a
    list of them, or the bounces API page ({"Bounces": [...]})."""
    data = _load(payload)
    if isinstance(data, dict) and "Bounces" in data:
        data = data["Bounces"]
    events = []
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict) or not ({"RecordType", "Type"} & item.keys() or _older_delivery(item)):
            raise PayloadError("Postmark: expected webhook objects with 'RecordType' or 'Type'")
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
            kind, reason, status = _judge(email, None, text, provider_says=says)
        else:
            kind, reason, status = says, type_name, find_status(text)
        return _event(kind, email, key, "postmark", status=status, diagnostic=text[:500], reason=reason,
                      occurred_at=_when(item.get("BouncedAt")), **common)
    if record == "Delivery":
        return _event(Kind.DELIVERED, email, f"{item.get('MessageID', '')}:delivered", "postmark",
                      reason="delivered", diagnostic=str(item.get("Details", ""))[:500],
                      occurred_at=_when(item.get("DeliveredAt")), **common)
    if record == "SubscriptionChange" and item.get("SuppressSending"):
        reason = str(item.get("SuppressionReason", ""))
        origin = str(item.get("Origin", ""))
        common["evidence"]["origin"] = origin
        kind = POSTMARK_SUPPRESSIONS.get((reason, origin)) or POSTMARK_SUPPRESSIONS.get((reason, "*"), Kind.UNKNOWN)
        return _event(kind, email, f"{item.get('MessageID', '')}:{reason}:{item.get('ChangedAt', '')}", "postmark",
                      reason=reason or "unsubscribe", occurred_at=_when(item.get("ChangedAt")), **common)
    return None


PARSERS = {"ses": parse_ses_events, "sendgrid": parse_sendgrid_events, "mailgun": parse_mailgun_events,
           "postmark": parse_postmark_events}


def detect_provider(data: Any) -> str | None:
    """Which provider wrote this saved event file (for `webzine bounces import file.json`)."""
    first = data[0] if isinstance(data, list) and data else data
    if not isinstance(first, dict):
        return None
    if "notificationType" in first or "eventType" in first or first.get("Type") in {"Notification",
                                                                                      "SubscriptionConfirmation"}:
        return "ses"
    if "sg_event_id" in first or "sg_message_id" in first or ("event" in first and "email" in first):
        return "sendgrid"
    if "event-data" in first or "items" in first or ("event" in first and "recipient" in first):
        return "mailgun"
    if "RecordType" in first or "Bounces" in first or ("Type" in first and "Email" in first) or _older_delivery(first):
        return "postmark"
    return None
