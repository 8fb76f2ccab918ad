"""`build/customers/`: the scores and proposals a scoring run leaves for the other commands.

`scores.csv` is the hand-off: the audit, the merge fields and the manager's digest read it back
with `read_scores` (by normalised address), so they never re-read the order exports. Files are
UTF-8 with a BOM (Excel shows the Korean) and written atomically.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from webzine.customers.proposals import Proposal
from webzine.customers.scores import Score
from webzine.errors import ListError
from webzine.files import atomic_writer
from webzine.i18n import _
from webzine.recipients.tables import read_table, write_csv

if TYPE_CHECKING:
    import polars as pl

    from webzine.config import Settings

SCORE_COLUMNS = ("email", "name", "r", "f", "m", "segment", "rule", "company", "manager", "last_order", "days",
                 "orders", "value", "scored_on")
PROPOSAL_COLUMNS = ("email", "name", "company", "manager", "segment", "r", "f", "m", "reason")


def customers_dir(settings: Settings) -> Path:
    return settings.path(settings.build.output) / "customers"


def write_scores(folder: Path, scores: pl.DataFrame, today: date) -> Path:
    """scores.csv from `scoring.score_customers`' frame (written by polars: a million rows in a
    second)."""
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scores.csv"
    with atomic_writer(path, encoding="utf-8", newline="") as handle:
        handle.flush()
        scores.with_columns(scored_on=pl.lit(today)).select(SCORE_COLUMNS).write_csv(
            handle.buffer, include_bom=True, line_terminator="\r\n")
    return path


def write_proposals(path: Path, proposals: Iterable[Proposal]) -> Path:
    return write_csv(path, PROPOSAL_COLUMNS, (
        (p.score.email, p.name, p.company, p.manager, p.score.segment, p.score.r, p.score.f, p.score.m, p.reason)
        for p in proposals))


def read_scores(path: Path) -> tuple[dict[str, Score], date | None]:
    """A scores.csv by key (the lowercased address), and the day it was scored; empty when
    there is no file."""
    if not path.is_file():
        return {}, None
    table = read_table(path, wanted=())
    at = {name: index for index, name in enumerate(table.header)}
    missing = [name for name in SCORE_COLUMNS if name not in at]
    if missing:
        raise ListError(_("{path}: not a scores file (no {column} column).").format(path=path, column=missing[0]),
                        hint=_("run: webzine customers score"))
    scores: dict[str, Score] = {}
    scored_on = None
    for row, cells in table.numbered():
        if len(cells) < len(table.header):
            continue
        value = {name: cells[index] for name, index in at.items()}
        try:
            score = Score(value["email"].lower(), value["email"], value["name"], value["company"], value["manager"],
                          date.fromisoformat(value["last_order"]), int(value["days"]), int(value["orders"]),
                          int(value["value"]), int(value["r"]), int(value["f"]), int(value["m"]), value["segment"],
                          value["rule"])
            scored_on = scored_on or date.fromisoformat(value["scored_on"])
        except ValueError as exc:
            raise ListError(f"{path} row {row}: {exc}.", hint=_("run: webzine customers score")) from None
        scores[score.key] = score
    return scores, scored_on
