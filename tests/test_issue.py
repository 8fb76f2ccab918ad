from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from webzine.errors import IssueError
from webzine.i18n import activate
from webzine.render.issue import default_slug, front_matter_keys, load_issue, romanize, slugify


def write(tmp_path: Path, text: str, name: str = "2026-12-year-end.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """---
title: 한 해를 돌아보며
subject: "(광고) {{ recipient.name }} 님께 드리는 12월 소식"
preheader: 올해 가장 사랑받은 제품
date: 2026-12-01
advertising: true
---
첫 줄입니다.

둘째 문단.
"""


def test_loads_front_matter_body_and_where_the_body_starts(tmp_path: Path) -> None:
    issue = load_issue(write(tmp_path, GOOD))
    assert issue.title == "한 해를 돌아보며"
    assert issue.subject == "(광고) {{ recipient.name }} 님께 드리는 12월 소식"
    assert issue.date == date(2026, 12, 1)
    assert issue.advertising is True
    assert issue.template == "email"
    assert issue.slug == "2026-12-year-end"
    assert issue.body.startswith("첫 줄입니다.")
    assert issue.body_line == 8
    assert issue.lines["subject"] == 3 and issue.lines["advertising"] == 6


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "2026-12-x.md"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode("utf-8"))
    issue = load_issue(path)
    assert issue.title == "한 해를 돌아보며" and "\r" not in issue.body


def test_the_issue_model_is_frozen(tmp_path: Path) -> None:
    issue = load_issue(write(tmp_path, GOOD))
    with pytest.raises(Exception):
        issue.title = "x"  # type: ignore[misc]


def test_missing_front_matter_names_line_1(tmp_path: Path) -> None:
    path = write(tmp_path, "# 제목\n본문\n")
    with pytest.raises(IssueError, match=rf"^{path}:1: no front matter; the file must start with a '---' line"):
        load_issue(path)


def test_unclosed_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path, "---\ntitle: x\nsubject: y\n")
    with pytest.raises(IssueError, match=r":1: the front matter is never closed"):
        load_issue(path)


def test_bad_yaml_reports_the_file_line(tmp_path: Path) -> None:
    text = GOOD.replace('subject: "(광고) {{ recipient.name }} 님께 드리는 12월 소식"', "subject: {{ recipient.name }} 님")
    path = write(tmp_path, text)
    with pytest.raises(IssueError, match=rf"^{path}:3: the front matter is not valid YAML"):
        load_issue(path)


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("preheader:", "preheder:"))
    with pytest.raises(IssueError, match=r":4: unknown front matter key 'preheder'; did you mean 'preheader'\?"):
        load_issue(path)


def test_unknown_key_without_a_close_match_lists_valid_keys(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("advertising: true", "zzz: 1"))
    with pytest.raises(IssueError, match=r":6: unknown front matter key 'zzz'; valid keys: title, subject, date"):
        load_issue(path)


def test_wrong_type_names_key_line_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("advertising: true", "advertising: maybe"))
    with pytest.raises(IssueError, match=r":6: 'advertising' input should be a valid boolean.*'maybe'"):
        load_issue(path)
    path = write(tmp_path, GOOD.replace("date: 2026-12-01", "date: 12월 1일"))
    with pytest.raises(IssueError, match=r":5: 'date' input should be a valid date"):
        load_issue(path)


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("title: 한 해를 돌아보며\n", ""))
    with pytest.raises(IssueError, match=r":1: the front matter needs 'title:'"):
        load_issue(path)


def test_bad_slug_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("advertising: true", "advertising: true\nslug: 연말 호"))
    with pytest.raises(IssueError, match=r":7: slug '연말 호' may only use a-z"):
        load_issue(path)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "2026-12-cp949.md"
    path.write_bytes(GOOD.encode("cp949"))
    with pytest.raises(IssueError, match=r":2: not UTF-8 text"):
        load_issue(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IssueError, match=r"no such issue file"):
        load_issue(tmp_path / "nope.md")


def test_front_matter_keys_exclude_the_body_fields() -> None:
    keys = front_matter_keys()
    assert keys[:3] == ("title", "subject", "date")
    assert not {"body", "body_line", "source", "lines"} & set(keys)


@pytest.mark.parametrize(
    ("hangul", "roman"),
    [
        ("한국", "hanguk"),
        ("서울", "seoul"),
        ("돌아보며", "dorabomyeo"),
        ("읽어", "ilgeo"),
        ("값이", "gapsi"),
        ("초록상회", "choroksanghoe"),
        ("신제품", "sinjepum"),
        ("의사", "uisa"),
        ("꽃", "kkot"),
        ("좋아요", "joayo"),
        ("많아", "mana"),
    ],
)
def test_romanize_follows_revised_romanization(hangul: str, roman: str) -> None:
    assert romanize(hangul) == roman


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("한 해를 돌아보며", "han-haereul-dorabomyeo"),
        ("초록상회 12월 소식!", "choroksanghoe-12wol-sosik"),
        ("New Year 2027", "new-year-2027"),
        ("🎉✨", "fallback"),
        ("漢字", "fallback"),
    ],
)
def test_slugify_is_never_empty(title: str, slug: str) -> None:
    assert slugify(title, fallback="fallback") == slug


def test_slugify_cuts_at_a_word_boundary() -> None:
    slug = slugify("아주 " * 40, fallback="x", max_length=20)
    assert len(slug) <= 20 and not slug.endswith("-")


def test_default_slug_from_the_file_name() -> None:
    assert default_slug(Path("issues/2026-12-year-end.md")) == "2026-12-year-end"
    assert default_slug(Path("issues/2026-12-연말.md")) == "2026-12-yeonmal"


def test_subject_must_be_one_line(tmp_path: Path) -> None:
    text = GOOD.replace('subject: "(광고) {{ recipient.name }} 님께 드리는 12월 소식"', "subject: |\n  (광고) 첫 줄\n  둘째 줄")
    with pytest.raises(IssueError, match=r":3: 'subject' must be one line"):
        load_issue(write(tmp_path, text))


def test_values_are_trimmed_but_the_body_is_kept_as_written(tmp_path: Path) -> None:
    issue = load_issue(write(tmp_path, GOOD.replace("title: 한 해를 돌아보며", "title: '  한 해  '").replace("---\n첫", "---\n\n첫")))
    assert issue.title == "한 해" and issue.body.startswith("\n첫 줄") and issue.body_line == 8


def test_front_matter_errors_in_korean_keep_the_file_and_line(tmp_path: Path) -> None:
    activate("ko")
    path = write(tmp_path, GOOD.replace("preheader:", "preheder:"))
    with pytest.raises(IssueError) as info:
        load_issue(path)
    assert info.value.message == f"{path}:4: 알 수 없는 머리말 키 'preheder'입니다. 'preheader'을(를) 쓰려던 것인가요?"
    path = write(tmp_path, GOOD.replace("title: 한 해를 돌아보며\n", ""))
    with pytest.raises(IssueError) as info:
        load_issue(path)
    assert info.value.message == f"{path}:1: 머리말에 'title:'가 필요합니다. '---' 줄 사이에 넣으세요."
