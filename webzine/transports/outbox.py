"""The embedded default transport: write every message to local files, send nothing.

Three layouts any mail client can open:
- `maildir` (default): `outbox/{tmp,new,cur}`, one file per message, written to `tmp/` and renamed
  into `new/` so a reader never sees half a message;
- `mbox`: one `outbox/outbox.mbox` file (mboxrd: `From ` lines in bodies are quoted), appended
  under an exclusive lock so two sends never interleave;
- `eml`: `outbox/eml/*.eml`, one file per message with the original CRLF line endings.

A message counts as accepted once it is written to the operating system (one unbuffered `write`),
so a killed process loses nothing it reported; the files are fsynced when the transport closes.
Each message gets a `Return-Path:` with its VERP envelope sender, as a receiving server would add.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import socket
import threading
import time
from pathlib import Path

from webzine.config import Settings
from webzine.errors import ConfigError, TransportError
from webzine.i18n import _
from webzine.transports.base import BaseTransport
from webzine.models import Delivery, Outcome, Message

FORMATS = ("maildir", "mbox", "eml")
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._@+-]")


class OutboxTransport(BaseTransport):
    name = "outbox"
    batch_size = 1
    inline = True  # local disk writes gain nothing from worker threads

    def __init__(self, folder: Path, layout: str = "maildir") -> None:
        if layout not in FORMATS:
            raise ConfigError(
                _("unknown outbox format '{layout}'; choose one of: {formats} in [send] outbox_format.").format(
                    layout=layout, formats=", ".join(FORMATS))
            )
        self.folder = folder
        self.layout = layout
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._host = _UNSAFE_NAME.sub("_", socket.gethostname()) or "localhost"
        self._mbox_fd: int | None = None
        try:
            self._prepare()
        except OSError as exc:
            raise TransportError(
                _("{folder}: cannot create the outbox ({reason}); check [send] outbox.").format(folder=folder, reason=exc.strerror)
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> "OutboxTransport":
        return cls(settings.path(settings.send.outbox), settings.send.outbox_format)

    @property
    def location(self) -> Path:
        """Where a person finds the messages."""
        if self.layout == "mbox":
            return self.folder / "outbox.mbox"
        return self.folder / "eml" if self.layout == "eml" else self.folder

    def _prepare(self) -> None:
        if self.layout == "maildir":
            for sub in ("tmp", "new", "cur"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
        elif self.layout == "eml":
            self.location.mkdir(parents=True, exist_ok=True)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._mbox_fd = os.open(self.location, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def transmit(self, message: Message) -> Delivery:
        try:
            if self.layout == "mbox":
                where = self._append_mbox(message)
            else:
                where = self._write_file(message)
        except OSError as exc:
            raise TransportError(
                _("{folder}: cannot write a message ({reason}); free space or fix permissions, then re-run to resume.").format(
                    folder=self.location, reason=exc.strerror)
            ) from exc
        return Delivery(Outcome.ACCEPTED, code=250, text=_("written to {place}").format(place=where), provider_id=where)

    def _unique(self) -> str:
        return f"{time.time_ns()}.P{os.getpid()}Q{next(self._counter)}.{self._host}"

    def _write_file(self, message: Message) -> str:
        envelope = f"Return-Path: <{message.mail_from}>\r\n".encode()
        if self.layout == "eml":
            name = f"{_UNSAFE_NAME.sub('_', message.key)}.{self._unique()}.eml"
            final = self.location / name
            temporary = self.location / f".{name}.tmp"
            parts = [envelope, message.data]
        else:
            name = self._unique()
            final = self.folder / "new" / name
            temporary = self.folder / "tmp" / name
            parts = [envelope[:-2] + b"\n", _lf(message.data)]
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, parts)
        finally:
            os.close(fd)
        os.replace(temporary, final)
        return name

    def _append_mbox(self, message: Message) -> str:
        body = _lf(message.data)
        if b"From " in body:  # a line could start with it (never in base64 bodies): quote, mboxrd
            body = _FROM_LINE.sub(rb">\1", body)
        stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime())
        head = f"From {message.mail_from} {stamp}\nReturn-Path: <{message.mail_from}>\n".encode()
        parts = [head, body, b"\n" if body.endswith(b"\n") else b"\n\n"]
        assert self._mbox_fd is not None
        with self._lock:
            fcntl.flock(self._mbox_fd, fcntl.LOCK_EX)
            try:
                offset = os.lseek(self._mbox_fd, 0, os.SEEK_END)
                _write_all(self._mbox_fd, parts)
            finally:
                fcntl.flock(self._mbox_fd, fcntl.LOCK_UN)
        return f"outbox.mbox@{offset}"

    def close(self) -> None:
        with self._lock:
            if self._mbox_fd is not None:
                os.fsync(self._mbox_fd)
                os.close(self._mbox_fd)
                self._mbox_fd = None
            elif self.layout == "maildir":
                _fsync_dir(self.folder / "new")
            else:
                _fsync_dir(self.location)


def _lf(data: bytes) -> bytes:
    """Local mailbox files use LF line ends. Messages are CRLF throughout (a bare CR is not allowed
    in RFC 5322 text), so dropping every CR is the same as CRLF → LF, at half the cost."""
    return data.translate(None, b"\r")


def _write_all(fd: int, parts: list[bytes]) -> None:
    """One `writev` for the pieces (no concatenated copy of a 120 KB message), resumed if short."""
    remaining = sum(len(part) for part in parts)
    written = os.writev(fd, parts)
    if written < remaining:
        data = memoryview(b"".join(parts))[written:]
        while data:
            data = data[os.write(fd, data) :]


def _fsync_dir(path: Path) -> None:
    """Make the renames durable at the end of a send (per-message fsync would cost more than
    building the message; a crash of webzine itself loses nothing already written)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
