"""Issue → `RenderedIssue`: Markdown, layout and CSS inlining once per issue; merge slots left in.

The pipeline of one build:

1. check the issue's own Jinja (body, subject, preheader) for syntax and unknown fields, with the
   editor's file:line;
2. replace its Jinja tags by sentinels, render the Markdown (HTML, and the element tree that the
   plain-text part is written from);
3. render the layouts once, with per-recipient names deferred (`webzine.render.layout`);
4. inline the CSS once (premailer), restore the sentinels and compile the result into
   `MergeTemplate`s, which a send fills per recipient in microseconds;
5. fill the templates once for a sample recipient (preview, lint) and once with neutral text (the
   web-archive page, which must not carry anyone's data).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import jinja2
import markdown
import markdown.postprocessors
import markdown.treeprocessors
from markupsafe import Markup

from webzine.i18n import _
from webzine.render import layout
from webzine.config import Publication, Settings
from webzine.errors import IssueError, TemplateError, where
from webzine.files import replace_dir
from webzine.render.issue import Issue
from webzine.render.korean import register_filters
from webzine.render.layout import BUILTIN_TEMPLATES
from webzine.render.lint import LintReport, lint
from webzine.render.slots import PREVIEW_SECRET, MergeTemplate, compile_merge, feedback_fields, recipient_context
from webzine.render.fields import (
    MANAGER_FIELDS,
    ListSample,
    check_fields,
    field_uses,
    known_fields,
    scan_rows,
    unused_columns,
)
from webzine.render.plain_text import DEFAULT_EXTENSIONS, TextExtension, fill
from webzine.tokens import FEEDBACK_LABELS

_NOT_LOCAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|/)", re.IGNORECASE)  # https:, cid:, data:, //host, /root
TEXT_WIDTH = 72
# The widest image the content cell holds: the 600 px card less the content cell's 32 px padding
# on either side (partials/styles.css.j2). Outlook for Windows sizes images by the width
# attribute alone (Word ignores CSS width), so a wider one overflows the cell there.
CONTENT_WIDTH = 536
_TABLE_ONLY_BGCOLOR = re.compile(r"(<(?!(?:table|tr|td|th|body)\b)[a-z][a-z0-9]*\b[^>]*?)\sbgcolor=\"[^\"]*\"", re.IGNORECASE)
_FOOTNOTE_REF = re.compile(r'<sup id="fnref:[^"]*"><a class="footnote-ref" href="#fn:[^"]*">([^<]*)</a></sup>')
_FOOTNOTE_BACKREF = re.compile(r'(?:&#160;)?<a class="footnote-backref" href="#fnref:[^"]*"[^>]*>[^<]*</a>')
FEEDBACK_CHOICES = tuple(sorted(FEEDBACK_LABELS.items(), reverse=True))  # best first, as readers scan
NEUTRAL_NAME = "고객"  # "고객님", "고객은": reads naturally wherever a name would stand
SAMPLE_RECIPIENT: dict[str, object] = {
    "email": "gapsu.kim@example.com", "name": "김갑수", "adjective": "늘 고마운", "company": "갑수상사",
    "manager": "", "consent_at": "2025-03-02", "tags": (),
}  # fmt: skip


@dataclass(frozen=True)
class FieldReport:
    """Merge fields the issue uses and, per field, how many recipients have it empty."""

    used: tuple[str, ...] = ()
    empty: Mapping[str, int] = field(default_factory=dict)
    recipients: int = 0
    list_source: str = ""
    unused: tuple[str, ...] = ()  # the list's columns nothing reads (`unused_columns`)


@dataclass(frozen=True)
class RenderedIssue:
    """Everything a send needs, built once: merge templates plus the once-filled pages."""

    issue: Issue
    slug: str
    subject: MergeTemplate
    preheader: MergeTemplate
    html: MergeTemplate
    text: MergeTemplate
    web_html: str
    web_url: str
    report: LintReport
    preview_html: str = ""
    preview_text: str = ""
    preview_subject: str = ""
    fields: FieldReport = FieldReport()
    images: tuple[tuple[str, Path], ...] = ()  # local images: (path as written, file)


def web_url(publication: Publication, slug: str) -> str:
    """Where the web-archive copy of an issue lives ("웹에서 보기")."""
    return f"{publication.base_url.rstrip('/')}/{slug}/"


def sender_name(publication: Publication) -> str:
    return parseaddr(publication.sender)[0] or publication.name


def merge_environment(*, html: bool) -> jinja2.Environment:
    """The environment merge slots compile in: strict, escaping for HTML, Korean filters."""
    environment = jinja2.Environment(autoescape=html, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    register_filters(environment)
    return environment


def render_issue(settings: Settings, issue: Issue, *, listing: ListSample,
                 managers: Mapping[str, Mapping[str, object]]) -> RenderedIssue:
    """Render an already-read issue against a list sample and the managers (id → merge fields):
    reads no file of the publication's lists (`webzine.send.inputs.build_issue` reads them for
    `webzine build`), so the send path loads each input once."""
    html_env, text_env = merge_environment(html=True), merge_environment(html=False)
    known = known_fields(listing)
    _check_issue_sources(issue, html_env, known)
    sources = _render_sources(settings, issue, known)

    origin = f"{settings.build.output}/{issue.slug}"
    html = compile_merge(sources.html, html_env, origin=f"{origin}/email.html")
    text = compile_merge(sources.text, text_env, origin=f"{origin}/email.txt")
    subject = compile_merge(issue.subject, text_env, origin=issue.source, first_line=issue.lines.get("subject", 1))
    preheader = compile_merge(
        issue.preheader, text_env, origin=issue.source, first_line=issue.lines.get("preheader", 1)
    )
    title = compile_merge(issue.title, text_env, origin=issue.source, first_line=issue.lines.get("title", 1))
    web = compile_merge(sources.web, html_env, origin=f"{origin}/web.html")

    used = sorted({use.name for source in (sources.html, sources.text, issue.subject) for use in field_uses(source, html_env)})
    scan = scan_rows(listing.rows, used, settings.build.sample_recipient)
    managers = {**managers, **{key: asdict(manager) for key, manager in listing.managers.items()}}
    sample = _sample_context(settings, scan.sample, listing, managers, issue.slug)
    filled_html, preview_text = html.render(sample), text.render(sample)
    headers = {"subject": subject.render(sample), "preheader": preheader.render(sample), "title": title.render(sample)}
    return RenderedIssue(
        issue=issue, slug=issue.slug, subject=subject, preheader=preheader, html=html, text=text,
        web_html=web.render(_neutral_context(settings, known, issue.slug)), web_url=sources.web_url,
        report=lint(filled_html, preview_text, issue, settings.publication, headers=headers,
                    serve_url=settings.unsubscribe.base_url if settings.feedback.enabled else None,
                    css_classes=sources.css_classes, content_width=CONTENT_WIDTH),
        preview_html=_relative_images(filled_html, sources.images, sources.web_url), preview_text=preview_text,
        preview_subject=headers["subject"], fields=FieldReport(tuple(used), scan.empty, scan.total, listing.source,
                                                          unused_columns(listing.columns, [*used, *settings.lists.columns.values()])),
        images=sources.images,
    )  # fmt: skip


@dataclass(frozen=True)
class _Sources:
    """The three merge sources of an issue (Jinja left only where recipients differ)."""

    html: str
    text: str
    web: str
    web_url: str
    images: tuple[tuple[str, Path], ...]
    css_classes: frozenset[str]  # every class the email's stylesheet names (lint: unknown classes)


_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


def _stylesheet_classes(html: str) -> frozenset[str]:
    """Class names the `<style>` blocks of a layout select on, before premailer inlines them."""
    return frozenset(name for block in _STYLE_BLOCK.findall(html) for name in _CLASS_SELECTOR.findall(block))


def _render_sources(settings: Settings, issue: Issue, known: tuple[str, ...]) -> _Sources:
    """Markdown once, each layout once, premailer once; sentinels back to Jinja at the end."""
    table = layout.SentinelTable(issue.body, issue.subject, issue.preheader, issue.title)
    body = _markdown(table.protect(issue.body), table)
    images = _local_images(issue, body.images)
    layouts = _layout_environment(settings)
    html_name, text_name = _template_names(layouts, issue)
    url = web_url(settings.publication, issue.slug)
    context = _layout_context(settings, issue, table, url, known)
    email_body = Markup(_email_footnotes(_absolute_images(body.html, images, url)))
    email = _render(layouts, html_name, {**context, "body": email_body})
    return _Sources(
        html=table.restore(_inline_css(email)),
        text=table.restore(_render(layouts, text_name, {**context, "body": body.text})),
        web=table.restore(_render(layouts, "web.html.j2", {**context, "body": Markup(body.html)})),
        web_url=url,
        images=images,
        css_classes=_stylesheet_classes(email),
    )


def _check_issue_sources(issue: Issue, environment: jinja2.Environment, known: tuple[str, ...]) -> None:
    """Syntax and field errors in what the editor wrote, reported at the editor's lines."""
    sources = [(issue.body, issue.body_line)]
    sources += [(getattr(issue, key), issue.lines.get(key, 1)) for key in ("subject", "preheader", "title")]
    for source, first_line in sources:
        try:
            environment.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            line = first_line + (exc.lineno or 1) - 1
            raise TemplateError(_("{where}: {problem}; fix the merge tag.").format(
                where=where(issue.source, line), problem=_sentence(exc.message))) from None
        check_fields(field_uses(source, environment, first_line=first_line), known, issue.source)


class _Unwrap(markdown.postprocessors.Postprocessor):
    """`{% if %}` on a line of its own becomes `<p>sentinel</p>`; unwrap it so the block tag wraps
    the HTML blocks around it instead of leaving an empty paragraph behind."""

    def __init__(self, md: markdown.Markdown, table: layout.SentinelTable) -> None:
        super().__init__(md)
        word = table.word_pattern.pattern
        self._paragraph = re.compile(rf"<p>\s*((?:{word}\s*)+)</p>")
        self._table = table

    def run(self, text: str) -> str:
        def unwrap(match: re.Match[str]) -> str:
            words = match.group(1).split()
            return "\n".join(words) if all(self._table.is_block(w) for w in words) else match.group(0)

        return self._paragraph.sub(unwrap, text)


class _FluidImages(markdown.treeprocessors.Treeprocessor):
    """An image with a width (`{width=536}`) gets `width:100%; max-width:536px`: Outlook sizes it
    by the attribute, every other client shrinks it with the screen. A bare `max-width:100%`
    is not enough inside a table cell, whose width is itself computed from the image. A width
    above the content cell is clamped to it (the height scaled alike), since Outlook for Windows
    would draw the image wider than its cell."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.local: list[str] = []

    def run(self, root: Element) -> None:
        for image in root.iter("img"):
            source = image.get("src", "")
            if source and not _NOT_LOCAL.match(source):
                self.local.append(source)
            width = (image.get("width") or "").removesuffix("px")
            if width.isdigit() and int(width) > CONTENT_WIDTH:
                height = (image.get("height") or "").removesuffix("px")
                if height.isdigit():
                    image.set("height", str(round(int(height) * CONTENT_WIDTH / int(width))))
                width = str(CONTENT_WIDTH)
                image.set("width", width)
            if width.isdigit():
                fluid = f"width:100%; max-width:{width}px; height:auto"
                image.set("style", f"{fluid}; {image.get('style')}" if image.get("style") else fluid)


class _Buttons(markdown.treeprocessors.Treeprocessor):
    """A paragraph holding only a link marked `{: .button }` becomes a bulletproof button: a
    one-cell table whose cell carries the colour (`bgcolor`, from `.button-cell`) and, for
    Outlook for Windows, which ignores padding on links, `mso-padding-alt`; other clients pad the
    link itself, so the whole button is clickable. Runs after the plain text is captured."""

    def run(self, root: Element) -> None:
        for paragraph in root.iter("p"):
            links = list(paragraph)
            if len(links) != 1 or links[0].tag != "a" or "button" not in links[0].get("class", "").split():
                continue
            if (paragraph.text or "").strip() or (links[0].tail or "").strip():
                continue
            link = links[0]
            link.tail = None
            paragraph.remove(link)
            paragraph.tag = "table"
            paragraph.text = None
            for name, value in (("role", "presentation"), ("class", "button-table"), ("cellpadding", "0"),
                                ("cellspacing", "0"), ("border", "0")):
                paragraph.set(name, value)
            cell = Element("td", {"class": "button-cell", "align": "center"})
            cell.append(link)
            row = Element("tr")
            row.append(cell)
            paragraph.append(row)


class _Quotes(markdown.treeprocessors.Treeprocessor):
    """A blockquote goes into a one-cell table whose cell draws the bar and the ground: Outlook
    for Windows (Word) draws padding, borders and backgrounds only on table cells."""

    def run(self, root: Element) -> None:
        for parent in list(root.iter()):
            for index, child in enumerate(list(parent)):
                if child.tag != "blockquote":
                    continue
                table = Element("table", {"role": "presentation", "class": "quote-table", "width": "100%",
                                          "cellpadding": "0", "cellspacing": "0", "border": "0"})
                row, cell = Element("tr"), Element("td", {"class": "quote"})
                table.append(row)
                row.append(cell)
                table.tail, child.tail = child.tail, None
                parent.remove(child)
                cell.append(child)
                parent.insert(index, table)


@dataclass(frozen=True)
class _Body:
    html: str
    text: str
    images: tuple[str, ...]  # image paths relative to the issue file, as written


def _markdown(source: str, table: layout.SentinelTable) -> _Body:
    """The body as HTML and as plain text, from one Markdown parse."""
    capture = TextExtension()
    md = markdown.Markdown(extensions=[*DEFAULT_EXTENSIONS, capture], output_format="html")
    images = _FluidImages(md)
    md.treeprocessors.register(images, "webzine_fluid_images", 5)
    md.treeprocessors.register(_Buttons(md), "webzine_buttons", -110)
    md.treeprocessors.register(_Quotes(md), "webzine_quotes", -111)
    md.postprocessors.register(_Unwrap(md, table), "webzine_unwrap", 0)
    html = md.convert(source)
    assert capture.capture is not None
    local = tuple(dict.fromkeys(src for src in images.local if not table.word_pattern.search(src)))
    return _Body(html, capture.capture.text(width=TEXT_WIDTH), local)


def _local_images(issue: Issue, images: tuple[str, ...]) -> tuple[tuple[str, Path], ...]:
    """Images the issue keeps next to itself (`images/x.png`): they are published with the web
    archive, so the email links them there. A missing one stops the build at its line."""
    folder = Path(issue.source).parent
    found = []
    for source in images:
        path = (folder / source).resolve()
        if not path.is_file() or folder.resolve() not in path.parents:
            line = next((issue.body_line + i for i, text in enumerate(issue.body.split("\n")) if source in text), None)
            raise IssueError(
                _("{where}: image '{source}' not found in {folder}; put the file there or use an https:// address.")
                .format(where=where(issue.source, line), source=source, folder=folder)
            )
        found.append((source, path))
    return tuple(found)


def _absolute_images(html: str, images: tuple[tuple[str, Path], ...], base: str) -> str:
    """Point local image sources at the web archive copy (mail clients need absolute URLs)."""
    for source, _path in images:
        html = html.replace(f'src="{source}"', f'src="{base}{source}"')
    return html


def _email_footnotes(html: str) -> str:
    """Footnote numbers and back-links as plain text in the email: `#fn:1` links do nothing in
    Samsung Email and Gmail for iOS. The notes stay at the end; the web page keeps the links."""
    return _FOOTNOTE_BACKREF.sub("", _FOOTNOTE_REF.sub(r"<sup>\1</sup>", html))


def _relative_images(html: str, images: tuple[tuple[str, Path], ...], base: str) -> str:
    """The preview sits next to copies of the images; let it show them without a network."""
    for source, _path in images:
        html = html.replace(f'src="{base}{source}"', f'src="{source}"')
    return html


def _layout_environment(settings: Settings) -> jinja2.Environment:
    """Project templates first, then the built-in ones: a publication overrides only what it changes."""
    folders = (settings.path(settings.build.templates).resolve(), BUILTIN_TEMPLATES)
    return _cached_layout_environment(tuple(f for f in dict.fromkeys(folders) if f.is_dir()))


@functools.lru_cache(maxsize=8)
def _cached_layout_environment(folders: tuple[Path, ...]) -> jinja2.Environment:
    """One environment per template folder set, so a long-running process (the preview server,
    the benchmark) compiles each layout once; Jinja re-reads a template whose file changed."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f)) for f in folders])
    environment = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    register_filters(environment)
    environment.filters["fill"] = lambda text, width=TEXT_WIDTH: fill(str(text), width)
    layout.install(environment)
    return environment


def available_templates(environment: jinja2.Environment) -> list[str]:
    names = environment.list_templates(filter_func=lambda n: n.endswith(".html.j2") and "/" not in n)
    return sorted(n.removesuffix(".html.j2") for n in names if n != "web.html.j2")


def _template_names(environment: jinja2.Environment, issue: Issue) -> tuple[str, str]:
    """(HTML layout, text layout) for the issue's `template:`; the text falls back to email's."""
    choices = available_templates(environment)
    if issue.template not in choices:
        raise TemplateError(
            _("{where}: unknown template '{template}'; available: {choices}.").format(
                where=where(issue.source, issue.lines.get("template")), template=issue.template,
                choices=", ".join(choices) or _("none")),
            hint=_("add templates/{template}.html.j2 or pick one of the available templates.").format(
                template=issue.template),
        )
    text = f"{issue.template}.txt.j2"
    listed = environment.list_templates(filter_func=lambda n: n == text)
    return f"{issue.template}.html.j2", (text if listed else "email.txt.j2")


def _render(environment: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        template = environment.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            _("{path}:{line}: {problem}; fix the template.").format(
                path=_display(exc.filename or name), line=exc.lineno, problem=_sentence(exc.message))
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(_("template '{missing}' not found (needed by {name}); add it to templates/.").format(
            missing=exc.name, name=name)) from None
    return layout.render_layout(template, context)


def _sentence(message: str | None) -> str:
    """Jinja's message without its final full stop, so ours can continue the sentence."""
    return (message or "syntax error").rstrip(". ")


def _display(path: str) -> str:
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return path if relative.startswith("..") else relative


def _layout_context(
    settings: Settings, issue: Issue, table: layout.SentinelTable, url: str, known: tuple[str, ...]
) -> dict[str, Any]:
    publication = settings.publication
    return {
        "issue": issue,
        "publication": publication,
        "title": table.protect(issue.title),
        "preheader": table.protect(issue.preheader),
        "advertising": issue.advertising,
        "web_url": url,
        "sender_name": sender_name(publication),
        "date_text": f"{issue.date.year}년 {issue.date.month}월 {issue.date.day}일",
        "feedback": settings.feedback.enabled,
        "feedback_choices": FEEDBACK_CHOICES,
        **layout.deferred_globals(table, known, MANAGER_FIELDS, ("feedback_url",) if settings.feedback.enabled else ()),
    }


def _inline_css(html: str) -> str:
    """premailer once per issue: rules become style attributes; @media blocks stay in <style>.
    premailer writes `bgcolor` wherever a background colour is set; HTML allows it only on
    tables and their cells (and body), so it is dropped from the rest (blockquote, pre, a).
    premailer (with cssutils and requests) is imported here, by the commands that render: 0.15 s
    of start-up the others (`status`, `due`, …) do not pay."""
    from premailer import Premailer

    try:
        inlined = Premailer(
            html,
            disable_validation=True,
            allow_network=False,
            disable_link_rewrites=True,
            remove_classes=False,
            keep_style_tags=False,
            strip_important=False,  # the @media rules left in <style> need their !important
            disable_basic_attributes=["width", "height"],
            cssutils_logging_level=logging.CRITICAL,
        ).transform(pretty_print=False)
    except Exception as exc:  # premailer raises bare lxml/cssutils errors
        raise TemplateError(_("CSS inlining failed: {problem}; check the <style> block of the template.").format(
            problem=exc)) from exc
    return _TABLE_ONLY_BGCOLOR.sub(r"\1", inlined)


def _unsubscribe_preview(settings: Settings) -> str:
    """A believable opt-out link for previews; the real per-recipient one is made at send time."""
    if settings.unsubscribe.base_url:
        return f"{settings.unsubscribe.base_url.rstrip('/')}/preview"
    if settings.unsubscribe.mailto:
        return f"mailto:{settings.unsubscribe.mailto}?subject=unsubscribe"
    return f"{settings.publication.base_url.rstrip('/')}/unsubscribe"


def _sample_context(settings: Settings, row: Mapping[str, object] | None, listing: ListSample,
                    managers: Mapping[str, Mapping[str, object]], slug: str) -> dict[str, object]:
    """The preview recipient: the chosen list row, or 김갑수 when there is no list."""
    fields: dict[str, object] = {name: "" for name in known_fields(listing)}
    fields.update(row if row is not None else SAMPLE_RECIPIENT)
    manager = managers.get(str(fields.get("manager", "")))
    return recipient_context(fields, manager, _unsubscribe_preview(settings),
                             **feedback_fields(settings, slug, PREVIEW_SECRET, str(fields.get("email", ""))))


def _neutral_context(settings: Settings, known: tuple[str, ...], slug: str) -> dict[str, object]:
    """What the web-archive copy shows where a recipient's data would be."""
    fields: dict[str, object] = {name: "" for name in known}
    fields.update(name=NEUTRAL_NAME, tags=())
    return recipient_context(fields, None, _unsubscribe_preview(settings),
                             **feedback_fields(settings, slug, PREVIEW_SECRET, ""))


def report_data(rendered: RenderedIssue) -> dict[str, Any]:
    """report.json: sizes, merge fields, lint findings."""
    return {
        "slug": rendered.slug,
        "source": rendered.issue.source,
        "template": rendered.issue.template,
        "web_url": rendered.web_url,
        "subject": rendered.issue.subject,
        "advertising": rendered.issue.advertising,
        "sizes": {
            "email_html_bytes": len(rendered.html.source.encode("utf-8")),
            "preview_html_bytes": len(rendered.preview_html.encode("utf-8")),
            "preview_html_encoded_bytes": rendered.report.html_encoded_bytes,  # as sent (base64)
            "email_txt_bytes": len(rendered.preview_text.encode("utf-8")),
            "web_html_bytes": len(rendered.web_html.encode("utf-8")),
            "merge_slots": len(rendered.html.slots),
        },
        "merge_fields": list(rendered.fields.used),
        "empty_fields": dict(rendered.fields.empty),
        "recipients_counted": rendered.fields.recipients,
        "list": _display(rendered.fields.list_source) if rendered.fields.list_source else "",
        "lint": rendered.report.model_dump(mode="json"),
    }


def write_build(rendered: RenderedIssue, out_dir: str | Path) -> Path:
    """Write `out_dir/<slug>/` all at once: files go to a temp folder beside it that is then
    swapped in, so a failed or interrupted build leaves the previous output as it was."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / rendered.slug
    staging = out_dir / f".{rendered.slug}.{os.getpid()}.{secrets.token_hex(4)}"
    staging.mkdir()  # unlike mkdtemp, honours the umask: the build stays readable like any output
    try:
        files = {
            "email.html": rendered.html.source,
            "preview.html": rendered.preview_html,
            "email.txt": rendered.text.source,
            "preview.txt": rendered.preview_text,
            "web.html": rendered.web_html,
            "report.json": json.dumps(report_data(rendered), ensure_ascii=False, indent=2) + "\n",
        }
        for name, content in files.items():
            (staging / name).write_text(content, encoding="utf-8")
        for source, path in rendered.images:
            (staging / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / source)
        _carry_over(final, staging)
        replace_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _carry_over(previous: Path, staging: Path) -> None:
    """Keep what other steps put next to the build (browser screenshots, `webzine report`'s
    report.html) until they rerun."""
    screenshots = previous / "screenshots"
    if screenshots.is_dir():
        shutil.copytree(screenshots, staging / "screenshots")
    report = previous / "report.html"
    if report.is_file():
        shutil.copyfile(report, staging / "report.html")
