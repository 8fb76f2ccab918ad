"""Order lines → one total per customer, in columns (polars): the part that grows with the export.

The reader hands over batches of raw cells (a string column per field). Each rule about a cell
(`values`: a date, an amount, a status) runs once per distinct text in Python, and its answers
are joined back onto the column, so five million lines cost a few thousand date parses.
Addresses in the common shape are normalised by polars itself, the way the normaliser's fast
path does it (only their distinct domains are looked at in Python); the rest go through
`addresses.Normaliser`, once per distinct text. Blank lines,
lines without a usable address, cancelled lines and lines dated after today are counted and
dropped; the rest are summed per order at once. At the end of each file its orders that an
earlier file already had are dropped (overlapping exports) and the rest folded into one row per
customer. Measured against per-line Python in `bench/bench_customers.py` (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from webzine.customers.values import is_cancelled, parse_amount, parse_date
from webzine.errors import ListError
from webzine.i18n import N_, _
from webzine.recipients.addresses import BadAddress, Normaliser
from webzine.recipients.frames import plain_addresses

PEOPLE = ("name", "company", "manager")
CUSTOMER_SCHEMA = {"key": pl.String, "email": pl.String, "name": pl.String, "company": pl.String,
                   "manager": pl.String, "day": pl.Int64, "orders": pl.Int64, "value": pl.Int64}


@dataclass
class ReadSummary:
    """What reading the exports did with every line, for the terminal and the report."""

    files: list[str] = field(default_factory=list)
    lines: int = 0  # non-blank lines read
    counted: int = 0
    cancelled: int = 0
    no_address: int = 0
    future: int = 0
    repeated: int = 0  # lines of an order an earlier file already had
    first_rows: dict[str, str] = field(default_factory=dict)  # kind → "file row N", the first of each

    def notes(self) -> list[str]:
        """One line per kind of line left out."""
        kinds = (("cancelled", self.cancelled, N_("{count:,} line(s) cancelled, returned or refunded were left out "
                                                  "(first: {first})")),
                 ("no_address", self.no_address, N_("{count:,} line(s) without a usable email address were left out "
                                                    "(first: {first})")),
                 ("future", self.future, N_("{count:,} line(s) dated after today were left out (first: {first})")),
                 ("repeated", self.repeated, N_("{count:,} line(s) of orders an earlier file already had were left "
                                                "out (first: {first})")))
        return [_(message).format(count=count, first=self.first_rows[kind]) for kind, count, message in kinds if count]


def _day(text: str) -> int:
    return parse_date(text).toordinal()


class OrderTotals:
    """Collects batches of raw order cells, file by file; `finish` gives the customers."""

    def __init__(self, today: date, cutoff: date, summary: ReadSummary) -> None:
        self.today, self.cutoff = today.toordinal(), cutoff.toordinal()
        self.summary = summary
        self.normaliser = Normaliser()
        self.addresses = _Known(pl.String)  # email cell → normalised address, "" when unusable
        self.days = _Known(pl.Int32)
        self.amounts = _Known(pl.Int64)
        self.cancels = _Known(pl.Boolean)
        self._file = 0
        self._batches: list[pl.DataFrame] = []  # this file's batches, summed per order
        self._seen = pl.DataFrame(schema={"order": pl.String})  # order numbers of the files before
        self._customers = pl.DataFrame(schema={"key": pl.String, "day": pl.Int32, "orders": pl.Int64,
                                               "value": pl.Int64, "email": pl.String,
                                               **{name: pl.String for name in PEOPLE}})

    def _address(self, cell: str) -> str:
        try:
            return self.normaliser.parse(cell)[0]
        except BadAddress:
            return ""

    def _addresses(self, frame: pl.DataFrame, source: str) -> pl.Series:
        """Each line's normalised address, "" when unusable: the common shape by polars
        (`frames.plain_addresses`), the others through the normaliser, once per distinct text."""
        found = plain_addresses(frame["email"], self.normaliser)
        unusual = found.is_null()
        if unusual.any():
            rest = _Decoder(frame.filter(unusual), source)(pl.col("email"), self.addresses, self._address, "email", pl.String)
            found = found.scatter(unusual.arg_true(), rest)
        return found

    def add(self, file: int, source: str, first_row: int, cells: pl.DataFrame) -> None:
        """One batch of lines: `cells` has a string column per order field found; the batch's
        first line is `first_row` of `source` (for error messages)."""
        frame = (cells.with_row_index("row", offset=first_row)
                 .with_columns(pl.col(name).str.strip_chars() for name in cells.columns))
        frame = frame.filter((pl.col("email") != "") | (pl.col("ordered_at") != "") | (pl.col("amount") != ""))
        if frame.height == 0:
            return
        self.summary.lines += frame.height
        when = pl.col("ordered_at")
        day_only = pl.when((when.str.len_chars() > 10) & when.str.slice(10, 1).is_in([" ", "T"]))
        decode = _Decoder(frame, source)
        frame = frame.with_columns(
            day=decode(day_only.then(when.str.slice(0, 10)).otherwise(when), self.days, _day, "ordered_at", pl.Int32),
            amount=decode(pl.col("amount"), self.amounts, parse_amount, "amount", pl.Int64),
            email=self._addresses(frame, source),
            cancelled=(decode(pl.col("status"), self.cancels, is_cancelled, "status", pl.Boolean)
                       if "status" in cells.columns else pl.lit(False)),
        )
        no_address = pl.col("email") == ""
        cancelled = pl.col("cancelled") & ~no_address
        future = (pl.col("day") > self.today) & ~no_address & ~pl.col("cancelled")
        self._count(frame, source, {"no_address": no_address, "cancelled": cancelled, "future": future})
        kept = frame.filter(~(no_address | cancelled | future)).with_columns(key=pl.col("email").str.to_lowercase())
        self.summary.counted += kept.height
        if file != self._file:
            self._end_file()
            self._file = file
        order = pl.col("order") if "order" in cells.columns else pl.format("{}:{}", pl.lit(file), pl.col("row"))
        firsts = [pl.col(name).replace("", None).first(ignore_nulls=True) if name in cells.columns
                  else pl.lit(None, pl.String).alias(name) for name in PEOPLE]
        self._batches.append(kept.with_columns(order=order).group_by("key", "order").agg(
            pl.col("day").max(), pl.col("amount").sum(), pl.len().alias("lines"), pl.col("email").first(), *firsts,
            seq=pl.col("row").min()))

    def _end_file(self) -> None:
        """Fold one file's orders into the customers: its orders that an earlier file already had
        are counted and dropped, the rest summed per customer. Only one file's orders, the order
        numbers seen and one row per customer are ever held."""
        if not self._batches:
            return
        first_non_null = [pl.col(name).first(ignore_nulls=True) for name in ("email", *PEOPLE)]
        orders = pl.concat(self._batches).group_by("key", "order").agg(
            pl.col("day").max(), pl.col("amount").sum(), pl.col("lines").sum(), *first_non_null, pl.col("seq").min())
        self._batches = []
        repeats = orders.join(self._seen, on="order", how="semi")
        if repeats.height:
            self.summary.repeated += int(repeats["lines"].sum())
            order = repeats.sort("seq")["order"][0]
            self.summary.first_rows.setdefault("repeated", _("{path} order {order}").format(
                path=self.summary.files[self._file], order=order))
            orders = orders.join(self._seen, on="order", how="anti")
        self._seen = pl.concat([self._seen, _compact(orders.select("order").unique())])
        recent = pl.col("day") >= self.cutoff
        customers = orders.sort("seq").group_by("key").agg(
            pl.col("day").max(), recent.sum().cast(pl.Int64).alias("orders"),
            pl.col("amount").filter(recent).sum().alias("value"), *first_non_null)
        self._customers = _compact(pl.concat([self._customers, customers], how="vertical_relaxed").group_by(
            "key").agg(pl.col("day").max(), pl.col("orders").sum(), pl.col("value").sum(),
                                            *first_non_null))

    def _count(self, frame: pl.DataFrame, source: str, masks: dict[str, pl.Expr]) -> None:
        counts = frame.select(**{kind: mask.sum() for kind, mask in masks.items()},
                              **{f"{kind}_row": pl.col("row").filter(mask).min() for kind, mask in masks.items()}).row(0, named=True)
        for kind in masks:
            if counts[kind]:
                setattr(self.summary, kind, getattr(self.summary, kind) + counts[kind])
                self.summary.first_rows.setdefault(kind, f"{source} row {counts[f'{kind}_row']}")

    def finish(self) -> pl.DataFrame:
        """One row per customer: key, email, name, company, manager, day (ordinal of the last
        order), orders and value (won) since the cutoff; repeats across files go into the summary."""
        self._end_file()
        return self._customers.select(
            "key", "email", *(pl.col(name).fill_null("") for name in PEOPLE), pl.col("day").cast(pl.Int64),
            pl.col("orders").cast(pl.Int64), pl.col("value").cast(pl.Int64)).sort("key")


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with its text in buffers of its own. Polars' strings are views into the buffers
    they were cut from: without this, the few addresses kept from each batch would keep every
    batch's whole text alive (measured: 150 MB more per million lines)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(pl.concat_str([pl.col(name), pl.lit("")]).alias(name) for name in text)


class _Known:
    """A cell rule's answers so far, as two columns: a million addresses in a dict would cost
    several times the memory."""

    def __init__(self, dtype: pl.DataType | type[pl.DataType]) -> None:
        self.frame = pl.DataFrame(schema={"text": pl.String, "value": dtype})


@dataclass
class _Decoder:
    """Applies a cell rule to each distinct text of a column once (answers kept across batches);
    the first row (in file order) whose text the rule refuses becomes a ListError."""

    frame: pl.DataFrame
    source: str

    def __call__(self, text: pl.Expr, known: _Known, rule: Callable[[str], Any], column: str,
                 dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
        texts = self.frame.select(text.alias("text"), "row")
        distinct = texts.select(pl.col("text").unique()).join(known.frame, on="text", how="left")
        new = distinct.filter(pl.col("value").is_null())["text"].to_list()
        answers, refused = [], []
        for value in new:
            try:
                answers.append((value, rule(value)))
            except ValueError:
                refused.append(value)
        if refused:
            row, value = texts.filter(pl.col("text").is_in(refused)).sort("row").select("row", "text").row(0)
            try:
                rule(value)
            except ValueError as exc:
                raise ListError(_("{source} row {row}, column {column}: {problem}.").format(
                    source=self.source, row=row, column=column, problem=exc),
                                hint=_("fix the cell, or point --column at the right column.")) from None
        if answers:
            fresh = pl.DataFrame(answers, schema=known.frame.schema, orient="row")
            known.frame = pl.concat([known.frame, fresh])
            distinct = pl.concat([distinct.filter(pl.col("value").is_not_null()), fresh])
        return texts["text"].replace_strict(distinct["text"], distinct["value"], return_dtype=dtype)
