"""Sum lines per order, drop orders an earlier file already had, count orders per customer.

This is the part that grows with the export (five million lines, a million customers), so it
runs in polars: lines are buffered as plain lists and handed over a million at a time, summed per
order there, and the few columns that remain are grouped per customer at the end. Measured
against the same steps in dicts and sets in `bench/bench_customers.py` (see bench/README.md).
"""

from __future__ import annotations

import polars as pl

_SCHEMA = {"key": pl.String, "order": pl.String, "day": pl.Int32, "amount": pl.Int64}
_FLUSH = 1_000_000


class OrderTotals:
    """Collects order lines (already parsed, cancelled ones left out) file by file."""

    def __init__(self) -> None:
        self._parts: list[pl.DataFrame] = []
        self._buffer: dict[str, list] = {name: [] for name in _SCHEMA}  # type: ignore[type-arg]
        self._file = 0

    def add(self, file: int, keys: list[str], orders: list[str], days: list[int], amounts: list[int]) -> None:
        if file != self._file:
            self._flush()
            self._file = file
        buffer = self._buffer
        buffer["key"] += keys
        buffer["order"] += orders
        buffer["day"] += days
        buffer["amount"] += amounts
        if len(buffer["key"]) >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer["key"]:
            return
        lines = pl.DataFrame(self._buffer, schema=_SCHEMA)
        self._buffer = {name: [] for name in _SCHEMA}
        self._parts.append(
            lines.group_by("key", "order").agg(pl.col("day").max(), pl.col("amount").sum(), lines=pl.len())
            .with_columns(file=pl.lit(self._file, pl.Int32)))

    def finish(self, cutoff: int) -> tuple[list[tuple[str, int, int, int]], int, tuple[int, str] | None]:
        """Per customer `(key, last order day, orders since cutoff, won since cutoff)`; the lines
        left out as repeats of an earlier file's orders; and the first such (file, order)."""
        self._flush()
        if not self._parts:
            return [], 0, None
        orders = (pl.concat(self._parts).group_by("key", "order", "file")
                  .agg(pl.col("day").max(), pl.col("amount").sum(), pl.col("lines").sum()))
        self._parts = []
        orders = orders.with_columns(first=pl.col("file").min().over("order"))
        repeats = orders.filter(pl.col("file") != pl.col("first"))
        repeated_at = None
        if repeats.height:
            first = repeats.sort("file", "order").row(0, named=True)
            repeated_at = (first["file"], first["order"])
        recent = pl.col("day") >= cutoff
        customers = (orders.filter(pl.col("file") == pl.col("first")).group_by("key")
                     .agg(pl.col("day").max(), recent.sum().cast(pl.Int64).alias("orders"),
                          pl.col("amount").filter(recent).sum().alias("value")))
        return list(customers.iter_rows()), int(repeats["lines"].sum()), repeated_at
