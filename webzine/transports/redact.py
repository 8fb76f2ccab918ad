"""Secrets taken out of whatever a server says before anyone stores or prints it.

A relay may echo the `AUTH PLAIN` string in a later reply, a provider may quote the API key in an
error body, an exception may carry either. Every transport hands its `Delivery` and its
exceptions through one `Redactor` (see `BaseTransport.send`), so the ledger, `--json`, the
summary and `Error:` lines all get the same redacted text.

What counts as a secret's trace: the secret itself, as JSON would escape it, its base64 (with and
without padding), and the base64 of its bytes at each of the three alignments it can have inside
a longer base64 string (`AUTH PLAIN` encodes "\\0user\\0password" in one piece, Mailgun's Basic
auth "api:key"). Only the characters that depend on the secret alone are matched there; at least
`MIN_EMBEDDED` of them, so a short secret does not blank out unrelated words. A secret shorter than
`MIN_SECRET` characters is not looked for at all: it would turn every reply into asterisks (a
one-letter test token), and it protects nothing anyway.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from webzine.config import Settings

if TYPE_CHECKING:  # base.py imports this module
    from webzine.models import Delivery

MASK = "***"
MIN_SECRET = 4  # characters
MIN_EMBEDDED = 8  # base64 characters: an embedded trace shorter than this is not looked for


def traces(secret: str) -> set[str]:
    """Every form in which `secret` can appear in a server's words."""
    raw = secret.encode("utf-8")
    encoded = base64.b64encode(raw).decode("ascii")
    found = {secret, json.dumps(secret)[1:-1], quote(secret, safe=""), encoded, encoded.rstrip("=")}
    for alignment in range(3):
        aligned = raw[(3 - alignment) % 3 :]  # starts on a base64 group boundary
        whole_groups = aligned[: len(aligned) // 3 * 3]
        embedded = base64.b64encode(whole_groups).decode("ascii")
        if len(embedded) >= MIN_EMBEDDED:
            found.add(embedded)
    return {trace for trace in found if trace}


class Redactor:
    """Replaces every trace of the given secrets with `***`; without secrets it changes nothing."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        usable = (secret for secret in secrets if len(secret) >= MIN_SECRET)
        needles = sorted({trace for secret in usable for trace in traces(secret)}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, needles))) if needles else None

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] = os.environ) -> "Redactor":
        """Every secret webzine.toml names and the environment holds: the SMTP password (and its
        AUTH PLAIN string), the email-API keys, the unsubscribe secret and the service's keys."""
        value = environ.get
        username, password = value(settings.smtp.username_env, ""), value(settings.smtp.password_env, "")
        mailgun = value(settings.mailgun.api_key_env, "")
        named = [
            settings.sendgrid.api_key_env, settings.postmark.api_key_env, settings.ses.secret_key_env,
            settings.ses.session_token_env, settings.unsubscribe.secret_env, settings.bounces.imap_password_env,
            settings.serve.store_password_env, settings.mailgun.webhook_signing_key_env,
            settings.postmark.webhook_password_env,
        ]  # fmt: skip
        secrets = [value(name, "") for name in named if name]
        secrets += [password, f"\0{username}\0{password}" if password else "", mailgun, f"api:{mailgun}" if mailgun else ""]
        return cls(secrets)

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def delivery(self, delivery: Delivery) -> Delivery:
        """The same outcome, with the server's words (and any id it named) redacted."""
        if self._pattern is None:
            return delivery
        text, provider_id = self(delivery.text), self(delivery.provider_id or "") or delivery.provider_id
        if text == delivery.text and provider_id == delivery.provider_id:
            return delivery
        return dataclasses.replace(delivery, text=text, provider_id=provider_id)

    def scrub(self, error: BaseException) -> BaseException:
        """Redact an exception in place (message, hint, args, and the exceptions it came from),
        so that the same object can be re-raised with its traceback."""
        if self._pattern is None:
            return error
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            current.args = tuple(self(arg) if isinstance(arg, str) else arg for arg in current.args)
            for name in ("message", "hint", "reason", "strerror"):
                attribute = getattr(current, name, None)
                if isinstance(attribute, str):
                    try:
                        setattr(current, name, self(attribute))
                    except AttributeError:  # a read-only attribute of a foreign exception
                        pass
            current = current.__cause__ or current.__context__
        return error


NO_SECRETS = Redactor()
