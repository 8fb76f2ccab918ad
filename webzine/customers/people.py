"""The lists the proposals compare with, read by normalised address: the key-customer file and
the subscriber list (name, company, account manager). Also the audit's notes from the last
scoring run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from webzine.recipients.addresses import BadAddress, Normaliser
from webzine.customers.proposals import Person, propose
from webzine.customers.store import customers_dir, read_scores
from webzine.recipients.list_managers import table_columns
from webzine.recipients.tables import read_table

if TYPE_CHECKING:
    from webzine.config import Settings


def audit_notes(settings: Settings) -> list[str]:
    """`webzine audit`'s notes when scores exist: customers to propose and key customers slipping
    away, against the key-customer file as it is now (not as it was when scored)."""
    folder = customers_dir(settings)
    scores, scored_on = read_scores(folder / "scores.csv")
    if not scores:
        return []
    config = settings.customers
    found = propose(scores, key_customers(settings), subscribers(settings), proposed=config.propose,
                    watched=config.watch)
    shown = folder.relative_to(settings.root) if folder.is_relative_to(settings.root) else folder
    return found.notes(scored_on=scored_on.isoformat() if scored_on else "?", folder=str(shown))


def key_customers(settings: Settings) -> dict[str, Person]:
    """The key-customer file by normalised key (empty when there is none)."""
    from webzine.audit.audit import read_key_customers

    path = settings.path(settings.lists.key_customers)
    if not path.exists():
        return {}
    return _by_key((cells["email"], Person(cells["email"].strip(), cells["name"], cells["company"], cells["manager"]))
                   for _, cells in read_key_customers(path))


def subscribers(settings: Settings) -> dict[str, Person]:
    """Name, company and manager from the subscriber list, by normalised key."""
    path = settings.path(settings.lists.subscribers)
    if not path.exists():
        return {}
    table = read_table(path, wanted=("email", "name", "company", "manager"),
                       overrides=table_columns(settings.lists.columns))
    at = table.columns
    if "email" not in at:
        return {}

    def cell(cells: list[str], name: str) -> str:
        index = at.get(name, -1)
        return cells[index].strip() if 0 <= index < len(cells) else ""

    return _by_key((cell(cells, "email"), Person(cell(cells, "email"), cell(cells, "name"), cell(cells, "company"),
                                                 cell(cells, "manager")))
                   for chunk in table.chunks() for cells in chunk)


def _by_key(pairs: Iterable[tuple[str, Person]]) -> dict[str, Person]:
    normaliser = Normaliser()
    found = {}
    for address, person in pairs:
        try:
            key = normaliser.parse(address)[1]
        except BadAddress:
            continue
        found.setdefault(key, person)
    return found
