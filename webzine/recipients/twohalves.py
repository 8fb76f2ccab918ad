"""Cleaning a large CSV list with both cores: this process parses the first half of the rows,
a worker process (`python -m webzine.recipients.twohalves`) the second, at the same time.

Parsing is CPU-bound Python, so threads would not help; a second process does. The file is cut
at a line start outside any quoted cell (`listio.split_csv`), so each half parses exactly as it
would in one pass. The worker sends its rows back as columns in `marshal` frames (plain strings,
ints, tuples and dicts: an order of magnitude cheaper than pickling Recipients); a reader thread
collects them while this process parses its own half. Row numbers in the worker count from 0 and
are shifted once the first half's row count is known. If the worker cannot start or fails for any
reason other than a problem with the file, this process parses the second half itself: the result
is the same either way, only slower. Small files are not worth a process start, and on a machine
whose other core is busy (load average above cores − 1) two processes only take turns.
"""

from __future__ import annotations

import gc
import marshal
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import date
from itertools import compress, repeat
from operator import add, ne
from pathlib import Path
from typing import IO, Any

from webzine.recipients.addresses import Normaliser
from webzine.errors import ListError, WebzineError
from webzine.recipients.tables import Split, Table, read_range, split_csv
from webzine.recipients.records import CleanList, Note, Reject, RejectReason
from webzine.recipients.parse import Parsed, _Chunker, new_recipients

MIN_BYTES = 8 << 20  # about 100,000 rows: below this a process start costs more than it saves
_PATIENCE = 600  # seconds to wait for the worker once our half is done
_CHUNK_FRAME, _DONE_FRAME, _ERROR_FRAME = b"C", b"D", b"E"


def parse_in_two(table: Table, normaliser: Normaliser, result: CleanList, *, force: bool = False) -> Parsed | None:
    """Parse `table` in two processes, or return None when it cannot or should not be split."""
    split = split_csv(table)
    if split is None or (not force and (split.end - split.start < MIN_BYTES or not _idle_core())):
        return None
    for close in table.closers:  # the halves are read by offset, not through the table's handle
        close()
    worker = _Worker.start(split, table, normaliser.fix_typos)
    try:
        chunker = _Chunker(table, normaliser, result)
        parsed = Parsed()
        first = 2
        width = len(table.header)
        for chunk in read_range(split, split.start, split.middle, 1, width):
            chunker.parse(chunk, first, parsed)
            first += len(chunk)
        frames = worker.frames() if worker is not None else None
        if frames is None:  # no worker (or it met a byte it cannot decode): the second half here
            for chunk in read_range(split, split.middle, split.end, split.middle_line, width):
                chunker.parse(chunk, first, parsed)
                first += len(chunk)
        else:
            _merge(frames, first, parsed, result)
        chunker.finish()
        return parsed
    except UnicodeDecodeError as exc:  # the file was not checked up front: the error it would give
        raise table.undecodable(exc) from exc
    finally:
        if worker is not None:
            worker.stop()


class _Worker:
    """The worker process and the thread that collects its frames."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.received: list[tuple[bytes, bytes]] = []
        self.complete = False
        self.thread = threading.Thread(target=self._receive, name="webzine-list-worker", daemon=True)
        self.thread.start()

    @classmethod
    def start(cls, split: Split, table: Table, fix_typos: bool) -> _Worker | None:
        spec = (split.path, split.encoding, split.delimiter, split.start, split.middle, split.end,
                split.middle_line, list(table.header), dict(table.columns), [list(e) for e in table.extras],
                fix_typos)
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        try:
            process = subprocess.Popen([sys.executable, "-m", "webzine.recipients.twohalves"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
            assert process.stdin is not None
            process.stdin.write(marshal.dumps(spec))
            process.stdin.close()
        except OSError:
            return None
        return cls(process)

    def _receive(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            head = _read_exactly(stream, 9)
            if head is None:
                return
            payload = _read_exactly(stream, int.from_bytes(head[1:], "big"))
            if payload is None:
                return
            kind = head[:1]
            self.received.append((kind, payload))
            if kind in (_DONE_FRAME, _ERROR_FRAME):
                self.complete = True
                return

    def frames(self) -> list[tuple[bytes, bytes]] | None:
        """All frames once the worker is done; None if it failed or hangs (the caller parses
        the second half itself)."""
        self.thread.join(timeout=_PATIENCE)
        return self.received if self.complete else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _idle_core() -> bool:
    """Whether a second core is free: on a busy machine two processes only take turns."""
    cores = os.cpu_count() or 1
    return cores >= 2 and os.getloadavg()[0] <= cores - 1


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


class _Dates(dict[Any, "date | None"]):
    def __missing__(self, ordinal: int | None) -> date | None:
        value = self[ordinal] = None if ordinal is None else date.fromordinal(ordinal)
        return value


def _merge(frames: list[tuple[bytes, bytes]], offset: int, parsed: Parsed, result: CleanList) -> None:
    """The worker's rows after ours, their row numbers shifted by where its half starts."""
    dates = _Dates()
    for kind, payload in frames:
        if kind == _ERROR_FRAME:
            message, hint = marshal.loads(payload)
            raise ListError(message, hint=hint or None)
        if kind == _DONE_FRAME:
            blank, read, domains, rejects, warnings, fixes = marshal.loads(payload)
            result.blank_rows += blank
            result.rows_read += read
            result.domains.update(domains)
        else:
            columns, keys, written, rejects, warnings, fixes = marshal.loads(payload)
            emails, names, adjectives, companies, managers, ordinals, tags, merge, numbers = columns
            rows = list(map(add, numbers, repeat(offset)))
            parsed.recipients.extend(new_recipients(emails, names, adjectives, companies, managers,
                                                    list(map(dates.__getitem__, ordinals)), tags, merge, rows))
            parsed.keys.extend(keys)
            parsed.written.update((number + offset, value) for number, value in written)
        result.rejects.extend(Reject(r[0] + offset, r[1], RejectReason(r[2]), *r[3:]) for r in rejects)
        result.warnings.extend(Note(n[0] + offset, *n[1:]) for n in warnings)
        result.fixes.extend(Note(n[0] + offset, *n[1:]) for n in fixes)


# -- the worker side ------------------------------------------------------------------------------


class _ColumnChunker(_Chunker):
    """Parses like `_Chunker`, but writes each chunk's rows to `out` as a frame of columns."""

    def __init__(self, table: Table, normaliser: Normaliser, result: CleanList, out: IO[bytes]) -> None:
        super().__init__(table, normaliser, result)
        self.out = out
        self.sent = (0, 0, 0)  # rejects, warnings, fixes already sent

    def emit(self, parsed: Parsed, columns: tuple[Any, ...], mask: list[bool], keys: list[str],
             written: Sequence[str]) -> None:
        kept = [list(compress(column, mask)) for column in columns]
        kept[5] = [None if value is None else value.toordinal() for value in kept[5]]
        changed = list(compress(zip(columns[-1], written), map(ne, written, columns[0])))
        _send(self.out, _CHUNK_FRAME, (kept, list(compress(keys, mask)), changed, *self.unsent()))

    def unsent(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Rejects, warnings and fixes not sent yet, as plain tuples (marshal takes no enums)."""
        result = self.result
        r, w, f = self.sent
        rejects = [(x.row, x.value, x.reason.value, *x[3:]) for x in result.rejects[r:]]
        warnings = [tuple(x) for x in result.warnings[w:]]
        fixes = [tuple(x) for x in result.fixes[f:]]
        self.sent = (len(result.rejects), len(result.warnings), len(result.fixes))
        return rejects, warnings, fixes


def _send(out: IO[bytes], kind: bytes, value: object) -> None:
    payload = marshal.dumps(value)
    out.write(kind + len(payload).to_bytes(8, "big"))
    out.write(payload)


def _work(stdin: IO[bytes], out: IO[bytes]) -> None:
    (path, encoding, delimiter, start, middle, end, middle_line, header, columns, extras,
     fix_typos) = marshal.load(stdin)
    split = Split(path, encoding, delimiter, start, middle, end, middle_line)
    table = Table(path, header, columns, [tuple(extra) for extra in extras], ())
    result = CleanList(path)
    chunker = _ColumnChunker(table, Normaliser(fix_typos=fix_typos), result, out)
    try:
        first = 0
        for chunk in read_range(split, middle, end, middle_line, len(header)):
            chunker.parse(chunk, first, Parsed())
            first += len(chunk)
        chunker.finish()
    except WebzineError as exc:
        _send(out, _ERROR_FRAME, (exc.message, exc.hint or ""))
        return
    _send(out, _DONE_FRAME, (result.blank_rows, result.rows_read, dict(result.domains), *chunker.unsent()))


if __name__ == "__main__":
    gc.disable()  # as in clean_list: the cyclic collector only slows down making many records
    _work(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout.buffer.flush()
