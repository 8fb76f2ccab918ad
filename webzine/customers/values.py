"""What one cell of an order export means: a date, an amount in won, a status that cancels.

Each rule is written once, for one cell's text, and is applied once per distinct text (the
reader caches the answers: an export of five million lines has a few thousand dates and amounts).
Korean shops and ERPs write dates as `2026.11.03`, `2026-11-03 14:22`, `2026/11/3`,
`2026년 11월 3일 (화)` or `20261103`, and amounts as `12,000`, `12000원`, `₩12,000` or `12000.0`.
"""

from __future__ import annotations

import re
from datetime import date

from webzine.i18n import _

_DATE = re.compile(
    r"\s*(\d{4})\s*(?:[-./]|년)\s*(\d{1,2})\s*(?:[-./]|월)\s*(\d{1,2})\s*일?\.?(?:(?:\s|T|\().*)?",
    re.DOTALL,
)
_COMPACT = re.compile(r"\s*(\d{4})(\d{2})(\d{2})(?:\s.*)?", re.DOTALL)
_AMOUNT_JUNK = re.compile(r"[\s,원₩￦]|KRW|krw")
# A status with one of these words takes the line out; 철회 (withdrawn) puts it back:
# "반품철회" is an order the customer kept.
CANCELLING_WORDS = ("취소", "반품", "환불", "cancel", "refund", "return")
WITHDRAWN_WORDS = ("철회", "withdrawn")

DATE_FORMATS = "2026-11-03, 2026.11.03, 2026/11/03, 2026-11-03 14:22, 2026년 11월 3일, 20261103"


def parse_date(text: str) -> date:
    """A calendar day from an export's date or date-and-time cell; ValueError when it is none."""
    if not text.strip():
        raise ValueError(_("the date is empty"))
    match = _DATE.fullmatch(text) or _COMPACT.fullmatch(text)
    if match is None:
        raise ValueError(_("'{text}' is not a date (expected one of {formats})").format(
            text=text.strip(), formats=DATE_FORMATS))
    year, month, day = map(int, match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(_("'{text}' is not a real date ({problem})").format(text=text.strip(), problem=exc)) from None


def parse_amount(text: str) -> int:
    """Won from an amount cell (`12,000`, `12000원`, `₩12,000`, `-3000`, `12000.0`); ValueError
    when the cell holds something else. A blank amount is 0 (a free sample line)."""
    cleaned = _AMOUNT_JUNK.sub("", text)
    if not cleaned:
        return 0
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(_("'{text}' is not an amount (write it as 12000 or 12,000원)").format(
            text=text.strip())) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(_("'{text}' is not an amount").format(text=text.strip()))
    return round(value)


def is_cancelled(status: str) -> bool:
    """Whether a line's status takes it out of the sales: cancelled, returned or refunded."""
    folded = status.casefold()
    return any(word in folded for word in CANCELLING_WORDS) and not any(word in folded for word in WITHDRAWN_WORDS)
