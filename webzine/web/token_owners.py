"""Who a token can belong to: the addresses of the subscriber lists, kept fresh.

Tokens carry no address, so the server resolves them against every address it knows: the
subscriber and key-customer lists plus everyone already unsubscribed (so a reader removed from the
list later can still open the link and see that they are unsubscribed). The lists are re-read when
a file changes; the check is a `stat` at most once per `check_every` seconds.

Lookups go through a dict keyed by the token string. Python's string hashing is keyed per process
(SipHash with a random seed), so lookup timing does not tell an attacker how close a guess was;
the hit is then re-verified with `hmac.compare_digest`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from webzine.config import Settings
from webzine.recipients.list_managers import table_columns
from webzine.recipients.tables import read_table
from webzine.tokens import index_unsubscribe_tokens, verify_unsubscribe_token

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def list_id(settings: Settings) -> str:
    """The list id the tokens are bound to: `publication.list_id`, else the sender's domain.

    A token for another list (another publication with the same secret) never resolves here."""
    explicit = settings.publication.list_id.strip()
    if explicit:
        return explicit.lower()
    sender = settings.publication.sender
    address = sender[sender.rfind("<") + 1 : sender.rfind(">")] if "<" in sender else sender
    return address.rpartition("@")[2].strip().lower()


def read_addresses(path: Path, columns: Mapping[str, str] | None = None) -> list[str]:
    """The lowercased `email` column of a list file (found through `columns`, `[lists.columns]`),
    read by the list readers (any encoding Excel saves, Korean headers, xlsx). No validation: an
    address the cleaner would reject simply never gets a token, so it cannot matter here."""
    table = read_table(path, wanted=("email",), overrides=table_columns(columns or {}))
    column = table.require("email")
    return [
        cells[column].strip().lower()
        for chunk in table.chunks()
        for cells in chunk
        if len(cells) > column and "@" in cells[column]
    ]


AddressReader = Callable[[Path], list[str]]


def list_reader(settings: Settings) -> AddressReader:
    """`read_addresses` with the subscriber list's `[lists.columns]` (the key-customer file has
    fixed columns of its own)."""
    subscribers = settings.path(settings.lists.subscribers)
    return lambda path: read_addresses(path, settings.lists.columns if path == subscribers else None)


class AddressBook:
    """token → address for one list, rebuilt when a list file changes.

    `extra` supplies addresses that must stay resolvable whatever the files say (the store's
    unsubscribed addresses)."""

    def __init__(
        self,
        secret: str,
        list_id: str,
        files: Iterable[Path],
        *,
        extra: Callable[[], Iterable[str]] = lambda: (),
        reader: AddressReader = read_addresses,
        check_every: float = 2.0,
    ) -> None:
        self._secret = secret
        self._list_id = list_id
        self._files = tuple(files)
        self._extra = extra
        self._reader = reader
        self._check_every = check_every
        self._lock = threading.Lock()
        self._stamps: tuple[tuple[int, int] | None, ...] = ()
        self._checked = 0.0
        self._tokens: dict[str, str] = {}
        self.generation = 0  # bumps on every rebuild; caches derived from the addresses key on it
        self.refresh(force=True)

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset(self._tokens.values())

    def _file_stamps(self) -> tuple[tuple[int, int] | None, ...]:
        stamps = []
        for path in self._files:
            try:
                info = path.stat()
                stamps.append((info.st_mtime_ns, info.st_size))
            except FileNotFoundError:
                stamps.append(None)
        return tuple(stamps)

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the lists if one changed since the last look (or when forced)."""
        now = time.monotonic()
        if not force and now - self._checked < self._check_every:
            return
        with self._lock:
            self._checked = now
            stamps = self._file_stamps()
            if not force and stamps == self._stamps:
                return
            addresses: set[str] = set(self._extra())
            for path, stamp in zip(self._files, stamps, strict=True):
                if stamp is not None:
                    addresses.update(self._reader(path))
            self._tokens = index_unsubscribe_tokens(self._secret, self._list_id, sorted(addresses))
            self._stamps = stamps
            self.generation += 1

    def resolve(self, token: str) -> str | None:
        """The address this token was issued for, or None for anything else (unknown, forged,
        truncated, altered, another list's) — callers answer every None the same way."""
        if not TOKEN_SHAPE.fullmatch(token):
            return None
        self.refresh()
        address = self._tokens.get(token)
        if address is None or not verify_unsubscribe_token(self._secret, self._list_id, address, token):
            return None
        return address


def mask_address(address: str) -> str:
    """`hong.gildong@example.co.kr` → `ho**********@example.co.kr`: enough for the reader to
    recognise, not enough for someone who was forwarded the mail to learn."""
    local, __, domain = address.rpartition("@")
    keep = 1 if len(local) <= 3 else 2
    return f"{local[:keep]}{'*' * max(len(local) - keep, 3)}@{domain}"
