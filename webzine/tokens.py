"""Signed tokens that identify a recipient without showing their address.

Unsubscribe tokens are HMAC-SHA256 over the list id and the address (RFC 8058 links must not
carry the raw address, and must keep working forever, so they never expire). VERP tokens put a
short HMAC of the issue and address into the envelope sender (`bounces+<token>@domain`); the
ledger maps a token back to exactly one recipient and issue. Feedback tokens sign one rating link
per issue, address and score (`/f/<issue>/<score>/<token>`); score 0 is the page where the reader
picks a score.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from markupsafe import escape

_BLOCK = 64  # SHA-256's block size: the HMAC key is padded to it
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))

# RFC 4648 base32, lowercase, ten bits (two characters) at a time: `base64.b32encode` is pure
# Python and cost more than the HMAC itself; a send computes a VERP token per recipient.
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE32_PAIRS = tuple(first + second for first in _BASE32 for second in _BASE32)


@functools.lru_cache(maxsize=16)
def _keyed(secret: str) -> tuple[Any, Any]:
    """SHA-256 states with the HMAC inner and outer pads of `secret` already absorbed."""
    key = secret.encode("utf-8")
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def hmac_sha256(secret: str, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of `message`, equal to `hmac.digest(secret, message, "sha256")`.

    A send computes three or four HMACs per recipient with one secret; OpenSSL's one-shot HMAC
    sets up its keys on every call (~4 µs here), copying two pre-keyed hash states costs half."""
    inner, outer = _keyed(secret)
    inner = inner.copy()
    inner.update(message)
    outer = outer.copy()
    outer.update(inner.digest())
    return outer.digest()


def _mac(secret: str, *parts: str) -> bytes:
    return hmac_sha256(secret, "\n".join(parts).encode("utf-8"))


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


FEEDBACK_SCORES = (1, 2, 3, 4, 5)
FEEDBACK_PAGE = 0  # the link that opens the question with no score chosen yet
FEEDBACK_LABELS = {1: "아쉬웠어요", 2: "조금 아쉬웠어요", 3: "보통이에요", 4: "좋았어요", 5: "아주 좋았어요"}


def feedback_token(secret: str, issue: str, address: str, score: int) -> str:
    """22 URL-safe characters (128 bits of HMAC-SHA256), domain-separated from unsubscribe tokens."""
    digest = _mac(secret, "feedback", issue, address.strip().lower(), str(score))[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def serve_base_url(unsubscribe_base_url: str) -> str:
    """Where `webzine serve` is reached from outside: [unsubscribe] base_url without its `/u`."""
    base = unsubscribe_base_url.rstrip("/")
    return base[: -len("/u")] if base.endswith("/u") else base


class FeedbackLinks:
    """One recipient's feedback links as a merge field: `{{ feedback_url }}` is the question page,
    `{{ feedback_url[5] }}` the link that answers 5. Tokens are made only for the links a
    template uses, when it uses them, and each once (the text and the HTML body ask for the same)."""

    __slots__ = ("_base", "_secret", "_issue", "_address", "_made")

    def __init__(self, base: str, secret: str, issue: str, address: str) -> None:
        self._base = f"{base.rstrip('/')}/f/{issue}"
        self._secret = secret
        self._issue = issue
        self._address = address
        self._made: dict[int, str] = {}

    def __getitem__(self, score: int) -> str:
        link = self._made.get(score)
        if link is None:
            if score not in FEEDBACK_SCORES and score != FEEDBACK_PAGE:
                raise KeyError(score)
            link = f"{self._base}/{score}/{feedback_token(self._secret, self._issue, self._address, score)}"
            self._made[score] = link
        return link

    def __str__(self) -> str:
        return self[FEEDBACK_PAGE]

    def __html__(self) -> str:
        return str(escape(str(self)))
