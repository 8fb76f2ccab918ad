"""Signed tokens that identify a recipient without showing their address.

Unsubscribe tokens are HMAC-SHA256 over the list id and the address (RFC 8058 links must not
carry the raw address, and must keep working forever, so they never expire). VERP tokens put a
short HMAC of the issue and address into the envelope sender (`bounces+<token>@domain`); the
ledger maps a token back to exactly one recipient and issue.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def _mac(secret: str, *parts: str) -> bytes:
    message = "\n".join(parts).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def unsubscribe_token(secret: str, list_id: str, address: str) -> str:
    """43 URL-safe characters; the same for the same list and address, forever."""
    digest = _mac(secret, "unsubscribe", list_id, address.strip().lower())
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_unsubscribe_token(secret: str, list_id: str, address: str, token: str) -> bool:
    """Constant-time check that `token` was issued for this list and address."""
    return hmac.compare_digest(unsubscribe_token(secret, list_id, address), token)


def index_unsubscribe_tokens(secret: str, list_id: str, addresses: Iterable[str]) -> dict[str, str]:
    """token → address for every known address: the endpoint resolves tokens with this."""
    return {unsubscribe_token(secret, list_id, address): address for address in addresses}


def verp_token(secret: str, issue: str, address: str) -> str:
    """16 lowercase base32 characters: short enough to keep the local part under 64 octets."""
    digest = _mac(secret, "verp", issue, address.strip().lower())[:10]
    return base64.b32encode(digest).decode("ascii").lower()


def verp_address(return_path: str, token: str) -> str:
    """`bounces@example.co.kr` + token → `bounces+token@example.co.kr`."""
    local, _, domain = return_path.rpartition("@")
    return f"{local}+{token}@{domain}"


def verp_token_from(address: str) -> str | None:
    """The token in a VERP address, or None: `bounces+abc@d` → `abc`."""
    local, at, _ = address.strip().strip("<>").rpartition("@")
    if not at or "+" not in local:
        return None
    token = local.rpartition("+")[2].lower()
    return token if len(token) == 16 and token.isalnum() else None
