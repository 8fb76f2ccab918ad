"""Which merge fields an issue uses, whether they exist, and how often they are empty.

A misspelt field (`recipient.nmae`) must fail the build, not the 40,000th message of a send, so
the Jinja sources are checked statically against the fields a recipient can have: the `Recipient`
fields plus every column of the subscriber list. Fields that exist but are empty for some
recipients are counted for the report, so the editor can add `|default("고객")` where it matters.
The list comes in as a `ListSample` from the caller (`webzine.audit.fields` reads the file):
rendering reads no list file.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import jinja2
from jinja2 import nodes

from webzine.config import MANAGER_EMAIL
from webzine.errors import TemplateError
from webzine.i18n import _
from webzine.models import Manager, Recipient

RECIPIENT_FIELDS = tuple(Recipient(email="x@example.com").merge_fields())
MANAGER_FIELDS = tuple(f for f in Manager.__dataclass_fields__)
# Filters that read fields of a whole recipient mapping (`{{ recipient|greeting }}`).
_WHOLE_RECIPIENT_FILTERS = {"greeting": ("name", "adjective")}


@dataclass(frozen=True)
class FieldUse:
    """One `recipient.<name>` in a source, with the file line it is on."""

    name: str
    line: int


@dataclass
class ListSample:
    """The subscriber list as the build sees it: its columns, and its rows as merge-field
    mappings, streamed once (a million-row list is never held twice)."""

    columns: tuple[str, ...] = ()
    rows: Iterable[Mapping[str, object]] = ()
    source: str = ""
    # The managers the rows name by address (`[lists.columns] manager_email`), added as the rows
    # are read: complete once `rows` has been iterated.
    managers: Mapping[str, Manager] = field(default_factory=dict)


@dataclass
class ListScan:
    """What one pass over the rows found: empties per used field and the preview row."""

    total: int = 0
    empty: dict[str, int] = field(default_factory=dict)
    sample: Mapping[str, object] | None = None


def field_uses(source: str, environment: jinja2.Environment, *, first_line: int = 1) -> list[FieldUse]:
    """Every `recipient.X` / `recipient["X"]` in a Jinja source (which must parse)."""
    tree = environment.parse(source)
    uses: list[FieldUse] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == "recipient"):
            continue
        line = first_line + node.lineno - 1
        if isinstance(node, nodes.Getattr):
            uses.append(FieldUse(node.attr, line))
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            uses.append(FieldUse(str(node.arg.value), line))
        elif isinstance(node, nodes.Filter):
            uses.extend(FieldUse(name, line) for name in _WHOLE_RECIPIENT_FILTERS.get(node.name, ()))
    return uses


def check_fields(uses: Iterable[FieldUse], known: Iterable[str], origin: str) -> None:
    """Raise `TemplateError` at the first field no recipient can have."""
    known = tuple(known)
    for use in uses:
        if use.name in known:
            continue
        close = difflib.get_close_matches(use.name, known, n=1, cutoff=0.6)
        if close:
            message = _("{origin}:{line}: unknown merge field 'recipient.{name}'; did you mean 'recipient.{close}'?")
        else:
            message = _("{origin}:{line}: unknown merge field 'recipient.{name}'; check the spelling or add the column "
                        "to the list.")
        raise TemplateError(
            message.format(origin=origin, line=use.line, name=use.name, close=close[0] if close else ""),
            hint=_("fields: {fields}").format(fields=", ".join(sorted(known))),
        )


def known_fields(sample: ListSample) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*RECIPIENT_FIELDS, *sample.columns)))


def scan_rows(rows: Iterable[Mapping[str, object]], names: Iterable[str], sample_email: str = "") -> ListScan:
    """Count, for each used field, the rows that have it empty (missing counts as empty), and
    pick the preview row: the one whose email is `sample_email`, else the first."""
    wanted = sorted(set(names))
    scan = ListScan(empty=dict.fromkeys(wanted, 0))
    sample_key = sample_email.strip().lower()
    for row in rows:
        scan.total += 1
        if scan.sample is None and (not sample_key or str(row.get("email", "")).strip().lower() == sample_key):
            scan.sample = row
        for name in wanted:
            value = row.get(name)
            if value is None or (isinstance(value, str) and not value.strip()) or value == ():
                scan.empty[name] += 1
    return scan


def unused_columns(columns: Iterable[str], used: Iterable[str]) -> tuple[str, ...]:
    """The list's columns that are neither one of webzine's fields nor used by the issue, each with
    the field it may have been meant for: a column nobody reads is said once, not lost silently."""
    known, wanted = set(RECIPIENT_FIELDS), set(used)
    suggestions = [*(name for name in RECIPIENT_FIELDS if name not in ("segment", "r_score", "f_score", "m_score")),
                   MANAGER_EMAIL]
    notes = []
    for column in columns:
        if column in known or column in wanted:
            continue
        words = [word for word in column.lower().replace("-", "_").split("_") if word]
        close = difflib.get_close_matches(column.lower(), suggestions, n=1, cutoff=0.6) or \
            [word for word in words if word in suggestions][:1]
        notes.append(_("{column} → did you mean {close}?").format(column=column, close=close[0]) if close else column)
    return tuple(notes)


def recipient_rows(recipients: Iterable[Recipient]) -> ListSample:
    """A `ListSample` from already-cleaned recipients (the send passes its list in)."""
    iterator = iter(recipients)
    first = next(iterator, None)
    if first is None:
        return ListSample(source="<recipients>")
    columns = tuple(first.merge_fields())
    rows = (r.merge_fields() for r in itertools.chain((first,), iterator))
    return ListSample(columns=columns, rows=rows, source="<recipients>")
