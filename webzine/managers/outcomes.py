"""Facts × customers → one `CustomerOutcome` per customer: what became of this issue for them,
and whether their account manager should call.

Who needs a call ("전화 드려야 할 고객"), most pressing first:
1. a customer who replied and has had no answer yet;
2. a customer who marked the issue as spam;
3. a customer who rated it 1 or 2 ("아쉬웠어요");
4. a key customer who did not get it: the mail came back for good, could not be sent, was not
   sent at all (suppressed earlier, not on the list), or who unsubscribed after it.
Everything else that a manager may want to know (other bounces, comments, answered replies) is a
note, listed under the calls. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import NamedTuple

from webzine.bounces.events import Kind
from webzine.recipients.addresses import PROVIDERS, close_domain, typo_correction
from webzine.send.ledger_records import State
from webzine.managers.facts import Bounce, IssueFacts, Person, Rated, Replied, Sent, Unsubscribed
from webzine.tokens import FEEDBACK_LABELS

LOW_RATING = 2  # this score or below: call


class Status(StrEnum):
    DELIVERED = "delivered"
    REHEARSED = "rehearsed"  # written to the outbox: a rehearsal, nothing was delivered
    UNKNOWN = "unknown"  # handed over, outcome unknown (a crash or a dropped connection)
    DEFERRED = "deferred"  # temporary failure, left for a re-run
    FAILED = "failed"  # refused by the server, or not sendable
    HARD = "hard"  # came back: the mailbox or domain does not exist
    SOFT = "soft"  # came back for now: mailbox full, server busy
    DELAYED = "delayed"
    COMPLAINT = "complaint"
    NOT_SENT = "not_sent"


STATUS_LABELS = {
    Status.DELIVERED: "받음", Status.REHEARSED: "연습 발송(보내지 않음)", Status.UNKNOWN: "발송 확인 중",
    Status.DEFERRED: "재시도 대기", Status.FAILED: "보내지 못함", Status.HARD: "반송", Status.SOFT: "일시 반송",
    Status.DELAYED: "전달 지연", Status.COMPLAINT: "스팸 신고", Status.NOT_SENT: "보내지 않음",
}  # fmt: skip
REACHED = frozenset({Status.DELIVERED, Status.REHEARSED, Status.DELAYED})  # the issue got there (as far as we know)
REASON_LABELS = {
    "user_unknown": "없는 주소", "host_unknown": "없는 도메인", "mailbox_full": "메일함 용량 초과",
    "has_moved": "주소가 바뀜", "not_accept": "메일을 받지 않는 도메인", "message_too_big": "메일 크기 초과",
    "spam_content": "스팸으로 분류됨", "content_error": "내용 때문에 거부됨", "rate_limited": "수신 서버가 잠시 거부함",
    "system_error": "수신 서버 오류", "network_error": "수신 서버 연결 오류", "mailer_error": "수신 서버 오류",
    "auth_failure": "발송 설정 문제", "sender_rejected": "발송 설정 문제", "require_ptr": "발송 설정 문제",
    "tls_required": "발송 설정 문제", "no_relaying": "발송 설정 문제",
}  # fmt: skip
HOW_LABELS = {"one-click": "메일 앱의 수신거부 버튼", "web-page": "수신거부 페이지", "mail": "수신거부 메일",
              "file": "수신거부 목록"}  # fmt: skip
_BOUNCE_STATUS = {Kind.HARD: Status.HARD, Kind.SOFT: Status.SOFT, Kind.DELAYED: Status.DELAYED,
                  Kind.COMPLAINT: Status.COMPLAINT, Kind.UNKNOWN: Status.SOFT, Kind.SENDER_PROBLEM: Status.SOFT}
_SEND_STATUS = {State.FAILED: Status.FAILED, State.DEFERRED: Status.DEFERRED, State.CLAIMED: Status.UNKNOWN}
_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


class CustomerOutcome(NamedTuple):
    """What became of the issue for one customer (a tuple: one per customer, a million per report)."""

    person: Person
    status: Status
    detail: str = ""  # why, in Korean (bounce reason, server answer, suppression)
    suggestion: str = ""  # the probable right address, when a bounce suggests one
    unsubscribed: Unsubscribed | None = None
    rating: Rated | None = None
    reply: Replied | None = None
    calls: tuple[str, ...] = ()  # reasons to call, most pressing first
    notes: tuple[str, ...] = ()
    urgency: int = 99  # the rank of the first call reason (0 most pressing)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def reached(self) -> bool:
        return self.status in REACHED


def customer_outcomes(people: Mapping[str, Person], facts: IssueFacts) -> list[CustomerOutcome]:
    """One outcome for everyone the issue concerns (`table.outcome_table`, as objects): every
    ledger row, every key customer, and anyone who bounced, unsubscribed, rated or replied."""
    from webzine.managers.table import outcome_table, people_frame

    return list(outcome_table(people_frame(people), facts))


def outcome(person: Person, facts: IssueFacts) -> CustomerOutcome:
    key = person.key
    sent, bounce = facts.sends.get(key), facts.bounces.get(key)
    status, detail = _status(sent, bounce, facts.suppressed.get(key, ""))
    suggestion = _suggestion(person.email, bounce) if status is Status.HARD else ""
    unsubscribed, rating, reply = facts.unsubscribes.get(key), facts.ratings.get(key), facts.replies.get(key)
    ranked = _calls(person, status, detail, suggestion, unsubscribed, rating, reply)
    calls = tuple(text for _, text in sorted(ranked))
    notes = () if calls else _notes(person, status, detail, suggestion, unsubscribed, rating, reply)
    return CustomerOutcome(person, status, detail, suggestion, unsubscribed, rating, reply, calls, notes,
                           min((rank for rank, _ in ranked), default=99))


def _status(sent: Sent | None, bounce: Bounce | None, suppressed: str) -> tuple[Status, str]:
    if bounce is not None:
        reason = REASON_LABELS.get(bounce.reason, "")
        return _BOUNCE_STATUS.get(bounce.kind, Status.SOFT), reason or bounce.status or _short(bounce.diagnostic)
    if sent is None:
        return Status.NOT_SENT, suppressed or "발송 목록에 없음"
    if sent.state == State.ACCEPTED:
        return (Status.REHEARSED if sent.rehearsal else Status.DELIVERED), ""
    return _SEND_STATUS.get(sent.state, Status.UNKNOWN), _short(sent.text)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _suggestion(email: str, bounce: Bounce | None) -> str:
    """The address the customer probably meant: one the server named ("has moved to …"), or the
    same mailbox at the provider domain the bounced one misspells (naver.con → naver.com)."""
    local, _, domain = email.rpartition("@")
    if bounce is not None:
        named = [a for a in _ADDRESS.findall(bounce.diagnostic) if a.lower() != email.lower()]
        if bounce.reason == "has_moved" and named:
            return named[0]
    right = typo_correction(domain.lower()) or close_domain(domain.lower(), list(PROVIDERS))
    return f"{local}@{right}" if right and right != domain.lower() else ""


def korean_date(iso: str) -> str:
    """`2026-12-03…` → `12월 3일`; unreadable text is shown as it is."""
    parts = iso[:10].split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{int(parts[1])}월 {int(parts[2])}일"
    return iso


def how_label(how: str) -> str:
    return HOW_LABELS.get(how, f"{how} 수신거부" if how else "수신거부")


def rating_text(rating: Rated) -> str:
    """`4점(좋았어요)`."""
    return f"{rating.score}점({FEEDBACK_LABELS.get(rating.score, '')})"


def _comment(rating: Rated) -> str:
    return f": “{_short(rating.comment, 120)}”" if rating.comment else ""


def _calls(person: Person, status: Status, detail: str, suggestion: str, unsubscribed: Unsubscribed | None,
           rating: Rated | None, reply: Replied | None) -> list[tuple[int, str]]:
    calls: list[tuple[int, str]] = []
    if reply is not None and not reply.answered_at:
        subject = f" 「{_short(reply.subject, 40)}」" if reply.subject else ""
        calls.append((0, f"{korean_date(reply.at)}에 답장을 보내셨는데 아직 답하지 않았습니다{subject}"))
    if status is Status.COMPLAINT:
        calls.append((1, "이번 호를 스팸으로 신고하셨습니다"))
    if rating is not None and rating.score <= LOW_RATING:
        calls.append((2, f"이번 호에 {rating_text(rating)}을 주셨습니다{_comment(rating)}"))
    if person.key_customer:
        missed = _missed(status, detail, suggestion)
        if missed:
            calls.append((3, missed))
        if unsubscribed is not None:
            calls.append((4, f"{korean_date(unsubscribed.at)}에 수신거부하셨습니다({how_label(unsubscribed.how)})"))
    return calls


def _missed(status: Status, detail: str, suggestion: str) -> str:
    """Why a key customer did not get the issue, or ""."""
    because = f"({detail})" if detail else ""
    if status is Status.HARD:
        guess = f" — 혹시 {suggestion}인지 여쭤 보세요" if suggestion else " — 맞는 주소를 여쭤 보세요"
        return f"핵심 고객인데 메일이 돌아왔습니다{because}{guess}"
    if status is Status.FAILED:
        return f"핵심 고객인데 메일을 보내지 못했습니다{because}"
    if status is Status.NOT_SENT:
        return f"핵심 고객인데 이번 호를 받지 못하셨습니다{because}"
    return ""


def _notes(person: Person, status: Status, detail: str, suggestion: str, unsubscribed: Unsubscribed | None,
           rating: Rated | None, reply: Replied | None) -> tuple[str, ...]:
    notes: list[str] = []
    because = f"({detail})" if detail else ""
    if status is Status.HARD:
        notes.append(f"메일이 돌아왔습니다{because}" + (f" — 혹시 {suggestion}?" if suggestion else ""))
    elif status in (Status.SOFT, Status.DEFERRED):
        notes.append(f"{STATUS_LABELS[status]}{because} — 다음 호에 다시 보냅니다")
    elif status in (Status.UNKNOWN, Status.FAILED) or (status is Status.NOT_SENT and person.key_customer):
        notes.append(f"{STATUS_LABELS[status]}{because}")
    if unsubscribed is not None:
        notes.append(f"{korean_date(unsubscribed.at)}에 수신거부하셨습니다({how_label(unsubscribed.how)})")
    if rating is not None and rating.comment:
        notes.append(f"{rating_text(rating)}을 주시며 의견을 남기셨습니다{_comment(rating)}")
    if reply is not None and reply.answered_at:
        notes.append(f"답장하셨고 {korean_date(reply.answered_at)}에 답변했습니다")
    return tuple(notes)


def most_telling(bounces: Iterable[Bounce]) -> Bounce | None:
    """Of several reports about one address, the one that matters most (a hard bounce beats a
    delay warning, whichever came last)."""
    order = {kind: rank for rank, kind in enumerate(
        (Kind.HARD, Kind.COMPLAINT, Kind.SOFT, Kind.UNKNOWN, Kind.SENDER_PROBLEM, Kind.DELAYED))}
    ranked = sorted((b for b in bounces if b.kind in order), key=lambda b: (order[b.kind], b.at))
    return ranked[0] if ranked else None
