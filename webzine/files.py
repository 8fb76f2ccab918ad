"""Writing files so that nothing is ever half-written: a reader (or a crash) sees the old
content or the new, never a mix.

Files are written to a temporary file in the same folder, flushed to disk and renamed over the
old one; folders (a build, the web archive) are assembled in a staging folder and swapped in.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from webzine.errors import WebzineError
from webzine.i18n import _


@contextmanager
def atomic_writer(path: str | Path, *, encoding: str = "utf-8", newline: str | None = None) -> Iterator[TextIO]:
    """Yield a text stream; on a clean exit it replaces `path` durably, on an error it vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (the folder entry), not only the file's bytes."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_dir(staging: Path, final: Path) -> None:
    """Swap a fully written `staging` folder in for `final`; on failure the old one stays."""
    old = final.with_name(f".{final.name}.old.{os.getpid()}.{secrets.token_hex(4)}")
    if final.exists():
        os.replace(final, old)
    try:
        os.replace(staging, final)
    except OSError as exc:
        if old.exists():
            os.replace(old, final)
        raise WebzineError(_("{path}: cannot be replaced ({reason}); check the folder's permissions.").format(
            path=final, reason=exc.strerror)) from exc
    shutil.rmtree(old, ignore_errors=True)


def create_new(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write a file that must not exist yet, whole or not at all: `FileExistsError` if it does,
    even when it appears between the caller's check and the write (the temp file is hard-linked
    into place, which never replaces)."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.link(temporary, path)
    finally:
        os.unlink(temporary)
    _fsync_folder(path.parent)
