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

Of a million customers, almost all got the issue and nothing came back: their row of the outcome
frame (`outcome_table`, what the digests count, sort and write as CSV and the report tallies) is
made column-wise from the ledger and the list (delivered, or rehearsed; a key customer who got it
has no reason to call either). The few others (refused, bounced, unsubscribed, rated, replied,
not on the list, or a key customer not sent to) get their `CustomerOutcome` from `outcome`, one
by one, and their row from it. `Outcomes` holds both and reads as a sequence of `CustomerOutcome`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import NamedTuple, overload

import polars as pl

from webzine.bounces.events import Kind
from webzine.recipients.addresses import PROVIDERS, close_domain, typo_correction
from webzine.send.ledger_records import State
from webzine.transports import REHEARSALS
from webzine.managers.facts import Bounce, IssueFacts, Person, Rated, Replied, Sends, Sent, Unsubscribed
from webzine.managers.people import PEOPLE_SCHEMA
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


# --- every outcome as one frame ---------------------------------------------------------------

PERSON = ("email", "name", "company", "manager", "key_customer", "segment")  # `Person`'s fields, in order
CELLS = ("detail", "suggestion", "unsubscribed_text", "score_text", "comment", "reply_text", "answered_text",
         "call_text")  # the CSV cells only the customers with something to tell have
SCHEMA = {
    "seq": pl.Int64, "email": pl.String, "name": pl.String, "company": pl.String, "manager": pl.String,
    "key_customer": pl.Boolean, "segment": pl.String, "status": pl.String, "urgency": pl.Int64,
    "item": pl.Int64,  # index into `Outcomes.items`; null for a plain row
    "unsubscribed": pl.Boolean, "rated": pl.Boolean, "score": pl.Int64, "replied": pl.Boolean,
    "unanswered": pl.Boolean, "calls": pl.Boolean, "notes": pl.Boolean, **{name: pl.String for name in CELLS},
}  # fmt: skip


class Outcomes(Sequence[CustomerOutcome]):
    """The outcomes as a frame (`SCHEMA`, in the order `customer_outcomes` gives them) and the
    `CustomerOutcome`s of the rows that are not plain."""

    def __init__(self, frame: pl.DataFrame, items: Sequence[CustomerOutcome]) -> None:
        self.frame = frame
        self.items = items

    @classmethod
    def of(cls, outcomes: Iterable[CustomerOutcome]) -> Outcomes:
        """Outcomes already made one by one (tests, small inputs)."""
        if isinstance(outcomes, Outcomes):
            return outcomes
        items = list(outcomes)
        return cls(_item_rows(items, range(len(items))), items)

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> CustomerOutcome: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[CustomerOutcome]: ...
    def __getitem__(self, index: int | slice) -> CustomerOutcome | Sequence[CustomerOutcome]:
        if isinstance(index, slice):
            return list(self)[index]
        return self._outcome(self.frame.select(*PERSON, "status", "item").row(index))

    def __iter__(self) -> Iterator[CustomerOutcome]:
        return map(self._outcome, self.frame.select(*PERSON, "status", "item").iter_rows())

    def _outcome(self, row: tuple) -> CustomerOutcome:
        *person, status, item = row
        return self.items[item] if item is not None else CustomerOutcome(Person(*person), Status(status))

    def where(self, frame: pl.DataFrame) -> Outcomes:
        """A part of these outcomes (rows of `self.frame`, filtered or sorted)."""
        return Outcomes(frame, self.items)

    def csv_body(self, manager: str) -> str:
        """The digest CSV's rows (without the header), `manager` in the first cell."""
        if not self.frame.height:
            return ""
        text = [pl.lit(manager).alias("manager"), "name", "company", "email",
                pl.when("key_customer").then(pl.lit("예")).otherwise(pl.lit("")).alias("key"), "segment",
                pl.col("status").replace_strict({s.value: label for s, label in STATUS_LABELS.items()}).alias("label"),
                *CELLS]  # fmt: skip
        cells = self.frame.select(text)
        return cells.select(map(_defused, cells.columns)).write_csv(include_header=False, line_terminator="\r\n",
                                                                     null_value="")


def _defused(name: str) -> pl.Expr:
    """Text from outside as a CSV cell: a leading =, +, - or @ would start a formula in Excel
    (so it gets a '); empty cells as nulls, which polars writes without quotes, as `csv` does."""
    column = pl.col(name)
    return (pl.when(column.str.contains(r"^[=+\-@]")).then(pl.lit("'") + column)
            .when(column != "").then(column).alias(name))


def outcome_table(people: pl.DataFrame, facts: IssueFacts) -> Outcomes:
    """One outcome for everyone the issue concerns: every ledger row, every key customer, and
    anyone who bounced, unsubscribed, rated or replied (`people.PEOPLE_SCHEMA`'s frame). Someone
    not on the lists is kept with only their address (the manager is then unknown)."""
    answered: dict[str, None] = dict.fromkeys(facts.bounces)
    for extra in (facts.unsubscribes, facts.ratings, facts.replies):
        answered.update(dict.fromkeys(extra))
    sends = Sends.of(facts.sends)
    sent = sends.frame.select("key", pl.col("email").alias("sent_email"), accepted=pl.col("state") == State.ACCEPTED.value,
                              rehearsal=pl.col("transport").is_in(sorted(REHEARSALS)))
    joined = sent.with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64)).join(
        people.select("key", *PERSON), on="key", how="left", maintain_order="left")
    plain = pl.col("email").is_not_null() & ~pl.col("key").is_in(list(answered)) & pl.col("accepted")
    plain_rows = joined.filter(plain).select(
        "seq", *PERSON, status=pl.when("rehearsal").then(pl.lit(Status.REHEARSED.value)).otherwise(
            pl.lit(Status.DELIVERED.value)), urgency=pl.lit(99, pl.Int64), item=pl.lit(None, pl.Int64),
        **{name: pl.lit(False) for name in ("unsubscribed", "rated", "replied", "unanswered", "calls", "notes")},
        score=pl.lit(0, pl.Int64), **{name: pl.lit(None, pl.String) for name in CELLS}).select(list(SCHEMA))
    special = joined.filter(~plain).select("seq", "key", "sent_email", *PERSON)
    unsent = people.filter("key_customer").join(sent, on="key", how="anti", maintain_order="left")
    rest = dict.fromkeys(unsent["key"].to_list())
    answered_sent = set(sent.filter(pl.col("key").is_in(list(answered)))["key"].to_list())
    rest.update((key, None) for key in answered if key not in answered_sent)
    found = {row[0]: Person(*row[1:]) for row in people.filter(pl.col("key").is_in(list(rest))).select(
        "key", *PERSON).iter_rows()}
    facts = replace(facts, sends=sends.subset(special["key"].to_list()))  # all `outcome` looks up
    items: list[CustomerOutcome] = []
    seqs: list[int] = []
    for seq, key, sent_email, *person in special.iter_rows():
        items.append(outcome(Person(*person) if person[0] is not None else Person(sent_email), facts))
        seqs.append(seq)
    for number, key in enumerate(rest, start=len(sends)):
        items.append(outcome(found.get(key) or Person(key), facts))
        seqs.append(number)
    frame = pl.concat([plain_rows, _item_rows(items, seqs)], rechunk=False).sort("seq")  # merge_sorted: 1.5× slower
    return Outcomes(frame, items)


def _item_rows(items: Sequence[CustomerOutcome], seqs: Iterable[int]) -> pl.DataFrame:
    """The frame rows of outcomes made one by one (`item` points back at each)."""
    rows = []
    for index, (seq, item) in enumerate(zip(seqs, items)):
        person, reply, rating, unsub = item.person, item.reply, item.rating, item.unsubscribed
        rows.append((
            seq, *person, item.status.value, item.urgency, index, unsub is not None, rating is not None,
            rating.score if rating is not None else 0, reply is not None, reply is not None and not reply.answered_at,
            bool(item.calls), bool(item.notes), item.detail, item.suggestion,
            f"{korean_date(unsub.at)} {how_label(unsub.how)}" if unsub else "",
            str(rating.score) if rating else "", rating.comment if rating else "",
            f"{korean_date(reply.at)} {reply.subject}" if reply else "",
            korean_date(reply.answered_at) if reply and reply.answered_at else "", " / ".join(item.calls),
        ))  # fmt: skip
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def people_frame(people: Mapping[str, Person]) -> pl.DataFrame:
    """`Person`s by key as `people.read_people`'s frame (for callers that have them as objects)."""
    return pl.DataFrame([(key, *person, None) for key, person in people.items()], schema=PEOPLE_SCHEMA, orient="row")
