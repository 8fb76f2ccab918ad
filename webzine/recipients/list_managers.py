"""Account managers named in the subscriber list itself, as a CRM export writes them.

An export often carries each customer's manager as two columns (`account_manager`,
`account_manager_email`) instead of an id into `lists/managers.csv`. With `[lists.columns]
manager = "account_manager"` and `manager_email = "account_manager_email"`, each distinct address
becomes a manager (id = the address) and each recipient points at theirs, so the manager block
and the per-manager Reply-To work as with a managers file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from webzine.config import MANAGER_EMAIL
from webzine.errors import ListError
from webzine.i18n import _
from webzine.models import Manager, Recipient
from webzine.recipients.addresses import BadAddress, Normaliser
from webzine.recipients.tables import header_key

__all__ = ["MANAGER_EMAIL", "derive_managers", "table_columns"]


def table_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """The mapping a table reader takes: the manager address column is not a field of the row, it
    stays a merge field for `derive_managers`."""
    return {name: header for name, header in columns.items() if name != MANAGER_EMAIL}


def derive_managers(recipients: Sequence[Recipient], header: str,
                    source: str) -> tuple[list[Recipient], dict[str, Manager]]:
    """Recipients pointing at managers made from the list's manager columns, and those managers by
    id. A recipient with no manager address has no manager (their manager cell is only a name)."""
    wanted = header_key(header)
    named = next((key for r in recipients[:1] for key in r.fields if header_key(key) == wanted), None)
    if recipients and named is None:
        found = ", ".join(repr(key) for key in recipients[0].fields)
        raise ListError(_("{source}: [lists.columns] {manager_email} = {header!r}: no such column (other columns: "
                          "{found}).").format(
            source=source, manager_email=MANAGER_EMAIL, header=header, found=found))
    normaliser = Normaliser()
    managers: dict[str, Manager] = {}
    linked: list[Recipient] = []
    for recipient in recipients:
        written = recipient.fields.get(named or "", "").strip()
        if not written:
            linked.append(replace(recipient, manager="") if recipient.manager else recipient)
            continue
        try:
            address, _key, display = normaliser.parse(written)
        except BadAddress as bad:
            raise ListError(_("{source} row {row}: the manager's address {written!r} is unusable ({detail}); correct "
                              "it.").format(
                source=source, row=recipient.row, written=written, detail=bad.detail)) from None
        manager_id = address.lower()
        managers.setdefault(manager_id, Manager(manager_id, recipient.manager or display, address))
        linked.append(replace(recipient, manager=manager_id))
    return linked, managers
