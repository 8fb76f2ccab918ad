"""Every customer's outcome as one frame (polars): what the digests count, sort and write as CSV,
and what the report tallies.

Of a million customers, almost all got the issue and nothing came back: their row is made
column-wise from the ledger and the list (delivered, or rehearsed; a key customer who got it has
no reason to call either). The few others (refused, bounced, unsubscribed, rated, replied, not
on the list, or a key customer not sent to) get their `CustomerOutcome` from
`outcomes.outcome`, one by one, and their row from it. `Outcomes` holds both and reads as a
sequence of `CustomerOutcome` for whoever wants the objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import overload

import polars as pl

from webzine.managers.facts import IssueFacts, Person, Sends
from webzine.managers.outcomes import (
    STATUS_LABELS, CustomerOutcome, Status, how_label, korean_date, outcome,
)  # fmt: skip
from webzine.send.ledger_records import State
from webzine.transports import REHEARSALS

PERSON = ("email", "name", "company", "manager", "key_customer", "segment")  # `Person`'s fields, in order
CELLS = ("detail", "suggestion", "unsubscribed_text", "score_text", "comment", "reply_text", "answered_text",
         "call_text")  # the CSV cells only the customers with something to tell have
SCHEMA = {
    "seq": pl.Int64, "email": pl.String, "name": pl.String, "company": pl.String, "manager": pl.String,
    "key_customer": pl.Boolean, "segment": pl.String, "status": pl.String, "urgency": pl.Int64,
    "item": pl.Int64,  # index into `Outcomes.items`; null for a plain row
    "unsubscribed": pl.Boolean, "rated": pl.Boolean, "score": pl.Int64, "replied": pl.Boolean,
    "unanswered": pl.Boolean, "calls": pl.Boolean, "notes": pl.Boolean, **{name: pl.String for name in CELLS},
}  # fmt: skip


class Outcomes(Sequence[CustomerOutcome]):
    """The outcomes as a frame (`SCHEMA`, in the order `customer_outcomes` gives them) and the
    `CustomerOutcome`s of the rows that are not plain."""

    def __init__(self, frame: pl.DataFrame, items: Sequence[CustomerOutcome]) -> None:
        self.frame = frame
        self.items = items

    @classmethod
    def of(cls, outcomes: Iterable[CustomerOutcome]) -> Outcomes:
        """Outcomes already made one by one (tests, small inputs)."""
        if isinstance(outcomes, Outcomes):
            return outcomes
        items = list(outcomes)
        return cls(_item_rows(items, range(len(items))), items)

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> CustomerOutcome: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[CustomerOutcome]: ...
    def __getitem__(self, index: int | slice) -> CustomerOutcome | Sequence[CustomerOutcome]:
        if isinstance(index, slice):
            return list(self)[index]
        return self._outcome(self.frame.select(*PERSON, "status", "item").row(index))

    def __iter__(self) -> Iterator[CustomerOutcome]:
        return map(self._outcome, self.frame.select(*PERSON, "status", "item").iter_rows())

    def _outcome(self, row: tuple) -> CustomerOutcome:
        *person, status, item = row
        return self.items[item] if item is not None else CustomerOutcome(Person(*person), Status(status))

    def where(self, frame: pl.DataFrame) -> Outcomes:
        """A part of these outcomes (rows of `self.frame`, filtered or sorted)."""
        return Outcomes(frame, self.items)

    def csv_body(self, manager: str) -> str:
        """The digest CSV's rows (without the header), `manager` in the first cell."""
        if not self.frame.height:
            return ""
        text = [pl.lit(manager).alias("manager"), "name", "company", "email",
                pl.when("key_customer").then(pl.lit("예")).otherwise(pl.lit("")).alias("key"), "segment",
                pl.col("status").replace_strict({s.value: label for s, label in STATUS_LABELS.items()}).alias("label"),
                *CELLS]  # fmt: skip
        cells = self.frame.select(text)
        return cells.select(map(_defused, cells.columns)).write_csv(include_header=False, line_terminator="\r\n",
                                                                     null_value="")


def _defused(name: str) -> pl.Expr:
    """Text from outside as a CSV cell: a leading =, +, - or @ would start a formula in Excel
    (so it gets a '); empty cells as nulls, which polars writes without quotes, as `csv` does."""
    column = pl.col(name)
    return (pl.when(column.str.contains(r"^[=+\-@]")).then(pl.lit("'") + column)
            .when(column != "").then(column).alias(name))


def outcome_table(people: pl.DataFrame, facts: IssueFacts) -> Outcomes:
    """One outcome for everyone the issue concerns: every ledger row, every key customer, and
    anyone who bounced, unsubscribed, rated or replied (`people.PEOPLE_SCHEMA`'s frame). Someone
    not on the lists is kept with only their address (the manager is then unknown)."""
    answered: dict[str, None] = dict.fromkeys(facts.bounces)
    for extra in (facts.unsubscribes, facts.ratings, facts.replies):
        answered.update(dict.fromkeys(extra))
    sends = Sends.of(facts.sends)
    sent = sends.frame.select("key", pl.col("email").alias("sent_email"), accepted=pl.col("state") == State.ACCEPTED.value,
                              rehearsal=pl.col("transport").is_in(sorted(REHEARSALS)))
    joined = sent.with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64)).join(
        people.select("key", *PERSON), on="key", how="left", maintain_order="left")
    plain = pl.col("email").is_not_null() & ~pl.col("key").is_in(list(answered)) & pl.col("accepted")
    plain_rows = joined.filter(plain).select(
        "seq", *PERSON, status=pl.when("rehearsal").then(pl.lit(Status.REHEARSED.value)).otherwise(
            pl.lit(Status.DELIVERED.value)), urgency=pl.lit(99, pl.Int64), item=pl.lit(None, pl.Int64),
        **{name: pl.lit(False) for name in ("unsubscribed", "rated", "replied", "unanswered", "calls", "notes")},
        score=pl.lit(0, pl.Int64), **{name: pl.lit(None, pl.String) for name in CELLS}).select(list(SCHEMA))
    special = joined.filter(~plain).select("seq", "key", "sent_email", *PERSON)
    unsent = people.filter("key_customer").join(sent, on="key", how="anti", maintain_order="left")
    rest = dict.fromkeys(unsent["key"].to_list())
    answered_sent = set(sent.filter(pl.col("key").is_in(list(answered)))["key"].to_list())
    rest.update((key, None) for key in answered if key not in answered_sent)
    found = {row[0]: Person(*row[1:]) for row in people.filter(pl.col("key").is_in(list(rest))).select(
        "key", *PERSON).iter_rows()}
    facts = replace(facts, sends=sends.subset(special["key"].to_list()))  # all `outcome` looks up
    items: list[CustomerOutcome] = []
    seqs: list[int] = []
    for seq, key, sent_email, *person in special.iter_rows():
        items.append(outcome(Person(*person) if person[0] is not None else Person(sent_email), facts))
        seqs.append(seq)
    for number, key in enumerate(rest, start=len(sends)):
        items.append(outcome(found.get(key) or Person(key), facts))
        seqs.append(number)
    frame = plain_rows.merge_sorted(_item_rows(items, seqs), key="seq")  # both in seq order already
    return Outcomes(frame, items)


def _item_rows(items: Sequence[CustomerOutcome], seqs: Iterable[int]) -> pl.DataFrame:
    """The frame rows of outcomes made one by one (`item` points back at each)."""
    rows = []
    for index, (seq, item) in enumerate(zip(seqs, items)):
        person, reply, rating, unsub = item.person, item.reply, item.rating, item.unsubscribed
        rows.append((
            seq, *person, item.status.value, item.urgency, index, unsub is not None, rating is not None,
            rating.score if rating is not None else 0, reply is not None, reply is not None and not reply.answered_at,
            bool(item.calls), bool(item.notes), item.detail, item.suggestion,
            f"{korean_date(unsub.at)} {how_label(unsub.how)}" if unsub else "",
            str(rating.score) if rating else "", rating.comment if rating else "",
            f"{korean_date(reply.at)} {reply.subject}" if reply else "",
            korean_date(reply.answered_at) if reply and reply.answered_at else "", " / ".join(item.calls),
        ))  # fmt: skip
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def people_frame(people: Mapping[str, Person]) -> pl.DataFrame:
    """`Person`s by key as `people.read_people`'s frame (for callers that have them as objects)."""
    from webzine.managers.people import PEOPLE_SCHEMA

    return pl.DataFrame([(key, *person, None) for key, person in people.items()], schema=PEOPLE_SCHEMA, orient="row")
