"""Messages shaped like `webzine.message.factory` builds them, for the email-API tests and bench.

The `email` package builds one template (multipart/alternative, base64 UTF-8 bodies, Korean
display name and subject as encoded words, every list header); per recipient only the address,
Message-ID and unsubscribe token change, by byte substitution, so thousands of messages cost
nothing to make.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

from webzine.transports.base import Transport
from webzine.models import Delivery, OutgoingMessage, Outcome

MARK = "ZZNZZ"
SENDER = Address("초록상회 소식지", addr_spec="news@example.co.kr")
KOREAN = "올해도 초록상회를 아껴 주셔서 감사합니다. 12월 소식을 전해 드립니다. "


def template(html_bytes: int = 4000) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = SENDER
    message["To"] = Address("홍길동", addr_spec=f"user{MARK}@example.com")
    message["Subject"] = "홍길동 님께 드리는 12월 소식"
    message["Date"] = "Tue, 01 Dec 2026 09:00:00 +0900"
    message["Message-ID"] = f"<2026-12-year-end.{MARK}@news.example.co.kr>"
    message["Reply-To"] = Address("김담당", addr_spec="manager@example.co.kr")
    message["List-Id"] = "초록상회 소식지 <news.example.co.kr>"
    message["List-Unsubscribe"] = f"<https://news.example.co.kr/u/tok{MARK}>, <mailto:unsubscribe@example.co.kr?subject=tok{MARK}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Feedback-ID"] = "2026-12:newsletter:chorok:webzine"
    repeats = max(1, html_bytes // len(KOREAN.encode()))
    text = "홍길동 님, 안녕하세요.\n\n" + KOREAN * repeats
    message.set_content(text, charset="utf-8", cte="base64")
    message.add_alternative(f"<html><body><p>홍길동 님, 안녕하세요.</p><p>{KOREAN * repeats}</p></body></html>", subtype="html", charset="utf-8", cte="base64")
    return message.as_bytes(policy=policy.SMTP)


def messages(count: int, *, html_bytes: int = 4000, start: int = 0) -> list[OutgoingMessage]:
    """`count` distinct messages to user<i>@example.com with Message-ID 2026-12-year-end.<i>@…"""
    raw = template(html_bytes)
    return [one(raw, index) for index in range(start, start + count)]


def one(raw: bytes, index: int) -> OutgoingMessage:
    number = str(index).encode()
    return OutgoingMessage(
        key=f"user{index}@example.com",
        mail_from=f"bounces+{index}@news.example.co.kr",
        rcpt_to=f"user{index}@example.com",
        data=raw.replace(MARK.encode(), number),
        message_id=f"2026-12-year-end.{index}@news.example.co.kr",
    )


def drive(
    transport: Transport,
    outgoing: list[OutgoingMessage],
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

    def run(group: list[OutgoingMessage]) -> tuple[list[OutgoingMessage], list[Delivery]]:
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
