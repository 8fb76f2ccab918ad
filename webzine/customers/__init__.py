"""Who the key customers really are, from the sales records: recency, frequency, value.

The files, in pipeline order:
- `values.py`    one cell of an order export → a date, won, whether its status cancels the line
- `orders.py`    order exports (CSV in any Korean encoding, .xlsx; Korean headers) → CustomerTotals
- `totals.py`    lines summed per order, repeats across files dropped, orders per customer (polars)
- `rules.py`     segment rules as written in webzine.toml (`r >= 4 and f >= 4`)
- `scoring.py`   totals → R, F, M quintile scores and the first matching segment (Score)
- `proposals.py` scores × key-customer file → proposed key customers, key customers slipping away
- `report.py`    terminal summary rows and the report page with its SVG pictures
- `store.py`     build/customers/: scores.csv written and read back, the proposal files

`webzine customers score` (webzine/cli/customers.py) runs them; everything else reads the
result through `segments_for`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from webzine.customers.scoring import Score

if TYPE_CHECKING:
    from webzine.config import Settings

__all__ = ["Score", "segments_for"]


def segments_for(settings: Settings) -> dict[str, Score]:
    """The last scoring run's result by lowercased normalised address (`Recipient.key`); empty
    when `webzine customers score` has not run. `score.segment` is the segment's name."""
    from webzine.customers.store import customers_dir, read_scores

    return read_scores(customers_dir(settings) / "scores.csv")[0]
