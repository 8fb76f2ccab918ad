"""`webzine due`: the issue the scheduled send would pick this month (Asia/Seoul), or nothing.

Prints the issue's path on stdout (so a workflow can capture it) and exits 0 either way; when
nothing is due it says so on stderr and prints nothing on stdout.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import click

from webzine.cli import Context, pass_context
from webzine.due import due_issue, today_in_korea

TODAY_OPTION = click.option(
    "--today",
    metavar="YYYY-MM-DD",
    envvar="WEBZINE_TODAY",
    help="Pretend today is this date (Asia/Seoul), e.g. to finish last month's send.",
)


def parse_today(value: str | None) -> date:
    if not value:
        return today_in_korea()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2026-12-01.", param_hint="--today") from None


def shown(path: Path) -> str:
    """The path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path(os.getcwd()).resolve()))
    except ValueError:
        return str(path)


def pick_due(ctx: Context, today: str | None) -> Path | None:
    when = parse_today(today)
    path = due_issue(ctx.settings, when)
    if path is None:
        click.echo(f"Nothing is due in {when:%Y-%m}: no issue dated this month is left to send.", err=True)
        return None
    return Path(shown(path))


@click.command()
@TODAY_OPTION
@pass_context
def due(ctx: Context, today: str | None) -> int:
    """Print the issue due this month (dated this month in Asia/Seoul and not completely sent)."""
    path = pick_due(ctx, today)
    if path is not None:
        click.echo(path)
    return 0
