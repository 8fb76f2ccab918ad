"""How the compact ledger stores what it can shorten: states as small integers, times as
seconds from the issue's epoch (a multi-hour send's claim times fit in two bytes, an outcome
within the second of its claim in none), server codes as their difference from 250 (an
acceptance takes no bytes), Message-IDs as the 16-byte digest inside the issue's
`<prefix><32 hex>@<domain>` form, VERP tokens as the 10 bytes their 16 base32 characters spell.

Anything that does not have the expected form is stored as written (SQLite keeps a TEXT value in
the same column), so nothing a transport or a caller hands the ledger is ever lost or altered.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from webzine.send.ledger_records import State, from_ms  # noqa: F401  (the ledger reads times through the codec)

STATE_CODES = {State.CLAIMED: 0, State.ACCEPTED: 1, State.FAILED: 2, State.DEFERRED: 3}
STATES = {code: state for state, code in STATE_CODES.items()}

ACCEPTED_CODE = 250
TIME_UNIT_MS = 1000  # deliveries' times are whole seconds

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE32_VALUES = {char: value for value, char in enumerate(_BASE32)}
_MESSAGE_ID = re.compile(r"(.*?)([0-9a-f]{32})@([^@\s]+)")


def to_ms(stamp: str) -> int:
    """ISO-8601 time (as the first schema wrote it) → milliseconds since 1970 UTC."""
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def code_value(code: int | None) -> int | None:
    return None if code is None else code - ACCEPTED_CODE


def reply_code(value: int | None) -> int | None:
    return None if value is None else value + ACCEPTED_CODE


def to_units(ms: int) -> int:
    """Milliseconds → the whole time units deliveries count in (rounded down)."""
    return ms // TIME_UNIT_MS


def verp_value(token: str | None) -> bytes | str | None:
    """A 16-character base32 token as its 10 bytes; any other token as lowercase text."""
    if token is None:
        return None
    token = token.lower()
    if len(token) != 16 or any(char not in _BASE32_VALUES for char in token):
        return token
    bits = 0
    for char in token:
        bits = bits << 5 | _BASE32_VALUES[char]
    return bits.to_bytes(10, "big")


def verp_token(value: bytes | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    bits = int.from_bytes(value, "big")
    return "".join(_BASE32[(bits >> shift) & 31] for shift in range(75, -1, -5))


def message_id_form(message_id: str) -> tuple[str, str] | None:
    """(prefix, domain) of a Message-ID made by `webzine.message.factory.message_id`, else None."""
    match = _MESSAGE_ID.fullmatch(message_id)
    return (match[1], match[3]) if match else None


def message_id_value(message_id: str, form: tuple[str, str] | None) -> bytes | str | None:
    """The 16-byte digest when `message_id` has the issue's form; the text itself otherwise."""
    if not message_id:
        return None
    match = _MESSAGE_ID.fullmatch(message_id)
    if match and form == (match[1], match[3]):
        return bytes.fromhex(match[2])
    return message_id


def message_id_text(value: bytes | str | None, form: tuple[str, str] | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str) or form is None:
        return value if isinstance(value, str) else value.hex()
    return f"{form[0]}{value.hex()}@{form[1]}"
