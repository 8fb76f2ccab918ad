"""`webzine due`: the issue the scheduled send would pick this month (Asia/Seoul), or nothing.

Prints the issue's path on stdout (so a workflow can capture it) and exits 0 either way; when
nothing is due it says so on stderr and prints nothing on stdout.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from webzine.i18n import _
from webzine.cli.help import command, option
from webzine.cli import Context, pass_context
from webzine.send.due import due_issue

TODAY_OPTION = option(
    "--today",
    metavar="YYYY-MM-DD",
    help="Pretend today is this date (Asia/Seoul), e.g. to finish last month's send.",
)


def shown(path: Path) -> str:
    """The path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path(os.getcwd()).resolve()))
    except ValueError:
        return str(path)


def pick_due(ctx: Context, today: str | None) -> Path | None:
    ctx.pin_today(today)
    when = ctx.today
    path = due_issue(ctx.settings, when)
    if path is None:
        click.echo(_("Nothing is due in {month} (today {today}): no issue dated this month, not a draft and not dated "
                     "after today, is left to send.").format(month=f"{when:%Y-%m}", today=when.isoformat()), err=True)
        return None
    return Path(shown(path))


@command()
@TODAY_OPTION
@pass_context
def due(ctx: Context, today: str | None) -> int:
    """Print the issue due this month (dated this month in Asia/Seoul, not a draft, its date come,
    and not completely sent)."""
    path = pick_due(ctx, today)
    if path is not None:
        click.echo(path)
    return 0
