"""Provider-side suppression lists, read into our `Suppression` records.

Every email API keeps its own list of addresses it will no longer deliver to (hard bounces, spam
complaints, unsubscribes through its own links, manual blocks). A message to such an address is
refused or silently dropped by the provider, so `webzine suppressions pull --provider NAME` copies
that list into `lists/suppressions.csv`, where cleaning and the audit can see it. Each record keeps
its evidence: the provider, the list it came from and the provider's own words.

One reader per provider, each a generator over that provider's pages:

| provider | endpoints                                                         | reasons |
|----------|-------------------------------------------------------------------|---------|
| sendgrid | /v3/suppression/{bounces,spam_reports,unsubscribes,invalid_emails} | offset/limit pages of 500 |
| mailgun  | /v3/{domain}/{bounces,complaints,unsubscribes}                     | `paging.next` links |
| postmark | /message-streams/{stream}/suppressions/dump                        | one dump |
| ses      | /v2/email/suppression/addresses (account-level list)               | `NextToken` pages |

SendGrid "blocks" are temporary refusals by the receiving server and are not pulled.

`provider_evidence` asks the provider's own record whether it took a message whose outcome we
never heard (`webzine settle --ask-provider`): Postmark's outbound message search (by recipient,
matched on our Message-ID in `Metadata`), Mailgun's events API (by Message-ID and recipient).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from webzine.errors import TransportError
from webzine.models import Suppression, SuppressionReason
from webzine.models import Delivery
from webzine.transports.http import ApiTransport, excerpt, json_body
from webzine.providers.mailgun import MailgunTransport
from webzine.providers.postmark import PostmarkTransport
from webzine.providers.sendgrid import SendGridTransport
from webzine.providers.ses import SesTransport

MAX_PAGES = 100_000  # a provider whose paging never ends must not hang the command


def fetch(transport: ApiTransport, build: Callable[[], httpx.Request]) -> Any:
    """One GET, its JSON body; anything else is an error that names the provider's answer."""
    result = transport.exchange(build)
    if isinstance(result, Delivery):
        raise TransportError(f"{result.text}; re-run the command later.")
    shared = transport.common(result)  # 401/403/404 raise SenderProblem here
    if shared is not None or not result.is_success:
        raise TransportError(
            f"{transport.name} answered HTTP {result.status_code} at {result.request.url}: {excerpt(result)}; "
            "re-run the command later."
        )
    return json_body(result)


def _day(value: Any) -> date | None:
    """Provider timestamps: Unix seconds, ISO 8601 or RFC 2822 (Mailgun)."""
    if isinstance(value, (int, float)) and value > 0:
        return datetime.fromtimestamp(value, timezone.utc).date()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            pass
        try:
            return parsedate_to_datetime(value).date()
        except (TypeError, ValueError):
            return None
    return None


def _record(email: Any, reason: SuppressionReason, since: Any, source: str, detail: str) -> Suppression | None:
    if not isinstance(email, str) or not email.strip():
        return None
    return Suppression(email.strip(), reason, _day(since), source, " ".join(detail.split())[:300])


# --- SendGrid ---------------------------------------------------------------------------------

SENDGRID_LISTS = {
    "bounces": SuppressionReason.HARD_BOUNCE,
    "invalid_emails": SuppressionReason.HARD_BOUNCE,
    "spam_reports": SuppressionReason.COMPLAINT,
    "unsubscribes": SuppressionReason.UNSUBSCRIBED,
}
SENDGRID_PAGE = 500


def sendgrid_suppressions(transport: SendGridTransport) -> Iterator[Suppression]:
    for kind, reason in SENDGRID_LISTS.items():
        for page in range(MAX_PAGES):
            params = {"limit": str(SENDGRID_PAGE), "offset": str(page * SENDGRID_PAGE)}
            rows = fetch(transport, lambda: transport.get_request(f"/v3/suppression/{kind}", params))
            if not isinstance(rows, list):
                break
            for row in rows:
                words = " ".join(str(row.get(k, "")) for k in ("status", "reason") if row.get(k))
                entry = _record(row.get("email"), reason, row.get("created"), "sendgrid", f"SendGrid {kind}: {words}".strip(": "))
                if entry:
                    yield entry
            if len(rows) < SENDGRID_PAGE:
                break


# --- Mailgun ----------------------------------------------------------------------------------

MAILGUN_LISTS = {
    "bounces": SuppressionReason.HARD_BOUNCE,
    "complaints": SuppressionReason.COMPLAINT,
    "unsubscribes": SuppressionReason.UNSUBSCRIBED,
}


def mailgun_suppressions(transport: MailgunTransport) -> Iterator[Suppression]:
    for kind, reason in MAILGUN_LISTS.items():
        url: str | None = f"{transport.domain_path}/{kind}?limit=1000"
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if url is None or url in seen:
                break
            seen.add(url)
            body = fetch(transport, lambda url=url: transport.get_request(url))
            items = body.get("items") if isinstance(body, dict) else None
            if not items:
                break
            for item in items:
                words = " ".join(str(item.get(k, "")) for k in ("code", "error") if item.get(k))
                entry = _record(item.get("address"), reason, item.get("created_at"), "mailgun", f"Mailgun {kind}: {words}".strip(": "))
                if entry:
                    yield entry
            url = (body.get("paging") or {}).get("next")


# --- Postmark ---------------------------------------------------------------------------------

POSTMARK_REASONS = {"HardBounce": SuppressionReason.HARD_BOUNCE, "SpamComplaint": SuppressionReason.COMPLAINT}


def postmark_suppressions(transport: PostmarkTransport) -> Iterator[Suppression]:
    """A `ManualSuppression` with origin `Recipient` is a reader who used Postmark's unsubscribe
    link; from the customer or an admin it is a manual block."""
    body = fetch(transport, lambda: transport.get_request(f"/message-streams/{transport.stream}/suppressions/dump"))
    for item in (body or {}).get("Suppressions") or []:
        kind, origin = item.get("SuppressionReason", ""), item.get("Origin", "")
        reason = POSTMARK_REASONS.get(kind)
        if reason is None:
            reason = SuppressionReason.UNSUBSCRIBED if origin == "Recipient" else SuppressionReason.MANUAL
        detail = f"Postmark {transport.stream} stream: {kind} (origin {origin})"
        entry = _record(item.get("EmailAddress"), reason, item.get("CreatedAt"), "postmark", detail)
        if entry:
            yield entry


# --- Amazon SES -------------------------------------------------------------------------------

SES_REASONS = {"BOUNCE": SuppressionReason.HARD_BOUNCE, "COMPLAINT": SuppressionReason.COMPLAINT}


def ses_suppressions(transport: SesTransport) -> Iterator[Suppression]:
    token = ""
    for _ in range(MAX_PAGES):
        params = {"PageSize": "1000", **({"NextToken": token} if token else {})}
        body = fetch(transport, lambda: transport.get_request("/v2/email/suppression/addresses", params))
        for item in (body or {}).get("SuppressedDestinationSummaries") or []:
            reason = SES_REASONS.get(item.get("Reason", ""), SuppressionReason.HARD_BOUNCE)
            detail = f"SES account suppression list ({transport.region}): {item.get('Reason', '')}"
            entry = _record(item.get("EmailAddress"), reason, item.get("LastUpdateTime"), "ses", detail)
            if entry:
                yield entry
        token = (body or {}).get("NextToken") or ""
        if not token:
            break


READERS: dict[str, Callable[[Any], Iterator[Suppression]]] = {
    "sendgrid": sendgrid_suppressions,
    "mailgun": mailgun_suppressions,
    "postmark": postmark_suppressions,
    "ses": ses_suppressions,
}


def provider_suppressions(transport: ApiTransport) -> Iterator[Suppression]:
    """The provider's suppression list, as `Suppression` records with evidence."""
    return READERS[transport.name](transport)


# --- the provider's own record of one message (for `webzine settle`) -------------------------

POSTMARK_SEARCH_PAGE = 50  # a recipient's messages, newest first: this is among the latest


def postmark_record(transport: PostmarkTransport, message_id: str, recipient: str) -> str | None:
    params = {"recipient": recipient, "count": str(POSTMARK_SEARCH_PAGE), "offset": "0"}
    body = fetch(transport, lambda: transport.get_request("/messages/outbound", params))
    for item in (body or {}).get("Messages") or []:
        if (item.get("Metadata") or {}).get("webzine-message-id") == message_id:
            return f"Postmark's message search ({item.get('Status', 'found')}, MessageID {item.get('MessageID')})"
    return None


def mailgun_record(transport: MailgunTransport, message_id: str, recipient: str) -> str | None:
    params = {"message-id": message_id, "recipient": recipient}
    body = fetch(transport, lambda: transport.get_request(f"{transport.domain_path}/events", params))
    for item in (body or {}).get("items") or []:
        if str(item.get("recipient", "")).lower() == recipient.lower():
            return f"Mailgun's events API ({item.get('event')} event {item.get('id')})"
    return None


RECORDS: dict[str, Callable[[Any, str, str], str | None]] = {"postmark": postmark_record, "mailgun": mailgun_record}


class SentRow(Protocol):
    email: str
    message_id: str
    transport: str


def provider_evidence(transport: ApiTransport, rows: Iterable[SentRow]) -> dict[str, str]:
    """Message-ID (lowercased) → the provider record showing it took the message, for the rows
    this transport sent; the mapping `webzine.send.settle.settle` reads as `seen`."""
    record = RECORDS.get(transport.name)
    found: dict[str, str] = {}
    for row in rows:
        if record is None or row.transport != transport.name or not row.message_id:
            continue
        proof = record(transport, row.message_id, row.email)
        if proof:
            found[row.message_id.lower()] = proof
    return found
