"""Phase one of cleaning: table rows → Recipients, or Rejects that say why not.

This is the hot path (a million rows should take seconds on a small machine), so rows are
handled a chunk at a time, column by column, with the loops inside C: one regular expression over
the chunk's joined email cells, `map` over dictionary look-ups for the repeated values, and a
direct slot-setting constructor for Recipient. Only the rare rows that need thought — blank,
ragged, non-ASCII, `이름 <addr>`, typo domains — go through `Normaliser.parse` one by one.
The result is the same as parsing every row with `Normaliser.parse` (a test checks this).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from itertools import compress, repeat
from operator import attrgetter, ne, not_
from typing import Any

from webzine.i18n import _
from webzine.recipients.addresses import ROLE_LOCALS, BadAddress, DomainInfo, Normaliser, mailbox_local
from webzine.recipients.tables import Columns, QuotedRows, Table
from webzine.recipients.records import CleanList, Note, Reject, RejectReason
from webzine.models import Recipient

CHUNK_SIZE = 8192  # rows per chunk where the table does not come in blocks of its own (rows, .xlsx)
FIELDS = ("name", "adjective", "company", "manager", "consent_at", "tags")
# An address exactly as we would write it (lowercase ASCII, no spaces), one per line of the
# joined chunk: most cells of a real list. For a plain domain the address *is* the cell, so no
# string is made per row. The domain is only checked for its characters here; its label rules
# are checked once per distinct domain (DomainInfo). Other lines give "".
_CANONICAL = re.compile(
    r"^(?:[a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*@([a-z0-9.\-]+)$|.*$)", re.MULTILINE
).findall
_CANONICAL_ONE = re.compile(r"[a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*@([a-z0-9.\-]+)").fullmatch
# The common shape with capitals or spaces around it, for the cells _CANONICAL leaves.
_ONE = re.compile(r"[ \t]*([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*)@([A-Za-z0-9.\-]+)[ \t]*").fullmatch
# A shared-mailbox local part at a line start (the joined chunk is searched with a leading "\n":
# a pattern that starts with a literal is found by a fast scan, where a multiline ^ is tried at
# every position).
_ROLE_LINE = re.compile("\n(?:" + "|".join(sorted(map(re.escape, ROLE_LOCALS), key=len, reverse=True))
                        + ")@").search
_HOSTNAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}").fullmatch
_CACHE_LIMIT = 100_000
_plain = attrgetter("plain")


@dataclass
class Parsed:
    """Addresses that parsed, in row order, before dedupe and the per-list checks."""

    recipients: list[Recipient] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    written: dict[int, str] = field(default_factory=dict)  # row → cell, where it differs from the address


def parse_rows(table: Table, normaliser: Normaliser, result: CleanList, *, chunk_size: int = CHUNK_SIZE) -> Parsed:
    """Parse every row of `table`, `chunk_size` rows at a time (a CSV file comes in blocks of its
    own); rejects, warnings, fixes and counts go into `result`."""
    chunker = Chunker(table, normaliser, result)
    parsed = Parsed()
    first = 2
    for chunk in table.chunks(chunk_size, as_columns=True):
        chunker.parse(chunk, first, parsed)
        first += len(chunk)
    chunker.finish()
    return parsed


class Chunker:
    """Parses a list's rows one chunk at a time, keeping what repeats across chunks (interned
    cells, dates, domains); shared by `parse_rows` and the send's streamed list."""

    def __init__(self, table: Table, normaliser: Normaliser, result: CleanList) -> None:
        self.email_at = table.require("email")
        self.width = len(table.header)
        self.picks = [table.columns.get(name) for name in FIELDS]
        self.extra_names = [name for name, _ in table.extras]
        self.extra_at = [index for _, index in table.extras]
        self.normaliser = normaliser
        self.result = result
        self.pool, self.dates, self.tagsets = InternPool(), _Dates(), _TagSets()
        self.domains = _Domains(normaliser)
        self.field_sets = _FieldSets(self.extra_names)
        self.written_domains: Counter[str] = Counter()  # fast-path rows, by domain as written

    def finish(self) -> None:
        """Fold the fast path's per-written-domain counts into the list's domain counts."""
        for written, count in self.written_domains.items():
            self.result.domains[self.domains[written].domain] += count

    def parse(self, chunk: list[list[str]] | Columns, first: int, parsed: Parsed) -> None:
        """Parse the rows of one chunk, numbered from `first`: a list of rows, or `Columns`."""
        if isinstance(chunk, QuotedRows):
            self._unclosed_quotes(chunk, first)
        numbers = list(range(first, first + len(chunk)))
        if isinstance(chunk, Columns) and len(chunk.cells) == self.width:
            columns: list[Sequence[str]] = list(chunk.cells)
        else:
            rows = list(map(list, zip(*chunk.cells))) if isinstance(chunk, Columns) else chunk
            if list(map(len, rows)).count(self.width) != len(rows):
                rows, numbers = self._even_up(rows, numbers)
                if not rows:
                    return
            columns = list(zip(*rows))
        size = len(numbers)
        written = columns[self.email_at]
        emails, keys, domains, mask, roles = self._addresses(written)
        names, adjectives, companies, managers = (
            list(map(self.pool.__getitem__, columns[i])) if i is not None else [""] * size
            for i in self.picks[:4])
        consent_cells = columns[self.picks[4]] if self.picks[4] is not None else repeat("", size)
        consents = list(map(self.dates.__getitem__, consent_cells))
        tags = map(self.tagsets.__getitem__, columns[self.picks[5]]) if self.picks[5] is not None \
            else repeat((), size)
        merge = self._merge_fields(columns, size)
        self.written_domains.update(compress(domains, mask))  # before the slow rows join the mask
        roles |= self._slow_rows(columns, numbers, written, emails, keys, mask, names, companies, managers)
        self._row_notes(numbers, emails, keys, mask, roles, consents, consent_cells)
        self.result.rows_read += size
        recipient_columns = (emails, names, adjectives, companies, managers, consents, tags, merge, numbers)
        parsed.recipients.extend(new_recipients(*(list(compress(column, mask)) for column in recipient_columns)))
        parsed.keys.extend(compress(keys, mask))
        parsed.written.update(compress(zip(numbers, written), map(ne, written, emails)))

    def _addresses(self, written: Sequence[str]) -> tuple[list[str | None], list[str], list[str],
                                                           list[bool], bool]:
        """The fast path for the whole chunk: addresses, keys, domains as written, which rows it
        settled (the others get `None` and go the slow way) and whether any may be a shared
        mailbox. Canonical cells are settled in C; the few with capitals or spaces one by one."""
        joined = "\n" + "\n".join(written)
        domains: list[str] = _CANONICAL(joined, 1)
        if len(domains) != len(written):  # a cell held a newline: match cell by cell instead
            domains = [match.group(1) if (match := _CANONICAL_ONE(cell)) else "" for cell in written]
        infos = self.domains
        mask = list(map(_plain, map(infos.__getitem__, domains)))
        if max(map(len, written)) > 65:  # a canonical cell's local part is at most 64 characters
            for index in compress(range(len(mask)), mask):
                if written[index].index("@") > 64:
                    mask[index] = False
        roles = _ROLE_LINE(joined) is not None
        emails: list[str | None] = list(written)
        keys = list(written)
        for index in compress(range(len(mask)), map(not_, mask)):
            emails[index] = None
            if domains[index] or (match := _ONE(written[index])) is None:
                continue  # canonical but not plain, or not the common shape: the slow path
            local, domain = match.groups()
            info = infos[domain]
            if not info.plain or len(local) > 64:
                continue
            roles = roles or local.lower() in ROLE_LOCALS
            email = mailbox_local(local) + info.suffix
            emails[index], keys[index], domains[index], mask[index] = email, email.lower(), domain, True
        return emails, keys, domains, mask, roles

    def _slow_rows(self, columns: list[Sequence[str]], numbers: list[int], written: Sequence[str],
                   emails: list[str | None], keys: list[str], mask: list[bool],
                   names: list[str], companies: list[str], managers: list[str]) -> bool:
        """Rows the fast path left: blank, empty email, anything unusual. One by one.
        Returns whether any of them is a shared mailbox."""
        result, parse = self.result, self.normaliser.parse
        roles = False
        for index in [i for i, ok in enumerate(mask) if not ok]:
            cell, number = written[index], numbers[index]
            if not cell.strip() and not any(column[index].strip() for column in columns):
                result.blank_rows += 1
                result.rows_read -= 1
                continue
            try:
                email, key, display = parse(cell)
            except BadAddress as bad:
                result.rejects.append(Reject(number, cell, RejectReason(bad.reason), bad.suggestion,
                                             bad.detail, bad.email, names[index], companies[index],
                                             managers[index]))
                continue
            if self.normaliser.fixed is not None:
                wrong, right = self.normaliser.fixed
                result.fixes.append(Note(number, email, "fixed_typo", f"{wrong} → {right}", email))
            emails[index], keys[index], mask[index] = email, key, True
            self.result.domains[email.rpartition("@")[2]] += 1
            roles = roles or key.partition("@")[0] in ROLE_LOCALS
            if display and not names[index]:
                names[index] = display
        return roles

    def _row_notes(self, numbers: list[int], emails: list[str | None], keys: list[str], mask: list[bool],
                   roles: bool, consents: list[date | None], consent_cells: Iterable[str]) -> None:
        """Warnings: shared mailboxes, consent dates we cannot read."""
        result = self.result
        if self.dates.bad:
            cells = list(consent_cells)
            if not self.dates.bad.isdisjoint(cells):
                for index, cell in enumerate(cells):
                    if mask[index] and consents[index] is None and cell in self.dates.bad:
                        result.warnings.append(Note(numbers[index], emails[index] or "", "bad_consent_date",
                                                    _("cannot read the consent date {cell!r}; treated as "
                                                      "missing").format(
                                                        cell=cell.strip())))
        for index in compress(range(len(mask)), mask) if roles else ():
            if keys[index].partition("@")[0] in ROLE_LOCALS:
                result.warnings.append(Note(numbers[index], emails[index] or "", "role_address",
                                            _("a shared mailbox (info@, admin@ …): often unread or filtered")))

    def _unclosed_quotes(self, chunk: QuotedRows, first: int) -> None:
        """Warn where a quote opened by mistake made many lines one cell (the row is still read)."""
        for quote in chunk.unclosed:
            cells = chunk[quote.index]
            value = cells[self.email_at].strip() if self.email_at < len(cells) else ""
            self.result.warnings.append(Note(first + quote.index, value, "unclosed_quote", quote.describe()))

    def _merge_fields(self, columns: list[Sequence[str]], size: int) -> Iterable[dict[str, str]]:
        """Every other column, as `recipient.<header>`. Rows with the same values share one dict
        (a dict costs more than the rest of the row); Recipients are frozen, so nobody writes
        to it — `Recipient.merge_fields()` hands out a copy."""
        values = zip(*(map(self.pool.__getitem__, columns[i]) for i in self.extra_at)) if self.extra_at \
            else repeat((), size)
        return map(self.field_sets.__getitem__, values)

    def _even_up(self, chunk: list[list[str]], numbers: list[int]) -> tuple[list[list[str]], list[int]]:
        """Rows with the wrong number of cells: pad short ones (with a warning), reject long ones
        whose extra cells hold data (a cell's comma was not quoted), drop blank ones."""
        width, result = self.width, self.result
        even, kept_numbers = [], []
        for cells, number in zip(chunk, numbers):
            size = len(cells)
            if size != width:
                if not any(cell.strip() for cell in cells):
                    result.blank_rows += 1
                    continue
                value = cells[self.email_at] if self.email_at < size else ""
                if size > width and any(cell.strip() for cell in cells[width:]):
                    result.rows_read += 1
                    result.rejects.append(Reject(number, value, RejectReason.WRONG_FIELD_COUNT,
                                                 detail=_("expected {width} fields, found {size}; a comma or tab "
                                                          "inside a cell must be quoted").format(
                                                     width=width, size=size)))
                    continue
                if size < width:
                    result.warnings.append(Note(number, value, "short_row",
                                                _("expected {width} fields, found {size}").format(
                                                    width=width, size=size)))
                cells = (cells + [""] * (width - size))[:width]
            even.append(cells)
            kept_numbers.append(number)
        return even, kept_numbers


class _Domains(dict[str, DomainInfo]):
    """Domain as written → DomainInfo; `plain` only when the fast path may accept it as is."""

    def __init__(self, normaliser: Normaliser) -> None:
        super().__init__()
        self.normaliser = normaliser

    def __missing__(self, written: str) -> DomainInfo:
        lower = written.lower()
        info = self.normaliser.domain(lower)
        if info.plain and not _HOSTNAME(lower):
            info = DomainInfo(lower)  # not plain: email-validator words the error
        if len(self) < _CACHE_LIMIT:
            self[written] = info
        return info


class InternPool(dict[str, str]):
    """Cell text as written → trimmed text, shared between rows. A million-row list has a few
    thousand distinct managers, companies and adjectives; a shared string costs nothing per row."""

    def __missing__(self, written: str) -> str:
        text = written.strip()
        text = self.get(text, text)
        if len(self) < _CACHE_LIMIT:
            self[written] = self[text] = text
        return text


_TAG_SPLIT = re.compile(r"\s*[;,|]\s*")


class _FieldSets(dict[tuple[str, ...], dict[str, str]]):
    """The extra columns' values → one shared merge-field dict per distinct combination."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    def __missing__(self, values: tuple[str, ...]) -> dict[str, str]:
        fields = dict(zip(self.names, values))
        if len(self) < _CACHE_LIMIT:
            self[values] = fields
        return fields


class _TagSets(dict[str, tuple[str, ...]]):
    def __missing__(self, written: str) -> tuple[str, ...]:
        tags = tuple(tag for tag in _TAG_SPLIT.split(written.strip()) if tag)
        if len(self) < _CACHE_LIMIT:
            self[written] = tags
        return tags


_DATE = re.compile(r"(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})\s*일?\.?(?:[ T].*)?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


class _Dates(dict[str, "date | None"]):
    """Consent dates as editors write them: 2025-03-01, 2025/3/1, 2025.03.01., 2025년 3월 1일,
    20250301, with or without a time, or an Excel serial number. Cached: lists repeat dates.
    `bad` holds the non-blank cells that are not dates."""

    def __init__(self) -> None:
        super().__init__()
        self.bad: set[str] = set()

    def __missing__(self, written: str) -> date | None:
        value = parse_date(written.strip())
        if value is None and written.strip():
            self.bad.add(written)
        if len(self) < _CACHE_LIMIT:
            self[written] = value
        return value


def parse_date(text: str) -> date | None:
    """A date as an editor writes it, or None."""
    if not text:
        return None
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    try:
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if text.isdigit() and 20000 <= int(text) <= 80000:  # Excel's day count since 1899-12-30
            return date(1899, 12, 30) + timedelta(days=int(text))
    except ValueError:
        return None
    return None


def _recipients_builder() -> Callable[..., list[Recipient]]:
    """Build Recipients from columns of field values by setting their slots directly.

    A frozen dataclass's __init__ sets each field through object.__setattr__, which costs about
    twice the rest of a row's work; the slot descriptors do the same assignment directly. Each
    descriptor is mapped over a whole column, so the loop stays in C (a Python function called
    per row costs half as much again). Used only while Recipient is exactly the slotted, frozen
    dataclass with these fields and no __post_init__; otherwise the ordinary constructor."""
    names = ("email", "name", "adjective", "company", "manager", "consent_at", "tags", "fields", "row")
    if (tuple(f.name for f in fields(Recipient)) != names or hasattr(Recipient, "__post_init__")
            or "__slots__" not in Recipient.__dict__):
        return lambda *columns: list(map(Recipient, *columns))
    setters = tuple(Recipient.__dict__[name].__set__ for name in names)
    make = object.__new__

    def build(*columns: Sequence[Any]) -> list[Recipient]:
        size = len(columns[0])
        if len(columns) != len(setters) or any(len(column) != size for column in columns):
            raise ValueError("every Recipient field needs a column of the same length")
        recipients = list(map(make, repeat(Recipient, size)))
        for set_slot, column in zip(setters, columns):
            deque(map(set_slot, recipients, column), maxlen=0)
        return recipients

    return build


new_recipients = _recipients_builder()
