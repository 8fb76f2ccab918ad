"""The subscriber list of a real send, cleaned a chunk at a time each time it is read.

`clean_list` holds the whole cleaned list (0.3–0.5 KB a recipient) and a dict of every address
to find duplicates; `lists clean`, `audit` and the dry run keep using it, because they report
on the whole list at once. A send only needs its recipients in list order, so `stream_clean_list`
returns a `StreamedList` that reads, parses and checks the file again, one chunk at a time, each
time it is iterated. Its memory does not grow with the list:

1. the survey (once, when it is made) parses every row and keeps an 8-byte fingerprint of each
   address in an `array('q')`, bucketed by its low bits; each bucket sorted apart finds the
   fingerprints that occur more than once — typically a few per cent of the list;
2. each later pass compares exact addresses only for rows whose fingerprint repeats (a dict of
   those addresses alone), so the first row wins exactly as in `clean_list`, with the same
   `Duplicate` records; suppressions, undeliverable domains and the consent rule are the
   cleaner's own per-row checks, applied to the chunk.

Each chunk comes as a `CleanList` of that chunk (its recipients, rejects, duplicates and consent
records, in row order), so every dropped row is still reported with its reason. The fingerprints
are `hash()` of the address: stable for the life of the process, and of a forked worker.
Warnings about suspected typo domains are not made (the send does not show them; `lists clean`
does); typo fixing is not offered. After each chunk the freed memory goes back to the system
(`release_freed_memory`), and a file saved again between or during passes stops the stream.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING

from webzine.errors import ListError
from webzine.i18n import _
from webzine.models import Manager, Recipient, Suppression
from webzine.recipients.addresses import Normaliser
from webzine.recipients.clean import list_checks, no_cyclic_gc
from webzine.recipients.parse import CHUNK_SIZE, Parsed, Chunker, InternPool
from webzine.recipients.records import CleanList, Duplicate
from webzine.recipients.list_managers import ManagerColumn, derive_managers, table_columns
from webzine.recipients.tables import Columns, Table, read_table

if TYPE_CHECKING:
    from webzine.config import Settings

# Characters of the file read at a time: a quarter of what `lists clean` reads (~2,700 rows of a
# typical export), so the chunk being read while the send holds the last is a few MB.
STREAM_BLOCK_SIZE = 1 << 18
_BUCKETS = 64  # fingerprints are sorted a bucket at a time: no list of a million ints at once
_row_of = attrgetter("row")


@dataclass
class StreamedList:
    """A cleaned list read again on every iteration: `chunks()` gives each chunk's `CleanList`,
    iterating gives the kept recipients in list order (with `transforms` applied per chunk).
    The counts of the whole list are known after the first complete pass."""

    open_table: Callable[[], Table]
    suppressions: Mapping[str, Suppression]
    advertising: bool
    cutoff: date  # consent older than this must be re-confirmed
    undeliverable: Mapping[str, str] | None = None
    chunk_size: int = CHUNK_SIZE
    transforms: list[Callable[[list[Recipient]], list[Recipient]]] = field(default_factory=list)
    manager_column: ManagerColumn | None = None  # complete after the survey: every manager the list names
    source: str = ""
    repeated: frozenset[int] = frozenset()  # fingerprints of addresses found on more than one row
    file_state: tuple[int, int, int] | None = None  # the file as surveyed: inode, size, modification time
    rows_read: int = 0
    totals: dict[str, int] | None = None  # kept, rejected, duplicates, consent_reconfirm: after a full pass

    @property
    def managers(self) -> dict[str, Manager]:
        """The managers the list names by address (`CleanList.managers`)."""
        return self.manager_column.managers if self.manager_column is not None else {}

    @property
    def recipients(self) -> "StreamedList":
        """The kept recipients, read again on each iteration (what `CleanList.recipients` holds)."""
        return self

    def __iter__(self) -> Iterator[Recipient]:
        for part in self.chunks():
            recipients, part = part.recipients, None
            yield from recipients
            recipients = None  # let go of the chunk before the next is read (see chunks)

    def chunks(self) -> Iterator[CleanList]:
        """Each chunk of the list, cleaned: the same records `clean_list` makes for those rows."""
        table = self.open_table()
        chunker = Chunker(table, Normaliser(), CleanList(table.source))
        first_rows: dict[str, int] = {}  # the addresses whose fingerprint repeats → their first row
        totals = dict.fromkeys(("kept", "rejected", "duplicates", "consent_reconfirm"), 0)
        first = 2
        for rows in table.chunks(self.chunk_size, as_columns=True):
            self._unchanged(table)
            part = self._clean(chunker, rows, first, first_rows)
            first += len(rows)
            del rows
            totals["kept"] += len(part.recipients)
            totals["rejected"] += len(part.rejects)
            totals["duplicates"] += len(part.duplicates)
            totals["consent_reconfirm"] += len(part.consent_reconfirm)
            yield part
            # The caller has let go of the chunk when it asks for the next (iterating does):
            # its memory goes back before the next block is read.
            del part
            release_freed_memory()
        self.totals = totals

    def _unchanged(self, table: Table) -> None:
        """Each pass must read the list the survey read: a list saved again during a send (an
        hour for a million) would be sent from rows nobody deduplicated or audited."""
        if self.file_state is not None and table.path is not None and _file_state(table.path) != self.file_state:
            raise ListError(
                _("{path}: the list changed while the send was reading it; nothing more is sent from it.").format(
                    path=table.path),
                hint=_("keep the list as it is during a send, then re-run the same command: the ledger skips "
                       "everyone who already has the issue."))

    def _clean(self, chunker: Chunker, rows: list[list[str]] | Columns, first: int,
               first_rows: dict[str, int]) -> CleanList:
        """One chunk's rows, numbered from `first`, parsed and cleaned."""
        part = CleanList(chunker.result.source, advertising=self.advertising)
        parsed = Parsed()
        chunker.result, chunker.pool = part, InternPool()  # nothing carried from chunk to chunk
        with no_cyclic_gc():
            chunker.parse(rows, first, parsed)
            if self.manager_column is not None:
                parsed.recipients = derive_managers(parsed.recipients, self.manager_column)
            unique, keys = self._dedupe(part, parsed, first_rows)
            list_checks(part, parsed, unique, keys, self.suppressions, self.undeliverable, self.cutoff,
                         self.advertising)
        part.rejects.sort(key=_row_of)
        for transform in self.transforms:
            part.recipients = transform(part.recipients)
        return part

    def _dedupe(self, part: CleanList, parsed: Parsed, first_rows: dict[str, int]) -> tuple[list[Recipient], list[str]]:
        """First row wins, over the whole list: only the rows whose fingerprint repeats are
        compared by address, in row order."""
        recipients, keys = parsed.recipients, parsed.keys
        part.keys = dict(zip(reversed(keys), reversed(list(map(_row_of, recipients)))))
        suspects = list(map(self.repeated.__contains__, map(hash, keys)))
        if not any(suspects):
            return recipients, keys
        keep = [True] * len(keys)
        for index in compress(range(len(keys)), suspects):
            recipient, key = recipients[index], keys[index]
            earlier = first_rows.setdefault(key, recipient.row)
            if earlier != recipient.row:
                keep[index] = False
                part.duplicates.append(Duplicate(recipient.row, parsed.written.get(recipient.row, recipient.email),
                                                 recipient.email, earlier))
        return list(compress(recipients, keep)), list(compress(keys, keep))

    def only(self, keys: set[str]) -> CleanList:
        """The rows of these addresses, kept or rejected, with each one's first row: all the
        key-customer audit looks at, from one pass (the rest of the list is not held)."""
        found = CleanList(self.source, advertising=self.advertising)
        for part in self.chunks():
            found.recipients += [r for r in part.recipients if r.key in keys]
            found.rejects += [r for r in part.rejects if r.email and r.email.lower() in keys]
            for key in keys & part.keys.keys():
                found.keys.setdefault(key, part.keys[key])
        found.rows_read = self.rows_read
        return found

    @property
    def kept(self) -> int:
        """How many recipients the list keeps (one counting pass if none was complete yet)."""
        if self.totals is None:
            for __ in self.chunks():
                pass
        assert self.totals is not None
        return self.totals["kept"]


def _malloc_trim() -> Callable[[], object]:
    """glibc's `malloc_trim(0)`, or nothing where there is no glibc."""
    try:
        return functools.partial(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim, 0)
    except (OSError, AttributeError):
        return lambda: None


_trim = _malloc_trim()


def release_freed_memory() -> None:
    """Give the pages the last chunk freed back to the system.

    Without it the process grows by a few MB with every chunk read (1 MB of text, its cells, its
    records): glibc keeps freed blocks for reuse, but the next chunk's blocks land among the
    long-lived allocations of the send, so the freed memory is never wholly reused and the
    resident size climbs with the length of the list (measured: +3 MB every ~11,000 rows)."""
    _trim()


def stream_clean_list(open_table: Callable[[], Table], *, suppressions: Mapping[str, Suppression], advertising: bool,
                      cutoff: date, columns: Mapping[str, str] | None = None,
                      check_domains: Callable[[set[str]], Mapping[str, str]] | None = None,
                      chunk_size: int = CHUNK_SIZE) -> StreamedList:
    """The survey pass (every row parsed, fingerprints kept, the managers the list names
    collected, errors raised as `clean_list` raises them), then the `StreamedList` that later
    passes read. `open_table` opens the list with `table_columns(columns)`."""
    table = open_table()
    file_state = _file_state(table.path) if table.path is not None else None
    manager_column = ManagerColumn.find(columns, [name for name, __ in table.extras], table.source)
    survey = CleanList(table.source)
    chunker = Chunker(table, Normaliser(), survey)
    buckets = [array("q") for __ in range(_BUCKETS)]
    first = 2
    try:
        for rows in table.chunks(chunk_size, as_columns=True):
            parsed = Parsed()
            chunker.pool = InternPool()
            with no_cyclic_gc():
                chunker.parse(rows, first, parsed)
                if manager_column is not None:
                    derive_managers(parsed.recipients, manager_column)
            first += len(rows)
            survey.rejects.clear()
            survey.warnings.clear()
            survey.fixes.clear()
            for fingerprint in map(hash, parsed.keys):
                buckets[fingerprint % _BUCKETS].append(fingerprint)
            del rows, parsed
            release_freed_memory()
    except ListError:
        error = table.encoding_error() if table.encoding_error is not None else None
        if error is not None:
            raise error from None
        raise
    chunker.finish()
    undeliverable = check_domains(set(survey.domains)) if check_domains is not None else None
    return StreamedList(open_table, suppressions, advertising, cutoff, undeliverable, chunk_size,
                        manager_column=manager_column, source=table.source, repeated=_repeated(buckets),
                        file_state=file_state, rows_read=survey.rows_read)


def _file_state(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns


def _repeated(buckets: list[array]) -> frozenset[int]:  # type: ignore[type-arg]
    """The fingerprints that occur more than once, a bucket at a time (each emptied as it goes)."""
    found: set[int] = set()
    for index, bucket in enumerate(buckets):
        ordered = sorted(bucket)
        buckets[index] = array("q")
        found.update(a for a, b in zip(ordered, ordered[1:]) if a == b)
    return frozenset(found)


def load_streamed_list(settings: Settings, *, advertising: bool, today: date, suppressions: Mapping[str, Suppression],
                       chunk_size: int = CHUNK_SIZE, block_size: int = STREAM_BLOCK_SIZE) -> StreamedList:
    """`load_clean_list` for a send: the configured list, cleaned the same way, as a stream."""
    lists = settings.lists
    path = settings.path(lists.subscribers)
    check = None
    if lists.check_dns:
        from webzine.recipients.mx import undeliverable_domains

        check = undeliverable_domains

    def open_table() -> Table:
        return read_table(path, overrides=table_columns(lists.columns), check_encoding_first=False,
                          block_size=block_size)

    return stream_clean_list(open_table, suppressions=suppressions, advertising=advertising,
                             cutoff=today - timedelta(days=lists.consent_max_age_days), columns=lists.columns,
                             check_domains=check,
                             chunk_size=chunk_size)
