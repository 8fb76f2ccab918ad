"""What the CSV and `.xlsx` readers share: how much a list file may hold (`ReadLimits`), and how
a spreadsheet value reads as the text an editor sees (`cell_text`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from webzine.i18n import _, ngettext


@dataclass(frozen=True)
class ReadLimits:
    """How much a list file may hold before it is refused rather than read: bounds on the time
    and memory any file can cost. A million-row export is about 80 MB of CSV or 300 MB of
    unpacked `.xlsx` with 8 million cells; the defaults leave room for several of those."""

    max_file_bytes: int = 512 << 20  # the file on disk, any format
    max_unpacked_bytes: int = 1 << 30  # an .xlsx file's parts, unpacked
    max_cells: int = 20_000_000  # an .xlsx sheet's cells (rows × their width), and its pieces of text


DEFAULT_LIMITS = ReadLimits()


def size_text(size: int) -> str:
    """A file size for a message: MB, or bytes below one."""
    if size >= 1 << 20:
        return _("{megabytes:,.0f} MB").format(megabytes=size / (1 << 20))
    return ngettext("{size:,} byte", "{size:,} bytes", size).format(size=size)


def cell_text(value: object) -> str:
    """A spreadsheet value as the text an editor sees (dates as ISO, 3.0 as 3)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
