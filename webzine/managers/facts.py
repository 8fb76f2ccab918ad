"""The facts one issue left behind, as plain values: who the customers are, what the ledger
recorded for each, and what came back (bounces, unsubscribes, ratings, replies).

`load.py` reads them; the rest of the package only computes with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import polars as pl

from webzine.send.ledger_records import Brief, State, brief_frame


class Person(NamedTuple):
    """A customer as their account manager knows them (a tuple: a million are made per report)."""

    email: str
    name: str = ""
    company: str = ""
    manager: str = ""  # account manager id from managers.csv
    key_customer: bool = False
    segment: str = ""  # the customer segment (issue 19), "" when none is known

    @property
    def key(self) -> str:
        return self.email.lower()


Sent = Brief  # one ledger row of the issue: email, state, rehearsal, text (the server's answer), claimed_at


class Sends(Mapping[str, Sent]):
    """The issue's ledger rows by lowercased address, held as one frame (`BRIEF_COLUMNS`): a
    million rows are worked on column-wise, and a row becomes a `Brief` only when asked for."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._positions: dict[str, int] | None = None

    @classmethod
    def of(cls, rows: Mapping[str, Sent]) -> Sends:
        return rows if isinstance(rows, Sends) else cls(brief_frame(rows.values()))

    def __len__(self) -> int:
        return self.frame.height

    def __iter__(self) -> Iterator[str]:
        return iter(self.frame["key"].to_list())

    def __getitem__(self, key: str) -> Sent:
        if self._positions is None:
            self._positions = dict(zip(self.frame["key"].to_list(), range(self.frame.height)))
        return _brief(self.frame.row(self._positions[key]))

    def subset(self, keys: Iterable[str]) -> dict[str, Sent]:
        """The rows of these addresses (those that have one), as `Brief`s."""
        found = self.frame.filter(pl.col("key").is_in(list(keys)))
        return {row[0]: _brief(row) for row in found.iter_rows()}


def _brief(row: tuple) -> Sent:
    key, email, state, *rest = row
    return Brief(key, email, _STATES[state], *rest)


_STATES = {state.value: state for state in State}  # a dict look-up: `State(value)` costs ten times more


@dataclass(frozen=True, slots=True)
class Bounce:
    """The most telling bounce report about one address for this issue."""

    kind: str  # hard | soft | delayed | complaint | unknown | sender_problem
    reason: str = ""  # user_unknown, mailbox_full, …
    status: str = ""  # enhanced status code
    diagnostic: str = ""
    at: str = ""


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    at: str  # ISO date
    how: str  # one-click | web-page | mail | a provider's name | file


@dataclass(frozen=True, slots=True)
class Rated:
    score: int
    comment: str = ""
    at: str = ""


@dataclass(frozen=True, slots=True)
class Replied:
    """A customer's reply to the issue (the latest one, when they wrote more than once)."""

    at: str
    subject: str = ""
    excerpt: str = ""
    answered_at: str = ""
    answered_by: str = ""
    count: int = 1


@dataclass(frozen=True)
class IssueFacts:
    slug: str
    title: str
    date: date
    sends: Mapping[str, Sent] = field(default_factory=dict)  # by lowercased address (`Sends` when from a ledger)
    bounces: Mapping[str, Bounce] = field(default_factory=dict)
    unsubscribes: Mapping[str, Unsubscribed] = field(default_factory=dict)  # since this issue went out
    suppressed: Mapping[str, str] = field(default_factory=dict)  # why someone was not mailed (earlier)
    ratings: Mapping[str, Rated] = field(default_factory=dict)
    replies: Mapping[str, Replied] = field(default_factory=dict)
    auto_replies: int = 0
