"""Shared fixtures: a small but complete publication in a temporary folder."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from datetime import date
from collections.abc import Iterator
from pathlib import Path

import pytest

from webzine import i18n

# The suite's clock: every command and stage under test takes "today" from here (WEBZINE_TODAY
# for the CLI, TODAY for direct calls), so no result depends on the day the suite runs. It is the
# sample issue's month, in which the sample list's consents are all current.
TODAY = date(2026, 12, 1)
# The suite's language: messages are asserted in English unless a test asks for Korean (`--lang ko`
# or LANGUAGE=ko); the developer's locale never decides.
LOCALE = {"LANGUAGE": "en", "LC_ALL": "C.UTF-8", "LC_MESSAGES": "C.UTF-8", "LANG": "C.UTF-8"}


def pytest_configure(config: pytest.Config) -> None:
    """Before any fixture of any scope runs, the test process drops the developer's WEBZINE_*
    variables and takes the suite's clock (each xdist worker runs this too)."""
    for name in [name for name in os.environ if name.startswith("WEBZINE_")]:
        del os.environ[name]
    os.environ["WEBZINE_TODAY"] = TODAY.isoformat()
    os.environ.update(LOCALE)
    # A shell that asks Python not to write bytecode would make every webzine subprocess and every
    # xdist worker compile what it imports again (0.05–0.1 CPU-s each); __pycache__ is git-ignored.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False


@pytest.fixture(autouse=True)
def _pinned_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from the same environment: what a test before it set is gone."""
    for name in list(os.environ):
        if name.startswith("WEBZINE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WEBZINE_TODAY", TODAY.isoformat())
    for name, value in LOCALE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(i18n, "_active", None)  # a command run in-process chose a language for itself only


def cli_environment(**values: str) -> dict[str, str]:
    """The environment of a webzine subprocess: this process's without any WEBZINE_* setting, on
    the suite's clock, plus `values` (which may move the clock)."""
    environ = {name: value for name, value in os.environ.items() if not name.startswith("WEBZINE_")}
    return {**environ, "WEBZINE_TODAY": TODAY.isoformat(), **LOCALE, **values}


# The one minimal publication of the suite: the keys `[publication]` requires, in this order (a
# test pins the line of a key added after `phone`). Tests that need more add sections to it.
PUBLICATION = {
    "name": "초록상회 소식지",
    "sender": "초록상회 <news@example.co.kr>",
    "reply_to": "hello@example.co.kr",
    "postal_address": "서울특별시 중구 세종대로 1, 3층",
    "phone": "02-123-4567",
    "base_url": "https://news.example.co.kr",
}


def publication_config(*sections: str) -> str:
    """webzine.toml text: the minimal `[publication]`, then each of `sections` (TOML text) as given."""
    lines = ["[publication]", *(f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in PUBLICATION.items())]
    return "\n".join(lines) + "\n" + "".join(f"\n{section.strip()}\n" for section in sections if section.strip())


def write_config(folder: Path, *sections: str) -> Path:
    """`folder`/webzine.toml (folder created) holding `publication_config(*sections)`; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "webzine.toml"
    path.write_text(publication_config(*sections), encoding="utf-8")
    return path


CONFIG = publication_config('[unsubscribe]\nbase_url = "https://news.example.co.kr/u"')

ISSUE = """\
---
title: 한 해를 돌아보며
subject: "(광고) {{ recipient.name }} 님께 드리는 12월 소식"
preheader: 올해 가장 사랑받은 제품과 내년 계획
date: 2026-12-01
advertising: true
---
{{ recipient|greeting }}, 안녕하세요. {{ recipient.name|josa("은") }} 올해도 함께해 주셨습니다.

## 올해의 제품

| 제품 | 판매량 |
|---|---:|
| 유기농 현미 | 1,200 |

![현미 포대 사진](https://news.example.co.kr/img/rice.jpg){width=560 height=315}

{% if recipient.company %}
**{{ recipient.company }}** 임직원 여러분께도 감사드립니다.
{% endif %}

[주문하기](https://shop.example.co.kr/?ref={{ recipient.email|urlencode }})
"""

SUBSCRIBERS = """\
email,name,adjective,company,manager,consent_at,tags,region
kim@example.com,김갑수,늘 고마운,갑수상사,m1,2025-01-02,vip,서울
lee@example.com,이을순,,,,2025-02-03,,
park@example.com,,,,m2,2025-03-04,,부산
"""

MANAGERS = """\
id,name,email,phone
m1,박영업,young@example.co.kr,010-1234-5678
m2,최담당,choi@example.co.kr,
"""


def write_project(root: Path, *, issue: str = ISSUE, config: str = CONFIG, lists: bool = True) -> Path:
    """A publication folder: webzine.toml, one issue, and (optionally) its lists."""
    (root / "issues").mkdir(parents=True, exist_ok=True)
    (root / "webzine.toml").write_text(config, encoding="utf-8")
    (root / "issues" / "2026-12-year-end.md").write_text(textwrap.dedent(issue), encoding="utf-8")
    if lists:
        (root / "lists").mkdir(exist_ok=True)
        (root / "lists" / "subscribers.csv").write_text(SUBSCRIBERS, encoding="utf-8")
        (root / "lists" / "managers.csv").write_text(MANAGERS, encoding="utf-8")
        # A publication names its key customers (a missing file stops a send): one, on the list.
        (root / "lists" / "key-customers.csv").write_text(
            "email,name,company,manager,excused\nkim@example.com,김갑수,갑수상사,m1,\n", encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh publication folder with the sample issue at issues/2026-12-year-end.md."""
    return write_project(tmp_path / "publication")


CHROMIUM = "/usr/bin/chromium"  # Debian's package; playwright never downloads a browser here
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def _browser_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser check must run; `make test` installs chromium)")
    pytest.skip(f"{reason}; install it with `apt-get install chromium` (or `make system-deps`) to run this check")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium through playwright; skipped with a reason outside CI, fatal in CI."""
    if not Path(CHROMIUM).exists():
        _browser_unavailable(f"{CHROMIUM} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("playwright is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()
