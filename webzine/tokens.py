"""Signed tokens that identify a recipient without showing their address.

Unsubscribe tokens are HMAC-SHA256 over the list id and the address (RFC 8058 links must not
carry the raw address, and must keep working forever, so they never expire). VERP tokens put a
short HMAC of the issue and address into the envelope sender (`bounces+<token>@domain`); the
ledger maps a token back to exactly one recipient and issue.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterable

# RFC 4648 base32, lowercase, ten bits (two characters) at a time: `base64.b32encode` is pure
# Python and cost more than the HMAC itself; a send computes a VERP token per recipient.
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE32_PAIRS = tuple(first + second for first in _BASE32 for second in _BASE32)


def _mac(secret: str, *parts: str) -> bytes:
    """HMAC-SHA256; `hmac.digest` is the one-shot C path (no HMAC object per call)."""
    return hmac.digest(secret.encode("utf-8"), "\n".join(parts).encode("utf-8"), "sha256")


def _base32_80(data: bytes) -> str:
    """Lowercase base32 of exactly 10 bytes (80 bits → 16 characters, no padding)."""
    bits = int.from_bytes(data, "big")
    pairs = _BASE32_PAIRS
    return "".join([pairs[(bits >> shift) & 1023] for shift in (70, 60, 50, 40, 30, 20, 10, 0)])


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
    return _base32_80(_mac(secret, "verp", issue, address.strip().lower())[:10])


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
