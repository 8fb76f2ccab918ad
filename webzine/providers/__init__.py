"""The email providers, and the one registry that the transport choice, the webhook routes, the
suppression pull and the bounce import all read.

Each provider lives in a pair of files:
- `<name>.py`           sending: its transport, built from its own config section ([postmark] …),
                        its suppression-list pull and, where the API allows, its record of one
                        message (`postmark.py`, `sendgrid.py`, `mailgun.py`, `ses.py`)
- `<name>_webhook.py`   receiving: its webhook signature check, its event parser (webhooks and
                        saved event files) and its endpoint (`postmark_webhook.py`,
                        `sendgrid_webhook.py`, `mailgun_webhook.py`, `ses_webhook.py`)
What they share:
- `base.py`      the transport base: `from_settings` from the section, the pull's GET and records,
                 the per-message tracking choice
- `preflight.py` the pre-flight's findings: what the provider's account settings would do to a send
- `webhook.py`   the endpoint base: answers, logging, storing, the signature error
- `events.py`    the event parsers' shared pieces: JSON, timestamps, our classifier's cross-check
- `tags.py`      what every API message carries so that events find their ledger row
- `sigv4.py`     AWS Signature Version 4, for SES

Adding a provider is its pair of files and one line in `PROVIDERS`. Entries are import paths, so
a provider's dependencies load only when it is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx

from webzine.bounces.events import BounceEvent
from webzine.config import Settings
from webzine.errors import ConfigError
from webzine.i18n import _
from webzine.providers.preflight import Finding


def _load(target: str) -> Any:
    module_name, __, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


@dataclass(frozen=True)
class Provider:
    """One email API: where its parts live. It reads the provider's event files as
    `webzine.bounces.events.EventReader` asks."""

    name: str
    title: str
    transport: str  # "module:Class", a `webzine.providers.base.ProviderTransport`
    webhook: str  # "module:Class", a `webzine.providers.webhook.Webhook`; the module parses events
    by_mail: bool = False  # its notifications may arrive in the bounce mailbox

    def transport_class(self) -> type:
        return _load(self.transport)

    def webhook_class(self) -> type:
        return _load(self.webhook)

    def _events(self) -> ModuleType:
        return _load(self.webhook.partition(":")[0])

    def recognises(self, document: object) -> bool:
        return self._events().recognises(document)

    def parse_events(self, payload: bytes | str | dict | list) -> list[BounceEvent]:
        return self._events().parse_events(payload)

    def preflight(self, settings: Settings, client: httpx.Client | None = None) -> list[Finding]:
        """Read the provider's account settings through its API (the `[<name>]` section's key)."""
        transport = self.transport_class().from_settings(settings, client)
        try:
            return transport.preflight(settings)
        finally:
            if client is None:
                transport.close()


# In the order a saved event file is recognised: SES's SNS envelope first.
PROVIDERS: dict[str, Provider] = {
    provider.name: provider
    for provider in (
        Provider("ses", "SES", "webzine.providers.ses:SesTransport", "webzine.providers.ses_webhook:SesWebhook",
                 by_mail=True),  # SNS can mail its notifications to the bounce mailbox
        Provider("sendgrid", "SendGrid", "webzine.providers.sendgrid:SendGridTransport",
                 "webzine.providers.sendgrid_webhook:SendGridWebhook"),
        Provider("mailgun", "Mailgun", "webzine.providers.mailgun:MailgunTransport",
                 "webzine.providers.mailgun_webhook:MailgunWebhook"),
        Provider("postmark", "Postmark", "webzine.providers.postmark:PostmarkTransport",
                 "webzine.providers.postmark_webhook:PostmarkWebhook"),
    )
}

# Every `[send] transport`: the two that need no provider, then the providers'.
TRANSPORTS: dict[str, str] = {
    "outbox": "webzine.transports.outbox:OutboxTransport",
    "smtp": "webzine.transports.smtp:SmtpTransport",
    **{name: provider.transport for name, provider in PROVIDERS.items()},
}


def transport_class(name: str) -> type:
    try:
        target = TRANSPORTS[name]
    except KeyError:
        raise ConfigError(
            _("unknown transport '{name}'; choose one of: {names}.").format(name=name, names=", ".join(sorted(TRANSPORTS)))
        ) from None
    return _load(target)


def detect_provider(document: object) -> str | None:
    """Which provider wrote this saved event document (for `webzine bounces import file.json`)."""
    first = document[0] if isinstance(document, list) and document else document
    return next((name for name, provider in PROVIDERS.items() if provider.recognises(first)), None)


def preflight(settings: Settings, client: httpx.Client | None = None) -> list[Finding]:
    """`webzine check`'s provider pre-flight: the findings of `[send] transport`'s provider; none for
    outbox and smtp. Errors reaching the API raise as `TransportError` (exit 3) or `SenderProblem`."""
    provider = PROVIDERS.get(settings.send.transport)
    return provider.preflight(settings, client) if provider else []
