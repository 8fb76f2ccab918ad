"""The plain-text alternative: display width, keep-all wrapping, and Markdown → text."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webzine.render.plain_text import (
    DEFAULT_EXTENSIONS,
    TextExtension,
    display_width,
    fill,
    markdown_to_text,
    parse_html_fragment,
    render_text,
    wrap,
)

# --- display width ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("", 0),
        ("abc", 3),
        ("한글", 4),
        ("김갑수 님, hello", 16),
        ("초록상회 2026", 13),
        ("👍", 2),
        ("☕ 차", 5),
        ("e\u0301", 1),  # e + combining acute
        (unicodedata.normalize("NFD", "한글"), 4),  # conjoining jamo
        ("ｆｕｌｌ", 8),  # full-width Latin
        ("a\u200bb", 2),  # zero-width space
        ("a\tb", 2),  # a control character counts 0 instead of making the sum -1
        ("漢字", 4),
    ],
)
def test_display_width(text: str, columns: int) -> None:
    assert display_width(text) == columns


# --- wrapping -----------------------------------------------------------------------------------

KOREAN = "올해도 초록상회를 아껴 주신 고객님께 진심으로 감사드립니다. 내년에도 좋은 차와 정성으로 찾아뵙겠습니다."


def test_wrap_korean_at_spaces_only() -> None:
    lines = wrap(KOREAN, 30)
    assert all(display_width(line) <= 30 for line in lines)
    assert " ".join(lines) == KOREAN  # no word was split: keep-all
    assert lines == [
        "올해도 초록상회를 아껴 주신",
        "고객님께 진심으로",
        "감사드립니다. 내년에도 좋은",
        "차와 정성으로 찾아뵙겠습니다.",
    ]


def test_wrap_mixed_hangul_latin() -> None:
    text = "이번 달 New Arrivals 코너에서 Darjeeling First Flush 2026을 만나 보세요"
    lines = wrap(text, 24)
    assert all(display_width(line) <= 24 for line in lines)
    assert " ".join(lines) == text


def test_a_korean_word_wider_than_the_line_is_split_between_syllables() -> None:
    lines = wrap("가나다라마바사아자차카타파하", 10)
    assert lines == ["가나다라마", "바사아자차", "카타파하"]


def test_combining_marks_stay_with_their_base() -> None:
    word = "e\u0301" * 12
    lines = wrap(word, 5)
    assert all(not unicodedata.combining(line[0]) for line in lines)
    assert "".join(lines) == word


def test_urls_and_ascii_runs_are_never_broken() -> None:
    url = "https://news.example.co.kr/2026/12/year-end?utm_source=newsletter&utm_medium=email"
    lines = wrap(f"자세한 내용은 {url} 에서 확인하세요", 40)
    assert url in lines
    assert all(display_width(line) <= 40 for line in lines if line != url)
    sentinel = "WZSLOT0001X"
    glued = f"안녕하세요{sentinel}님께드리는특별한소식입니다"
    pieces = wrap(glued, 12)
    assert any(sentinel in piece for piece in pieces)
    assert "".join(pieces) == glued


def test_jinja_tags_are_one_token() -> None:
    text = '{{ recipient|greeting }}, {{ recipient.name|josa("은") }} 올해 우수 고객입니다'
    lines = wrap(text, 20)
    assert "{{ recipient|greeting }}," in lines
    assert any('{{ recipient.name|josa("은") }}' in line for line in lines)


def test_a_jinja_tag_inside_a_long_korean_word_is_not_split() -> None:
    tag = "{{ recipient.name|honorific }}"
    token = f"가나다라마바사{tag}아자차카타파하"
    pieces = wrap(token, 12)
    assert "".join(pieces) == token
    assert any(tag in piece for piece in pieces)


def test_indents_count_towards_the_width() -> None:
    lines = wrap(KOREAN, 24, indent="1. ", subsequent_indent="   ")
    assert lines[0].startswith("1. ")
    assert all(line.startswith("   ") for line in lines[1:])
    assert all(display_width(line) <= 24 for line in lines)
    assert fill(KOREAN, 24, indent="- ", subsequent_indent="  ").startswith("- 올해도")


def test_wrap_of_empty_text() -> None:
    assert wrap("", 10) == []
    assert wrap("   \n ", 10) == []


_words = st.one_of(
    st.text(alphabet="가나다라마바사아자차카타파하늘철민수", min_size=1, max_size=12),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=14),
    st.sampled_from(["👍", "☕", "e\u0301", "초록상회(주)", "https://example.com/a/b/c/d/e/f/g/h"]),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(_words, max_size=40), st.integers(min_value=4, max_value=80))
def test_wrap_never_exceeds_width_except_for_an_unbreakable_token(words: list[str], width: int) -> None:
    text = " ".join(words)
    lines = wrap(text, width)
    for line in lines:
        if display_width(line) > width:
            assert " " not in line and line.isascii(), line  # one URL or ASCII run, alone
    assert "".join("".join(lines).split()) == "".join(text.split())  # nothing lost or reordered


# --- Markdown → text ------------------------------------------------------------------------------


def test_headings_are_underlined_by_display_width() -> None:
    text = render_text("# 한 해를 돌아보며\n\n## Year 2026 정리\n\n### 담당자 한마디")
    assert text == (
        "한 해를 돌아보며\n================\n\nYear 2026 정리\n--------------\n\n■ 담당자 한마디\n"
    )


def test_paragraphs_wrap_and_hard_breaks_are_kept() -> None:
    text = render_text(f"{KOREAN}  \n둘째 줄\n셋째 줄은 이어집니다", width=30)
    assert text.splitlines() == [*wrap(KOREAN, 30), "둘째 줄 셋째 줄은 이어집니다"]


def test_lists_with_hanging_indents_and_nesting() -> None:
    source = (
        "9. 첫째 항목은 아주 길어서 다음 줄로 넘어가야 하는 항목입니다\n"
        "10. 둘째\n"
        "    - 중첩된 항목도 길면 자기 들여쓰기에 맞춰 줄을 바꿉니다\n"
        "    - 짧은 항목\n"
    )
    assert render_text(source, width=32) == (
        " 9. 첫째 항목은 아주 길어서 다음\n"
        "    줄로 넘어가야 하는\n"
        "    항목입니다\n"
        "10. 둘째\n"
        "    - 중첩된 항목도 길면 자기\n"
        "      들여쓰기에 맞춰 줄을\n"
        "      바꿉니다\n"
        "    - 짧은 항목\n"
    )


def test_loose_lists_keep_blank_lines_between_items() -> None:
    text = render_text("- 하나\n\n    둘째 문단\n\n- 둘\n")
    assert text == "- 하나\n\n  둘째 문단\n\n- 둘\n"


def test_blockquote_and_code_block() -> None:
    source = "> 인용문 첫 문단\n>\n> 둘째 문단\n\n```\nif a < b and c & d:\n    print('아주 긴 코드 줄은 절대 줄바꿈하지 않습니다 ' * 3)\n```\n"
    text = render_text(source, width=30)
    assert text.startswith("> 인용문 첫 문단\n>\n> 둘째 문단\n\n")
    assert "    if a < b and c & d:\n" in text
    assert "        print('아주 긴 코드 줄은 절대 줄바꿈하지 않습니다 ' * 3)\n" in text


def test_raw_html_pre_keeps_its_text_with_tabs_expanded() -> None:
    root = parse_html_fragment("<pre>a\tb &lt; c\n  d</pre>")
    assert markdown_to_text(root) == "    a   b < c\n      d\n"


def test_indented_code_block_is_decoded() -> None:
    assert render_text("문단\n\n    x = a < b && c\n") == "문단\n\n    x = a < b && c\n"


TABLE = """| 제품 | 판매량 | 비고 |
|:---|---:|:---:|
| 보성 유기농 녹차 | 1,240 | 1위 |
| Earl Grey | 87 | 신제품 |
"""


def _column_starts(line: str, cells: list[str]) -> list[int]:
    starts, position = [], 0
    for cell in cells:
        index = line.index(cell, position)
        starts.append(display_width(line[:index]))
        position = index + len(cell)
    return starts


def test_tables_align_by_display_width() -> None:
    text = render_text(TABLE, width=72)
    lines = text.splitlines()
    assert lines[1] == "----------------  ------  ------"
    first = _column_starts(lines[2], ["보성 유기농 녹차", "1,240", "1위"])
    second = _column_starts(lines[3], ["Earl Grey", "87", "신제품"])
    assert first[0] == second[0] == 0
    # right-aligned numbers end in the same column; centered cells share a centre
    assert first[1] + display_width("1,240") == second[1] + display_width("87")
    assert abs((first[2] * 2 + 3) - (second[2] * 2 + 6)) <= 1


def test_tables_wider_than_the_text_become_records() -> None:
    text = render_text(TABLE, width=20)
    assert text == (
        "제품: 보성 유기농\n  녹차\n판매량: 1,240\n비고: 1위\n\n제품: Earl Grey\n판매량: 87\n비고: 신제품\n"
    )


def test_links_images_and_footnotes() -> None:
    source = (
        "[주문하기](https://shop.example.co.kr/order){: .button } 또는 <https://example.com> 또는\n\n"
        "[메일](mailto:hello@example.co.kr), <hello@example.co.kr>, [위로](#top)\n\n"
        "![찻잎을 덖는 모습](images/tea.png)\n\n"
        "본문에 각주가 있습니다.[^note]\n\n[^note]: 각주는 **끝에** 모입니다.\n"
    )
    text = render_text(source, width=100)
    assert "주문하기 (https://shop.example.co.kr/order) 또는 https://example.com 또는" in text
    assert "메일 (hello@example.co.kr), hello@example.co.kr, 위로" in text
    assert "[이미지: 찻잎을 덖는 모습]" in text
    assert "본문에 각주가 있습니다.[1]" in text
    assert text.endswith("--------------------\n\n[1] 각주는 끝에 모입니다.\n")
    assert "\x02" not in text and "\x03" not in text and "↩" not in text


def test_horizontal_rule_spans_the_width() -> None:
    assert render_text("위\n\n---\n\n아래", width=10) == "위\n\n----------\n\n아래\n"


def test_raw_html_and_entities() -> None:
    source = (
        "A&amp;B &copy; <span style='color:red'>빨간 <b>글씨</b></span>와 1<br>2 \\*별표\\*\n\n"
        '<div align="center">\n<p>가운데 정렬한 <a href="https://example.com/x">HTML</a> 문단</p>\n'
        "<table><tr><th>항목</th><th>값</th></tr><tr><td>택배</td><td>무료</td></tr></table>\n</div>\n"
    )
    text = render_text(source)
    assert text.splitlines()[:2] == ["A&B © 빨간 글씨와 1", "2 *별표*"]
    assert "가운데 정렬한 HTML (https://example.com/x) 문단" in text
    assert "항목  값\n----  ----\n택배  무료" in text


def test_raw_html_list_with_a_bad_start_counts_from_one() -> None:
    assert render_text('<ol start="x"><li>하나</li><li>둘</li></ol>\n') == "1. 하나\n2. 둘\n"


def test_inline_code_spanning_lines_is_not_a_hard_break() -> None:
    assert render_text("명령 `webzine build\nissues/x.md` 실행") == "명령 webzine build issues/x.md 실행\n"


def test_inline_html_with_blocks_keeps_them_on_their_own_lines() -> None:
    assert render_text("앞 <span><p>가운데</p></span> 뒤") == "앞\n가운데\n뒤\n"


def test_the_sample_issue_fits_72_columns() -> None:
    source = (Path(__file__).parents[1] / "issues" / "2026-12-year-end.md").read_text(encoding="utf-8")
    body = source.split("---\n", 2)[2]
    text = render_text(body)
    for line in text.splitlines():
        assert display_width(line) <= 72 or "https://" in line, line
    assert "[이미지: 해 뜨는 아침," in text
    assert "순위  제품" in text


def test_html_fragment_parser_is_forgiving() -> None:
    root = parse_html_fragment("<p>하나<br>둘</b><img alt='x'><script>nope()</script>셋")
    assert ET.tostring(root, encoding="unicode") == '<div><p>하나<br />둘<img alt="x" />셋</p></div>'


def test_merge_sentinels_and_jinja_pass_through() -> None:
    source = "WZSLOT0001X 님, 안녕하세요. {{ recipient.name|josa('은') }} 우수 고객입니다.\n\n[수신거부](WZSLOT0002X)"
    text = render_text(source, width=100)
    assert "WZSLOT0001X 님, 안녕하세요. {{ recipient.name|josa('은') }} 우수 고객입니다." in text
    assert "수신거부 (WZSLOT0002X)" in text


def _tree(source: str) -> tuple[ET.Element, markdown.Markdown, TextExtension]:
    capture = TextExtension()
    md = markdown.Markdown(extensions=[*DEFAULT_EXTENSIONS, capture])
    md.convert(source)
    assert capture.capture is not None and capture.capture.root is not None
    return capture.capture.root, md, capture


def test_markdown_to_text_does_not_modify_the_tree_and_needs_the_stash_for_raw_html() -> None:
    root, md, _ = _tree("코드 `a < b` 와 &copy;\n")
    before = ET.tostring(root, encoding="unicode")
    with_stash = markdown_to_text(root, html_blocks=md.htmlStash.rawHtmlBlocks)
    without = markdown_to_text(root)
    assert with_stash == "코드 a < b 와 ©\n"
    assert without == "코드 a < b 와\n"
    assert ET.tostring(root, encoding="unicode") == before


def test_capture_runs_after_unescaping_and_before_serialising() -> None:
    _, md, capture = _tree("\\[괄호\\] 그리고 \\_밑줄\\_\n")
    assert capture.capture is not None
    assert capture.capture.text() == "[괄호] 그리고 _밑줄_\n"
    assert md.treeprocessors.get_index_for_name("webzine_text") == len(md.treeprocessors) - 1


def test_empty_document() -> None:
    assert render_text("") == ""
    assert render_text("\n\n   \n") == ""
