"""Which issue is due: the scheduled monthly send picks it without being told.

An issue is due when its `date` falls in the month of `today` (the command's clock, Asia/Seoul),
it is not a draft, its date has come, and the plan for the configured transport still has someone
to send to (or someone unknown): every recipient on today's cleaned list has a final outcome
otherwise. Two issues dated the same month are an error naming both files — picking one silently
could send the wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from webzine.send.inputs import load_audience
from webzine.config import Settings
from webzine.errors import ConfigError, IssueError
from webzine.i18n import _
from webzine.render.issue import Issue, load_issue
from webzine.send.ledger import Ledger, ledger_exists
from webzine.send.plan import PlanOptions


@dataclass(frozen=True)
class Candidate:
    path: Path
    issue: Issue


def issues_of_month(issues_dir: Path, month: date) -> list[Candidate]:
    """The issues dated in `month` that may be sent, oldest first: drafts (`draft: true`, or a
    file named `_….md`) are left out."""
    if not issues_dir.is_dir():
        raise ConfigError(_("{folder}: no such folder; check [build] issues in webzine.toml.").format(folder=issues_dir))
    found = []
    for path in sorted(issues_dir.glob("*.md")):
        if path.name.startswith("_"):
            continue
        issue = load_issue(path)
        if issue.draft or (issue.date.year, issue.date.month) != (month.year, month.month):
            continue
        found.append(Candidate(path, issue))
    return sorted(found, key=lambda candidate: candidate.issue.date)


def due_issue(settings: Settings, today: date) -> Path | None:
    """The issue of `today`'s month if it is dated today or earlier and not completely sent."""
    candidates = issues_of_month(settings.path(settings.build.issues), today)
    if len(candidates) > 1:
        names = _(" and ").join(str(candidate.path) for candidate in candidates)
        raise IssueError(_("{names} are both dated {month}; one issue per month can be due — "
                           "move one to another month or mark it draft: true.").format(names=names, month=f"{today:%Y-%m}"))
    if not candidates:
        return None
    candidate = candidates[0]
    if candidate.issue.date > today:
        return None
    ledger_path = settings.path(settings.send.ledger)
    if not ledger_exists(ledger_path):
        return candidate.path
    audience = load_audience(settings, candidate.issue, today=today)
    with Ledger.open(ledger_path) as ledger:
        plan = audience.plan(ledger, PlanOptions(transport=settings.send.transport))
    return None if plan.complete else candidate.path
