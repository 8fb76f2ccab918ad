from __future__ import annotations

from datetime import date

import pytest
from conftest import PUBLICATION as PUBLICATION_KEYS
from hypothesis import given, settings
from hypothesis import strategies as st

from webzine.config import Publication
from webzine.i18n import activate
from webzine.render.issue import Issue
from webzine.render.lint import encoded_size, lint
from webzine.message.encoding import base64_lines

PUBLICATION = Publication(**PUBLICATION_KEYS)
ADDRESS, PHONE, EMAIL = PUBLICATION.postal_address, PUBLICATION.phone, PUBLICATION.reply_to
FOOTER = (
    f'<p>초록상회 · {ADDRESS} · 전화 {PHONE} · {EMAIL}</p>'
    '<p>더 이상 받기를 원하지 않으시면 <a href="https://news.example.co.kr/u/t">수신거부</a>를 눌러 주세요.</p>'
)
TEXT = f"초록상회 · {ADDRESS}\n전화 {PHONE} · {EMAIL}\n수신거부: https://u/t\n"


def issue(subject: str = "(광고) 12월 소식", *, advertising: bool = True, body: str = "") -> Issue:
    return Issue(title="t", subject=subject, date=date(2026, 12, 1), advertising=advertising, body=body,
                 body_line=6, source="issues/x.md", lines={"subject": 3})  # fmt: skip


def page(content: str, *, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{content}{FOOTER}</body></html>"


def codes(report: object) -> list[str]:
    return [f.code for f in report.findings]  # type: ignore[attr-defined]


def test_a_clean_advertising_issue_passes() -> None:
    report = lint(page("<p>안녕하세요</p>"), TEXT, issue(), PUBLICATION)
    assert report.findings == () and report.ok


@pytest.mark.parametrize(
    ("size", "expected", "ok"),  # UTF-8 bytes; as sent (base64, 76-character lines) they are 78/57 as many
    [(65 * 1024, [], True), (67 * 1024, ["html-large"], True), (74 * 1024, ["html-too-large"], False)],
)
def test_html_size_limits_apply_to_the_part_as_sent(size: int, expected: list[str], ok: bool) -> None:
    html = page("<p>" + "가" * 10 + "</p>")
    html = html.replace("<p>가", "<p>" + "x" * (size - len(html.encode("utf-8"))) + "가")
    report = lint(html, TEXT, issue(), PUBLICATION)
    assert codes(report) == expected and report.ok is ok
    assert report.html_bytes == size
    assert report.html_encoded_bytes == len(base64_lines(html.encode("utf-8")))


@settings(max_examples=300)
@given(st.binary(max_size=1000) | st.integers(min_value=0, max_value=5000).map(bytes))
def test_the_encoded_size_is_what_the_message_writes(data: bytes) -> None:
    """Lint counts the HTML part's size without the message stage: the same number of bytes."""
    assert encoded_size(len(data)) == len(base64_lines(data))


def test_size_counts_utf8_bytes_not_characters() -> None:
    html = page("<p>" + "가" * 23_000 + "</p>")  # 23,000 characters, 69,000 bytes, 92.6 KB as sent
    assert codes(lint(html, TEXT, issue(), PUBLICATION)) == ["html-large"]


def test_a_large_style_block_warns() -> None:
    style = "<style>@media (max-width:600px){" + ".a{color:red}" * 1300 + "}</style>"
    report = lint(page("<p>x</p>", head=style), TEXT, issue(), PUBLICATION)
    assert codes(report) == ["style-too-large"] and report.style_bytes > 16 * 1024


def test_images_need_alt_text_and_width() -> None:
    body = "![](https://x/a.png)\n\n사진\n"
    report = lint(page('<img src="https://x/a.png"><img src="https://x/b.png" alt="b" width="10">'), TEXT,
                  issue(body=body), PUBLICATION)  # fmt: skip
    assert codes(report) == ["img-no-alt", "img-no-width"]
    assert report.findings[0].level == "error" and report.findings[0].line == 6
    report = lint(page('<img src="https://x/c.png" alt=" " width="10">'), TEXT, issue(), PUBLICATION)
    assert codes(report) == ["img-empty-alt"] and report.ok
    report = lint(page('<img src="images/c.png" alt="c" width="10">'), TEXT, issue(), PUBLICATION)
    assert codes(report) == ["img-not-absolute"] and not report.ok


def test_links_without_href_or_with_javascript_fail_and_http_warns() -> None:
    html = page('<a>없음</a><a href="javascript:alert(1)">js</a><a href="http://x.example.com/">평문</a>')
    report = lint(html, TEXT, issue(), PUBLICATION)
    assert codes(report) == ["link-no-href", "link-javascript", "link-http"]
    assert [f.level for f in report.findings] == ["error", "error", "warning"]


def test_a_missing_unsubscribe_link_is_an_error() -> None:
    html = page("<p>x</p>").replace('<a href="https://news.example.co.kr/u/t">수신거부</a>', "수신거부")
    report = lint(html, TEXT, issue(advertising=False), PUBLICATION)
    assert codes(report) == ["no-unsubscribe"] and not report.ok


def test_hidden_text_beyond_the_preheader_warns() -> None:
    preheader = '<div class="preheader" style="display:none">미리보기&#847;&zwnj;</div>'
    hidden = '<span style="font-size:0">숨은 키워드</span><div style="display: none"><b>또</b></div>'
    assert codes(lint(page(preheader + "<p>x</p>"), TEXT, issue(), PUBLICATION)) == []
    report = lint(page(preheader + hidden), TEXT, issue(), PUBLICATION)
    assert codes(report) == ["hidden-text", "hidden-text"] and report.ok
    empty_spacer = '<div style="display:none">&#847;&zwnj;&nbsp;</div>'
    assert codes(lint(page(empty_spacer), TEXT, issue(), PUBLICATION)) == []


@pytest.mark.parametrize(
    "subject",
    ["[광고] 12월 소식", "( 광고 ) 12월 소식", "(광고 ) 12월 소식", "광고) 12월", "<광고> 12월", "（광고） 12월", "12월 소식 (광고)"],  # fmt: skip
)
def test_advertising_subject_must_start_with_exactly_the_prefix(subject: str) -> None:
    report = lint(page("<p>x</p>"), TEXT, issue(subject), PUBLICATION)
    assert codes(report) == ["ad-subject"]
    assert report.findings[0].line == 3 and "exactly '(광고)'" in report.findings[0].message


def test_advertising_subject_prefix_is_accepted_with_or_without_space() -> None:
    for subject in ("(광고) 소식", "(광고)소식", "(광고){{ recipient.name }} 님"):
        assert lint(page("<p>x</p>"), TEXT, issue(subject), PUBLICATION).ok


def test_non_advertising_issues_skip_the_advertising_rules() -> None:
    assert lint(page("<p>x</p>"), "", issue("12월 소식", advertising=False), PUBLICATION).ok


@pytest.mark.parametrize(
    ("missing", "label"),
    [("초록상회 · ", "sender name"), (PHONE, "phone"), (EMAIL, "email"), (ADDRESS, "postal address")],
)
def test_advertising_needs_sender_details_in_html_and_text(missing: str, label: str) -> None:
    html = page("<p>x</p>").replace(missing, "")
    text = TEXT.replace(missing, "")
    report = lint(html, text, issue(), PUBLICATION)
    messages = [f.message for f in report.findings if f.code == "ad-sender-info"]
    assert len(messages) == 2 and all(label in m for m in messages)
    assert "HTML" in messages[0] and "text" in messages[1]


def test_phone_numbers_match_by_digits() -> None:
    html = page("<p>x</p>").replace(PHONE, PHONE.replace("-", ")", 1))
    assert lint(html, TEXT.replace(PHONE, PHONE.replace("-", " ")), issue(), PUBLICATION).ok


def test_advertising_needs_opt_out_instructions_in_both_parts() -> None:
    html = page("<p>x</p>").replace("더 이상 받기를 원하지 않으시면 ", "").replace(">수신거부<", ">그만 받기<")
    report = lint(html, f"초록상회 {ADDRESS} {PHONE} {EMAIL}", issue(), PUBLICATION)
    assert codes(report) == ["no-unsubscribe", "ad-opt-out-text", "ad-opt-out-text"]


def test_lint_findings_in_korean() -> None:
    activate("ko")
    html = page('<img src="https://x/a.png" width="10"><a href="http://x.example.com/">평문</a>').replace("전화 ", "")
    report = lint(html, TEXT.replace("수신거부: https://u/t", "https://u/t"), issue("광고 12월 소식"), PUBLICATION)
    assert [(f.code, f.message) for f in report.findings] == [
        ("img-no-alt", "이미지 'https://x/a.png'에 대체 텍스트가 없습니다. 이미지를 끈 독자나 화면 낭독기 사용자도 "
                       "내용을 알 수 있도록 ![설명](…)을 쓰세요"),
        ("link-http", "링크 'http://x.example.com/'은(는) HTTPS가 아닙니다. 메일 프로그램이 경고하고 중간에서 "
                      "내용을 엿볼 수 있습니다"),
        ("ad-subject", "광고성 호의 제목은 정확히 '(광고)'로 시작해야 하는데 '광고'(으)로 시작합니다. "
                       "subject: \"(광고) …\"처럼 쓰세요"),
        ("ad-opt-out-text", "텍스트 부분에 수신거부 방법 안내가 없습니다. 광고성 메일에는 반드시 있어야 합니다"),
    ]
