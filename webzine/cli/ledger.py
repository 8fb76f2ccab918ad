"""`webzine ledger compact`: fold closed issues into per-issue archives, so the live ledger (and
what CI saves each run) holds only the issues still being sent.

An issue is closed when nobody in it is claimed or deferred and its last run ended, or when
nothing was written to it for `--older-than` days. A send that later touches an archived issue
brings it back first, so folding never loses a recipient. Issues being sent right now (their
send lock is held) are left alone. Exit codes: 0 done, 3 the ledger could not be written.
"""

from __future__ import annotations

import click

from webzine.i18n import _
from webzine.cli.help import FloatRange, group, option
from webzine.cli import Context, pass_context
from webzine.clock import utc_now
from webzine.errors import SendLocked
from webzine.send.ledger import Ledger, database_url
from webzine.send.lock import send_lock


@group("ledger")
def ledger() -> None:
    """Look after the send ledger."""


@ledger.command("compact")
@option("--older-than", "older_than", type=FloatRange(min=0), default=45.0, show_default=True,
        metavar="DAYS", help="Also fold issues with recipients left over once untouched this long.")
@pass_context
def compact(ctx: Context, older_than: float) -> int:
    """Fold closed issues into state archives; the live ledger keeps the open ones."""
    settings = ctx.settings
    path = settings.path(settings.send.ledger)
    if database_url(path) is not None:
        click.echo(_("ledger: a PostgreSQL ledger keeps every issue; nothing to compact"))
        return 0
    if not path.exists():
        click.echo(_("ledger: nothing to compact (no ledger yet)"))
        return 0
    now = utc_now()
    folded = []
    with Ledger.open(path) as opened:
        for issue in opened.closed_issues(older_than_days=older_than, now=now):
            try:
                with send_lock(path, issue, now=now, command="webzine ledger compact"):
                    if opened.archive(issue) is not None:
                        folded.append(issue)
            except SendLocked:
                click.echo(_("ledger: {issue} is being sent; left live").format(issue=issue))
        if folded:
            opened.vacuum()
    for issue in folded:
        click.echo(_("ledger: {issue} archived in {folder}").format(issue=issue,
                                                                    folder=path.with_name(path.stem + "-archive")))
    return 0
