"""Customer totals → R, F, M scores (1–5) and a named segment, with the rule that put each
customer there.

Scores are quintiles of the customers in the export: 5 for the most recent, most frequent,
highest-spending fifth. Equal values share one score, the one for the middle of the span they
take, so a thousand one-order customers are not split between two scores by accident; a lone
customer, or customers who are all equal, score 3 (no evidence either way). Segments are tried in
the configured order and the first whose rule matches wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from webzine.customers.rules import Rule

if TYPE_CHECKING:
    from webzine.customers.orders import CustomerTotals


@dataclass(frozen=True, slots=True)
class Score:
    """One customer's scores and segment, as `scores.csv` holds them. `days` counts from the
    scoring day back to the last order; `orders` and `value` are within the period."""

    key: str
    email: str
    name: str
    company: str
    manager: str
    last_order: date
    days: int
    orders: int
    value: int
    r: int
    f: int
    m: int
    segment: str
    rule: str

    def merge_fields(self) -> dict[str, str]:
        """What `recipient.segment`, `recipient.r_score` … show for this customer."""
        return {"segment": self.segment, "r_score": str(self.r), "f_score": str(self.f), "m_score": str(self.m)}


def quintiles(values: Sequence[int]) -> list[int]:
    """A 1–5 score per value, 5 for the largest fifth; equal values share the score of the middle
    of their span."""
    count = len(values)
    order = sorted(range(count), key=values.__getitem__)
    scores = [0] * count
    start = 0
    while start < count:
        value = values[order[start]]
        end = start
        while end < count and values[order[end]] == value:
            end += 1
        score = min(5, 1 + 5 * (start + end) // (2 * count))
        for position in range(start, end):
            scores[order[position]] = score
        start = end
    return scores


def score_customers(customers: Sequence[CustomerTotals], segments: Sequence[tuple[str, Rule]],
                    today: date) -> list[Score]:
    """Scores and the first matching segment for every customer (none when no rule matches:
    the segment is then empty)."""
    days = [(today - customer.last_order).days for customer in customers]
    recency = quintiles([-day for day in days])
    frequency = quintiles([customer.orders for customer in customers])
    monetary = quintiles([customer.value for customer in customers])
    scores = []
    for customer, day, r, f, m in zip(customers, days, recency, frequency, monetary):
        values = {"r": r, "f": f, "m": m, "days": day, "orders": customer.orders, "value": customer.value}
        segment, explained = next(((name, rule.explain(values)) for name, rule in segments if rule.matches(values)),
                                  ("", ""))
        scores.append(Score(customer.key, customer.email, customer.name, customer.company, customer.manager,
                            customer.last_order, day, customer.orders, customer.value, r, f, m, segment, explained))
    return scores
