"""Account managers named in the subscriber list itself, as a CRM export writes them.

An export often carries each customer's manager as two columns (`account_manager`,
`account_manager_email`) instead of an id into `lists/managers.csv`. With `[lists.columns]
manager = "account_manager"` and `manager_email = "account_manager_email"`, each distinct address
becomes a manager (id = the address) and each recipient points at theirs, so the manager block
and the per-manager Reply-To work as with a managers file. `ManagerColumn` is the one rule: the
cleaning (and so the send, the audit and the preview server) applies it to recipients, the
build's preview to the list's raw rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from webzine.config import MANAGER_EMAIL
from webzine.errors import ListError
from webzine.i18n import _
from webzine.models import Manager, Recipient
from webzine.recipients.addresses import BadAddress, Normaliser
from webzine.recipients.tables import header_key

__all__ = ["MANAGER_EMAIL", "ManagerColumn", "derive_managers", "table_columns"]


def table_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """The mapping a table reader takes: the manager address column is not a field of the row, it
    stays a merge field for `ManagerColumn`."""
    return {name: header for name, header in columns.items() if name != MANAGER_EMAIL}


class ManagerColumn:
    """The list's column of manager addresses (`[lists.columns] manager_email`), and the managers
    it has named so far, by id."""

    def __init__(self, key: str, source: str) -> None:
        self.key = key  # the column's header as the list writes it
        self.source = source
        self.managers: dict[str, Manager] = {}
        self._ids: dict[str, str] = {}  # address cell as written → id: a manager has many rows
        self._normaliser = Normaliser()

    @classmethod
    def find(cls, columns: Mapping[str, str] | None, headers: Iterable[str], source: str) -> ManagerColumn | None:
        """The column `columns` maps among the list's `headers` (compared as the table reader
        compares them), or None when the list names no manager addresses. A mapping to a column
        the list lacks is an error, not a silent loss."""
        header = (columns or {}).get(MANAGER_EMAIL)
        if not header:
            return None
        headers = list(headers)
        wanted = header_key(header)
        found = next((key for key in headers if header_key(key) == wanted), None)
        if found is None:
            others = ", ".join(repr(key) for key in headers)
            raise ListError(_("{source}: [lists.columns] {manager_email} = {header!r}: no such column (other "
                              "columns: {found}).").format(
                source=source, manager_email=MANAGER_EMAIL, header=header, found=others))
        return cls(found, source)

    def link(self, name: str, written: str, row: int) -> str:
        """The manager id of a row whose manager is `name` and whose address cell is `written`:
        "" without an address (the name alone reaches nobody). The first row naming an address
        gives its manager's name."""
        written = written.strip()
        if not written:
            return ""
        known = self._ids.get(written)
        if known is not None:
            return known
        try:
            address, __, display = self._normaliser.parse(written)
        except BadAddress as bad:
            raise ListError(_("{source} row {row}: the manager's address {written!r} is unusable ({detail}); correct "
                              "it.").format(source=self.source, row=row, written=written, detail=bad.detail)) from None
        manager_id = self._ids[written] = address.lower()
        self.managers.setdefault(manager_id, Manager(manager_id, name or display, address))
        return manager_id


def derive_managers(recipients: Sequence[Recipient], column: ManagerColumn) -> list[Recipient]:
    """The recipients, each pointing at the manager `column` makes from their row (collected in
    `column.managers`)."""
    key = column.key
    linked: list[Recipient] = []
    for recipient in recipients:
        manager_id = column.link(recipient.manager, recipient.fields.get(key, ""), recipient.row)
        linked.append(recipient if manager_id == recipient.manager else replace(recipient, manager=manager_id))
    return linked
