"""Customer totals → R, F, M scores (1–5) and a named segment, with the rule that put each
customer there — in columns (polars), so a million customers take a few seconds.

Scores are quintiles of the customers in the export: 5 for the most recent, most frequent,
highest-spending fifth. Equal values share one score, the one for the middle of the span they
take, so a thousand one-order customers are not split between two scores by accident; a lone
customer, or customers who are all equal, score 3 (no evidence either way). Segments are tried in
the configured order and the first whose rule matches wins.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import date

import polars as pl

from webzine.customers.scores import SCORE_COLUMNS, Score
from webzine.segment_rules import Rule

_OPERATORS: dict[str, Callable[[pl.Expr, int], pl.Expr]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt}
_EPOCH = date(1970, 1, 1).toordinal()  # polars dates count days from here


def quintile(column: str | pl.Expr) -> pl.Expr:
    """A 1–5 score per value, 5 for the largest fifth. A value's span is from the first to the
    last place its equals take in sorted order; the score is that of the span's middle."""
    values = pl.col(column) if isinstance(column, str) else column
    before = values.rank("min") - 1  # places taken by smaller values
    through = values.rank("max")  # places up to the last equal one
    return (1 + (5 * (before + through)) // (2 * pl.len())).clip(upper_bound=5).cast(pl.Int8)


def quintiles(values: Sequence[int]) -> list[int]:
    """`quintile` for a plain list (tests, small lists)."""
    return pl.DataFrame({"value": list(values)}, schema={"value": pl.Int64}).select(quintile("value").alias("score"))["score"].to_list()


def _matches(rule: Rule) -> pl.Expr:
    expressions = [_OPERATORS[c.op](pl.col(c.measure), c.number) for c in rule.conditions]
    return pl.all_horizontal(expressions) if expressions else pl.lit(True)


def _explained(rule: Rule) -> pl.Expr:
    """The rule with the customer's values: `r >= 4 and f >= 4 (r=5, f=4)`."""
    if not rule.conditions:
        return pl.lit("no rule above matched")
    measures = list(dict.fromkeys(c.measure for c in rule.conditions))
    template = rule.text.replace("{", "{{").replace("}", "}}") + " (" + ", ".join(f"{m}={{}}" for m in measures) + ")"
    return pl.format(template, *measures)


def score_customers(customers: pl.DataFrame, segments: Sequence[tuple[str, Rule]], today: date) -> pl.DataFrame:
    """Scores and the first matching segment for every customer (an empty segment when no rule
    matches). `customers` has key, email, name, company, manager, day (ordinal of the last order),
    orders, value; the result has `SCORE_COLUMNS`, sorted by key."""
    scored = customers.with_columns(
        days=(today.toordinal() - pl.col("day")).cast(pl.Int64),
        last_order=(pl.col("day") - _EPOCH).cast(pl.Int32).cast(pl.Date),
    ).with_columns(r=quintile(-pl.col("days")), f=quintile("orders"), m=quintile("value"))
    scored = scored.with_columns(pl.col("r", "f", "m").cast(pl.Int64))
    segment, rule = pl.lit(""), pl.lit("")
    for name, parsed in reversed(segments):
        matched = _matches(parsed)
        segment = pl.when(matched).then(pl.lit(name)).otherwise(segment)
        rule = pl.when(matched).then(_explained(parsed)).otherwise(rule)
    return scored.with_columns(segment=segment, rule=rule).select(SCORE_COLUMNS).sort("key")


def scores_of(frame: pl.DataFrame) -> dict[str, Score]:
    """Score records by key, for the few customers the proposals look at."""
    return {row[0]: Score(*row) for row in frame.select(SCORE_COLUMNS).iter_rows()}
