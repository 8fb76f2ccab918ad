"""Reading the tables editors really have: CSV in any Korean encoding, Excel's "유니코드 텍스트",
and `.xlsx`.

Korean Excel saves CSV as CP949 by default, "CSV UTF-8" with a BOM, and "유니코드 텍스트" as
UTF-16 with tabs; CRM exports use semicolons. The reader works out the encoding and delimiter,
maps the header (English or Korean, any case or spacing) onto our field names, and streams the
rows' cells so a million-row list never sits in memory twice. Row numbers are what Excel shows:
the header is row 1, the n-th row of the stream is row n + 1, and a cell with an embedded newline
does not shift the numbering.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat
from pathlib import Path
from typing import NamedTuple

from webzine.errors import ListError
from webzine.files import atomic_writer
from webzine.i18n import _
from webzine.recipients.cells import DEFAULT_LIMITS, ReadLimits, cell_text, size_text

# Fields with a meaning; every other column becomes a merge field under its own name.
FIELDS = ("email", "name", "adjective", "company", "manager", "consent_at", "tags", "excused",
          "id", "phone", "title", "reason", "since", "source", "detail")

# Header spellings we understand without being told, compared after `header_key()`.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "mail", "emailaddress", "mailaddress", "이메일", "메일",
              "이메일주소", "메일주소", "전자우편", "전자메일", "이메일address"),
    "name": ("name", "fullname", "이름", "성명", "성함", "고객명", "고객이름", "수신자", "수신자명"),
    "adjective": ("adjective", "수식어", "꾸밈말", "형용사"),
    "company": ("company", "companyname", "organization", "organisation", "회사", "회사명", "상호",
                "업체", "업체명", "소속", "기관", "기관명"),
    "manager": ("manager", "accountmanager", "담당자", "담당", "영업담당", "영업담당자", "담당자id"),
    "consent_at": ("consentat", "consent", "consentdate", "optin", "optinat", "수신동의일",
                   "수신동의일자", "동의일", "동의일자", "수신동의", "마케팅수신동의일"),
    "tags": ("tags", "tag", "태그", "분류"),
    "excused": ("excused", "excuse", "예외", "예외사유", "면제사유"),
    "id": ("id", "managerid", "아이디", "코드", "담당자코드"),
    "phone": ("phone", "tel", "telephone", "mobile", "전화", "전화번호", "연락처", "휴대폰", "휴대전화"),
    "title": ("title", "position", "직함", "직책", "직위"),
    "reason": ("reason", "사유"),
    "since": ("since", "date", "일자", "날짜"),
    "source": ("source", "출처"),
    "detail": ("detail", "details", "상세", "비고"),
}

AUTO_ENCODINGS = ("utf-8", "cp949")  # tried in this order when there is no BOM
_ALIASES = {"euc-kr": "cp949", "euckr": "cp949", "euc_kr": "cp949", "ks_c_5601-1987": "cp949",
            "uhc": "cp949", "ms949": "cp949", "utf8": "utf-8"}
_DELIMITERS = (",", "\t", ";")
_SAMPLE = 1 << 16
BLOCK_SIZE = 1 << 20  # characters of CSV text parsed at a time (a parameter of read_table)
_SCAN_BYTES = 1 << 20  # bytes read at a time by the whole-file encoding check
_HEADER_JUNK = re.compile(r"[\s_\-.·:()/]+")
csv.field_size_limit(1 << 24)  # huge cells are data to reject row by row, not a reason to stop


class UnclosedQuote(NamedTuple):
    """A quoted CSV cell that took in lines looking like rows of the file: a quote opened by
    mistake. `index` is its row's place in the block, `line` the line the quote opened on,
    `lines` how many lines after it went into the cell; `closed` is False when no quote ever
    closed it (the rest of the file is that cell)."""

    index: int
    line: int
    lines: int
    closed: bool

    def describe(self) -> str:
        if self.closed:
            return (_("line {line}: a quote opened here closes only on line {end}; the {lines:,} lines between were "
                      "read as one cell").format(
                line=self.line, end=self.line + self.lines, lines=self.lines))
        return (_("line {line}: a quote opened here is never closed; the {lines:,} lines after it were read as one "
                  "cell").format(
            line=self.line, lines=self.lines))


class QuotedRows(list[list[str]]):
    """A block's rows, with the unclosed quotes found in it."""

    unclosed: list[UnclosedQuote]


def header_key(text: str) -> str:
    """How headers are compared: NFKC, case-folded, without spaces, `_`, `-` or dots."""
    return _HEADER_JUNK.sub("", unicodedata.normalize("NFKC", text).casefold())


_LOOKUP = {header_key(spelling): name for name, spellings in SYNONYMS.items() for spelling in spellings}


@dataclass(slots=True)
class Columns:
    """A block of rows that all have the header's number of cells, as columns: `cells[i][r]` is
    the i-th cell of the block's r-th row. Made by slicing one split of the block's text, so no
    list per row is ever built."""

    cells: list[list[str]]
    size: int

    def __len__(self) -> int:
        return self.size


@dataclass
class Table:
    """A header and a stream of rows (lists of cells; the first is row 2). `columns` maps our
    field names to cell indexes, `extras` the other columns (merge fields) by their header."""

    source: str
    header: list[str]
    columns: dict[str, int]
    extras: list[tuple[str, int]]
    rows: Iterable[list[str]]
    encoding: str = ""
    delimiter: str = ""
    notes: list[str] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)
    blocks: Callable[[bool], Iterator[list[list[str]] | Columns]] | None = None  # a faster way to the same rows
    # For a table whose encoding was not checked up front (read_table's `check_encoding_first`):
    # the whole-file check, returning the error it finds (or None).
    encoding_error: Callable[[], ListError | None] | None = None
    path: Path | None = None  # set for CSV files, which a caller may read by byte offsets

    def chunks(self, size: int = 8192, *, as_columns: bool = False,
               strict_quotes: bool = False) -> Iterator[list[list[str]] | Columns]:
        """The rows in lists of about `size`, read in C (no Python frame per row); CSV syntax
        errors become ListErrors with the line number. With `as_columns`, a block whose rows all
        have the header's width may come as `Columns` instead. A block with a quote that
        swallowed rows comes as `QuotedRows` (the cleaner warns about it), or with
        `strict_quotes` is an error."""
        rows = iter(self.rows)
        try:
            if self.blocks is not None:
                blocks = self.blocks(as_columns)
                yield from _no_unclosed_quotes(blocks, self.source) if strict_quotes else blocks
                return
            while chunk := list(islice(rows, size)):
                yield chunk
        except csv.Error as exc:
            line = getattr(rows, "line_num", "?")
            raise ListError(_("{source} line {line}: the CSV is malformed ({problem}).").format(
                source=self.source, line=line, problem=exc),
                            hint=_("open it in Excel and save it again as CSV.")) from exc
        finally:
            for close in self.closers:
                close()

    def undecodable(self, exc: UnicodeDecodeError) -> ListError:
        """The error for a byte that would not decode while reading: the one the whole-file
        check up front gives (line, byte, encodings tried)."""
        error = self.encoding_error() if self.encoding_error is not None else None
        return error or ListError(_("{source}: not valid {encoding} ({problem}).").format(
            source=self.source, encoding=self.encoding, problem=exc))

    def numbered(self) -> Iterator[tuple[int, list[str]]]:
        """`(row number, cells)` one by one, for the small files that must be exact (managers,
        suppressions, key customers): a quote that swallowed rows is an error."""
        number = 2
        for chunk in self.chunks(strict_quotes=True):
            for cells in chunk:
                yield number, cells
                number += 1

    def require(self, name: str) -> int:
        """The index of a column the caller cannot work without."""
        if name not in self.columns:
            found = ", ".join(repr(h) for h in self.header) or _("none")
            raise ListError(
                _("{source}: no {name} column (columns found: {found}).").format(
                    source=self.source, name=name, found=found),
                hint=_("rename the column, or pass --column {name}=\"<header>\".").format(name=name),
            )
        return self.columns[name]


def _no_unclosed_quotes(blocks: Iterator[list[list[str]] | Columns],
                        source: str) -> Iterator[list[list[str]] | Columns]:
    """`blocks`, stopping with an error at a quote that swallowed rows. Apart from the plain
    stream: holding each block here costs a block's memory in the big lists' hot path."""
    for block in blocks:
        if isinstance(block, QuotedRows):
            raise ListError(f"{source} {block.unclosed[0].describe()}.",
                            hint=_("close the quote (a quote inside a cell is written twice, \"\")."))
        yield block


def map_columns(header: Sequence[str], source: str, overrides: Mapping[str, str] | None = None,
                wanted: Iterable[str] = FIELDS) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Match header cells to field names; `overrides` is `{field: header as written}` from
    `--column field=header`. Two columns meaning the same field is an error, not a guess."""
    wanted = set(wanted)
    keys = [header_key(cell) for cell in header]
    columns: dict[str, int] = {}
    for name, written in (overrides or {}).items():
        if name not in wanted:
            close = difflib.get_close_matches(name, sorted(wanted), n=1)
            if close:
                message = _("[lists.columns] {name} (or --column {name}={written}): unknown field '{name}'; "
                            "did you mean {close}? use one of {fields}.")
            else:
                message = _("[lists.columns] {name} (or --column {name}={written}): unknown field '{name}'; "
                            "use one of {fields}.")
            raise ListError(message.format(name=name, written=written, close=close[0] if close else "",
                                           fields=", ".join(sorted(wanted))))
        target = header_key(written)
        matches = [i for i, key in enumerate(keys) if key == target]
        if not matches:
            found = ", ".join(repr(h) for h in header)
            raise ListError(_("{source}: --column {name}={written}: no such column (columns found: {found}).").format(
                source=source, name=name, written=written, found=found))
        columns[name] = matches[0]
    taken = set(columns.values())
    for index, key in enumerate(keys):
        name = _LOOKUP.get(key)
        if index in taken or name is None or name not in wanted or name in (overrides or {}):
            continue
        if name in columns:
            raise ListError(
                _("{source}: columns {column!r} and {other!r} both mean {name}.").format(
                    source=source, column=header[columns[name]], other=header[index], name=name),
                hint=_("rename one of them, or choose with --column {name}=\"<header>\".").format(name=name),
            )
        columns[name] = index
        taken.add(index)
    extras = [(header[i].strip(), i) for i in range(len(header)) if i not in taken and header[i].strip()]
    return columns, extras


def read_table(path: str | Path, *, encoding: str | None = None, sheet: str | None = None,
               overrides: Mapping[str, str] | None = None, wanted: Iterable[str] = FIELDS,
               check_encoding_first: bool = True, limits: ReadLimits = DEFAULT_LIMITS,
               block_size: int = BLOCK_SIZE) -> Table:
    """Open a CSV/TSV/`.xlsx` file and return its header mapping and a lazy row stream.

    The encoding is checked against the whole file before any row is read. A caller that reads
    every row before using any (the list cleaner) may pass `check_encoding_first=False`: the
    encoding that is the only one left to try is then checked by reading the rows (decoding
    a large file twice costs a twentieth of cleaning it), and a bad byte raises the very
    ListError the check up front would have raised, from `chunks()`.

    Only regular files within `limits` are read: a device, a pipe or a huge file is refused
    before anything is read from it. A CSV file is parsed `block_size` characters at a time."""
    path = Path(path)
    _check_file(path, limits)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet, overrides, wanted, limits)
    if _is_old_excel(path):
        raise ListError(_("{path}: an Excel 97-2003 workbook (.xls), which webzine does not read.").format(path=path),
                        hint=_("open it in Excel and save it as \"Excel 통합 문서 (.xlsx)\" or \"CSV UTF-8\"."))
    return _read_csv(path, encoding, overrides, wanted, check_encoding_first, block_size)


def _check_file(path: Path, limits: ReadLimits) -> None:
    """A list is a regular file of a sane size: /dev/zero, a FIFO or a 50 GB file would never end."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ListError(_("{path}: no such file.").format(path=path),
                        hint=_("check [lists] in webzine.toml or the path you passed.")) from None
    except OSError as exc:
        raise ListError(_("{path}: cannot be read ({reason}).").format(path=path, reason=exc.strerror)) from None
    if stat.S_ISDIR(status.st_mode):
        raise ListError(_("{path}: is a folder, not a list file.").format(path=path))
    if not stat.S_ISREG(status.st_mode):
        raise ListError(_("{path}: not a regular file (a device, pipe or socket).").format(path=path),
                        hint=_("give the path of a CSV or .xlsx list file."))
    if status.st_size > limits.max_file_bytes:
        raise ListError(_("{path}: {size} is over the {limit} limit for a list file.").format(
            path=path, size=size_text(status.st_size), limit=size_text(limits.max_file_bytes)),
            hint=_("split the list into smaller files."))


# Every Excel 97-2003 workbook is an OLE2 compound file (MS-CFB 2.2); whatever its name says, no
# text encoding reads it, so "pass --encoding" would be the wrong advice.
_OLE2_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")


def _is_old_excel(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(_OLE2_SIGNATURE)) == _OLE2_SIGNATURE


def table_from_rows(rows: Iterable[Mapping[str, object]], *, source: str = "<rows>",
                    overrides: Mapping[str, str] | None = None, wanted: Iterable[str] = FIELDS) -> Table:
    """A table from in-memory mappings (the header is the first mapping's keys)."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        raise ListError(_("{source}: the list is empty.").format(source=source))
    header = [str(key) for key in first]
    columns, extras = map_columns(header, source, overrides, wanted)

    def stream() -> Iterator[list[str]]:
        for row in _chain(first, iterator):
            yield [cell_text(row.get(key)) for key in header]

    return Table(source, header, columns, extras, stream())


def _chain(first: Mapping[str, object], rest: Iterator[Mapping[str, object]]) -> Iterator[Mapping[str, object]]:
    yield first
    yield from rest


# -- CSV ------------------------------------------------------------------------------------------


def _read_csv(path: Path, encoding: str | None, overrides: Mapping[str, str] | None,
              wanted: Iterable[str], check_encoding_first: bool = True, block_size: int = BLOCK_SIZE) -> Table:
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE)
    chosen = choose_encoding(path, sample, encoding, check_last=check_encoding_first)
    if check_encoding_first:
        return _open_csv(path, sample, chosen, overrides, wanted, block_size)

    def encoding_error() -> ListError | None:
        try:
            choose_encoding(path, sample, encoding)
        except ListError as error:
            return error
        return None

    try:
        table = _open_csv(path, sample, chosen, overrides, wanted, block_size)
    except ListError:
        choose_encoding(path, sample, encoding)  # a bad byte anywhere is the first thing to report
        raise
    table.encoding_error = encoding_error
    if isinstance(table.blocks, _CsvBlocks):
        table.blocks.undecodable = table.undecodable
    return table


def _open_csv(path: Path, sample: bytes, chosen: str, overrides: Mapping[str, str] | None,
              wanted: Iterable[str], block_size: int) -> Table:
    text = _decode_sample(sample, chosen)
    if not text.strip().strip("\ufeff"):
        raise ListError(_("{path}: the file is empty.").format(
            path=path), hint=_("export the list again with a header row."))
    delimiter = sniff_delimiter(text)
    handle = path.open(encoding=chosen, newline="")
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader, [])
    except (csv.Error, UnicodeDecodeError) as exc:
        handle.close()
        raise ListError(_("{path} row 1: cannot read the header ({problem}).").format(path=path, problem=exc)) from exc
    header = [cell.strip().lstrip("\ufeff") for cell in header]
    if not any(header):
        handle.close()
        raise ListError(_("{path}: the first row is empty; it must name the columns.").format(path=path))
    columns, extras = map_columns(header, str(path), overrides, wanted)
    return Table(str(path), header, columns, extras, reader, chosen, delimiter, closers=[handle.close],
                 blocks=_CsvBlocks(handle.read, delimiter, str(path), width=len(header), block_size=block_size),
                 path=path)


class _CsvBlocks:
    """The rest of a CSV file as lists of rows, `block_size` characters of text at a time.

    A block without a quote character and without a lone CR is what Excel writes for almost
    every list; `str.split` parses it exactly as the csv module would, at a third of the cost.
    Blocks with quotes go to the csv module, cut only where the quotes balance (a quoted cell may
    hold a line break). The rows are the csv module's rows, except that an empty line is `[""]`
    rather than `[]`: both are a blank row.

    Asked for columns, a quote-free block whose lines all hold `width` cells (every line of a
    tidy export) comes as `Columns`: the whole block split once, then sliced column by column."""

    def __init__(self, read: Callable[[int], str], delimiter: str, source: str, width: int = 0,
                 block_size: int = BLOCK_SIZE) -> None:
        self.read = read
        self.delimiter = delimiter
        self.source = source
        self.lines = 1  # lines before the current block (the header's)
        self.width = width  # cells in a row, if known (the header's): enables Columns
        self.block_size = block_size
        self.undecodable: Callable[[UnicodeDecodeError], ListError] | None = None

    def __call__(self, as_columns: bool = False) -> Iterator[list[list[str]] | Columns]:
        held: list[str] = []  # text read but not parsed yet: it ends inside a line or a quoted cell
        odd = False  # whether `held` has an odd number of quotes (then it ends inside a quoted cell)
        while True:
            try:
                text = self.read(self.block_size)
            except UnicodeDecodeError as exc:
                if self.undecodable is None:
                    raise
                raise self.undecodable(exc) from exc
            if not text:
                if held:
                    yield self._rows("".join(held), as_columns)
                return
            cut = text.rfind("\n") + 1
            if cut == 0 or odd != bool(text.count('"', 0, cut) % 2):
                held.append(text)  # no whole line yet, or inside a quoted cell: read on
                odd = odd != bool(text.count('"') % 2)
                continue
            block = "".join(held) + text[:cut] if held else text[:cut]
            held = [text[cut:]] if cut < len(text) else []
            odd = bool(text.count('"', cut) % 2)
            yield self._rows(block, as_columns)

    def _rows(self, block: str, as_columns: bool = False) -> list[list[str]] | Columns:
        lines = self.lines
        self.lines += block.count("\n")
        plain = block.replace("\r\n", "\n")
        if '"' not in plain and "\r" not in plain:
            if plain.endswith("\n"):
                plain = plain[:-1]
            delimiter, width = self.delimiter, self.width
            texts = plain.split("\n")
            if as_columns and width and list(map(str.count, texts, repeat(delimiter))).count(width - 1) == len(texts):
                cells = plain.replace("\n", delimiter).split(delimiter)
                return Columns([cells[column::width] for column in range(width)], len(texts))
            return [line.split(delimiter) for line in texts]
        reader = csv.reader(io.StringIO(block, newline=""), delimiter=self.delimiter)
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise ListError(_("{source} line {line}: the CSV is malformed ({problem}).").format(
                source=self.source, line=lines + reader.line_num, problem=exc),
                            hint=_("open it in Excel and save it again as CSV; a quote that is never closed makes the "
                                   "rest of the file one cell.")) from exc
        if len(rows) < block.count("\n"):  # some cell holds a line break
            unclosed = self._unclosed(rows, lines + 1, closed=block.count('"') % 2 == 0)
            if unclosed:
                found = QuotedRows(rows)
                found.unclosed = unclosed
                return found
        return rows

    def _unclosed(self, rows: list[list[str]], line: int, closed: bool) -> list[UnclosedQuote]:
        """The cells that took in lines looking like rows of the file (as many delimiters as the
        header has), and a last cell whose quote never closed. `line` is the first row's line."""
        found = []
        delimiters = max(1, self.width - 1)
        last = len(rows) - 1
        for index, cells in enumerate(rows):
            for cell in cells:
                breaks = cell.count("\n")
                if not breaks:
                    continue
                if not closed and index == last:
                    if breaks > cell.endswith("\n"):  # more than the file's last line end
                        found.append(UnclosedQuote(index, line, breaks - cell.endswith("\n"), False))
                elif any(part.count(self.delimiter) >= delimiters for part in cell.split("\n")[1:]):
                    found.append(UnclosedQuote(index, line, breaks, True))
                line += breaks
            line += 1
        return found


def choose_encoding(path: Path, sample: bytes, requested: str | None, *, check_last: bool = True) -> str:
    """BOM first, then UTF-16 without a BOM (NUL bytes), else UTF-8 and then CP949 — each checked
    against the whole file so a bad byte near the end is caught before any row is used.
    Without `check_last`, the last encoding left to try (or the one requested) is returned
    unchecked: the caller checks it by decoding the rows (see read_table)."""
    if requested:
        name = _ALIASES.get(requested.lower(), requested)
        try:
            codecs.lookup(name)
        except LookupError:
            raise ListError(_("--encoding {requested}: unknown encoding; use utf-8, cp949 or utf-16.").format(
                requested=requested)) from None
        problem = _first_bad_line(path, name) if check_last else None
        if problem:
            raise ListError(_("{path} line {line}: not valid {requested} ({problem}).").format(
                path=path, line=problem[0], requested=requested, problem=problem[1]),
                            hint=_("choose another --encoding (utf-8, cp949, utf-16)."))
        return name
    if not sample:
        raise ListError(_("{path}: the file is empty.").format(
            path=path), hint=_("export the list again with a header row."))
    if sample.startswith(codecs.BOM_UTF8):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    elif _looks_utf16(sample):
        head = sample[:4096]
        little = head[1::2].count(0) >= head[0::2].count(0)  # ASCII's zero byte comes second in LE
        candidates = ("utf-16-le", "utf-16-be") if little else ("utf-16-be", "utf-16-le")
        candidates += AUTO_ENCODINGS  # zero bytes in a UTF-8 file (a NUL cell) must not make it unreadable
    else:
        candidates = AUTO_ENCODINGS
    problems = []
    for name in candidates:
        if not check_last and name == candidates[-1]:
            return name
        problem = _first_bad_line(path, name)
        if problem is None:
            return name
        problems.append(problem)
    # The encoding that read furthest is most likely the file's; its first bad byte is the news.
    line, what = max(problems, key=lambda problem: problem[0])
    tried = ", ".join(candidates)
    raise ListError(
        _("{path} line {line}: undecodable bytes ({what}); tried {tried}.").format(
            path=path, line=line, what=what, tried=tried),
        hint=_("save the file as \"CSV UTF-8\" in Excel, or pass --encoding NAME (utf-8, cp949, utf-16)."),
    )


def _looks_utf16(sample: bytes) -> bool:
    """Text files never contain zero bytes, except UTF-16 ones (every ASCII character has one),
    whose first line break is two bytes, one of them zero, at an even offset."""
    head = sample[:4096]
    if len(head) < 4 or head.count(0) < max(1, len(head) // 8):
        return False
    newline = head.find(b"\n")
    if newline < 0:
        return True
    if newline % 2:
        return head[newline - 1] == 0  # big-endian: 00 0A
    return head[newline + 1:newline + 2] == b"\x00"  # little-endian: 0A 00


def _first_bad_line(path: Path, encoding: str) -> tuple[int, str] | None:
    """Decode the whole file in chunks; on failure, the 1-based line and the offending byte."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = 0
    newlines = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_SCAN_BYTES)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                line = newlines - pending.count(b"\n") + data.count(b"\n", 0, exc.start) + 1
                bad = data[exc.start:exc.start + 1].hex() or _("end of file")
                return line, _("byte 0x{byte} at offset {offset}").format(
                    byte=bad, offset=offset - len(pending) + exc.start)
            if not chunk:
                return None
            offset += len(chunk)
            newlines += chunk.count(b"\n")


def _decode_sample(sample: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)("replace").decode(sample, final=False)


def sniff_delimiter(text: str) -> str:
    """The delimiter used most in the header line (comma on a tie or a one-column file)."""
    line = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = [(line.count(d), -i, d) for i, d in enumerate(_DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] else ","


# -- xlsx -----------------------------------------------------------------------------------------


def _read_xlsx(path: Path, sheet: str | None, overrides: Mapping[str, str] | None,
               wanted: Iterable[str], limits: ReadLimits) -> Table:
    from webzine.recipients.xlsx import open_sheet  # imported here: only Excel users pay for it

    worksheet = open_sheet(path, sheet, limits)
    rows = worksheet.rows()
    try:
        first = next(rows, None)
        if first is None or not any(cell.strip() for cell in first):
            raise ListError(_("{path}: the sheet {sheet!r} is empty or its first row is empty.").format(
                path=path, sheet=worksheet.title))
        header = [cell.strip() for cell in first]
        while header and not header[-1]:
            header.pop()
        columns, extras = map_columns(header, str(path), overrides, wanted)
    except BaseException:
        rows.close()
        raise
    worksheet.width = len(header)
    return Table(str(path), header, columns, extras, rows, "xlsx", "", [f"sheet {worksheet.title}"],
                 closers=[rows.close])


# -- writing --------------------------------------------------------------------------------------


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV for people: UTF-8 with a BOM (so Excel shows Korean text), CRLF line ends,
    atomically (a temp file in the same folder, then rename) so a reader never sees half a file."""
    with atomic_writer(path, encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return Path(path)
