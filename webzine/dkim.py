"""Optional DKIM signing (RFC 6376) with dkimpy.

Signing is on when `[dkim] domain` and `selector` are set; the private key (PEM) comes from the
environment variable named by `private_key_env`, never from a file in the project. The signature
covers the headers a receiver and a one-click unsubscribe depend on (Gmail and Yahoo require
List-Unsubscribe and List-Unsubscribe-Post to be signed), with relaxed/relaxed canonicalisation
so that a relay re-folding a header does not break it.
"""

from __future__ import annotations

import dkim as dkimpy

from webzine.config import Settings, secret
from webzine.errors import ConfigError
from webzine.message import DKIM_HEADERS

_INCLUDE = [name.encode("ascii") for name in DKIM_HEADERS]


class DkimSigner:
    """Signs finished messages; safe to share between threads (it keeps no per-message state)."""

    def __init__(self, domain: str, selector: str, private_key: bytes) -> None:
        self.domain = domain
        self.selector = selector
        self._key = private_key
        try:
            self.sign(b"From: a@b.c\r\nTo: d@e.f\r\nSubject: probe\r\n\r\nprobe\r\n")
        except dkimpy.DKIMException as exc:
            raise ConfigError(
                f"the DKIM private key for {selector}._domainkey.{domain} cannot sign ({exc}); "
                "put the PEM private key in the environment variable named by [dkim] private_key_env."
            ) from None

    def sign(self, message: bytes) -> bytes:
        """The `DKIM-Signature:` header (CRLF-terminated, folded) to prepend to `message`."""
        return dkimpy.sign(
            message,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=_INCLUDE,
        )


def signer_from_settings(settings: Settings) -> DkimSigner | None:
    """The configured signer, or None when `[dkim]` names no domain and selector."""
    config = settings.dkim
    if not (config.domain and config.selector):
        return None
    pem = secret(config.private_key_env, purpose="DKIM private key")
    # CI secret stores and .env files often flatten a PEM onto one line with literal "\n".
    key = pem.replace("\\n", "\n").strip().encode("ascii") + b"\n"
    return DkimSigner(config.domain, config.selector, key)
