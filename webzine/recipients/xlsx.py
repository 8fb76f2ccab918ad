"""Reading one sheet of an `.xlsx` file as rows of cell text, trusting nothing the file says
about itself.

A workbook is a zip of XML parts. Its sheet may claim any size in `<dimension>` (openpyxl's
read-only mode believed it: a 10-row sheet claiming `A1` read as empty, one claiming
`A1:XFD1048576` became seventeen billion cells), and a few kilobytes of zip may unpack to
gigabytes. So: the parts' unpacked sizes are checked before any is read (zipfile never hands out
more than a part declares), only Excel's own compression methods are accepted, rows and cells
are placed by their own references, and the cells produced are counted against a limit.
Values are converted the way openpyxl does (its number-format rules decide which numbers are
dates), then to the text an editor sees (`cells.cell_text`).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, iterparse

from webzine.errors import ListError
from webzine.i18n import _
from webzine.recipients.cells import ReadLimits, cell_text, size_text

MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384  # Excel's grid: anything beyond is not a real sheet
WHOLE_PART_BYTES = 32 << 20  # workbook, relationships, styles: parsed whole, kilobytes in real files
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REFERENCE = re.compile(r"([A-Z]{1,3})([0-9]+)")
_READ_ERRORS = (ParseError, zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class Sheet:
    """One worksheet: `title`, and `rows()` from row 1, a missing row as `[]`. Each row has at
    least `width` cells (set it to the header's once the header is read) and no more than its
    last non-empty cell needs beyond that."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, title: str, part: str,
                 shared: list[str], styles: tuple[set[int], set[int]], epoch: object, limits: ReadLimits) -> None:
        self.path, self.archive, self.title, self.part = path, archive, title, part
        self.shared, self.epoch, self.limits = shared, epoch, limits
        self.date_styles, self.duration_styles = styles
        self.width = 0

    def close(self) -> None:
        self.archive.close()

    def rows(self) -> Iterator[list[str]]:
        try:
            with self.archive.open(self.part) as stream:
                yield from self._rows(stream)
        except _READ_ERRORS as exc:
            raise unreadable(self.path, exc) from exc
        finally:
            self.close()

    def _rows(self, stream: IO[bytes]) -> Iterator[list[str]]:
        cells_left = self.limits.max_cells
        last = 0
        sheet_data: Element | None = None
        for event, element in iterparse(stream, ("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if tag == "sheetData":
                    sheet_data = element
                continue
            if tag != "row":
                continue
            number = _row_number(element.get("r"), last, self.path)
            for _blank in range(last + 1, number):
                yield []  # a row the file leaves out is a blank row, as Excel shows it
            last = number
            row = self._cells(element, number)
            cells_left -= len(row)
            if cells_left < 0:
                raise ListError(
                    _("{path}: the sheet {sheet!r} has more than {limit:,} cells (row {number:,} is {width:,} cells "
                      "wide); no list needs that many.").format(
                        path=self.path, sheet=self.title, limit=self.limits.max_cells, number=number, width=len(row)),
                    hint=_("delete the unused rows and columns (Ctrl+End shows the last cell in use) or save the "
                           "sheet as CSV."))
            yield row
            if sheet_data is not None:
                sheet_data.clear()  # the rows read so far are done with

    def _cells(self, row: Element, number: int) -> list[str]:
        """A row's cells by their references; a cell without one follows the previous."""
        values: dict[int, str] = {}
        column = 0
        for cell in row:
            if _local(cell.tag) != "c":
                continue
            reference = cell.get("r")
            column = _column(reference, number, self.path) if reference else column + 1
            if column > MAX_COLUMNS:
                raise ListError(_("{path}: row {number:,} has a cell beyond Excel's last column (XFD).").format(
                    path=self.path, number=number),
                                hint=_("open the file in Excel and save it again."))
            text = self._value(cell)
            if text:
                values[column] = text
        cells = [""] * max(self.width, max(values, default=0))
        for column, text in values.items():
            cells[column - 1] = text
        return cells

    def _value(self, cell: Element) -> str:
        kind = cell.get("t", "n")
        value = None
        for child in cell:
            name = _local(child.tag)
            if name == "v":
                value = child.text
            elif name == "is":
                return _string(child)
        if not value:
            return ""
        if kind == "s":
            try:
                return self.shared[int(value)]
            except (ValueError, IndexError):
                raise ListError(_("{path}: cell {cell} refers to shared text {value!r} that the file does not have.")
                                .format(path=self.path, cell=cell.get("r", "?"), value=value),
                                hint=_("open the file in Excel and save it again.")) from None
        if kind == "n":
            return cell_text(self._number(value, cell.get("s")))
        if kind == "b":
            return cell_text(value.strip() not in ("0", "false"))
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            try:
                return cell_text(from_ISO8601(value))
            except ValueError:
                return value
        return value  # str (a formula's text), e (an error such as #N/A)

    def _number(self, value: str, style: str | None) -> object:
        try:
            number: int | float = float(value) if "." in value or "E" in value or "e" in value else int(value)
        except ValueError:
            return value
        if style is None or not style.isdigit():
            return number
        index = int(style)
        if index in self.date_styles:
            from openpyxl.utils.datetime import from_excel

            try:
                return from_excel(number, self.epoch, timedelta=index in self.duration_styles)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number


def _row_number(written: str | None, last: int, path: Path) -> int:
    if written is None:
        number = last + 1
    else:
        try:
            number = int(written)
        except ValueError:
            raise ListError(_("{path}: a row is numbered {written!r}.").format(path=path, written=written),
                            hint=_("open the file in Excel and save it again.")) from None
    if number <= last or number > MAX_ROWS:
        if number <= last:
            message = _("{path}: row {number:,} comes after row {last:,}; rows would be lost or invented.")
        else:
            message = _("{path}: row {number:,} comes beyond Excel's last row; rows would be lost or invented.")
        raise ListError(message.format(path=path, number=number, last=last),
                        hint=_("open the file in Excel and save it again."))
    return number


_COLUMNS: dict[str, int] = {}


def _column(reference: str, number: int, path: Path) -> int:
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise ListError(_("{path}: row {number:,} has a cell at {reference!r}, which is no cell reference.").format(
            path=path, number=number, reference=reference),
                        hint=_("open the file in Excel and save it again."))
    letters = match.group(1)
    column = _COLUMNS.get(letters)
    if column is None:
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
        _COLUMNS[letters] = column
    return column


def _string(element: Element) -> str:
    """The text of a shared or inline string: its `t`, or its runs' `t`s; not the phonetic
    reading (`rPh`) Excel stores for Japanese."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(grandchild.text or "" for grandchild in child if _local(grandchild.tag) == "t")
    return "".join(parts)


def unreadable(path: Path, exc: BaseException) -> ListError:
    return ListError(_("{path}: not a readable .xlsx file ({problem}).").format(
        path=path, problem=exc or type(exc).__name__),
                     hint=_("open it in Excel and save it again as .xlsx or CSV."))


def open_sheet(path: Path, name: str | None, limits: ReadLimits) -> Sheet:
    """The sheet called `name` (the first worksheet when None), checked against `limits`."""
    try:
        archive = zipfile.ZipFile(path)
    except _READ_ERRORS as exc:
        raise unreadable(path, exc) from exc
    try:
        return _open(path, archive, name, limits)
    except _READ_ERRORS as exc:
        archive.close()
        raise unreadable(path, exc) from exc
    except ListError:
        archive.close()
        raise


def _open(path: Path, archive: zipfile.ZipFile, name: str | None, limits: ReadLimits) -> Sheet:
    _check_sizes(path, archive, limits)
    book_part = _relations(path, archive, "_rels/.rels", "")[0].get("officeDocument", ["xl/workbook.xml"])[0]
    folder = posixpath.dirname(book_part)
    parts, by_id = _relations(path, archive, posixpath.join(folder, "_rels", posixpath.basename(book_part) + ".rels"),
                              folder)
    book = _parse(path, archive, book_part)
    epoch_1904 = any(_local(e.tag) == "workbookPr" and e.get("date1904", "").lower() in ("1", "true")
                     for e in book.iter())
    sheets = [(e.get("name", ""), by_id.get(e.get(_RELATIONSHIPS, ""), "")) for e in book.iter()
              if _local(e.tag) == "sheet"]
    worksheets = set(parts.get("worksheet", []))
    if name is None:
        chosen = next(((title, part) for title, part in sheets if part in worksheets), None)
        if chosen is None:
            raise ListError(_("{path}: the workbook has no worksheet.").format(path=path))
    else:
        chosen = next(((title, part) for title, part in sheets if title == name), None)
        if chosen is None:
            names = ", ".join(title for title, _part in sheets)
            raise ListError(_("{path}: no sheet named {name!r} (sheets: {names}).").format(
                path=path, name=name, names=names))
    title, part = chosen
    shared = _shared_strings(path, archive, parts.get("sharedStrings", [None])[0], limits)
    styles = _date_styles(path, archive, parts.get("styles", [None])[0])
    from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH

    return Sheet(path, archive, title, part, shared, styles, MAC_EPOCH if epoch_1904 else WINDOWS_EPOCH, limits)


def _check_sizes(path: Path, archive: zipfile.ZipFile, limits: ReadLimits) -> None:
    """Before reading anything: what the parts unpack to (zipfile stops at a part's declared
    size, so this bounds what can be read), and only the compression Excel uses."""
    infos = archive.infolist()
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ListError(_("{path}: {part} is compressed in a way Excel never uses (method {method}).").format(
                path=path, part=info.filename, method=info.compress_type),
                hint=_("open it in Excel and save it again."))
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise ListError(_("{path}: unpacks to {size}, over the limit of {limit} for an .xlsx list.").format(
            path=path, size=size_text(unpacked), limit=size_text(limits.max_unpacked_bytes)),
                        hint=_("save the sheet as CSV (or delete unused rows, columns and sheets) and try again."))


def _parse(path: Path, archive: zipfile.ZipFile, part: str) -> Element:
    """A small part as a tree (the sheet and the shared strings are streamed instead)."""
    size = archive.getinfo(part).file_size
    if size > WHOLE_PART_BYTES:
        raise ListError(_("{path}: {part} unpacks to {size}; in a real workbook it is a few kilobytes.").format(
            path=path, part=part, size=size_text(size)),
                        hint=_("open it in Excel and save it again, or save the sheet as CSV."))
    with archive.open(part) as stream:
        root = None
        for _event, element in iterparse(stream, ("end",)):
            root = element
        assert root is not None
        return root


def _relations(path: Path, archive: zipfile.ZipFile, part: str,
               folder: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """A relationships part: archive paths of the targets by type (the type URI's last segment),
    and by id."""
    by_type: dict[str, list[str]] = {}
    by_id: dict[str, str] = {}
    if part not in archive.NameToInfo:
        return by_type, by_id
    for element in _parse(path, archive, part).iter():
        if _local(element.tag) != "Relationship" or element.get("TargetMode") == "External":
            continue
        target = element.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        by_type.setdefault(element.get("Type", "").rpartition("/")[2], []).append(target)
        by_id[element.get("Id", "")] = target
    return by_type, by_id


def _shared_strings(path: Path, archive: zipfile.ZipFile, part: str | None, limits: ReadLimits) -> list[str]:
    if part is None or part not in archive.NameToInfo:
        return []
    strings: list[str] = []
    root: Element | None = None
    with archive.open(part) as stream:
        for event, element in iterparse(stream, ("start", "end")):
            if root is None:
                root = element
            if event == "end" and _local(element.tag) == "si":
                strings.append(_string(element))
                root.clear()
                if len(strings) > limits.max_cells:
                    raise ListError(_("{path}: more than {limit:,} pieces of text; no list needs that many.").format(
                        path=path, limit=limits.max_cells),
                                    hint=_("save the sheet as CSV and try again."))
    return strings


def _date_styles(path: Path, archive: zipfile.ZipFile, part: str | None) -> tuple[set[int], set[int]]:
    """Which cell styles (`s="…"`) show a number as a date, and which of those as a duration:
    openpyxl's rules, from the number format each style uses."""
    if part is None or part not in archive.NameToInfo:
        return set(), set()
    from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format

    root = _parse(path, archive, part)
    custom = {e.get("numFmtId"): e.get("formatCode") for e in root.iter() if _local(e.tag) == "numFmt"}
    dates, durations = set(), set()
    cell_xfs = next((e for e in root if _local(e.tag) == "cellXfs"), None)
    for index, xf in enumerate(cell_xfs if cell_xfs is not None else ()):
        number_format = xf.get("numFmtId", "0")
        if not number_format.isdigit():
            continue
        code = custom.get(number_format) or builtin_format_code(int(number_format))
        if is_date_format(code):
            dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
    return dates, durations
