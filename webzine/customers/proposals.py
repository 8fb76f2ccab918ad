"""Proposals, never silent changes: who should be a key customer, and which key customers are
slipping away.

Customers of the proposed segments (by default 핵심 고객) who are not in the key-customer file
are proposed, with the reason and their account manager (from the orders, else the key or
subscriber list). Designated key customers now in a watched segment (이탈 위험, 휴면 고객) are
flagged to their manager. Nothing here edits a list: the editor decides.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from webzine.customers.scores import Score
from webzine.i18n import _


@dataclass(frozen=True, slots=True)
class Person:
    """What a list says about someone, by normalised key."""

    email: str
    name: str = ""
    company: str = ""
    manager: str = ""


@dataclass(frozen=True, slots=True)
class Proposal:
    score: Score
    name: str
    company: str
    manager: str
    reason: str


@dataclass(frozen=True)
class Proposals:
    add: list[Proposal]  # proposed as key customers
    slipping: list[Proposal]  # key customers in a watched segment

    def notes(self, *, scored_on: str, folder: str) -> list[str]:
        """The audit's notes (not gaps): the editor should look, nothing fails."""
        notes = []
        if self.add:
            notes.append(_("customers (scored {scored_on}): {count} customer(s) of {segments} are not key customers: "
                           "{people} — proposed in {folder}/proposed-key-customers.csv").format(
                scored_on=scored_on, count=len(self.add), segments=_segments(self.add), people=_people(self.add),
                folder=folder))
        if self.slipping:
            notes.append(_("customers (scored {scored_on}): {count} key customer(s) slipped to {segments}: {people} "
                           "— see {folder}/slipping-key-customers.csv").format(
                scored_on=scored_on, count=len(self.slipping), segments=_segments(self.slipping),
                people=_people(self.slipping), folder=folder))
        return notes


def propose(scores: Mapping[str, Score], key_customers: Mapping[str, Person], subscribers: Mapping[str, Person],
            *, proposed: Collection[str], watched: Collection[str]) -> Proposals:
    """Compare the scores with the key-customer file (both by normalised key)."""
    add, slipping = [], []
    for key, score in scores.items():
        designated = key_customers.get(key)
        if designated is None and score.segment in proposed:
            add.append(_proposal(score, None, subscribers.get(key),
                                 f"{_facts(score)} — 핵심 고객 명단(key-customers)에 없습니다"))
        elif designated is not None and score.segment in watched:
            slipping.append(_proposal(score, designated, subscribers.get(key),
                                      f"핵심 고객 명단에 있으나 {_facts(score)}"))
    return Proposals(sorted(add, key=_by_manager), sorted(slipping, key=_by_manager))


def _by_manager(proposal: Proposal) -> tuple[str, int, str]:
    """Grouped by account manager, the biggest customers first."""
    return proposal.manager, -proposal.score.value, proposal.score.key


def _proposal(score: Score, designated: Person | None, listed: Person | None, reason: str) -> Proposal:
    sources = [person for person in (designated, listed) if person is not None]

    def first(field: str) -> str:
        return getattr(score, field) or next((getattr(p, field) for p in sources if getattr(p, field)), "")

    # The designated manager owns a key customer; for a proposal the orders know best.
    manager = (designated.manager if designated and designated.manager else "") or first("manager")
    return Proposal(score, first("name"), first("company"), manager, reason)


def _facts(score: Score) -> str:
    return (f"{score.segment} (R{score.r} F{score.f} M{score.m}): 마지막 주문 {score.days:,}일 전, "
            f"기간 내 주문 {score.orders:,}회, {score.value:,}원")


def _segments(proposals: list[Proposal]) -> str:
    return _(" or ").join(dict.fromkeys(p.score.segment for p in proposals))


def _people(proposals: list[Proposal], shown: int = 5) -> str:
    person = _("{email} ({segment}, manager {manager})")
    listed = ", ".join(person.format(email=p.score.email, segment=p.score.segment, manager=p.manager or "-")
                       for p in proposals[:shown])
    if len(proposals) > shown:
        return _("{people} and {count} more").format(people=listed, count=len(proposals) - shown)
    return listed
