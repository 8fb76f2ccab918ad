"""`webzine report ISSUE` and `webzine report --history`: the issue report with pictures.

ISSUE (an issues/*.md file or its slug) → `build/<slug>/report.html`: headline numbers, month by
month, by mailbox provider, by account manager and by customer segment, with SVG charts.
`--history` → `build/history/report.html`, the months only. `--json` prints the headline numbers
(the CI job summary shows them). Exit codes: 0 written, 2 bad input.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from webzine.i18n import _
from webzine.cli.help import command, option
from webzine.cli import Context, pass_context
from webzine.cli.due import TODAY_OPTION
from webzine.config import Settings
from webzine.files import atomic_writer
from webzine.render.issue import load_issue
from webzine.send.ledger import Ledger
from webzine.managers.load import Events, issue_files, load_history, load_issue_sources
from webzine.managers.outcomes import outcome_table
from webzine.managers.report import IssueReport, IssueSummary, build_report, render_report, tally_outcomes

HISTORY_FOLDER = "history"


@command()
@click.argument("issue", required=False)
@option("--history", "history_only", is_flag=True, help="Only the months, across every issue sent.")
@option("--json", "as_json", is_flag=True, help="Also print the headline numbers as JSON.")
@TODAY_OPTION
@pass_context
def report(ctx: Context, issue: str | None, history_only: bool, as_json: bool, today: str | None) -> int:
    """Write the report of ISSUE (or, with --history, of every issue) as HTML with charts."""
    ctx.pin_today(today)
    settings = ctx.settings
    if history_only == bool(issue):
        raise click.UsageError(_("give either ISSUE or --history."))
    if history_only:
        built, path = _history(settings, ctx.today)
    else:
        assert issue is not None
        built, path = _issue_report(settings, issue, ctx.today)
    page = render_report(built, publication=settings.publication.name, templates=settings.path(settings.build.templates),
                         history_only=history_only)
    with atomic_writer(path) as handle:
        handle.write(page)
    if as_json:
        headline = built.summary.headline() if not history_only else None
        click.echo(json.dumps({"report": str(path), "issue": headline,
                               "history": [item.headline() for item in built.history]}, ensure_ascii=False, indent=2))
    else:
        click.echo(_("Report: {path}").format(path=path))
    return 0


def _issue_report(settings: Settings, issue: str, today: date) -> tuple[IssueReport, Path]:
    loaded = load_issue_sources(settings, issue, today)
    history = _summaries(settings, loaded.key_customers, loaded.events)
    counts = tally_outcomes(outcome_table(loaded.people, loaded.facts))
    built = build_report(counts, loaded.managers, slug=loaded.issue.slug, title=loaded.issue.title,
                         day=loaded.issue.date, history=history)
    return built, settings.path(settings.build.output) / loaded.issue.slug / "report.html"


def _history(settings: Settings, today: date) -> tuple[IssueReport, Path]:
    from webzine.managers.people import read_people

    history = _summaries(settings, read_people(settings, today).filter("key_customer")["key"].to_list())
    if not history:
        raise click.UsageError(_("no issue has been sent yet (the ledger has no rows); nothing to report."))
    built = IssueReport(history[-1], (), (), (), tuple(history))
    return built, settings.path(settings.build.output) / HISTORY_FOLDER / "report.html"


def _summaries(settings: Settings, key_customers: list[str], events: Events | None = None) -> list[IssueSummary]:
    issues = [load_issue(path) for path in issue_files(settings)]
    with Ledger.open(settings.path(settings.send.ledger)) as ledger:
        return load_history(settings, ledger, issues, key_customers, events=events)
