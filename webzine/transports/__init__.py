"""Transports, chosen by name from an explicit registry.

A new provider is one module, one line here and one test file. Entries are import paths so that a
transport's dependencies load only when it is chosen.
"""

from __future__ import annotations

import importlib

from webzine.errors import ConfigError

REGISTRY: dict[str, str] = {
    "outbox": "webzine.transports.outbox:OutboxTransport",
    "smtp": "webzine.transports.smtp:SmtpTransport",
    "sendgrid": "webzine.transports.sendgrid:SendGridTransport",
    "postmark": "webzine.transports.postmark:PostmarkTransport",
    "mailgun": "webzine.transports.mailgun:MailgunTransport",
    "ses": "webzine.transports.ses:SesTransport",
}

# Transports that deliver nothing (the local outbox): what they accept is a rehearsal, which a
# send through a real transport does not count as a delivery.
REHEARSALS = frozenset({"outbox"})


def transport_class(name: str) -> type:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown transport '{name}'; choose one of: {', '.join(sorted(REGISTRY))}."
        ) from None
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
