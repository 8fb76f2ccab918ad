"""What the send ledger records and answers, whichever database holds it: the states, a claim, an
outcome, a row, the counts per issue. The SQLite ledger (`ledger.py`) and the PostgreSQL one
(`ledger_pg.py`) both speak these, so neither needs the other."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from webzine.transports import REHEARSALS

if TYPE_CHECKING:
    import polars as pl


class State(StrEnum):
    CLAIMED = "claimed"  # handed (or about to be handed) to a transport; outcome unknown
    ACCEPTED = "accepted"
    FAILED = "failed"  # permanent: the server refused, or the recipient was rejected before sending
    DEFERRED = "deferred"  # temporary: a re-run retries it


class _ByTransport:
    """A record that names the transport that took the message."""

    __slots__ = ()
    transport: str

    @property
    def rehearsal(self) -> bool:
        """Taken by a rehearsal transport (the outbox): written down, not delivered."""
        return self.transport in REHEARSALS


@dataclass(frozen=True, slots=True)
class Claim:
    """A claim on one recipient. `attempts` is the row's attempt count this run read (0: no row):
    the claim holds only if nobody claimed the recipient since, so two runs can never both win."""

    key: str
    email: str
    message_id: str
    verp: str | None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class LedgerEntry(_ByTransport):
    """What the ledger says of one recipient for one issue: the plan's input."""

    state: State
    attempts: int = 0
    transport: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    key: str
    state: State
    code: int | None = None
    status: str | None = None
    text: str = ""
    provider_id: str | None = None


@dataclass(frozen=True, slots=True)
class Row(_ByTransport):
    issue: str
    key: str
    email: str
    state: State
    attempts: int
    code: int | None
    status: str | None
    text: str
    provider_id: str | None
    message_id: str
    verp: str | None
    transport: str
    claimed_at: str
    updated_at: str


class Brief(NamedTuple):
    """One recipient's row of an issue, only what the digest and the report read: a million of
    these stream from either ledger without `Row`'s decoding of Message-IDs, VERP tokens and times."""

    key: str
    email: str
    state: State
    transport: str
    text: str  # the server's answer when it was not accepted, else ""
    claimed_ms: int  # when it was claimed, in ms since 1970 UTC

    @property
    def rehearsal(self) -> bool:
        return self.transport in REHEARSALS

    @property
    def claimed_at(self) -> str:
        """As `Row.claimed_at` writes it."""
        return from_ms(self.claimed_ms)


BRIEF_COLUMNS = ("key", "email", "state", "transport", "text", "claimed_ms")  # `Brief`'s fields, as columns


def brief_frame(rows: Iterable[Brief]) -> pl.DataFrame:
    """Briefs as one polars frame (`BRIEF_COLUMNS`; `state` as its value)."""
    import polars as pl

    return pl.DataFrame([(b.key, b.email, b.state.value, b.transport, b.text, b.claimed_ms) for b in rows],
                        schema=brief_schema(), orient="row")


def brief_schema() -> dict[str, pl.DataType]:
    import polars as pl

    return dict(zip(BRIEF_COLUMNS, (pl.String(), pl.String(), pl.String(), pl.String(), pl.String(), pl.Int64())))


@dataclass(frozen=True, slots=True)
class Counts:
    issue: str
    accepted: int = 0
    failed: int = 0
    deferred: int = 0
    unknown: int = 0  # rows still `claimed`: the crash window
    rehearsed: int = 0  # of the accepted, those a rehearsal transport (the outbox) took: not delivered

    @property
    def total(self) -> int:
        return self.accepted + self.failed + self.deferred + self.unknown


def tally(groups: Iterable[tuple[str, State, str, int]]) -> dict[str, Counts]:
    """Counts per issue from (issue, state, transport, rows) groups."""
    found: dict[str, dict[str, int]] = {}
    for issue, state, transport, number in groups:
        states = found.setdefault(issue, {})
        name = "unknown" if state is State.CLAIMED else str(state)
        states[name] = states.get(name, 0) + number
        if state is State.ACCEPTED and transport in REHEARSALS:
            states["rehearsed"] = states.get("rehearsed", 0) + number
    return {issue: Counts(issue, **states) for issue, states in found.items()}


def counts_list(counts: dict[str, Counts], issue: str | None) -> list[Counts]:
    """By issue name; an issue asked for and never sent counts zeros."""
    if issue is not None:
        counts.setdefault(issue, Counts(issue))
    return [counts[name] for name in sorted(counts)]


def from_ms(ms: int) -> str:
    """Milliseconds since 1970 as the ledger writes times: ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds")


def now_text() -> str:
    """Now, as the ledger writes times: ISO 8601 in UTC, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def kept_reply(outcome: Result) -> tuple[str | None, str | None]:
    """Status and reply text are kept for what did not go well (both ledgers); an acceptance is
    its state and code, and its provider id."""
    if outcome.state is State.ACCEPTED:
        return None, None
    return outcome.status, outcome.text or None
