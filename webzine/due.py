"""Which issue is due: the scheduled monthly send picks it without being told.

An issue is due when its `date` falls in the current month in Korea (Asia/Seoul, whatever the CI
runner's clock says) and the ledger does not show it completely sent: every recipient on today's
cleaned list has a final outcome (accepted or failed). Recipients still deferred or unknown (an
interrupted run), or added to the list since, keep it due; a re-run skips everyone already done.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from webzine.config import Settings
from webzine.errors import ConfigError
from webzine.issue import load_issue
from webzine.ledger import Ledger, State
from webzine.recipients import load_clean_list

SEOUL = ZoneInfo("Asia/Seoul")
_FINAL = (State.ACCEPTED, State.FAILED)
_CHUNK = 5000


def today_in_korea(now: datetime | None = None) -> date:
    return (now or datetime.now(tz=SEOUL)).astimezone(SEOUL).date()


def issues_of_month(issues_dir: Path, month: date) -> list[Path]:
    """The issues dated in `month`, oldest first; drafts (`_name.md`) are left out."""
    if not issues_dir.is_dir():
        raise ConfigError(f"{issues_dir}: no such folder; check [build] issues in webzine.toml.")
    dated = []
    for path in sorted(issues_dir.glob("*.md")):
        if path.name.startswith("_"):
            continue
        issue = load_issue(path)
        if (issue.date.year, issue.date.month) == (month.year, month.month):
            dated.append((issue.date, path))
    return [path for _, path in sorted(dated)]


def completely_sent(settings: Settings, ledger: Ledger, issue_path: Path) -> bool:
    issue = load_issue(issue_path)
    keys = [r.key for r in load_clean_list(settings, advertising=issue.advertising).recipients]
    final = 0
    for start in range(0, len(keys), _CHUNK):
        states = ledger.states(issue.slug, keys[start : start + _CHUNK])
        final += sum(1 for state, _ in states.values() if state in _FINAL)
    return final == len(keys)


def due_issue(settings: Settings, today: date) -> Path | None:
    """The first issue of `today`'s month not yet completely sent, or None."""
    candidates = issues_of_month(settings.path(settings.build.issues), today)
    ledger_path = settings.path(settings.send.ledger)
    if not candidates or not ledger_path.exists():
        return candidates[0] if candidates else None
    with Ledger.open(ledger_path) as ledger:
        return next((path for path in candidates if not completely_sent(settings, ledger, path)), None)
