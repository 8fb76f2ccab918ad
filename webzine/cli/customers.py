"""`webzine customers score [ORDERS…]`: recency, frequency and value from the order exports.

Writes build/customers/scores.csv (one row per customer), proposed-key-customers.csv,
slipping-key-customers.csv and report.html, and prints a summary per segment and per account
manager. Nothing is changed in lists/: proposals are for the editor to take or leave. Exit 0, or
2 when an export cannot be read (one line naming the file, the row and the column).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from webzine.i18n import _
from webzine.cli.help import group, option
from webzine.cli import Context, parse_columns, pass_context
from webzine.cli.due import TODAY_OPTION, shown
from webzine.cli.lists import format_table
from webzine.config import Settings
from webzine.terminal import printable


@group()
def customers() -> None:
    """Key customers from the sales records (RFM: recency, frequency, value)."""


@customers.command("score")
@click.argument("orders", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@option("--column", "columns", multiple=True, metavar="FIELD=HEADER",
        help="Which column holds a field, e.g. --column 금액=실결제액 (fields: 주문번호, 주문일, 이메일, "
             "금액, 상태, 이름, 회사, 담당자).")
@option("--encoding", help="The exports' encoding when detection fails (utf-8, cp949, utf-16).")
@TODAY_OPTION
@pass_context
def score(ctx: Context, orders: tuple[Path, ...], columns: tuple[str, ...], encoding: str | None,
          today: str | None) -> int:
    """Score every customer in ORDERS (CSV or .xlsx order exports; default [customers] orders) by
    recency, frequency and value, group them into segments, and propose key customers."""
    # polars' allocator (jemalloc) keeps freed pages for ten seconds by default; scoring frees
    # hundreds of megabytes batch after batch, so give them back at once (bench_customers.py:
    # peak 1.3 GB → under 0.8 GB for 5 million lines). Read once, when polars is first loaded.
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
    import polars as pl

    from webzine.customers.orders import read_orders
    from webzine.customers.people import key_customers, subscribers
    from webzine.customers.proposals import propose
    from webzine.customers.report import manager_rows, report_page, segment_rows
    from webzine.segment_rules import parse_rule
    from webzine.customers.scoring import score_customers, scores_of
    from webzine.customers.store import customers_dir, write_proposals, write_scores
    from webzine.files import atomic_writer

    ctx.pin_today(today)
    settings = ctx.settings
    config = settings.customers
    when = ctx.today
    paths = list(orders) or [Path(shown(settings.path(path))) for path in config.orders]
    totals, summary = read_orders(paths, today=when, period_days=config.period_days,
                                  overrides=parse_columns(columns, example="금액=실결제액"), encoding=encoding)
    segments = [(segment.name, segment.when) for segment in config.segments]
    scores = score_customers(totals, [(name, parse_rule(rule)) for name, rule in segments], when)
    looked_at = scores_of(scores.filter(pl.col("segment").is_in([*config.propose, *config.watch])))
    found = propose(looked_at, key_customers(settings), subscribers(settings), proposed=config.propose,
                    watched=config.watch)
    folder = customers_dir(settings)
    write_scores(folder, scores, when)
    write_proposals(folder / "proposed-key-customers.csv", found.add)
    write_proposals(folder / "slipping-key-customers.csv", found.slipping)
    notes = summary.notes() + found.notes(scored_on=when.isoformat(), folder=shown(folder))
    with atomic_writer(folder / "report.html") as handle:
        handle.write(report_page(settings.publication.name, scores, segments, when, notes, _manager_names(settings)))

    click.echo(_("{customers:,} customers from {counted:,} of {lines:,} order lines in {files} file(s), as of {date} "
                 "(period {days} days)").format(customers=scores.height, counted=summary.counted, lines=summary.lines,
                                                files=len(summary.files), date=when.isoformat(),
                                                days=config.period_days))
    click.echo(format_table([_("segment"), _("customers"), _("value (won)"), _("rule")],
                            [[printable(row.name), f"{row.customers:,}", f"{row.value:,}", printable(row.rule)]
                             for row in segment_rows(scores, segments)], right={1, 2}))
    click.echo("")
    names = [name for name, __ in segments]
    click.echo(format_table([_("manager"), *names, _("total")],
                            [[printable(cell, single_line=True) for cell in row] for row in manager_rows(scores, names)],
                            right=set(range(1, len(names) + 2))))
    for note in notes:
        click.echo(printable(note))
    click.echo(_("Wrote {folder}/scores.csv, proposed-key-customers.csv ({proposed}), slipping-key-customers.csv "
                 "({slipping}), report.html").format(folder=shown(folder), proposed=len(found.add),
                                                     slipping=len(found.slipping)))
    return 0


def _manager_names(settings: Settings) -> dict[str, str]:
    from webzine.recipients.clean import load_managers

    return {key: manager.name for key, manager in load_managers(settings.path(settings.lists.managers)).items()}


