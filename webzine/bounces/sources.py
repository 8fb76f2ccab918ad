"""Where reports come from: an mbox file, a Maildir folder, an IMAP mailbox, provider event files.

Each source yields `Item`s (raw bytes plus a stable source id a person can find again) and is
told afterwards which items were handled, so the IMAP source can move them to the processed
folder; files are only ever read. Foreign errors (`imaplib`, `OSError`) become `WebzineError`s
here, at the edge, with the host:port or path in the message.
"""

from __future__ import annotations

import imaplib
import ipaddress
import json
import mailbox
import os
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from webzine.errors import WebzineError
from webzine.i18n import _

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a bounce is a few KB; anything this big is skipped, not parsed


class SourceError(WebzineError):
    """A bounce source cannot be read (missing path, IMAP login or network failure)."""


@dataclass(frozen=True, slots=True)
class Item:
    source: str  # "mbox:/x/bounces.mbox#3", "maildir:/x/Maildir/cur/123.eml", "imap://u@h/INBOX;UID=7"
    data: bytes = b""
    skip: str = ""  # why the item cannot be read (too large, unreadable): reported, never parsed
    token: object = None  # what `done` needs to acknowledge the item (an IMAP UID)


@dataclass(frozen=True, slots=True)
class EventFile:
    """A saved provider event file: parsed by `providers`, not as mail."""

    source: str
    data: bytes


class Source(Protocol):
    label: str

    def items(self) -> Iterator[Item | EventFile]: ...

    def done(self, handled: Sequence[Item]) -> None: ...

    def close(self) -> None: ...


@dataclass
class FileSource:
    """An mbox file, a single .eml file, a Maildir folder or a provider JSON file: read-only."""

    path: Path
    label: str = ""
    max_bytes: int = MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        self.label = self.label or str(self.path)

    def items(self) -> Iterator[Item | EventFile]:
        path = self.path
        if path.is_dir():
            yield from self._maildir(path)
        elif path.suffix.lower() in {".json", ".jsonl", ".ndjson"}:
            yield EventFile(f"file:{path}", _read(path))
        else:
            head = _head(path)
            if head.startswith(b"From "):
                yield from self._mbox(path)
            elif head.lstrip()[:1] in {b"{", b"["}:
                yield EventFile(f"file:{path}", _read(path))
            else:
                yield self._file(path, f"file:{path}")

    def _maildir(self, root: Path) -> Iterator[Item]:
        folders = [root / "new", root / "cur"]
        if not any(folder.is_dir() for folder in folders):
            raise SourceError(_("{path}: a folder, but not a Maildir (no new/ or cur/); pass an mbox file, "
                                "a Maildir folder or imaps://user@host/INBOX.").format(path=root))
        for folder in folders:
            if folder.is_dir():
                for name in sorted(os.listdir(folder)):
                    if not name.startswith("."):
                        yield self._file(folder / name, f"maildir:{folder / name}")

    def _mbox(self, path: Path) -> Iterator[Item]:
        box = mailbox.mbox(path, create=False)
        try:
            for key in box.iterkeys():
                data = box.get_bytes(key)
                source = f"mbox:{path}#{key}"
                yield Item(source, skip=_too_big(len(data), self.max_bytes)) if len(data) > self.max_bytes else Item(
                    source, data)
        finally:
            box.close()

    def _file(self, path: Path, source: str) -> Item:
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                return Item(source, skip=_too_big(size, self.max_bytes))
            return Item(source, path.read_bytes())
        except OSError as exc:
            return Item(source, skip=_("cannot be read: {reason}").format(reason=exc.strerror or exc))

    def done(self, handled: Sequence[Item]) -> None:
        """Files are never changed: re-reading them is harmless, the event store dedupes."""

    def close(self) -> None:
        pass


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(_("{path}: cannot be read ({reason}).").format(path=path, reason=exc.strerror or exc)) from exc


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(64)
    except FileNotFoundError:
        raise SourceError(_("{path}: no such file or folder; pass an mbox file, a Maildir folder, a provider "
                            "event .json file or imaps://user@host/INBOX.").format(path=path)) from None
    except OSError as exc:
        raise SourceError(_("{path}: cannot be read ({reason}).").format(path=path, reason=exc.strerror or exc)) from exc


def _too_big(size: int, limit: int) -> str:
    return _("{size} MB is larger than the {limit} MB a bounce report can be; skipped").format(
        size=f"{size / 1048576:.1f}", limit=f"{limit / 1048576:.0f}")


@dataclass
class ImapSource:
    """`imaps://user@host[:port]/FOLDER`; plain `imap://` only to a loopback address (tests).

    Messages are fetched with BODY.PEEK (the \\Seen flag is left alone) and, once their events are
    stored, moved to the processed folder (created when missing), so the next run reads only new
    reports. A server without MOVE gets COPY + \\Deleted + EXPUNGE, which is what MOVE does."""

    url: str
    password: str
    processed_folder: str = "Processed"
    ca_file: str = ""  # a private CA to trust for imaps:// (the system's CAs otherwise)
    timeout: float = 30.0
    max_bytes: int = MAX_MESSAGE_BYTES
    label: str = ""
    _client: imaplib.IMAP4 | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in {"imaps", "imap"} or not parts.hostname or not parts.username:
            raise SourceError(_("{url}: not an IMAP address; write imaps://user@host[:port]/INBOX.").format(url=self.url))
        if parts.scheme == "imap" and not _loopback(parts.hostname):
            raise SourceError(_("{url}: plain imap:// would send the password unencrypted; use imaps://.").format(url=self.url))
        self.scheme, self.host, self.user = parts.scheme, parts.hostname, unquote(parts.username)
        self.port = parts.port or (993 if parts.scheme == "imaps" else 143)
        self.folder = unquote(parts.path.lstrip("/")) or "INBOX"
        self.label = f"{parts.scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"

    def _connect(self) -> imaplib.IMAP4:
        where_ = f"{self.host}:{self.port}"
        try:
            if self.scheme == "imaps":
                context = ssl.create_default_context(cafile=self.ca_file or None)
                client: imaplib.IMAP4 = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context,
                                                          timeout=self.timeout)
            else:
                client = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        except ssl.SSLCertVerificationError as exc:
            raise SourceError(_("{peer}: the IMAP server's certificate is not trusted ({reason}); "
                                "set [bounces] imap_ca_file to its CA.").format(peer=where_, reason=exc.verify_message)) from exc
        except (OSError, imaplib.IMAP4.error) as exc:
            raise SourceError(_("{peer}: cannot connect to the IMAP server ({reason}); check host, port and "
                                "network.").format(peer=where_, reason=exc)) from exc
        try:
            client.login(self.user, self.password)
        except imaplib.IMAP4.error as exc:
            client.shutdown()
            raise SourceError(_("{peer}: IMAP login as {user} failed ({reason}); check the user and "
                                "the password variable.").format(peer=where_, user=self.user, reason=_text(exc))) from exc
        status, __ = client.select(_quote(self.folder))
        if status != "OK":
            client.logout()
            raise SourceError(_("{peer}: the folder {folder} does not exist; check the URL's path.").format(
                peer=where_, folder=repr(self.folder)))
        return client

    def items(self) -> Iterator[Item]:
        self._client = client = self._connect()
        try:
            sizes = self._sizes(client)
            for uid, size in sizes.items():
                yield self._fetch(client, uid, size)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise SourceError(_("{peer}: IMAP failed while reading {folder} ({reason}); "
                                "re-run: messages already imported are not imported twice.").format(
                peer=f"{self.host}:{self.port}", folder=self.folder, reason=exc)) from exc

    def _sizes(self, client: imaplib.IMAP4) -> dict[str, int | None]:
        """UID → size of every message in the folder, in one round trip."""
        status, data = client.uid("FETCH", "1:*", "(RFC822.SIZE)")
        sizes: dict[str, int | None] = {}
        for line in data if status == "OK" else []:
            text = line if isinstance(line, bytes) else line[0] if isinstance(line, tuple) else b""
            uid, size = re.search(rb"UID (\d+)", text), re.search(rb"RFC822\.SIZE (\d+)", text)
            if uid:
                sizes[uid.group(1).decode()] = int(size.group(1)) if size else None
        return sizes

    def _fetch(self, client: imaplib.IMAP4, uid: str, size: int | None) -> Item:
        source = f"{self.label};UID={uid}"
        if size is not None and size > self.max_bytes:
            return Item(source, skip=_too_big(size, self.max_bytes), token=uid)
        status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
        body = next((part[1] for part in data or [] if isinstance(part, tuple) and len(part) == 2), None)
        if status != "OK" or body is None:
            return Item(source, skip=_("the server returned no message body"), token=uid)
        return Item(source, bytes(body), token=uid)

    def done(self, handled: Sequence[Item]) -> None:
        client = self._client
        uids = [str(item.token) for item in handled if item.token is not None]
        if client is None or not uids:
            return
        try:
            client.create(_quote(self.processed_folder))  # "already exists" is fine
            ids = ",".join(uids)
            if "MOVE" in client.capabilities:
                status, detail = client.uid("MOVE", ids, _quote(self.processed_folder))
            else:
                status, detail = client.uid("COPY", ids, _quote(self.processed_folder))
                if status == "OK":
                    client.uid("STORE", ids, "+FLAGS.SILENT", r"(\Deleted)")
                    client.expunge()
        except (OSError, imaplib.IMAP4.error) as exc:
            raise SourceError(_("{peer}: imported, but moving to {folder} failed ({reason}); the next run re-reads "
                                "them harmlessly.").format(peer=f"{self.host}:{self.port}", folder=repr(self.processed_folder),
                                                           reason=exc)) from exc
        if status != "OK":
            raise SourceError(_("{peer}: imported, but moving to {folder} was refused ({reason}); check the folder "
                                "name in [bounces] processed_folder.").format(
                peer=f"{self.host}:{self.port}", folder=repr(self.processed_folder), reason=_text(detail)))

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
            self._client = None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: object) -> str:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def open_source(spec: str, *, password: str | None = None, processed_folder: str = "Processed",
                ca_file: str = "") -> Source:
    """SOURCE argument → a source. Passwords come from the caller (an environment variable)."""
    if spec.startswith(("imaps://", "imap://")):
        if password is None:
            raise SourceError(_("{url}: an IMAP source needs a password; set the variable named in "
                                "[bounces] imap_password_env.").format(url=spec))
        return ImapSource(spec, password, processed_folder, ca_file)
    return FileSource(Path(spec))


def event_lines(data: bytes) -> list[object]:
    """A provider file: one JSON document, or JSON Lines (one event or page per line)."""
    text = data.decode("utf-8-sig", "replace").strip()
    try:
        return [json.loads(text)]
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
