"""Segment rules as an editor writes them in webzine.toml: `r >= 4 and f >= 4 and m >= 4`.

A rule is conditions joined by `and`; each compares one measure with a whole number. The
measures: `r`, `f`, `m` (the 1–5 scores, 5 best), `days` (since the last order), `orders` and
`value` (won) within the period. An empty rule matches everyone (the last segment, usually).
Rules are checked when the config is read, so a typo is an error naming the line.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from webzine.i18n import _

MEASURES = {"r": "R 점수", "f": "F 점수", "m": "M 점수", "days": "마지막 주문 후 일수",
            "orders": "기간 내 주문 수", "value": "기간 내 구매액(원)"}
_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
    "<": operator.lt}
_CONDITION = re.compile(r"\s*([a-z]+)\s*(>=|<=|==|!=|>|<)\s*(-?\d+)\s*")

DEFAULT_SEGMENTS = (
    ("핵심 고객", "r >= 4 and f >= 4 and m >= 4"),
    ("충성 고객", "r >= 3 and f >= 4"),
    ("신규 고객", "r >= 4 and orders <= 1"),
    ("휴면 고객", "days >= 365"),
    ("이탈 위험", "r <= 2 and f >= 3"),
    ("일반 고객", ""),
)


@dataclass(frozen=True)
class Condition:
    measure: str
    op: str
    number: int

    def holds(self, values: Mapping[str, int]) -> bool:
        return _OPERATORS[self.op](values[self.measure], self.number)


@dataclass(frozen=True)
class Rule:
    """One segment's rule, parsed; `text` is as written."""

    text: str
    conditions: tuple[Condition, ...]

    def matches(self, values: Mapping[str, int]) -> bool:
        return all(condition.holds(values) for condition in self.conditions)

    def explain(self, values: Mapping[str, int]) -> str:
        """The rule with this customer's values: `r >= 4 and f >= 4 (r=5, f=4)`."""
        if not self.conditions:
            return "no rule above matched"
        used = ", ".join(f"{measure}={values[measure]:,}" for measure in dict.fromkeys(c.measure for c in self.conditions))
        return f"{self.text} ({used})"


def parse_rule(text: str) -> Rule:
    """A rule from its text; ValueError saying what is wrong."""
    if not text.strip():
        return Rule("", ())
    conditions = []
    for part in re.split(r"\band\b", text.strip()):
        match = _CONDITION.fullmatch(part)
        if match is None:
            raise ValueError(_("'{part}' is not a condition like 'r >= 4' (measures: {measures}; operators: "
                               ">= <= == != > <; parts joined by 'and')").format(part=part.strip(),
                                                                                 measures=", ".join(MEASURES)))
        measure, op, number = match.groups()
        if measure not in MEASURES:
            raise ValueError(_("unknown measure '{measure}' in '{part}'; use one of {measures}").format(
                measure=measure, part=part.strip(), measures=", ".join(MEASURES)))
        conditions.append(Condition(measure, op, int(number)))
    return Rule(" ".join(text.split()), tuple(conditions))
