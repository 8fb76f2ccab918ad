"""Who the key customers really are, from the sales records: recency, frequency, value.

The files, in pipeline order:
- `values.py`    one cell of an order export → a date, won, whether its status cancels the line
- `orders.py`    order exports (CSV in any Korean encoding, .xlsx; Korean headers) → CustomerTotals
- `totals.py`    lines summed per order, repeats across files dropped, orders per customer (polars)
- segment rules as written in webzine.toml (`r >= 4 and f >= 4`) are read by `webzine.segment_rules`,
  which the config loader uses to check them
- `scoring.py`   totals → R, F, M quintile scores and the first matching segment (polars)
- `scores.py`    one customer's scores and segment (Score), the record everything after the scoring reads
- `people.py`    the key-customer file and the subscriber list by normalised address, for the proposals
- `proposals.py` scores × key-customer file → proposed key customers, key customers slipping away
- `report.py`    terminal summary rows and the report page with its SVG pictures
- `store.py`     build/customers/: scores.csv written and read back, the proposal files

`webzine customers score` (webzine/cli/customers.py) runs them; everything else reads the
result through `segments_for`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from webzine.customers.scores import Score

if TYPE_CHECKING:
    from webzine.config import Settings
    from webzine.models import Recipient

__all__ = ["Score", "segments_for", "with_segments", "rows_with_segments"]


def segments_for(settings: Settings) -> dict[str, Score]:
    """The last scoring run's result by lowercased normalised address (`Recipient.key`); empty
    when `webzine customers score` has not run. `score.segment` is the segment's name."""
    from webzine.customers.store import customers_dir, read_scores

    return read_scores(customers_dir(settings) / "scores.csv")[0]


def with_segments(recipients: list[Recipient], scores: Mapping[str, Score]) -> list[Recipient]:
    """The recipients with their segment and scores as merge fields (`recipient.segment`),
    matched by normalised address; the others unchanged (their segment is empty)."""
    if not scores:
        return recipients
    return [replace(r, fields={**r.fields, **score.merge_fields()}) if (score := scores.get(r.key)) else r
            for r in recipients]


def rows_with_segments(rows: Iterator[dict[str, object]], scores: Mapping[str, Score]) -> Iterator[dict[str, object]]:
    """Raw subscriber-list rows (the build's preview) with the same merge fields, by the
    normalised form of their email cell."""
    from webzine.recipients.addresses import BadAddress, Normaliser

    normaliser = Normaliser()
    for row in rows:
        try:
            score = scores.get(normaliser.parse(str(row.get("email", "")))[1])
        except BadAddress:
            score = None
        if score is not None:
            row.update(score.merge_fields())
        yield row
