"""Order exports → one row per customer: last order, orders and won within the period.

An export is read with the list reader (`listio.read_table`: CSV in any Korean encoding, `.xlsx`),
so it comes as editors have it. Its header is mapped onto the order fields by the spellings shops
and ERPs use (`ORDER_SYNONYMS`, first spelling wins when an export has several, e.g. 실결제금액
before 주문금액), or as told (`--column 금액=실결제액`). A CSV file in UTF-8 or CP949 is then parsed
by polars from its bytes, 16 MB at a time (a Python string per cell would cost 1.6 GB at five
million lines); `.xlsx` and UTF-16 files come through the list reader's rows. The batches go to
the columnar engine (`totals`), which parses each distinct text once (`values`), leaves out and
counts cancelled lines, lines without an address, lines dated after today and orders an earlier
file already had (overlapping exports), and sums lines per order and orders per customer.
Row numbers in messages count records after the header, as Excel shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from webzine.customers.totals import OrderTotals, ReadSummary
from webzine.errors import ListError
from webzine.i18n import _
from webzine.recipients.frames import table_frames
from webzine.recipients.tables import Table, header_key, read_table

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


def map_order_columns(header: Sequence[str], source: str, overrides: Mapping[str, str] | None = None) -> dict[str, int]:
    """Which header cell holds which order field; a missing required field is an error that
    names the file, the field and the columns found."""
    keys = [header_key(cell) for cell in header]
    columns: dict[str, int] = {}
    for written_field, written in (overrides or {}).items():
        name = FIELD_NAMES.get(written_field.strip()) or FIELD_NAMES.get(header_key(written_field))
        if name is None:
            raise ListError(_("--column {field}={written}: unknown field '{field}'; use one of {fields}.").format(
                field=written_field, written=written, fields=", ".join(list(FIELD_NAMES)[:8])))
        matches = [i for i, key in enumerate(keys) if key == header_key(written)]
        if not matches:
            raise ListError(_("{source}: --column {field}={written}: no such column (columns found: {found}).").format(
                source=source, field=written_field, written=written, found=", ".join(repr(h) for h in header)))
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
            raise ListError(_("{source}: no {korean} ({name}) column (columns found: {found}).").format(
                source=source, korean=korean, name=name, found=", ".join(repr(h) for h in header) or _("none")),
                hint=_("name the column, e.g. --column {korean}=\"<header>\".").format(korean=korean))
    return columns


def read_orders(paths: Iterable[str | Path], *, today: date, period_days: int,
                overrides: Mapping[str, str] | None = None, encoding: str | None = None,
                engine: Callable[[date, date, ReadSummary], OrderTotals] = OrderTotals,
                ) -> tuple[pl.DataFrame, ReadSummary]:
    """Every customer in the exports with their totals (`totals.CUSTOMER_SCHEMA`), and what
    happened to every line.

    Files are read in the order given; an order number an earlier file already had is not
    counted again from a later one (exports of overlapping months). `engine` makes the totals
    (the bench passes its plain-Python one)."""
    summary = ReadSummary()
    totals = engine(today, today - timedelta(days=period_days), summary)
    for number, path in enumerate(paths):
        table = read_table(path, encoding=encoding, wanted=())
        columns = map_order_columns(table.header, table.source, overrides)
        summary.files.append(table.source)
        _read(number, table, columns, totals)
    return totals.finish(), summary


def _read(number: int, table: Table, columns: dict[str, int], totals: OrderTotals) -> None:
    """Hand the mapped columns to `totals` batch by batch (`frames.table_frames`)."""
    for first_row, frame in table_frames(table, columns):
        totals.add(number, table.source, first_row, frame)
