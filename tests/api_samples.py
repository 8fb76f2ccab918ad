"""Messages shaped like `webzine.message.factory` builds them, for the email-API tests and bench.

`webzine.message.compose` builds one template (multipart/alternative, base64 UTF-8 bodies, Korean
display name and subject as encoded words, every list header); per recipient only the address,
Message-ID and unsubscribe token change, by substitution in its bytes and fields, so thousands of
messages cost nothing to make.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from webzine.message.compose import compose
from webzine.transports.base import Transport
from webzine.models import Content, Delivery, Mailbox, Message, Outcome

MARK = "ZZNZZ"
SENDER = Mailbox("news@example.co.kr", "초록상회 소식지")
KOREAN = "올해도 초록상회를 아껴 주셔서 감사합니다. 12월 소식을 전해 드립니다. "


def template(html_bytes: int = 4000) -> Message:
    repeats = max(1, html_bytes // len(KOREAN.encode()))
    return compose(
        key=f"user{MARK}@example.com", mail_from=f"bounces+{MARK}@news.example.co.kr", rcpt_to=f"user{MARK}@example.com",
        message_id=f"2026-12-year-end.{MARK}@news.example.co.kr", sender=SENDER,
        to=Mailbox(f"user{MARK}@example.com", "홍길동"), subject="홍길동 님께 드리는 12월 소식",
        date=datetime(2026, 12, 1, 9, tzinfo=timezone(timedelta(hours=9))),
        reply_to=Mailbox("manager@example.co.kr", "김담당"),
        headers=[
            ("List-Id", "초록상회 소식지 <news.example.co.kr>"),
            ("List-Unsubscribe", f"<https://news.example.co.kr/u/tok{MARK}>, <mailto:unsubscribe@example.co.kr?subject=tok{MARK}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Feedback-ID", "2026-12:newsletter:chorok:webzine"),
        ],
        text="홍길동 님, 안녕하세요.\n\n" + KOREAN * repeats,
        html=f"<html><body><p>홍길동 님, 안녕하세요.</p><p>{KOREAN * repeats}</p></body></html>",
    )  # fmt: skip


def messages(count: int, *, html_bytes: int = 4000, start: int = 0) -> list[Message]:
    """`count` distinct messages to user<i>@example.com with Message-ID 2026-12-year-end.<i>@…"""
    sample = template(html_bytes)
    return [one(sample, index) for index in range(start, start + count)]


def one(sample: Message, index: int) -> Message:
    number = str(index)
    content = sample.content
    return Message(
        key=sample.key.replace(MARK, number),
        mail_from=sample.mail_from.replace(MARK, number),
        rcpt_to=sample.rcpt_to.replace(MARK, number),
        message_id=sample.message_id.replace(MARK, number),
        subject=sample.subject,
        content=replace(content, to=replace(content.to, email=content.to.email.replace(MARK, number)),
                        headers=tuple((name, value.replace(MARK, number)) for name, value in content.headers)),
        data=sample.data.replace(MARK.encode(), number.encode()),
    )


def drive(
    transport: Transport,
    outgoing: list[Message],
    *,
    workers: int = 4,
    max_attempts: int = 40,
    time_scale: float = 0.01,
) -> tuple[dict[str, Delivery], Counter[str]]:
    """A small stand-in for the orchestration: concurrent sends, batches of `batch_size`,
    temporary outcomes retried after the provider's wait (scaled down so tests stay fast).

    Returns the final outcome per ledger key and the number of attempts per key."""
    pending = deque(outgoing)
    final: dict[str, Delivery] = {}
    attempts: Counter[str] = Counter()

    def run(group: list[Message]) -> tuple[list[Message], list[Delivery]]:
        if len(group) == 1:
            return group, [transport.send(group[0])]
        return group, list(transport.send_batch(group))

    with ThreadPoolExecutor(workers) as pool:
        while pending:
            wave = [pending.popleft() for _ in range(len(pending))]
            size = max(1, transport.batch_size)
            groups = [wave[i : i + size] for i in range(0, len(wave), size)]
            waits = [0.0]
            for group, outcomes in pool.map(run, groups):
                assert len(outcomes) == len(group), "one outcome per message, in order"
                for message, outcome in zip(group, outcomes):
                    attempts[message.key] += 1
                    if outcome.outcome is Outcome.TEMPORARY and attempts[message.key] < max_attempts:
                        pending.append(message)
                        waits.append(getattr(outcome, "retry_after", None) or 0.05)
                    else:
                        final[message.key] = outcome
            if pending:
                time.sleep(min(max(waits) * time_scale, 0.5))
    return final, attempts


def raw_message(key: str, mail_from: str, rcpt_to: str, data: bytes, message_id: str, **flags: bool) -> Message:
    """A message that is only bytes, for the raw-MIME transports (SMTP, outbox, Mailgun, SES)."""

    def no_fields() -> Content:
        raise AssertionError("a raw test message has no fields for a JSON API")

    return Message(key=key, mail_from=mail_from, rcpt_to=rcpt_to, data=data, message_id=message_id, subject="",
                   content=no_fields, **flags)
