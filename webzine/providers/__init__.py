"""The email providers, and the one registry that chooses a transport by name.

Each provider lives here: its transport, its webhook signature check, its event parser and its
suppression pull. The files:
- `postmark.py`, `sendgrid.py`, `mailgun.py`, `ses.py`   each provider's transport (`sigv4.py`: AWS signing)
- `events.py`       provider webhook/event payloads → the bounces vocabulary
- `signatures.py`   how each provider proves a webhook came from it
- `pull.py`         provider-side suppression lists → our `Suppression` records
- `tags.py`         what every API message carries so that events find their ledger row

Entries are import paths so that a transport's dependencies load only when it is chosen.
"""

from __future__ import annotations

import importlib

from webzine.errors import ConfigError

REGISTRY: dict[str, str] = {
    "outbox": "webzine.transports.outbox:OutboxTransport",
    "smtp": "webzine.transports.smtp:SmtpTransport",
    "sendgrid": "webzine.providers.sendgrid:SendGridTransport",
    "postmark": "webzine.providers.postmark:PostmarkTransport",
    "mailgun": "webzine.providers.mailgun:MailgunTransport",
    "ses": "webzine.providers.ses:SesTransport",
}


def transport_class(name: str) -> type:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown transport '{name}'; choose one of: {', '.join(sorted(REGISTRY))}."
        ) from None
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
