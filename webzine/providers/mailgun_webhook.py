"""Mailgun's webhooks: the signature check, the event parser and the endpoint.

Mailgun signs with a hex HMAC-SHA256 of `timestamp + token` under the webhook signing key (named
by `[mailgun] webhook_signing_key_env`), carried in the JSON body's `signature` object; the
timestamp must be recent and a token is accepted once. Mailgun retries every answer but 2xx and
406 for 8 hours, so a refused or unreadable post is answered 406 Not Acceptable, the one code
Mailgun documents as "do not retry". The parser also reads events-API pages and saved event files.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from typing import Any, Self

from starlette.requests import Request
from starlette.responses import Response

from webzine.bounces.events import BounceEvent, Kind, PayloadError
from webzine.config import Settings
from webzine.i18n import _
from webzine.providers.events import bounce_event, judge, load_json, moment
from webzine.providers.tags import ISSUE_TAG
from webzine.providers.webhook import SignatureError, Webhook, Wiring

NOT_ACCEPTABLE = 406  # the one answer that stops Mailgun's retries


def recognises(document: object) -> bool:
    return isinstance(document, dict) and ("event-data" in document or "items" in document
                                           or ("event" in document and "recipient" in document))


# --- events -----------------------------------------------------------------------------------

# `failed` events Mailgun sends without trying, because the address is on one of its lists.
MAILGUN_SUPPRESSED = {"suppress-bounce": Kind.HARD, "suppress-unsubscribe": Kind.UNSUBSCRIBE,
                      "suppress-complaint": Kind.COMPLAINT}

def parse_events(payload: bytes | str | dict | list) -> list[BounceEvent]:
    """A webhook body ({"signature", "event-data"}), an events-API page ({"items": [...]}), or a
    list of event-data objects. Signature checking belongs to the web service, which has the key."""
    data = load_json(payload)
    if isinstance(data, dict) and "event-data" in data:
        items: Iterable[Any] = [data["event-data"]]
    elif isinstance(data, dict) and "items" in data:
        items = data["items"]
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict) and "event" in data:
        items = [data]
    else:
        raise PayloadError(_("Mailgun: expected 'event-data', 'items' or event objects"))
    events = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError(_("Mailgun: event data must be objects"))
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
    common = {"issue": variables.get(ISSUE_TAG), "occurred_at": moment(item.get("timestamp")),
              "evidence": {"event": name, "severity": item.get("severity"), "mailgun_reason": item.get("reason"),
                           "message_id": headers.get("message-id"), "code": status_block.get("code")}}
    if name == "failed":
        text = " ".join(str(status_block.get(k) or "") for k in ("code", "message", "description")).strip()
        says = Kind.HARD if item.get("severity") == "permanent" else Kind.SOFT
        if says is Kind.SOFT:
            common["evidence"]["action"] = "delayed"  # Mailgun retries temporary failures
        suppressed = MAILGUN_SUPPRESSED.get(str(item.get("reason")))
        if suppressed is not None:
            return bounce_event(suppressed, email, key, "mailgun", reason="provider_suppressed", diagnostic=text[:500],
                          **common)
        kind, reason, status = judge(email, status_block.get("enhanced-code"), text, provider_says=says)
        return bounce_event(kind, email, key, "mailgun", status=status, diagnostic=text[:500], reason=reason, **common)
    simple = {"delivered": Kind.DELIVERED, "complained": Kind.COMPLAINT, "unsubscribed": Kind.UNSUBSCRIBE}
    if name in simple:
        return bounce_event(simple[name], email, key, "mailgun", reason=name, **common)
    return None


# --- the signature ----------------------------------------------------------------------------

def verify(signing_key: str, signature: object, *, now: float, max_age: float) -> str:
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


# --- the endpoint -----------------------------------------------------------------------------


class MailgunWebhook(Webhook):
    name = "mailgun"
    refused_status = NOT_ACCEPTABLE
    unreadable_status = NOT_ACCEPTABLE

    def __init__(self, wiring: Wiring, signing_key: str) -> None:
        super().__init__(wiring)
        self.signing_key = signing_key
        self._tokens: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, wiring: Wiring) -> Self | None:
        key = os.environ.get(settings.mailgun.webhook_signing_key_env)
        return cls(wiring, key) if key else None

    @classmethod
    def off_reason(cls, settings: Settings) -> str:
        return _("{variable} is not set").format(variable=settings.mailgun.webhook_signing_key_env)

    async def receive(self, request: Request) -> Response:
        try:
            data = load_json(await request.body())
        except PayloadError:
            return self.unreadable(request, "not JSON")
        now = self.wiring.clock()
        try:
            signature = data.get("signature") if isinstance(data, dict) else None
            token = verify(self.signing_key, signature, now=now, max_age=self.wiring.max_age_seconds)
            if token in self._tokens:
                raise SignatureError("Mailgun token was already used (a replay)")
        except SignatureError as exc:
            return self.refused(request, exc)
        response = self.store(request, lambda: parse_events(data))
        if response.status_code == 200:
            self._remember(token, now)
        return response

    def _remember(self, token: str, now: float) -> None:
        """Mailgun's advice against replays: a token is good once. It is remembered only after
        the events were stored, so a delivery we failed to store can still be retried."""
        horizon = now - 2 * self.wiring.max_age_seconds
        if len(self._tokens) > 10_000:
            self._tokens = {t: seen for t, seen in self._tokens.items() if seen > horizon}
        self._tokens[token] = now
