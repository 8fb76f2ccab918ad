"""A list or an export as string columns (polars), batch by batch, and its addresses normalised
a column at a time.

A CSV file in UTF-8 or CP949 is parsed by polars straight from its bytes, 16 MB at a time (a
Python string per cell would cost 1.6 GB at five million lines); `.xlsx` and UTF-16 files come
through the list reader's rows. Addresses of the common ASCII shape at a plain domain are
normalised by polars the way `Normaliser.parse`'s fast path does them (only their distinct
domains are looked at in Python); the caller sends the rest through the normaliser itself, once
per distinct cell. Used by the customer scoring (`webzine.customers`) and the digest and report
(`webzine.managers`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from webzine.recipients.addresses import FAST_MAX_LENGTH, FAST_MAX_LOCAL, FAST_PATTERN, Normaliser
from webzine.recipients.tables import Columns, Table

_BATCH = 100_000  # lines per batch from the list reader (Python strings: about 300 bytes a line)
_CHUNK = 16 << 20  # bytes of CSV per batch polars parses
_BYTE_SPLITTABLE = {"utf-8", "utf-8-sig", "cp949"}


def table_frames(table: Table, columns: dict[str, int]) -> Iterator[tuple[int, pl.DataFrame]]:
    """(first row, batch) pairs: the cells of `columns` (field → cell index) as string columns
    named by field, "" where a row is short; rows count from 2, as Excel shows them."""
    if table.path is not None and table.encoding in _BYTE_SPLITTABLE and table.delimiter:
        for close in table.closers:
            close()
        first_row = 2
        for frame in _csv_frames(table.path, table.encoding, table.delimiter, columns):
            yield first_row, frame
            first_row += frame.height
        return
    width = len(table.header)
    batch: dict[str, list[str]] = {name: [] for name in columns}
    first_row = row = 2
    for block in table.chunks(as_columns=True):
        cells = block.cells if isinstance(block, Columns) else _as_columns(block, width)
        for name, index in columns.items():
            batch[name] += cells[index]
        row += len(block)
        if row - first_row >= _BATCH:
            yield first_row, _frame(batch)
            batch = {name: [] for name in columns}
            first_row = row
    if row > first_row:
        yield first_row, _frame(batch)


def _as_columns(rows: list[list[str]], width: int) -> list[list[str]]:
    """Rows (of any length) as columns of the header's width: short rows padded with blanks."""
    padded = [row + [""] * (width - len(row)) if len(row) < width else row for row in rows]
    return [list(column) for column in zip(*padded)] if padded else [[] for _ in range(width)]


def _frame(batch: dict[str, list[str]]) -> pl.DataFrame:
    return pl.DataFrame(batch, schema={name: pl.String for name in batch})


def _csv_frames(path: Path, encoding: str, delimiter: str, columns: dict[str, int]) -> Iterator[pl.DataFrame]:
    """The file's rows after the header, as string columns named by field, about `_CHUNK` bytes
    at a time. A chunk ends at a line end outside any quoted cell: in UTF-8 and CP949 the bytes
    of `"` and of a line feed never occur inside a character, so the bytes alone tell."""
    wanted = sorted(set(columns.values()))
    held = b""
    first = True
    with path.open("rb") as handle:
        while True:
            data = handle.read(_CHUNK)
            text = held + data
            cut = len(text) if not data else _line_end(text)
            if cut == 0 and data:
                held = text
                continue
            piece, held = text[:cut], text[cut:]
            if piece.strip():
                if encoding == "cp949":
                    piece = piece.decode("cp949").encode("utf-8")
                frame = pl.read_csv(io.BytesIO(piece), has_header=first, separator=delimiter, columns=wanted,
                                    infer_schema=False, truncate_ragged_lines=True)
                names = frame.columns
                yield frame.select(pl.col(names[wanted.index(index)]).fill_null("").alias(name)
                                   for name, index in columns.items())
            elif first:
                return
            first = False
            if not data:
                return


def _line_end(text: bytes) -> int:
    """Just after the last line feed of `text` that is outside a quoted cell; 0 when none."""
    cut = text.rfind(b"\n")
    while cut >= 0 and text.count(b'"', 0, cut) % 2:
        cut = text.rfind(b"\n", 0, cut)
    return cut + 1


def plain_addresses(cells: pl.Series, normaliser: Normaliser) -> pl.Series:
    """Each cell's normalised address when the cell has the common shape at a plain domain (what
    `Normaliser.parse` returns for it), else null: those cells are the caller's to parse."""
    email = pl.col("email").str.strip_chars()
    at = email.str.find("@", literal=True)
    domain, local = email.str.slice(at + 1).str.to_lowercase(), email.str.slice(0, at)
    shaped = (email.str.contains(f"^{FAST_PATTERN}$") & (email.str.len_bytes() <= FAST_MAX_LENGTH)
              & (at <= FAST_MAX_LOCAL))
    parts = cells.alias("email").to_frame().select(domain=pl.when(shaped).then(domain), local=local)
    domains = parts["domain"].drop_nulls().unique().to_list()
    plain = [name for name in domains if normaliser.domain(name).plain]
    local = pl.col("local")
    folded = pl.when(local.str.to_lowercase().is_in(sorted(CASE_INSENSITIVE_MAILBOX_NAMES))).then(
        local.str.to_lowercase()).otherwise(local)
    return parts.select(pl.when(pl.col("domain").is_in(plain)).then(
        pl.concat_str([folded, pl.lit("@"), pl.col("domain")])).alias("email")).to_series()
