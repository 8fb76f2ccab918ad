from __future__ import annotations

import json
import re
from pathlib import Path

import cssutils
import jinja2
import lxml.html
import pytest

from conftest import write_project
from webzine.config import load_settings
from webzine.errors import IssueError, TemplateError
from webzine.render.slots import recipient_context
from webzine.models import Recipient
from webzine.render.layout import BUILTIN_TEMPLATES
from webzine.render.compose import RenderedIssue, write_build
from webzine.send.inputs import build_issue
from webzine.tokens import FeedbackLinks

ISSUE_PATH = "issues/2026-12-year-end.md"


def build(project: Path, **kwargs: object) -> RenderedIssue:
    return build_issue(load_settings(project / "webzine.toml"), project / ISSUE_PATH, **kwargs)  # type: ignore[arg-type]


def set_issue(project: Path, text: str) -> None:
    (project / ISSUE_PATH).write_text(text, encoding="utf-8")


def add_template(project: Path, name: str, text: str) -> None:
    path = project / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def front(subject: str = "12월 소식", extra: str = "") -> str:
    return f'---\ntitle: 12월 소식\nsubject: "{subject}"\ndate: 2026-12-01\n{extra}---\n'


def context_for(name: str, **fields: str) -> dict[str, object]:
    recipient = {"email": "a@example.com", "name": name, "adjective": "", "company": "", "manager": "",
                 "consent_at": "", "tags": (), "region": "", **fields}  # fmt: skip
    feedback = FeedbackLinks("https://news.example.co.kr", "secret", "2026-12-year-end", recipient["email"])
    return recipient_context(recipient, None, "https://news.example.co.kr/u/TOKEN", feedback_url=feedback)


# --- inline once, merge many -------------------------------------------------------------------


def test_html_text_and_subject_are_merge_templates_filled_per_recipient(project: Path) -> None:
    rendered = build(project)
    html = rendered.html.render(context_for("이을순"))
    assert "이을순 님, 안녕하세요. 이을순은 올해도" in html
    assert rendered.subject.render(context_for("최")) == "(광고) 최 님께 드리는 12월 소식"
    assert "이을순은 올해도" in rendered.text.render(context_for("이을순"))
    assert rendered.preheader.render(context_for("x")) == "올해 가장 사랑받은 제품과 내년 계획"


def test_values_are_escaped_in_html_but_not_in_text(project: Path) -> None:
    rendered = build(project)
    context = context_for("<b>김&이</b>")
    assert "&lt;b&gt;김&amp;이&lt;/b&gt;" in rendered.html.render(context)
    assert "<b>김&이</b>" in rendered.text.render(context)


def test_only_the_per_recipient_parts_are_slots(project: Path) -> None:
    rendered = build(project)
    static = "".join(s for s in rendered.html.segments if isinstance(s, str))
    assert "premailer" not in static and "<style>" in static and "초록상회 소식지" in static
    sources = [slot.source for slot in rendered.html.slots]
    assert '{{ recipient.name|josa("은") }}' in sources
    assert "{{ unsubscribe_url }}" in sources
    assert all("wzslot" not in source for source in sources)
    assert "wzslot" not in rendered.html.source and "wzslot" not in rendered.text.source


def test_links_with_merge_slots_survive_css_inlining(project: Path) -> None:
    set_issue(project, front() + "[주문](https://shop.example.co.kr/o?who={{ recipient.email|urlencode }}&x=1)\n\n"
              '<a href="https://x.example.com/{{ recipient.name }}/a">raw</a>\n')  # fmt: skip
    rendered = build(project)
    source = rendered.html.source
    assert "%20" not in source and "%7B" not in source.upper()
    assert 'href="https://shop.example.co.kr/o?who={{ recipient.email|urlencode }}&amp;x=1"' in source
    assert 'href="{{ unsubscribe_url }}"' in source
    html = rendered.html.render(context_for("김", email="kim+news@example.com"))
    document = lxml.html.document_fromstring(html)
    hrefs = [a.get("href") for a in document.iter("a")]
    assert "https://shop.example.co.kr/o?who=kim%2Bnews%40example.com&x=1" in hrefs
    assert "https://news.example.co.kr/u/TOKEN" in hrefs


REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("which", ["fixture", "sample"])
def test_every_element_a_stylesheet_rule_matches_has_inline_style(project: Path, which: str) -> None:
    if which == "sample":
        if not (REPO / ISSUE_PATH).exists():
            pytest.skip("the sample publication is not in this checkout")
        project = REPO
    folder = write_build(build(project), project / "build") if which == "fixture" else None
    source = (folder / "email.html").read_text(encoding="utf-8") if folder else build(project).html.source
    document = lxml.html.document_fromstring(source)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES)))
    sheet = cssutils.parseString(environment.get_template("partials/styles.css.j2").render(), validate=False)
    checked = 0
    for rule in sheet.cssRules:
        if rule.type != rule.STYLE_RULE:
            continue  # @media rules stay in <style>
        properties = {p.name for p in rule.style}
        for selector in rule.selectorList:
            for element in document.cssselect(selector.selectorText):
                style = element.get("style", "")
                assert style, f"{selector.selectorText} matched <{element.tag}> but it has no inline style"
                inline = {part.split(":")[0].strip() for part in style.split(";") if ":" in part}
                assert properties <= inline, f"{selector.selectorText}: {properties - inline} not inlined"
                checked += 1
    assert checked > 20
    assert not document.xpath("//link[@rel='stylesheet']")


def test_media_queries_stay_in_style_with_important(project: Path) -> None:
    source = build(project).html.source
    style = re.search(r"<style>(.*?)</style>", source, re.DOTALL)
    assert style is not None
    assert "@media screen and (max-width: 620px)" in style.group(1)
    assert "prefers-color-scheme: dark" in style.group(1)
    assert "!important" in style.group(1)
    assert ".content p {" not in style.group(1)  # plain rules were inlined and removed


def test_email_layout_essentials(project: Path) -> None:
    rendered = build(project)
    source = rendered.html.source
    document = lxml.html.document_fromstring(source)
    assert document.get("lang") == "ko"
    assert document.xpath("//meta[@name='color-scheme']") and document.xpath("//meta[@name='supported-color-schemes']")
    assert "<!--[if mso]><table role=\"presentation\" align=\"center\" width=\"600\"" in source
    assert all(t.get("role") == "presentation" for t in document.xpath("//table[not(ancestor::td[contains(@class,'content')])]"))
    assert "Apple SD Gothic Neo" in source and "Malgun Gothic" in source and "word-break:keep-all" in source
    preheader = document.xpath("//div[@class='preheader']")[0]
    assert "display: none" in preheader.get("style") and preheader.text_content().startswith("올해 가장")
    assert all(img.get("alt") for img in document.iter("img"))
    html = rendered.preview_html
    for text in ("초록상회", "서울특별시 중구 세종대로 1, 3층", "02-123-4567", "hello@example.co.kr", "웹에서 보기", "수신거부",
                 "수신에 동의하신"):  # fmt: skip
        assert text in html
    assert f'href="{rendered.web_url}"' in html


def test_advertising_footer_only_on_advertising_issues(project: Path) -> None:
    assert "광고성 정보" in build(project).preview_html
    set_issue(project, front() + "안녕하세요.\n")
    rendered = build(project)
    assert "광고성 정보" not in rendered.preview_html and "수신거부" in rendered.preview_html


def test_block_tags_on_their_own_lines_wrap_blocks_not_paragraphs(project: Path) -> None:
    set_issue(project, front() + "첫 문단\n\n{% if recipient.company %}\n\n**{{ recipient.company }}** 고객님께\n\n"
              "{% else %}\n\n개인 고객님께\n\n{% endif %}\n\n끝\n")  # fmt: skip
    rendered = build(project)
    assert "<p>{%" not in re.sub(r' style="[^"]*"', "", rendered.html.source)
    with_company = rendered.html.render(context_for("김", company="갑수상사"))
    assert "<strong>갑수상사</strong> 고객님께" in with_company and "개인 고객님께" not in with_company
    assert "개인 고객님께" in rendered.html.render(context_for("김"))
    assert "개인 고객님께" in rendered.text.render(context_for("김"))


def test_manager_block_appears_only_with_a_manager(project: Path) -> None:
    rendered = build(project)
    no_manager = rendered.html.render(context_for("김"))
    assert "담당 <strong>" not in no_manager
    manager = {"id": "m1", "name": "박영업", "email": "young@example.co.kr", "phone": "010-1234-5678", "title": "과장"}
    context = {**context_for("김"), "manager": manager}
    html = rendered.html.render(context)
    assert "담당 <strong>박영업</strong> 과장 · 전화 010-1234-5678" in html
    assert "담당 박영업 과장 · 전화 010-1234-5678 · young@example.co.kr" in rendered.text.render(context)


def test_literal_braces_in_static_text_stay_literal(project: Path) -> None:
    set_issue(project, front() + "`{% raw %}{{ 그대로 }}{% endraw %}` 와 { 중괄호 }\n")
    rendered = build(project)
    assert "{{ 그대로 }}" in rendered.html.render(context_for("김"))
    assert "{ 중괄호 }" in rendered.text.render(context_for("김"))


# --- preview, web page, fields -----------------------------------------------------------------


def test_preview_uses_the_first_list_row_and_its_manager(project: Path) -> None:
    rendered = build(project)
    assert "늘 고마운 김갑수 님, 안녕하세요" in rendered.preview_html
    assert "박영업" in rendered.preview_html
    assert rendered.preview_subject == "(광고) 김갑수 님께 드리는 12월 소식"


def test_preview_can_name_its_sample_recipient(tmp_path: Path) -> None:
    from conftest import CONFIG

    project = write_project(tmp_path, config=CONFIG + '\n[build]\nsample_recipient = "LEE@example.com"\n')
    assert "이을순 님, 안녕하세요" in build(project).preview_html


def test_preview_without_a_list_uses_a_built_in_sample(tmp_path: Path) -> None:
    project = write_project(tmp_path, lists=False)
    rendered = build(project)
    assert "김갑수" in rendered.preview_html and rendered.fields.recipients == 0


def test_recipients_passed_in_replace_the_list(project: Path) -> None:
    people = [Recipient(email="a@x.kr", name="가나다", fields={"region": "제주"}), Recipient(email="b@x.kr")]
    rendered = build(project, recipients=iter(people))
    assert rendered.fields.recipients == 2 and rendered.fields.empty["name"] == 1
    assert "가나다 님" in rendered.preview_html


def test_web_page_carries_no_personal_data(project: Path) -> None:
    rendered = build(project)
    web = rendered.web_html
    for private in ("김갑수", "kim@example.com", "갑수상사", "박영업", "{{", "wzslot"):
        assert private not in web
    assert "고객님, 안녕하세요" in web
    assert "/u/" not in web  # no personal unsubscribe link
    assert '<link rel="canonical" href="https://news.example.co.kr/2026-12-year-end/">' in web


def test_empty_fields_are_counted(project: Path) -> None:
    rendered = build(project)
    assert rendered.fields.used == ("adjective", "company", "email", "name")
    assert dict(rendered.fields.empty) == {"adjective": 2, "company": 2, "email": 0, "name": 1}
    assert rendered.fields.recipients == 3


def test_list_columns_are_merge_fields(project: Path) -> None:
    set_issue(project, front() + "{{ recipient.region|default('지역 미상', true) }}에서 인사드립니다.\n")
    rendered = build(project)
    assert rendered.fields.empty == {"region": 1}
    assert "서울에서 인사드립니다" in rendered.preview_html


# --- errors ------------------------------------------------------------------------------------


def test_misspelt_field_in_the_body_names_field_file_and_line(project: Path) -> None:
    set_issue(project, front() + "안녕하세요.\n\n{{ recipient.nmae }} 님\n")
    with pytest.raises(TemplateError, match=r"2026-12-year-end.md:8: unknown merge field 'recipient.nmae'; "
                                            r"did you mean 'recipient.name'\?"):  # fmt: skip
        build(project)


def test_body_lines_count_from_the_file_even_after_blank_lines(project: Path) -> None:
    set_issue(project, front() + "\n\n안녕하세요.\n\n{{ recipient.nmae }} 님\n")
    with pytest.raises(TemplateError, match=r"2026-12-year-end.md:10: unknown merge field 'recipient.nmae'"):
        build(project)


def test_misspelt_field_in_the_subject_points_at_the_subject_line(project: Path) -> None:
    set_issue(project, front(subject="{{ recipient.compnay }} 소식") + "본문\n")
    with pytest.raises(TemplateError, match=r"year-end.md:3: unknown merge field 'recipient.compnay'"):
        build(project)


def test_jinja_syntax_error_in_the_body(project: Path) -> None:
    set_issue(project, front() + "첫 줄\n{{ recipient.name | }}\n")
    with pytest.raises(TemplateError, match=r"year-end.md:7: .*fix the merge tag"):
        build(project)
    set_issue(project, front() + "첫 줄\n\n{% if recipient.company %}\n회사\n")
    with pytest.raises(TemplateError, match=r"year-end.md:\d+: .*(endif|end of template)"):
        build(project)


def test_unknown_template_lists_the_available_ones(project: Path) -> None:
    set_issue(project, front(extra="template: fancy\n") + "본문\n")
    with pytest.raises(TemplateError, match=r"year-end.md:5: unknown template 'fancy'; available: email\."):
        build(project)


def test_a_project_template_is_used_and_its_syntax_errors_located(project: Path) -> None:
    add_template(project, "plain.html.j2", "<html><body>{{ body }}\n<a href=\"{{ unsubscribe_url }}\">수신거부</a>"
                 "{{ recipient.company|default('고객사') }}</body></html>")  # fmt: skip
    set_issue(project, front(extra="template: plain\n") + "본문\n")
    rendered = build(project)
    assert "{{ recipient.company|default('고객사') }}" in rendered.html.source
    assert "갑수상사" in rendered.preview_html
    add_template(project, "plain.html.j2", "<html>\n{{ body }\n</html>")
    with pytest.raises(TemplateError, match=r"templates/plain.html.j2:2: .*fix the template"):
        build(project)


def test_misspelt_field_in_a_layout_names_the_template_line(project: Path) -> None:
    add_template(project, "plain.html.j2", "<html><body>\n{{ body }}\n{{ recipient.nmae }}</body></html>")
    set_issue(project, front(extra="template: plain\n") + "본문\n")
    with pytest.raises(TemplateError, match=r"plain.html.j2:3: unknown merge field 'recipient.nmae'"):
        build(project)


def test_per_recipient_if_in_a_layout_is_refused_with_the_fix(project: Path) -> None:
    add_template(project, "plain.html.j2", "<html><body>{{ body }}\n{% if recipient.company %}x{% endif %}</body></html>")
    set_issue(project, front(extra="template: plain\n") + "본문\n")
    with pytest.raises(TemplateError, match=r"plain.html.j2:2: 'recipient.company' differs per recipient.*slot_if"):
        build(project)


# --- output folder -----------------------------------------------------------------------------


def test_write_build_writes_every_file(project: Path) -> None:
    rendered = build(project)
    folder = write_build(rendered, project / "build")
    assert sorted(p.name for p in folder.iterdir()) == [
        "email.html", "email.txt", "preview.html", "preview.txt", "report.json", "web.html",
    ]  # fmt: skip
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["empty_fields"] == {"adjective": 2, "company": 2, "email": 0, "name": 1}
    assert report["lint"]["findings"] == [] and report["sizes"]["preview_html_bytes"] > 1000
    assert (folder / "email.html").read_text(encoding="utf-8") == rendered.html.source
    assert not [p for p in (project / "build").iterdir() if p.name.startswith(".")]


def test_a_failed_write_leaves_the_previous_output(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_build(build(project), project / "build")
    (folder / "screenshots").mkdir()
    (folder / "screenshots" / "375.png").write_bytes(b"png")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    set_issue(project, front() + "바뀐 본문\n")
    rendered = build(project)

    def broken(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("webzine.render.compose.replace_dir", broken)
    with pytest.raises(OSError):
        write_build(rendered, project / "build")
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert not [p for p in (project / "build").iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    write_build(rendered, project / "build")
    assert "바뀐 본문" in (folder / "preview.html").read_text(encoding="utf-8")
    assert (folder / "screenshots" / "375.png").read_bytes() == b"png"


def test_local_images_are_published_with_the_issue(project: Path) -> None:
    (project / "issues" / "images").mkdir()
    (project / "issues" / "images" / "tea.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    set_issue(project, front() + "![차밭](images/tea.png){width=536 height=268}\n")
    rendered = build(project)
    assert 'src="https://news.example.co.kr/2026-12-year-end/images/tea.png"' in rendered.html.source
    assert 'src="images/tea.png"' in rendered.preview_html and 'src="images/tea.png"' in rendered.web_html
    assert "width:100%" in rendered.html.source and "max-width:536px" in rendered.html.source
    folder = write_build(rendered, project / "build")
    assert (folder / "images" / "tea.png").read_bytes() == b"\x89PNG\r\n\x1a\n"
    assert rendered.report.ok


def test_a_missing_local_image_stops_the_build_at_its_line(project: Path) -> None:
    set_issue(project, front() + "사진:\n\n![차밭](images/none.png)\n")
    with pytest.raises(IssueError, match=r"year-end.md:8: image 'images/none.png' not found in"):
        build(project)
