"""Fuzzing the list readers: whatever the file, every row is accounted for
(`rows_read == kept + rejected + duplicates`, blank rows apart) or the file is refused with a
one-line WebzineError — never a traceback. Inputs are small and the example counts fixed, so
each test runs in seconds."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_list_readers import SHEET, rewrite_part, set_dimension

from webzine.errors import WebzineError
from webzine.recipients.cells import cell_text
from webzine.recipients.records import CleanList
from webzine.recipients.clean import clean_list, load_managers
from webzine.recipients.suppressions import load_suppressions

pytestmark = pytest.mark.slow  # hypothesis over whole files

TODAY = date(2026, 11, 23)
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Characters every encoding under test can carry (KS X 1001 Hangul is in CP949 and EUC-KR),
# plus everything that shapes a CSV: delimiters, quotes, line breaks, spaces, BOM-like marks.
TEXT = st.text(alphabet=st.sampled_from([*"abkimlee0123456789@._-+ ,;\t\"'\r\n<>", *"김이박가나다한빛님"]),
               max_size=24)
EMAILS = st.sampled_from(["kim@naver.com", "KIM@naver.com", " lee@daum.net ", "park@naver.con", "info@hanbit.co.kr",
                          "bad-address", "", "김갑수 <kim@naver.com>", "a@b", "choi@gmail.com;lee@daum.net"])
CELL = st.one_of(EMAILS, TEXT)
HEADERS = st.sampled_from([["email", "name", "company"], ["이메일", "이름"], ["E-Mail"],
                           ["email", "consent_at", "tags", "등급"]])
ENCODINGS = ["utf-8", "utf-8-sig", "cp949", "euc-kr", "utf-16"]


def account(path: Path) -> CleanList | None:
    """Clean `path`; a refusal must be a WebzineError with a one-line message."""
    try:
        result = clean_list(path, advertising=True, today=TODAY)
    except WebzineError as error:
        assert error.message and "\n" not in error.message
        return None
    assert result.rows_read == result.kept + len(result.rejects) + len(result.duplicates)
    assert result.rows_read >= 0 and result.blank_rows >= 0
    return result


@settings(FUZZ, max_examples=300)
@given(header=HEADERS, rows=st.lists(st.lists(CELL, min_size=0, max_size=6), max_size=30),
       encoding=st.sampled_from(ENCODINGS), delimiter=st.sampled_from([",", "\t", ";"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]), ending=st.sampled_from(["\r\n", "\n"]))
def test_csv_written_by_a_csv_writer_loses_no_row(header, rows, encoding, delimiter, quoting, ending):
    if len(header) == 1:  # a header of one cell shows no delimiter: the reader assumes a comma
        delimiter = ","
    if ending == "\n":  # the writer quotes only its own line end's characters: a bare CR ends a row
        rows = [[cell.replace("\r", "") for cell in row] for row in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=ending)
    writer.writerow(header)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        path.write_bytes(buffer.getvalue().encode(encoding))
        result = account(path)
    assert result is not None
    assert result.rows_read + result.blank_rows == len(rows)


@settings(FUZZ, max_examples=300)
@given(lines=st.lists(st.lists(CELL, max_size=5), min_size=1, max_size=30), encoding=st.sampled_from(ENCODINGS),
       delimiter=st.sampled_from([",", "\t", ";"]))
def test_csv_joined_by_hand_with_stray_quotes_is_accounted_for(lines, encoding, delimiter):
    text = "\n".join(delimiter.join(cells) for cells in [["email", "name"], *lines])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        path.write_bytes(text.encode(encoding))
        account(path)


XLSX_VALUE = st.one_of(st.none(), EMAILS, TEXT.map(lambda text: text.replace("\r", "")),
                       st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False, width=32),
                       st.dates(date(1950, 1, 1), date(2100, 1, 1)), st.booleans(),
                       st.datetimes(datetime(1950, 1, 1), datetime(2100, 1, 1)))


@settings(FUZZ, max_examples=80)
@given(header=HEADERS, rows=st.lists(st.lists(XLSX_VALUE, max_size=5), max_size=20),
       dimension=st.sampled_from([None, "A1", "A1:XFD1048576", "C3:D4"]))
def test_xlsx_built_by_openpyxl_loses_no_row(header, rows, dimension):
    book = openpyxl.Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.xlsx"
        book.save(path)
        if dimension is not None:
            set_dimension(path, dimension)
        result = account(path)
    assert result is not None
    assert result.rows_read == sum(1 for row in rows if any(cell_text(value).strip() for value in row))
    # Empty rows at the end may not be in the file at all, as in Excel.
    stored = max((number for number, row in enumerate(rows, 1) if any(v is not None for v in row)), default=0)
    assert stored <= result.rows_read + result.blank_rows <= len(rows)


@settings(FUZZ, max_examples=300)
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".tsv"]),
       prefix=st.sampled_from([b"", b"email,name\n", b"\xef\xbb\xbfemail\n", b"\xff\xfee\x00", b"PK\x03\x04"]))
def test_random_bytes_are_read_or_refused_in_one_line(data, suffix, prefix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"list{suffix}"
        path.write_bytes(prefix + data)
        account(path)
        for load in (load_suppressions, load_managers):
            try:
                load(path)
            except WebzineError as error:
                assert error.message and "\n" not in error.message


@pytest.mark.parametrize("name", ["[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                  "xl/worksheets/sheet1.xml", "xl/styles.xml"])
@settings(FUZZ, max_examples=15)
@given(data=st.binary(max_size=300))
def test_xlsx_with_a_garbled_part_is_read_or_refused_in_one_line(name, data):
    book = openpyxl.Workbook()
    book.active.append(["email", "name"])
    book.active.append(["kim@naver.com", "김"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.xlsx"
        book.save(path)
        rewrite_part(path, name, lambda xml: xml[:len(data)] + data)
        account(path)


REFERENCE = st.one_of(st.none(), st.sampled_from(["A", "B", "C", "Z", "XFD", "XFE", "a", "", "1"]).flatmap(
    lambda column: st.sampled_from(["1", "2", "3", "1048576", "1048577", "0", "x"]).map(lambda row: column + row)))
CELL_XML = st.tuples(REFERENCE, st.sampled_from(["n", "s", "str", "b", "e", "d", "inlineStr", "bogus"]),
                     st.sampled_from(["kim@naver.com", "0", "1", "3.5", "1E+3", "-1", "99999999", "2026-01-05", "",
                                      "abc", "45000", "&lt;&amp;&gt;"]),
                     st.sampled_from([None, "0", "1", "99", "x"]))


def cell_xml(reference, kind, value, style) -> str:
    attributes = (f' r="{reference}"' if reference is not None else "") + f' t="{kind}"' \
        + (f' s="{style}"' if style is not None else "")
    inner = f"<is><t>{value}</t></is>" if kind == "inlineStr" else f"<v>{value}</v>"
    return f"<c{attributes}>{inner}</c>"


@settings(FUZZ, max_examples=150)
@given(rows=st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(["1", "2", "3", "5", "1048577",
                                                                        "0", "-1", "x", "2.0"])),
                               st.lists(CELL_XML, max_size=4)), max_size=6))
def test_xlsx_with_hand_made_rows_and_references_is_read_or_refused_in_one_line(rows):
    """Out-of-order, repeated, missing and impossible row and cell references, unknown types,
    styles that do not exist, shared strings that do not exist."""
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>'
    body = "".join(("<row>" if number is None else f'<row r="{number}">')
                   + "".join(cell_xml(*cell) for cell in cells) + "</row>" for number, cells in rows)
    book = openpyxl.Workbook()
    book.active.append(["email"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.xlsx"
        book.save(path)
        rewrite_part(path, "xl/worksheets/sheet1.xml",
                     lambda _: SHEET.format(dimension="A1", rows=header + body).encode())
        account(path)
