"""One customer's scores and segment as `build/customers/scores.csv` holds them: the record the
send, the audit and the preview read, without the columnar scoring (polars) that computed it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SCORE_COLUMNS = ("key", "email", "name", "company", "manager", "last_order", "days", "orders", "value", "r", "f",
                 "m", "segment", "rule")


@dataclass(frozen=True, slots=True)
class Score:
    """One customer's scores and segment, as `scores.csv` holds them (read back by `store`).
    `days` counts from the scoring day back to the last order; `orders` and `value` are within
    the period."""

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
