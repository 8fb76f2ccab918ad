"""The one clock of a command: what "today" is, decided once at the edge and passed down.

A stage never asks the system for the date. The CLI resolves `today` once per command — from
`--today`, else the `WEBZINE_TODAY` environment variable, else the wall clock in Korea
(Asia/Seoul, whatever the runner's time zone) — and hands it to every stage as a value. That
makes consent ages, due months and drafts give the same answer on the same inputs on any day,
and lets a scheduled run finish last month's send on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from webzine.errors import UsageError
from webzine.i18n import _

SEOUL = ZoneInfo("Asia/Seoul")
TODAY_ENV = "WEBZINE_TODAY"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def today_in_korea(now: datetime) -> date:
    """The calendar date in Korea at the instant `now` (an aware datetime)."""
    return now.astimezone(SEOUL).date()


def parse_day(text: str, *, what: str) -> date:
    """`YYYY-MM-DD` → date, or a one-line error naming where the value came from."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(_("{what}: {value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-01.").format(
            what=what, value=text.strip())) from None


def resolve_today(option: str | None, environ: Mapping[str, str], now: Callable[[], datetime] = utc_now) -> date:
    """`--today` if given, else `WEBZINE_TODAY`, else today in Korea."""
    if option:
        return parse_day(option, what="--today")
    pinned = environ.get(TODAY_ENV, "")
    if pinned.strip():
        return parse_day(pinned, what=TODAY_ENV)
    return today_in_korea(now())
