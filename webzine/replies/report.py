"""Stored replies → one issue's replies per account manager, oldest unanswered first.

Whoever waited longest for an answer comes first; answered replies follow, so a manager sees what
is left to do at the top. Customers without a manager are listed last, for whoever answers the
publication's mail. Auto-replies are only counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from webzine.models import Manager
from webzine.replies.records import Reply

HUMAN, AUTO = "human_reply", "auto_reply"


@dataclass(frozen=True, slots=True)
class ManagerReplies:
    manager_id: str  # "" for customers without a manager
    manager: Manager | None  # None when the id is not in managers.csv (or empty)
    unanswered: tuple[Reply, ...]  # oldest first
    answered: tuple[Reply, ...]  # oldest first


@dataclass(frozen=True, slots=True)
class RepliesReport:
    issue: str | None  # None: replies whose issue is unknown
    groups: tuple[ManagerReplies, ...]
    auto_replies: int
    issues: tuple[str, ...]  # every issue with replies, newest reply first (to offer --issue)

    @property
    def replies(self) -> int:
        return sum(len(g.unanswered) + len(g.answered) for g in self.groups)


def build_report(replies: Sequence[Reply], managers: Mapping[str, Manager], issue: str | None = None) -> RepliesReport:
    """The report for `issue`, or for the issue with the newest human reply when none is given."""
    humans = [reply for reply in replies if reply.kind == HUMAN]
    newest_first = sorted(humans, key=lambda r: r.received_at, reverse=True)
    issues = tuple(dict.fromkeys(r.issue for r in newest_first if r.issue))
    if issue is None and newest_first:
        issue = newest_first[0].issue
    chosen = [reply for reply in humans if reply.issue == issue]
    order = {manager_id: index for index, manager_id in enumerate(managers)}
    groups = []
    for manager_id in sorted({r.manager for r in chosen}, key=lambda m: (m == "", order.get(m, len(order)), m)):
        mine = sorted((r for r in chosen if r.manager == manager_id), key=lambda r: (r.received_at, r.message_id))
        groups.append(ManagerReplies(manager_id, managers.get(manager_id), tuple(r for r in mine if not r.answered_at),
                                     tuple(r for r in mine if r.answered_at)))
    autos = sum(1 for reply in replies if reply.kind == AUTO and reply.issue == issue)
    return RepliesReport(issue, tuple(groups), autos, issues)
