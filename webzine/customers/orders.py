"""Order exports → one total per customer: last order, orders and won within the period.

An export is read with the list reader (`listio.read_table`: CSV in any Korean encoding, `.xlsx`),
so it comes as editors have it. Its header is mapped onto the order fields by the spellings shops
and ERPs use (`ORDER_SYNONYMS`, first spelling wins when an export has several, e.g. 실결제금액
before 주문금액), or as told (`--column 금액=실결제액`). Each distinct cell text is parsed once
(`values`); lines are then summed per order and orders counted per customer by the columnar
engine (`totals`). Lines whose status cancels them, lines dated after today and lines of an order
an earlier file already had (overlapping exports) are left out and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from webzine.addresses import BadAddress, Normaliser
from webzine.customers.totals import OrderTotals
from webzine.customers.values import is_cancelled, parse_amount, parse_date
from webzine.errors import ListError
from webzine.listio import Columns, Table, header_key, read_table

# Our field names, their Korean names (for --column), and the header spellings we recognise, in
# order of preference.
ORDER_FIELDS: dict[str, tuple[str, ...]] = {
    "order": ("주문번호", "주문 번호", "order", "orderid", "orderno", "ordernumber", "주문id", "주문코드", "거래번호",
              "전표번호"),
    "ordered_at": ("주문일시", "주문일", "주문일자", "주문날짜", "결제일시", "결제일", "결제일자", "거래일", "거래일자",
                   "판매일", "판매일자", "orderdate", "ordered_at", "orderedat", "date", "일자", "날짜"),
    "email": ("주문자 이메일", "주문자이메일", "구매자 이메일", "구매자이메일", "회원 이메일", "고객 이메일", "이메일",
              "이메일주소", "메일", "전자우편", "email", "e-mail", "emailaddress"),
    "amount": ("실결제금액", "실결제액", "최종결제금액", "결제금액", "결제액", "주문금액", "판매금액", "판매액", "매출액",
               "금액", "상품금액", "합계금액", "합계", "amount", "total", "paid"),
    "status": ("주문상태", "상태", "처리상태", "결제상태", "status", "orderstatus"),
    "name": ("주문자명", "주문자", "구매자명", "구매자", "고객명", "회원명", "이름", "성명", "name"),
    "company": ("거래처", "거래처명", "회사", "회사명", "상호", "업체", "업체명", "company"),
    "manager": ("담당자", "영업담당", "영업담당자", "담당자id", "담당", "manager"),
}
FIELD_NAMES = {"주문번호": "order", "주문일": "ordered_at", "이메일": "email", "금액": "amount", "상태": "status",
               "이름": "name", "회사": "company", "거래처": "company", "담당자": "manager",
               **{name: name for name in ORDER_FIELDS}}
REQUIRED = ("email", "ordered_at", "amount")
_LOOKUP = {header_key(spelling): (field_name, rank)
           for field_name, spellings in ORDER_FIELDS.items() for rank, spelling in enumerate(spellings)}
_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class CustomerTotals:
    """One customer's sales: `orders` and `value` (won) count the orders within the period;
    `last_order` is the latest order ever read."""

    key: str
    email: str
    name: str
    company: str
    manager: str
    last_order: date
    orders: int
    value: int


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
    first_rows: dict[str, str] = field(default_factory=dict)  # what → "file row N", the first of each kind

    def notes(self) -> list[str]:
        """One line per kind of line left out."""
        kinds = (("cancelled", self.cancelled, "cancelled, returned or refunded"),
                 ("no_address", self.no_address, "without a usable email address"),
                 ("future", self.future, "dated after today"),
                 ("repeated", self.repeated, "of orders an earlier file already had"))
        return [f"{count:,} line(s) {what} were left out (first: {self.first_rows[kind]})"
                for kind, count, what in kinds if count]


def map_order_columns(header: Sequence[str], source: str, overrides: Mapping[str, str] | None = None) -> dict[str, int]:
    """Which header cell holds which order field; a missing required field is an error that
    names the file, the field and the columns found."""
    keys = [header_key(cell) for cell in header]
    columns: dict[str, int] = {}
    for written_field, written in (overrides or {}).items():
        name = FIELD_NAMES.get(written_field.strip()) or FIELD_NAMES.get(header_key(written_field))
        if name is None:
            raise ListError(f"--column {written_field}={written}: unknown field '{written_field}'; "
                            f"use one of {', '.join(list(FIELD_NAMES)[:8])}.")
        matches = [i for i, key in enumerate(keys) if key == header_key(written)]
        if not matches:
            raise ListError(f"{source}: --column {written_field}={written}: no such column "
                            f"(columns found: {', '.join(repr(h) for h in header)}).")
        columns[name] = matches[0]
    best: dict[str, tuple[int, int]] = {}
    for index, key in enumerate(keys):
        found = _LOOKUP.get(key)
        if found is None or found[0] in columns or index in columns.values():
            continue
        name, rank = found
        if name not in best or rank < best[name][0]:
            best[name] = (rank, index)
    columns.update((name, index) for name, (_, index) in best.items())
    for name in REQUIRED:
        if name not in columns:
            korean = next(k for k, v in FIELD_NAMES.items() if v == name)
            raise ListError(f"{source}: no {korean} ({name}) column (columns found: "
                            f"{', '.join(repr(h) for h in header) or 'none'}).",
                            hint=f'name the column, e.g. --column {korean}="<header>".')
    return columns


@dataclass
class _Reader:
    """The state shared across files: caches of parsed cells, the customers seen, the totals."""

    today: date
    totals: OrderTotals
    summary: ReadSummary = field(default_factory=ReadSummary)
    normaliser: Normaliser = field(default_factory=Normaliser)
    keys: dict[str, str] = field(default_factory=dict)  # email cell → key ("" when unusable)
    emails: dict[str, str] = field(default_factory=dict)  # key → the address as normalised
    days: dict[str, int] = field(default_factory=dict)  # date cell → day ordinal
    amounts: dict[str, int] = field(default_factory=dict)
    cancels: dict[str, bool] = field(default_factory=dict)
    people: dict[str, list[str]] = field(default_factory=dict)  # key → [name, company, manager]

    def key_of(self, cell: str) -> str:
        try:
            email, key, _ = self.normaliser.parse(cell)
        except BadAddress:
            return ""
        self.emails.setdefault(key, email)
        return key

    def read(self, number: int, table: Table, columns: dict[str, int]) -> None:
        row = 2
        for block in table.chunks(as_columns=True):
            cells = block.cells if isinstance(block, Columns) else _as_columns(block, len(table.header))
            size = len(block)
            self._block(number, table.source, row, {name: cells[index] for name, index in columns.items()}, size)
            row += size

    def _block(self, file: int, source: str, first_row: int, cells: dict[str, list[str]], size: int) -> None:
        emails, dates, amounts = cells["email"], cells["ordered_at"], cells["amount"]
        blank = [not (e.strip() or d.strip() or a.strip()) for e, d, a in zip(emails, dates, amounts)]
        where = _Locator(source, first_row, blank)
        # "2026-11-03 14:22": the day is what counts, and a time makes nearly every cell distinct
        dates = [text[:10] if len(text) > 10 and text[10] in " T" else text for text in dates]
        days = _cached(dates, self.days, lambda text: parse_date(text).toordinal(), where, "ordered_at", blank)
        values = _cached(amounts, self.amounts, parse_amount, where, "amount", blank)
        keys = _cached(emails, self.keys, self.key_of, where, "email", blank)
        statuses = cells.get("status")
        cancelled = _cached(statuses, self.cancels, is_cancelled, where, "status", blank) if statuses else [False] * size
        orders = cells["order"] if "order" in cells else [f"{file}:{first_row + i}" for i in range(size)]
        today = self.today.toordinal()
        keep = []
        summary = self.summary
        for index in range(size):
            if blank[index]:
                keep.append(False)
                continue
            summary.lines += 1
            reason = ("no_address" if not keys[index] else "cancelled" if cancelled[index]
                      else "future" if days[index] > today else "")
            if reason:
                setattr(summary, reason, getattr(summary, reason) + 1)
                summary.first_rows.setdefault(reason, where.row(index))
            keep.append(not reason)
        self._people(keys, keep, cells)
        kept = [i for i, flag in enumerate(keep) if flag]
        summary.counted += len(kept)
        self.totals.add(file, [keys[i] for i in kept], [orders[i].strip() for i in kept], [days[i] for i in kept],
                        [values[i] for i in kept])

    def _people(self, keys: list[str], keep: list[bool], cells: dict[str, list[str]]) -> None:
        """Remember each customer's name, company and manager: the first non-blank of each."""
        columns = [cells.get(name) for name in ("name", "company", "manager")]
        people = self.people
        for index, key in enumerate(keys):
            if not keep[index]:
                continue
            known = people.get(key)
            if known is None:
                people[key] = [(column[index].strip() if column else "") for column in columns]
            elif not all(known):
                for place, column in enumerate(columns):
                    if column and not known[place]:
                        known[place] = column[index].strip()


@dataclass(frozen=True)
class _Locator:
    """Row numbers for error messages: the first row of a block plus the index in it."""

    source: str
    first_row: int
    blank: list[bool]

    def row(self, index: int) -> str:
        return f"{self.source} row {self.first_row + index}"


def _cached(cells: list[str], cache: dict[str, _V], parse: Callable[[str], _V], where: _Locator,
            column: str, blank: list[bool]) -> list[_V]:
    """`parse` applied to each distinct cell once (in row order, so an error names the first bad
    row); a ValueError becomes a ListError naming the file, the row and the column."""
    missing = [text for text in dict.fromkeys(cells) if text not in cache]
    for text in missing:
        try:
            cache[text] = parse(text)
        except ValueError as exc:
            index = next((i for i, cell in enumerate(cells) if cell == text and not blank[i]), None)
            if index is None:
                continue  # only in blank rows, which are skipped
            raise ListError(f"{where.row(index)}, column {column}: {exc}.",
                            hint="fix the cell, or point --column at the right column.") from None
    return [cache.get(text) for text in cells]  # type: ignore[misc]


def _as_columns(rows: list[list[str]], width: int) -> list[list[str]]:
    """Rows (of any length) as columns of the header's width: short rows padded with blanks."""
    padded = [row + [""] * (width - len(row)) if len(row) < width else row for row in rows]
    return [list(column) for column in zip(*padded)] if padded else [[] for _ in range(width)]


def read_orders(paths: Iterable[str | Path], *, today: date, period_days: int,
                overrides: Mapping[str, str] | None = None, encoding: str | None = None,
                totals: OrderTotals | None = None) -> tuple[list[CustomerTotals], ReadSummary]:
    """Every customer in the exports with their totals, and what happened to every line.

    Files are read in the order given; an order number an earlier file already had is not
    counted again from a later one (exports of overlapping months). `totals` is the engine
    (the bench passes its plain-Python one)."""
    reader = _Reader(today, totals if totals is not None else OrderTotals())
    for number, path in enumerate(paths):
        table = read_table(path, encoding=encoding, wanted=())
        columns = map_order_columns(table.header, table.source, overrides)
        reader.summary.files.append(table.source)
        reader.read(number, table, columns)
    cutoff = (today - timedelta(days=period_days)).toordinal()
    result, reader.summary.repeated, repeated_at = reader.totals.finish(cutoff)
    if repeated_at is not None:
        file, order = repeated_at
        reader.summary.first_rows["repeated"] = f"{reader.summary.files[file]} order {order}"
    customers = []
    for key, last, orders, value in result:
        name, company, manager = reader.people[key]
        customers.append(CustomerTotals(key, reader.emails[key], name, company, manager, date.fromordinal(last),
                                        orders, value))
    customers.sort(key=lambda customer: customer.key)
    return customers, reader.summary
