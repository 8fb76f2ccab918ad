"""A throw-away webzine project that sends a small issue over SMTP to a server on 127.0.0.1.

Shared by the send concurrency test and the fault soak (`bench/soak_faults.py`): the sample
publication's templates and managers, a short non-advertising issue (so no consent date, and no
test, depends on today's date), the given subscriber rows, no key customers (said so), no DKIM, and `[send]`/`[smtp]` built
from the caller's values. `webzine send ISSUE --yes --transport smtp` runs in it as a user runs it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ISSUE = "issues/2026-12-small.md"
SLUG = "2026-12-small"
SECRET = "smtp-project-unsubscribe-secret"
SUBSCRIBER_HEADER = ("email", "name", "adjective", "company", "manager", "consent_at", "tags", "grade")

SMALL_ISSUE = """---
title: 짧은 소식
subject: "{{ recipient.name }} 님께 드리는 12월 소식"
preheader: 짧은 소식 한 통
date: 2026-12-01
advertising: false
---
{{ recipient|greeting }}, 안녕하세요. 초록상회입니다.

올해도 함께해 주셔서 고맙습니다. 짧은 소식 한 통을 보냅니다.
"""

SEND = {"transport": "smtp", "rate": 100000, "concurrency": 4, "ledger": "state/ledger.sqlite3",
        "return_path": "bounces@example.co.kr", "preflight": "off"}  # fmt: skip (made-up domains: no send gate)
SMTP = {"host": "127.0.0.1", "security": "none", "connections": 4, "timeout": 5, "connect_timeout": 2,
        "helo": "test.example.co.kr"}  # fmt: skip


def simple_rows(count: int) -> list[tuple[str, ...]]:
    """`count` clean, distinct subscribers (reader0@example.com …)."""
    return [(f"reader{n}@example.com", f"김독자{n}", "소중한", "한빛상사", "m1" if n % 2 else "", "", "", "A")
            for n in range(count)]  # fmt: skip


def write_project(folder: Path, rows: Iterable[Sequence[str]], port: int, *, send: dict | None = None,
                  smtp: dict | None = None) -> Path:
    """The project in `folder` (created); returns it. `send`/`smtp` override keys of SEND/SMTP."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "templates", folder / "templates")
    lists = folder / "lists"
    lists.mkdir()
    shutil.copy(ROOT / "lists" / "managers.csv", lists / "managers.csv")
    (lists / "suppressions.csv").write_text("email,reason,since,source,detail\r\n", encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(SUBSCRIBER_HEADER)
    writer.writerows(rows)
    (lists / "subscribers.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (folder / "issues").mkdir()
    (folder / ISSUE).write_text(SMALL_ISSUE, encoding="utf-8")
    config = []
    section = ""
    for line in (ROOT / "webzine.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            section = line.split("]")[0] + "]"
        if section == "[lists]" and line.startswith("key_customers"):
            line = 'key_customers = ""  # no key customers: an explicit choice, not a missing file'
        if section not in ("[send]", "[smtp]", "[dkim]"):
            config.append(line)
    for name, values in (("send", {**SEND, **(send or {})}), ("smtp", {**SMTP, "port": port, **(smtp or {})})):
        config += [f"[{name}]", *(f"{key} = {json.dumps(value)}" for key, value in values.items()), ""]
    (folder / "webzine.toml").write_text("\n".join(config), encoding="utf-8")
    return folder


def environment() -> dict[str, str]:
    """This process's environment without any WEBZINE_* setting but its clock (the suite's under
    pytest), plus the project's secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBZINE_") or k == "WEBZINE_TODAY"}
    env.update(WEBZINE_UNSUBSCRIBE_SECRET=SECRET, COLUMNS="200")
    return env
