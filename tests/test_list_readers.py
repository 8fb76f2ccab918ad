"""The list readers account for every row of every file (issue 15, item 3): `.xlsx` read
without trusting the sheet's stored dimension and within limits, unclosed quotes reported,
devices, FIFOs and oversized files refused with one line."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from test_recipients import clean

from webzine.errors import ListError
from webzine.recipients.tables import read_table
from webzine.recipients.suppressions import load_suppressions


# -- .xlsx ----------------------------------------------------------------------------------------


def workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def rewrite_part(path: Path, name: str, change) -> None:
    """Replace one part of a zip (the others copied as they are)."""
    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts:
            target.writestr(info.filename, change(data) if info.filename == name else data)


def set_dimension(path: Path, ref: str) -> None:
    rewrite_part(path, "xl/worksheets/sheet1.xml",
                 lambda xml: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), xml))


@pytest.mark.parametrize("dimension", ["A1", "B3:C4", "A1:A1"])
def test_xlsx_rows_are_read_whatever_the_stored_dimension_says(tmp_path, dimension):
    path = workbook(tmp_path / "list.xlsx",
                    [["email", "name"]] + [[f"user{i}@naver.com", f"사람{i}"] for i in range(10)])
    set_dimension(path, dimension)
    result = clean(path)
    assert result.rows_read == 10
    assert [r.name for r in result.recipients] == [f"사람{i}" for i in range(10)]


SHEET = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         '<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>')


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


@pytest.mark.slow
def test_a_5_kb_workbook_claiming_the_whole_grid_is_read_in_bounded_time(tmp_path):
    """The stored dimension A1:XFD1048576 once made every row 16,384 cells wide."""
    path = workbook(tmp_path / "bomb.xlsx", [["email"]])
    rows = (f'<row r="1">{inline("A1", "email")}</row>'
            f'<row r="2">{inline("A2", "kim@naver.com")}</row>'
            f'<row r="3">{inline("A3", "lee@naver.com")}</row>'
            f'<row r="1048576">{inline("XFD1048576", "x")}</row>')
    rewrite_part(path, "xl/worksheets/sheet1.xml",
                 lambda _: SHEET.format(dimension="A1:XFD1048576", rows=rows).encode())
    assert path.stat().st_size < 6000
    result = clean(path)
    assert [r.email for r in result.recipients] == ["kim@naver.com", "lee@naver.com"]
    assert [(r.row, r.reason) for r in result.rejects] == [(1048576, "wrong_field_count")]
    assert result.blank_rows == 1048576 - 4


def test_xlsx_over_the_cell_limit_is_one_error_naming_the_file(tmp_path):
    from webzine.recipients.cells import ReadLimits

    path = workbook(tmp_path / "wide.xlsx",
                    [["email", "name"]] + [[f"user{i}@naver.com", "김"] for i in range(600)])
    table = read_table(path, limits=ReadLimits(max_cells=1000))
    with pytest.raises(ListError, match=r"wide\.xlsx.*more than 1,000 cells") as error:
        clean(table)
    assert "\n" not in error.value.message and error.value.hint


def test_xlsx_over_the_uncompressed_size_limit_is_refused_before_reading(tmp_path):
    from webzine.recipients.cells import ReadLimits

    path = workbook(tmp_path / "big.xlsx",
                    [["email", "memo"]] + [[f"user{i}@naver.com", "가" * 500] for i in range(200)])
    with pytest.raises(ListError, match=r"big\.xlsx: .*over the limit") as error:
        read_table(path, limits=ReadLimits(max_unpacked_bytes=100_000))
    assert error.value.hint


def declare_size(path: Path, name: str, size: int) -> None:
    """Make the zip's central directory claim `size` unpacked bytes for the part `name`."""
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02", 0, data.find(name.encode(), data.find(b"PK\x01\x02")))
    data[central + 24:central + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_xlsx_whose_zip_declares_2_gb_is_refused_before_reading(tmp_path):
    """A part's declared size is what zipfile will hand out at most: checked before reading."""
    path = workbook(tmp_path / "liar.xlsx", [["email"], ["kim@naver.com"]])
    declare_size(path, "xl/worksheets/sheet1.xml", 2 << 30)
    with pytest.raises(ListError, match=r"liar\.xlsx: .*over the limit"):
        clean(path)


def test_xlsx_with_a_40_mb_styles_part_is_refused(tmp_path):
    """The small parts are parsed whole: a big one would be a memory bomb under the total limit."""
    path = workbook(tmp_path / "styles.xlsx", [["email"], ["kim@naver.com"]])
    declare_size(path, "xl/styles.xml", 40 << 20)
    with pytest.raises(ListError, match=r"styles\.xlsx: xl/styles\.xml unpacks to 40 MB"):
        clean(path)


# -- CSV quotes -----------------------------------------------------------------------------------


def numbered_list(count: int) -> list[str]:
    return ["email,name"] + [f"user{i}@naver.com,사람{i}" for i in range(1, count + 1)]


def unclosed(result) -> list:
    return [note for note in result.warnings if note.kind == "unclosed_quote"]


def test_an_unclosed_quote_is_a_warning_naming_its_line_and_what_it_swallowed(tmp_path):
    lines = numbered_list(1010)
    lines[4] = 'user4@naver.com,"사람4'  # line 5: the quote never closes
    path = tmp_path / "list.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = clean(path)
    assert result.rows_read == 4
    [note] = unclosed(result)
    assert note.row == 5 and note.email == "user4@naver.com"
    assert "line 5" in note.detail and "1,006 lines" in note.detail


def test_a_stray_quote_closed_a_thousand_lines_later_is_a_warning(tmp_path):
    lines = numbered_list(3000)
    lines[4] = 'user4@naver.com,"사람4'
    lines[1005] = 'user1005@naver.com,사람1005"'  # the next quote: lines 6-1006 went into one cell
    path = tmp_path / "list.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = clean(path)
    assert result.rows_read == 3000 - 1001
    [note] = unclosed(result)
    assert note.row == 5
    assert "line 5" in note.detail and "line 1006" in note.detail and "1,001 lines" in note.detail


def test_a_quoted_cell_with_a_line_break_is_no_warning(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text('email,name,address\nkim@naver.com,김,"서울시 중구\n세종대로 1"\n'
                    'lee@naver.com,이,부산\n', encoding="utf-8")
    result = clean(path)
    assert result.rows_read == 2 and not unclosed(result)
    assert result.recipients[1].row == 3


def test_an_unclosed_quote_in_the_suppression_list_is_an_error(tmp_path):
    """A swallowed suppression would mail someone who asked not to be mailed."""
    path = tmp_path / "suppressions.csv"
    path.write_text("email,reason\nkim@naver.com,\"unsubscribed\nlee@naver.com,unsubscribed\n", encoding="utf-8")
    with pytest.raises(ListError, match=r"suppressions\.csv line 2: .*quote"):
        load_suppressions(path)


# -- what is not a list file ----------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_device_is_refused(tmp_path):
    with pytest.raises(ListError, match=r"^/dev/zero: not a regular file"):
        read_table("/dev/zero")


@pytest.mark.timeout(30)
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "list.csv"
    os.mkfifo(fifo)
    with pytest.raises(ListError, match=r"list\.csv: not a regular file"):
        read_table(fifo)


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    from webzine.recipients.cells import ReadLimits

    path = tmp_path / "list.csv"
    path.write_text("\n".join(numbered_list(100)) + "\n", encoding="utf-8")
    with pytest.raises(ListError, match=r"list\.csv: .* over the .* limit") as error:
        read_table(path, limits=ReadLimits(max_file_bytes=1000))
    assert error.value.hint
    with pytest.raises(ListError, match=r"list\.csv: 2,\d{3} bytes is over the 1,000 bytes limit for a list file"):
        clean(path, limits=ReadLimits(max_file_bytes=1000))
    assert clean(path, limits=ReadLimits(max_file_bytes=path.stat().st_size)).rows_read == 100


@pytest.mark.parametrize("content", [b"email\n", b"email", b"E-Mail\r\n"])
def test_a_file_of_a_few_bytes_is_not_taken_for_utf16(tmp_path, content):
    """Found by the fuzz test: under 8 bytes, "an eighth of the bytes are zero" held for none."""
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    assert clean(path).rows_read == 0


def test_an_unclosed_quote_in_the_managers_or_key_customers_is_an_error(tmp_path):
    from webzine.audit.audit import read_key_customers
    from webzine.recipients.clean import load_managers

    path = tmp_path / "people.csv"
    path.write_text('id,name,email\nm1,"정다솔,dasol@example.co.kr\nm2,윤재민,jaemin@example.co.kr\n',
                    encoding="utf-8")
    for read in (load_managers, read_key_customers):
        with pytest.raises(ListError, match=r"people\.csv line 2: a quote opened here is never closed"):
            read(path)


def test_the_build_and_serve_readers_keep_reading_past_an_unclosed_quote(tmp_path):
    """Only the cleaner decides about a subscriber list: it warns, so they must not fail."""
    from webzine.audit.fields import read_list_sample

    path = tmp_path / "subscribers.csv"
    path.write_text('email,name\nkim@naver.com,"김\nlee@naver.com,이\n', encoding="utf-8")
    assert [row["email"] for row in read_list_sample(path).rows] == ["kim@naver.com"]


@pytest.mark.parametrize("cells", [["\x00"] * 4, ["kim@naver.com", "\x00", "\x00", "\x00\x00"]])
def test_a_utf8_file_with_nul_cells_is_not_taken_for_utf16(tmp_path, cells):
    """Found by test_nothing_is_lost_for_any_input: enough zero bytes once made it UTF-16."""
    path = tmp_path / "list.csv"
    path.write_bytes(("email,name,consent_at,memo\r\n" + ",".join(cells) + "\r\n").encode("utf-8"))
    result = clean(path)
    assert result.encoding == "utf-8" and result.rows_read == 1


# -- old Excel --------------------------------------------------------------------------------------

# The first bytes of every Excel 97-2003 workbook: an OLE2 compound-file header (MS-CFB 2.2), then
# sectors of BIFF records that no text encoding reads.
OLE2_HEADER = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16) + bytes.fromhex("3e000300feff0900")


@pytest.mark.parametrize("name", ["고객명단.xls", "export.csv"])
def test_an_old_excel_workbook_gets_advice_to_save_it_as_xlsx_or_csv(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(OLE2_HEADER + bytes(range(256)) * 8 + "김갑수".encode("utf-16-le"))
    with pytest.raises(ListError) as raised:
        read_table(path)
    error = raised.value
    assert error.message == f"{path}: an Excel 97-2003 workbook (.xls), which webzine does not read."
    assert error.hint == "open it in Excel and save it as \"Excel 통합 문서 (.xlsx)\" or \"CSV UTF-8\"."
    assert "--encoding" not in f"{error.message} {error.hint}"
