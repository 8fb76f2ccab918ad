"""The subscriber list and the managers as the build checks an issue against them: the list's
columns and its rows as merge-field mappings, read through `webzine.recipients` and handed to
`webzine.render` (which reads no list file)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path

from webzine.recipients.clean import load_managers
from webzine.recipients.list_managers import ManagerColumn, table_columns
from webzine.recipients.tables import read_table
from webzine.render.fields import RECIPIENT_FIELDS, ListSample


def read_list_sample(path: Path, columns: Mapping[str, str] | None = None) -> ListSample:
    """The subscriber list's columns and a lazy stream of its rows; empty when there is none.

    Rows are the list's own cells (not cleaned): the build only counts empties and picks a
    preview row, and cleaning is `webzine lists clean`'s job. A row's manager is the one its
    manager address column names, when `columns` maps one (as the cleaning does).
    """
    if not path.is_file():
        return ListSample()
    table = read_table(path, overrides=table_columns(columns or {}))
    named = {name: index for name, index in table.columns.items() if name in RECIPIENT_FIELDS}
    extras = list(table.extras)
    managers = ManagerColumn.find(columns, (header for header, _ in extras), str(path))

    def rows() -> Iterator[dict[str, object]]:
        number = 1
        for chunk in table.chunks():
            for cells in chunk:
                number += 1
                padded = [cell.strip() for cell in cells] + [""] * (len(table.header) - len(cells))
                row: dict[str, object] = {name: padded[index] for name, index in named.items()}
                row.update({header: padded[index] for header, index in extras})
                if managers is not None:
                    row["manager"] = managers.link(str(row.get("manager", "")), str(row[managers.key]), number)
                yield row

    columns = tuple(named) + tuple(header for header, _ in extras)
    return ListSample(columns=columns, rows=rows(), source=str(path),
                      managers=managers.managers if managers is not None else {})


def read_managers(path: Path) -> dict[str, dict[str, object]]:
    """managers.csv as id → merge fields (`manager.name` …); empty when there is no file."""
    return {key: dataclasses.asdict(manager) for key, manager in load_managers(path).items()}
