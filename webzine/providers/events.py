"""The shared pieces of every provider's event parser (`<name>_webhook.py`).

Each provider reports bounces its own way (SES through SNS, SendGrid's event webhook, Mailgun's
event data, Postmark's bounce webhook); each parser maps them onto the one vocabulary
(`webzine.bounces.events`). A provider's own "hard" verdict is cross-checked with our classifier:
a provider calling a DMARC rejection a hard bounce must not cost us the recipient. Where the
provider has the better evidence it is kept: its hard bounce counts as a refusal at RCPT TO (it
ran the SMTP session), and its suppression reasons, delay notices and feedback types map by each
parser's tables, written from the provider's documented values (docs/email-apis.md links them).

The issue an event belongs to travels in the message's own metadata: the send step tags each
message with `webzine_issue` (SendGrid custom args, Mailgun user-variables, Postmark Metadata,
SES message tags); without it the ledger resolves the provider message id.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from webzine.bounces.classify import classify
from webzine.bounces.events import BounceEvent, Kind, PayloadError
from webzine.i18n import _


def load_json(payload: bytes | str | dict | list) -> Any:
    if isinstance(payload, (dict, list)):
        return payload
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(_("not JSON: {reason}").format(reason=exc)) from exc


def moment(value: Any) -> datetime | None:
    """Epoch seconds or ISO 8601, as the providers send them."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, (int, float)) or str(value).replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None


def judge(email: str, status: str | None, text: str, *, provider_says: Kind) -> tuple[Kind, str, str | None]:
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


def bounce_event(kind: Kind, email: str, key: str, provider: str, **extra: Any) -> BounceEvent:
    evidence = {k: str(v) for k, v in (extra.pop("evidence", None) or {}).items() if v not in (None, "")}
    return BounceEvent(kind=kind, email=email.strip(), dedupe_key=f"{provider}:{key}", source=provider,
                       provider=provider, **extra, evidence=evidence)
