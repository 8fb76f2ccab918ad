"""The delivered HTML against what mail clients are known to do (caniemail.com data, Outlook for
Windows' Word engine, Gmail's clipping): the call-to-action button, image widths that fit the
content cell, the clipping guard on the bytes as sent, and the smaller layout rules."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import lxml.html
import pytest

from conftest import write_project
from webzine.cli import main
from webzine.config import load_settings
from webzine.render.compose import CONTENT_WIDTH, RenderedIssue
from webzine.send.inputs import build_issue

REPO = Path(__file__).resolve().parent.parent
ISSUE_PATH = "issues/2026-12-year-end.md"
CARD_WIDTH = 600  # the Outlook ghost table around the card (email.html.j2)


def build(project: Path) -> RenderedIssue:
    return build_issue(load_settings(project / "webzine.toml"), project / ISSUE_PATH)


def issue_with(body: str, *, title: str = "12월 소식") -> str:
    return f'---\ntitle: {title}\nsubject: "12월 소식"\ndate: 2026-12-01\n---\n{body}\n'


def document(rendered: RenderedIssue) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(rendered.preview_html)


def _horizontal_padding(style: str) -> int:
    """Left plus right padding of an inline style's `padding` shorthand (1 to 4 values)."""
    found = re.search(r"(?:^|;)\s*padding\s*:\s*([^;]+)", style)
    assert found, f"no padding in {style!r}"
    values = [int(v.removesuffix("px")) for v in found.group(1).split()]
    right = values[1] if len(values) > 1 else values[0]
    left = values[3] if len(values) == 4 else right
    return left + right


# --- 1. the call to action is a bulletproof button ----------------------------------------------


def test_a_button_link_becomes_a_one_cell_table_with_bgcolor(tmp_path: Path) -> None:
    body = "안내드립니다.\n\n[선물 세트 둘러보기](https://shop.example.co.kr/gift){: .button }\n"
    rendered = build(write_project(tmp_path / "p", issue=issue_with(body)))
    page = document(rendered)
    link = page.xpath("//a[contains(@class, 'button')]")[0]
    cell = link.getparent()
    assert cell.tag == "td" and cell.get("bgcolor", "").startswith("#"), "the button's cell carries its colour"
    table = cell.getparent().getparent()
    assert table.tag == "table" and table.get("role") == "presentation"
    assert len(table.xpath(".//td")) == 1
    style = link.get("style", "")
    assert "text-decoration:none" in style.replace(" ", "") and "padding" in style
    assert "mso-padding-alt" in cell.get("style", ""), "Outlook for Windows pads the cell, not the link"
    assert link.getparent().getparent().getparent().getparent().tag != "p"


def test_a_class_no_stylesheet_defines_is_flagged(tmp_path: Path) -> None:
    body = "[둘러보기](https://shop.example.co.kr/){: .buton }\n"
    rendered = build(write_project(tmp_path / "p", issue=issue_with(body)))
    assert "unknown-class" in [f.code for f in rendered.report.warnings]


# --- 3. images fit the content cell Outlook for Windows draws --------------------------------------


def test_image_width_attributes_fit_the_content_cell(tmp_path: Path) -> None:
    rendered = build(write_project(tmp_path / "p"))  # the sample writes {width=560 height=315}
    page = document(rendered)
    content = page.find_class("content")[0]
    style = content.get("style", "")
    cell = CARD_WIDTH - _horizontal_padding(style)
    images = page.xpath("//td[contains(@class, 'content')]//img")
    assert images
    for image in images:
        assert int(image.get("width")) <= cell, f"img width={image.get('width')} in a {cell}px cell"
        assert f"max-width:{image.get('width')}px" in image.get("style", "").replace(" ", "")
    assert images[0].get("height") == str(round(315 * int(images[0].get("width")) / 560))


def test_the_sample_issue_sizes_its_images_for_the_content_cell() -> None:
    """Editors copy the sample: its images must fit the cell as written, not rely on the clamp,
    and keep the picture's own proportions."""
    source = (REPO / ISSUE_PATH).read_text(encoding="utf-8")
    images = re.findall(r'!\[[^\]]*\]\(([^)\s]+)\)\{[^}]*?width="?(\d+)"?[^}]*?height="?(\d+)', source)
    assert images
    for path, width, height in images:
        assert int(width) <= CONTENT_WIDTH, f"{path}: width={width} in a {CONTENT_WIDTH}px cell"
        data = (REPO / "issues" / path).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{path}: the proportion check reads PNG headers only"
        picture_width, picture_height = struct.unpack(">II", data[16:24])  # IHDR, the first chunk
        assert abs(int(height) - picture_height * int(width) / picture_width) <= 1, f"{path}: {width}x{height}"


def test_a_wider_raw_html_image_is_flagged(tmp_path: Path) -> None:
    body = '<img src="https://news.example.co.kr/a.png" alt="사진" width="600" height="300">\n'
    rendered = build(write_project(tmp_path / "p", issue=issue_with(body)))
    assert "img-too-wide" in [f.code for f in rendered.report.warnings]


# --- 2. the clipping guard measures the HTML part as sent -----------------------------------------

_SENTENCES = (
    "올해 4월 첫 주, 하동 악양 골짜기 차밭에 늦서리가 내려 농가 어르신들의 걱정이 무척 컸습니다.",
    "추위를 견디고 살아남은 찻잎은 단맛이 더 깊고 향이 오래 남았습니다.",
    "포장재를 줄이고 택배 상자를 다시 쓰는 방법으로 비용을 아껴 우전 가격을 지난해와 같게 지켰습니다.",
    "부산의 작은 동네 책방 한 곳은 계산대 옆에 한 잔의 차 자리를 만들었습니다.",
    "그 차 한 잔이 참 좋아서 또 한 잔 더 마셨고, 아이도 한 모금 맛을 보았어요.",
    "비 오는 날 그 집 앞 길에 서서 김이 나는 차를 두 손에 쥐고 잠시 쉬었지요.",
)


def korean_issue(words: int) -> str:
    """A plain Korean issue of about `words` words (어절), in paragraphs under section headings."""
    paragraphs, count, n = [], 0, 0
    while count < words:
        sentence = _SENTENCES[n % len(_SENTENCES)]
        paragraphs.append(sentence if n % 6 else f"## 소식 {n // 6 + 1}\n\n{sentence}")
        count += len(sentence.split())
        n += 1
    return issue_with("\n\n".join(paragraphs))


def test_a_7000_word_korean_issue_is_flagged_by_its_size_as_sent(tmp_path: Path) -> None:
    rendered = build(write_project(tmp_path / "p", issue=korean_issue(7000)))
    report = rendered.report
    assert report.html_bytes < 90 * 1024, "the decoded HTML is under the old 90 KB warning: it passed before"
    assert report.html_encoded_bytes > 102 * 1024
    assert "html-too-large" in [f.code for f in report.errors]


def test_a_3000_word_korean_issue_is_not_flagged(tmp_path: Path) -> None:
    report = build(write_project(tmp_path / "p", issue=korean_issue(3000))).report
    assert report.html_encoded_bytes < 90 * 1024
    assert not {"html-large", "html-too-large"} & {f.code for f in report.findings}


def test_webzine_build_prints_the_html_part_as_sent_next_to_gmails_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path / "p")
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) as stopped:
        main(["build", ISSUE_PATH])
    out = capsys.readouterr().out
    assert stopped.value.code in (0, None)
    report = json.loads((project / "build" / "2026-12-year-end" / "report.json").read_text(encoding="utf-8"))
    as_sent = report["sizes"]["preview_html_encoded_bytes"] / 1024
    assert f"  HTML part as sent: {as_sent:.1f} KB (base64); Gmail clips above 102 KB\n" in out
    features = len(report["lint"]["compatibility"])
    assert f"  client support: {features} feature(s) partial or missing in a major client" in out


# --- 4. dark mode where clients recolour on their own ---------------------------------------------


def test_outlook_com_dark_mode_rules_survive_inlining_in_their_own_style_block(tmp_path: Path) -> None:
    html = build(write_project(tmp_path / "p")).html.source
    blocks = re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)
    outlook = [b for b in blocks if "[data-ogsc]" in b]
    assert len(outlook) == 1 and "[data-ogsb]" in outlook[0], "Outlook.com's rules sit in a block of their own"
    assert "prefers-color-scheme" not in outlook[0]
    for selector in (".brand", ".header", ".button"):
        assert selector in outlook[0]


def test_the_masthead_is_dark_text_on_a_light_ground(tmp_path: Path) -> None:
    """Outlook for Windows and Gmail recolour light grounds dark and dark text light; a light
    masthead with dark text is inverted as a pair, white text on a dark ground is not."""
    page = document(build(write_project(tmp_path / "p")))
    header = page.find_class("header")[0]
    ground = re.search(r"background-color:\s*(#[0-9a-fA-F]{3,6})", header.get("style", "")).group(1)
    text = re.search(r"(?:^|;)\s*color:\s*(#[0-9a-fA-F]{3,6})", page.find_class("brand")[0].get("style", "")).group(1)
    assert luminance(ground) > 0.6 and contrast(ground, text) >= 4.5


def hex_rgb(colour: str) -> tuple[int, int, int]:
    digits = colour.lstrip("#")
    digits = "".join(c * 2 for c in digits) if len(digits) == 3 else digits
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def luminance(colour: str | tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance."""
    rgb = hex_rgb(colour) if isinstance(colour, str) else colour
    linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str | tuple[int, int, int], b: str | tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# --- 5. the smaller layout rules ------------------------------------------------------------------


def test_lang_title_footer_separator_and_bgcolor(tmp_path: Path) -> None:
    rendered = build(write_project(tmp_path / "p"))
    page = document(rendered)
    body = page.body
    wrapper = next(e for e in body if e.tag != "div" or "preheader" not in e.get("class", ""))
    assert wrapper.get("lang") == "ko", "webmails drop <html>, so the body's first wrapper carries lang"
    title = page.xpath("//h1")
    assert len(title) == 1 and title[0].text_content().strip() == "한 해를 돌아보며"
    footer = page.find_class("footer")[0]
    assert int(re.search(r"font-size:\s*(\d+)px", footer.get("style", "")).group(1)) >= 13
    separator = page.find_class("sep")
    assert separator and "color:" in separator[0].get("style", "")
    for element in page.iter():
        if isinstance(element.tag, str) and element.get("bgcolor") is not None:
            assert element.tag in ("table", "tr", "td", "th", "body"), f"bgcolor on <{element.tag}>"


def test_blockquotes_draw_on_a_table_cell_and_footnotes_need_no_fragment(tmp_path: Path) -> None:
    body = "> 천천히 와도 괜찮아요.\n\n방상팬[^fan]을 돌렸습니다.\n\n[^fan]: 서리를 막는 큰 선풍기.\n"
    rendered = build(write_project(tmp_path / "p", issue=issue_with(body)))
    page = document(rendered)
    quote = page.xpath("//blockquote")[0]
    cell = quote.getparent()
    assert cell.tag == "td" and "border-left" in cell.get("style", ""), "Outlook for Windows borders table cells only"
    assert not page.xpath("//a[starts-with(@href, '#')]")
    assert "서리를 막는 큰 선풍기" in rendered.preview_html
    assert 'href="#fn:fan"' in rendered.web_html, "the web page keeps its footnote links"


def test_lists_indent_with_margin_which_outlook_for_windows_draws(tmp_path: Path) -> None:
    """caniemail (css-padding): Outlook for Windows pads table cells only; margin it draws."""
    rendered = build(write_project(tmp_path / "p", issue=issue_with("- 하나\n- 둘\n\n1. 첫째\n2. 둘째\n")))
    for listing in document(rendered).xpath("//td[contains(@class, 'content')]//*[self::ul or self::ol]"):
        style = listing.get("style", "").replace(" ", "")
        assert not re.search(r"padding(?:-left)?:(?!0(?:px)?(?:;|$))", style), style
        assert re.search(r"margin:0 0 16px 24px|margin-left:24px", listing.get("style", "")), style


# --- the client-compatibility report from caniemail's data -----------------------------------------


def test_the_build_report_lists_features_major_clients_lack(tmp_path: Path) -> None:
    report = build(write_project(tmp_path / "p")).report
    support = {note.feature: note.clients for note in report.compatibility}
    assert support["css-at-media-prefers-color-scheme"]["Gmail (web)"] == "no"
    assert support["css-padding"]["Outlook for Windows"].startswith("partial: Partial. Only supported on table cells")
    assert "css-border-radius" in support and "Apple Mail (iOS)" not in support["css-border-radius"]


def test_the_compatibility_table_in_the_docs_is_the_demo_issues_report() -> None:
    """docs/clients.md shows what `webzine build` reports on the sample issue; a change to the
    layout or a refresh of caniemail's data must show up there too."""
    settings = load_settings(REPO / "webzine.toml")
    report = build_issue(settings, REPO / ISSUE_PATH).report
    rows = []
    for note in report.compatibility:
        levels = "; ".join(f"{client}: {support.split(':')[0]}" for client, support in note.clients.items())
        rows.append(f"| `{note.feature}` | {levels} |")
    doc = (REPO / "docs" / "clients.md").read_text(encoding="utf-8")
    table = doc.split("On the demo issue (`make demo`)", 1)[1].split("\n## ", 1)[0]
    assert [line for line in table.splitlines() if line.startswith("| `")] == rows


def test_a_page_without_style_or_padding_has_no_such_notes() -> None:
    from webzine.render.lint import compatibility

    page = lxml.html.document_fromstring('<html><body><table><tr><td style="padding:8px">글</td></tr></table></body></html>')
    assert {note.feature for note in compatibility(page)} == set()


def test_the_web_page_styles_the_button_and_the_quote_it_shares_with_the_email(tmp_path: Path) -> None:
    body = "> 인용\n\n[둘러보기](https://shop.example.co.kr/){: .button }\n"
    web = build(write_project(tmp_path / "p", issue=issue_with(body))).web_html
    sheet = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", web, re.DOTALL))
    assert 'class="button-table"' in web and 'class="quote"' in web
    for name in ("button-table", "button-cell", "button", "quote"):
        assert f".{name} " in sheet, f"the web page has no rule for .{name}"
