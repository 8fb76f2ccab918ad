"""What every email API's transport shares beyond sending: how it is built from its own config
section, and how it reads the provider's own records.

A provider's transport fills in `options` (its secrets and settings, read from its section) and
`suppressions` (the provider-side suppression list); where the API can find one sent message
(Postmark, Mailgun) it also fills in `sent_record`, for `webzine settle --ask-provider`; and
`preflight`, the account settings `webzine check` reads before a send (`preflight.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol, Self

import httpx

from webzine.config import Api, Send, Settings
from webzine.errors import TransportError
from webzine.i18n import _
from webzine.models import Delivery, Suppression, SuppressionReason
from webzine.providers.preflight import Finding
from webzine.transports.http import ApiTransport, build_client, excerpt, json_body

MAX_PAGES = 100_000  # a provider whose paging never ends must not hang the command


@dataclass(frozen=True)
class Tracking:
    """The provider's open and click tracking for our messages: off unless the publication asks
    (`[send] track_opens`, `track_clicks`). Each transport sets both per message, over the
    account's defaults; SES, which has no per-message switch, checks its configuration set."""

    opens: bool = False
    clicks: bool = False

    @classmethod
    def of(cls, send: Send) -> Tracking:
        return cls(opens=send.track_opens, clicks=send.track_clicks)


class ProviderTransport(ApiTransport):
    looks_up_messages: ClassVar[bool] = False  # True where `sent_record` asks the provider

    @classmethod
    def from_settings(cls, settings: Settings, client: httpx.Client | None = None) -> Self:
        section = getattr(settings, cls.name)
        options = cls.options(section)  # first: a missing secret is reported before anything is built
        base_url = cls.base_url(section)
        client = client or build_client(base_url, timeout=section.timeout, connections=cls.connections(settings))
        return cls(client, **options, tracking=Tracking.of(settings.send)).redacting(settings)

    @classmethod
    def options(cls, section: Api) -> dict[str, Any]:
        """The constructor's keyword arguments from the provider's config section and secrets."""
        raise NotImplementedError

    @classmethod
    def base_url(cls, section: Api) -> str:
        return section.base_url

    def suppressions(self) -> Iterator[Suppression]:
        """The provider's suppression list, as `Suppression` records with evidence."""
        raise NotImplementedError

    def sent_record(self, message_id: str, recipient: str) -> str | None:
        """The provider's record showing it took this message, in words; None when it has none."""
        return None

    def preflight(self, settings: Settings) -> list[Finding]:
        """What the provider's own settings would do to our messages, read from its API."""
        raise NotImplementedError

    def fetch(self, build: Callable[[], httpx.Request], *, none_for: tuple[int, ...] = ()) -> Any:
        """One GET, its JSON body; anything else is an error that names the provider's answer.
        A status in `none_for` is None: the pre-flight asks about things that may not exist (404)
        or that a key limited to sending may not read (403)."""
        result = self.exchange(build)
        if isinstance(result, Delivery):
            raise TransportError(_("{text}; re-run the command later.").format(text=result.text))
        if result.status_code in none_for:
            return None
        shared = self.common(result)  # 401/403/404 raise SenderProblem here
        if shared is not None or not result.is_success:
            raise TransportError(
                _("{name} answered HTTP {status} at {url}: {body}; re-run the command later.").format(
                    name=self.name, status=result.status_code, url=result.request.url, body=excerpt(result))
            )
        return json_body(result)


def provider_suppressions(transport: ProviderTransport) -> Iterator[Suppression]:
    return transport.suppressions()


def day(value: Any) -> date | None:
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


def suppression(email: Any, reason: SuppressionReason, since: Any, source: str, detail: str) -> Suppression | None:
    """One record of a provider's list; None for a row without an address."""
    if not isinstance(email, str) or not email.strip():
        return None
    return Suppression(email.strip(), reason, day(since), source, " ".join(detail.split())[:300])


def listed(rows: Iterable[dict], reason: SuppressionReason, provider: str, title: str, *, email: str, since: str,
           words: tuple[str, ...]) -> Iterator[Suppression]:
    """The rows of one provider list as records; the detail is the list's title and the row's words."""
    for row in rows:
        said = " ".join(str(row.get(key, "")) for key in words if row.get(key))
        entry = suppression(row.get(email), reason, row.get(since), provider, f"{title}: {said}".strip(": "))
        if entry:
            yield entry


class SentRow(Protocol):
    email: str
    message_id: str
    transport: str


def provider_evidence(transport: ProviderTransport, rows: Iterable[SentRow]) -> dict[str, str]:
    """Message-ID (lowercased) → the provider record showing it took the message, for the rows
    this transport sent; the mapping `webzine.send.settle.settle` reads as `seen`."""
    found: dict[str, str] = {}
    for row in rows:
        if not transport.looks_up_messages or row.transport != transport.name or not row.message_id:
            continue
        proof = transport.sent_record(row.message_id, row.email)
        if proof:
            found[row.message_id.lower()] = proof
    return found
