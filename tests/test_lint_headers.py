"""Characters no mail header may carry are lint errors, found after Jinja has run with the sample
recipient: otherwise the issue passes lint and then every recipient's message fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from webzine.config import load_settings
from webzine.send.inputs import build_issue

ISSUE_PATH = "issues/2026-12-year-end.md"


def build_with(project: Path, front: str):  # type: ignore[no-untyped-def]
    (project / ISSUE_PATH).write_text(f"---\n{front}date: 2026-12-01\n---\n안녕하세요, {{{{ recipient.name }}}} 님.\n",
                                      encoding="utf-8")
    return build_issue(load_settings(project / "webzine.toml"), project / ISSUE_PATH)


def header_errors(rendered) -> list[tuple[str, int | None, str]]:  # type: ignore[no-untyped-def]
    return [(f.code, f.line, f.message) for f in rendered.report.errors if f.code == "header-character"]


CASES = [
    # (what, front matter, field, line, character named)
    ("line separator in the subject", 'title: 12월 소식\nsubject: "12월\\u2028소식"\n', "subject", 3, "U+2028"),
    ("paragraph separator in the preheader", 'title: 12월 소식\nsubject: 12월 소식\npreheader: "미리\\u2029보기"\n',
     "preheader", 4, "U+2029"),
    ("NUL in the subject", 'title: 12월 소식\nsubject: "12월\\0소식"\n', "subject", 3, "U+0000"),
    ("CR LF made by Jinja", "title: 12월 소식\nsubject: '12월 소식{{ \"\\r\\nBcc: x@example.net\" }}'\n",
     "subject", 3, "U+000D"),
    ("LF made by Jinja in the title", "title: '소식{{ \"\\n\" }}'\nsubject: 12월 소식\n", "title", 2, "U+000A"),
    ("escape in the subject", 'title: 12월 소식\nsubject: "12월\\e[2J소식"\n', "subject", 3, "U+001B"),
    ("C1 control in the title", 'title: "소\\x85식"\nsubject: 12월 소식\n', "title", 2, "U+0085"),
]


@pytest.mark.parametrize(("what", "front", "field", "line", "character"), CASES, ids=[c[0] for c in CASES])
def test_a_character_no_header_may_carry_is_a_lint_error(project: Path, what: str, front: str, field: str,
                                                         line: int, character: str) -> None:
    rendered = build_with(project, front)
    assert not rendered.report.ok
    ((code, at, message),) = header_errors(rendered)
    assert at == line
    assert message.startswith(f"the {field} contains {character}")


def test_the_sample_recipient_fills_the_subject_before_the_check(project: Path) -> None:
    rendered = build_with(project, "title: 12월 소식\nsubject: '{{ recipient.name }} 님, 12월 소식'\n")
    assert header_errors(rendered) == []


def test_tabs_and_ordinary_text_pass(project: Path) -> None:
    rendered = build_with(project, 'title: "12월\\t소식 ✨"\nsubject: "(주)초록상회 12월 소식 — 新年 🎉"\n')
    assert header_errors(rendered) == []
