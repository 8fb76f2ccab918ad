"""The suppression list, `lists/suppressions.csv`: who must never be mailed again, why, since
when, and on what evidence.

Bounce processing, unsubscribes and editors all add to it, so it is merged, never overwritten:
`merge_suppressions` reads the file under a lock, keeps the strongest reason per address (a
complaint outranks an unsubscribe, which outranks a hard bounce …) with the earlier entry kept in
`detail` as evidence, and replaces the file atomically. Addresses are normalised like the
subscriber list, so `Kim@NAVER.com ` written by hand suppresses `kim@naver.com`.
"""

from __future__ import annotations

import csv
import fcntl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from webzine.i18n import _
from webzine.recipients.addresses import BadAddress, Normaliser
from webzine.errors import ListError, where
from webzine.files import atomic_writer
from webzine.recipients.tables import read_table
from webzine.models import Suppression, SuppressionReason

COLUMNS = ("email", "reason", "since", "source", "detail")
# Which reason an address keeps when it has several: the one a person would least want ignored.
RANK = {
    SuppressionReason.COMPLAINT: 5,
    SuppressionReason.UNSUBSCRIBED: 4,
    SuppressionReason.HARD_BOUNCE: 3,
    SuppressionReason.MANUAL: 2,
    SuppressionReason.SOFT_BOUNCE_LIMIT: 1,
}
# What editors type in the reason column of a hand-kept list.
REASON_WORDS = {
    "수신거부": SuppressionReason.UNSUBSCRIBED, "unsubscribe": SuppressionReason.UNSUBSCRIBED,
    "반송": SuppressionReason.HARD_BOUNCE, "bounce": SuppressionReason.HARD_BOUNCE,
    "hardbounce": SuppressionReason.HARD_BOUNCE, "스팸신고": SuppressionReason.COMPLAINT,
    "spam": SuppressionReason.COMPLAINT, "수동": SuppressionReason.MANUAL,
    "softbouncelimit": SuppressionReason.SOFT_BOUNCE_LIMIT,
}


@dataclass(frozen=True, slots=True)
class MergeCounts:
    added: int = 0
    upgraded: int = 0  # an address already listed, now with a stronger reason
    unchanged: int = 0  # already listed with the same or a stronger reason

    @property
    def total(self) -> int:
        return self.added + self.upgraded + self.unchanged


def load_suppressions(path: str | Path) -> dict[str, Suppression]:
    """Suppressions by `Suppression.key`. A missing file is an empty list (a new publication);
    a row with an unknown reason or date is an error, because skipping it could mail someone who
    asked not to be mailed."""
    path = Path(path)
    if not path.exists():
        return {}
    table = read_table(path, wanted=COLUMNS)
    email_at, reason_at = table.require("email"), table.require("reason")
    since_at, source_at, detail_at = (table.columns.get(name, -1) for name in COLUMNS[2:])
    normaliser = Normaliser()
    found: dict[str, Suppression] = {}
    for number, cells in table.numbered():
        cells = cells + [""] * (len(table.header) - len(cells))
        if not cells[email_at].strip():
            if any(cell.strip() for cell in cells):
                raise ListError(_("{where}: the suppression has no email; fill it in or delete the row.").format(
                    where=where(path, row=number)))
            continue
        entry = Suppression(
            email=normalise(cells[email_at], normaliser),
            reason=parse_reason(cells[reason_at], path, number),
            since=_since(cells[since_at] if since_at >= 0 else "", path, number),
            source=cells[source_at].strip() if source_at >= 0 else "",
            detail=cells[detail_at].strip() if detail_at >= 0 else "",
        )
        found[entry.key] = combine(found[entry.key], entry) if entry.key in found else entry
    return found


def normalise(address: str, normaliser: Normaliser | None = None) -> str:
    """The address as the subscriber list would normalise it; as written (trimmed) when it is not
    a valid address, so an odd entry still suppresses exactly that string."""
    try:
        return (normaliser or Normaliser()).parse(address)[0]
    except BadAddress as bad:
        return bad.email or address.strip()


def parse_reason(text: str, path: Path, row: int) -> SuppressionReason:
    word = text.strip().lower().replace("-", "_")
    try:
        return SuppressionReason(word)
    except ValueError:
        known = REASON_WORDS.get(word.replace("_", "").replace(" ", ""))
        if known is not None:
            return known
    choices = ", ".join(reason.value for reason in SuppressionReason)
    raise ListError(_("{where}: unknown suppression reason {reason!r}; use one of {choices}.").format(
        where=where(path, row=row), reason=text.strip(), choices=choices))


def _since(text: str, path: Path, row: int) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ListError(_("{where}: cannot read the date {text!r}; write it as YYYY-MM-DD.").format(
            where=where(path, row=row), text=text)) from None


def combine(existing: Suppression, new: Suppression) -> Suppression:
    """Two entries for one address → one. The stronger reason wins; the other stays as evidence."""
    if RANK[new.reason] <= RANK[existing.reason]:
        if existing.since is None and new.since is not None and new.reason == existing.reason:
            return Suppression(existing.email, existing.reason, new.since, existing.source or new.source,
                               existing.detail or new.detail)
        return existing
    earlier = f"earlier: {existing.reason.value}"
    if existing.since:
        earlier += f" since {existing.since.isoformat()}"
    if existing.source:
        earlier += f" ({existing.source})"
    detail = f"{new.detail}; {earlier}" if new.detail else earlier
    return Suppression(existing.email, new.reason, new.since or existing.since, new.source, detail)


def merge_suppressions(path: str | Path, new: Iterable[Suppression]) -> MergeCounts:
    """Add suppressions to the file (creating it), under a lock, replacing it atomically."""
    path = Path(path)
    added = upgraded = unchanged = 0
    normaliser = Normaliser()
    with _locked(path):
        current = load_suppressions(path)
        for entry in new:
            email = normalise(entry.email, normaliser)
            if email != entry.email:
                entry = Suppression(email, entry.reason, entry.since, entry.source, entry.detail)
            if entry.key not in current:
                current[entry.key] = entry
                added += 1
                continue
            merged = combine(current[entry.key], entry)
            if merged.reason != current[entry.key].reason:
                upgraded += 1
            else:
                unchanged += 1
            current[entry.key] = merged
        write_suppressions(path, current.values())
    return MergeCounts(added, upgraded, unchanged)


def write_suppressions(path: str | Path, entries: Iterable[Suppression]) -> None:
    """Write the whole file atomically (temp file in the same folder, fsync, rename), as UTF-8
    with a BOM so Excel shows the Korean text correctly."""
    with atomic_writer(path, encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for entry in entries:
            writer.writerow([entry.email, entry.reason.value,
                             entry.since.isoformat() if entry.since else "", entry.source, entry.detail])


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write between processes (bounce import, send, serve)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
