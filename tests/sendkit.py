"""Small real-shaped inputs for the send tests: settings, a rendered issue, recipients.

The rendered issue is built with the same merge machinery `webzine.render.compose` uses (compile_merge with
a strict, autoescaping environment), so the message code sees the segment shapes it meets in a
real send; only Markdown and CSS inlining, which happen before this stage, are left out.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jinja2
from conftest import PUBLICATION

from webzine.config import Settings
from webzine.render.slots import MergeTemplate, compile_merge
from webzine.models import Manager, Recipient

SECRET = "test-secret-not-for-production"
HTML_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
TEXT_ENV = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)

PARAGRAPH = (
    "올해 가장 사랑받은 제품과 내년 계획을 정리했습니다. 초록상회는 늘 고객님의 목소리에 귀 기울이며, "
    "더 나은 제품과 서비스로 보답하겠습니다. "
)


@dataclass
class FakeIssue:
    title: str = "한 해를 돌아보며"
    subject: str = "{{ recipient.name }} 님께 드리는 12월 소식"
    preheader: str = "올해 가장 사랑받은 제품과 내년 계획"
    date: date = date(2026, 12, 1)
    advertising: bool = False
    slug: str = "2026-12-year-end"


@dataclass
class FakeRendered:
    issue: FakeIssue
    slug: str
    subject: MergeTemplate
    preheader: MergeTemplate
    html: MergeTemplate
    text: MergeTemplate
    web_url: str = "https://news.example.co.kr/2026-12-year-end/"
    extra: dict = field(default_factory=dict)


def rendered(
    *,
    subject: str = "{{ recipient.name }} 님께 드리는 12월 소식",
    paragraphs: int = 20,
    slug: str = "2026-12-year-end",
) -> FakeRendered:
    body = PARAGRAPH * paragraphs
    html = (
        '<!doctype html><html><body><p style="color:#333">{{ recipient.adjective }} '
        "{{ recipient.name }} 님, 안녕하세요.</p>"
        f"<p>{body}</p>"
        "{% if manager.name %}<p>담당: {{ manager.name }} {{ manager.phone }}</p>{% endif %}"
        f"<p>{body}</p>"
        '<p><a href="{{unsubscribe_url}}">수신거부</a></p></body></html>'
    )
    text = (
        "{{ recipient.name }} 님, 안녕하세요.\n\n"
        f"{body}\n\n"
        "수신거부: {{ unsubscribe_url }}\n"
    )
    issue = FakeIssue(subject=subject, slug=slug)
    return FakeRendered(
        issue=issue,
        slug=slug,
        subject=compile_merge(subject, TEXT_ENV, origin="issue.md"),
        preheader=compile_merge(issue.preheader, TEXT_ENV, origin="issue.md"),
        html=compile_merge(html, HTML_ENV, origin="email.html"),
        text=compile_merge(text, TEXT_ENV, origin="email.txt"),
    )


def settings(root: Path | None = None, **send: object) -> Settings:
    return Settings(
        publication=PUBLICATION,
        unsubscribe={"mailto": "unsubscribe@example.co.kr"},
        send=send,
        root=root or Path("."),
    )


MANAGERS = {
    "m1": Manager(id="m1", name="박영업", email="park@example.co.kr", phone="010-1234-5678"),
    "m2": Manager(id="m2", name="윤재민", email="jaemin@example.co.kr", phone="010-0000-1002"),
}


def recipient(number: int, **overrides: object) -> Recipient:
    values: dict = dict(
        email=f"user{number}@example.com",
        name=f"김고객{number}",
        adjective="소중한",
        company="한빛상사",
        manager="m1" if number % 2 else "",
        row=number + 1,
    )
    values.update(overrides)
    return Recipient(**values)


def sample_project(folder: Path) -> Path:
    """The repository's sample publication copied into `folder`, with a key-customer list whose
    one customer is on the list, so the audit lets a send go."""
    root = Path(__file__).resolve().parent.parent
    for name in ("issues", "lists", "templates"):
        shutil.copytree(root / name, folder / name)
    config = (root / "webzine.toml").read_text(encoding="utf-8")
    # The sample's made-up domains are sent to test servers on 127.0.0.1: a rehearsal the send gate
    # is turned off for (`[send] preflight`; tests/test_check.py turns it back on).
    (folder / "webzine.toml").write_text(config.replace("[send]\n", '[send]\npreflight = "off"\n', 1), encoding="utf-8")
    (folder / "lists" / "key-customers.csv").write_text(
        "email,name,company,manager,excused\nkim.gapsu@example.co.kr,김갑수,다향 찻집,m1,\n", encoding="utf-8"
    )
    return folder


class SkippingClock:
    """The send's clock, whose sleep skips ahead instead of waiting: a retry's backoff is over at
    once, counted in the send's own time (the retry deadline with it). The send sleeps only when
    nothing is in flight and a retry is not yet due, so no answer from the server is hurried."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        self.skipped += seconds
