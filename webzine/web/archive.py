"""The web archive: every issue as a static page, an index, an Atom feed and a sitemap.

The pages come from each issue's `web_html`, which the build fills with neutral text (no reader's
name, address or company); here they are made fit for publishing:

- every link inside the archive is relative (`../`, `../feed.xml`, `images/x.png`), so the same
  files work at `https://news.example.co.kr/` and under GitHub Pages' `/<repository>/`; only the
  canonical URL, the feed and the sitemap use `base_url`, which must be absolute by their specs;
- an unsubscribe link (a publication's own web template may carry one) becomes a subscribe link:
  a web reader has nothing to unsubscribe from;
- the images an issue refers to are copied next to its page, so `site/<slug>/` is `web_url`.

`build_archive` renders everything in memory; `write_archive` writes it to a temporary folder
beside the target and swaps it in, so a failed run leaves the published site as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import jinja2
import lxml.html

from webzine.config import Settings
from webzine.errors import IssueError, TemplateError, where
from webzine.i18n import _
from webzine.files import replace_dir
from webzine.render.issue import Issue, load_issue
from webzine.render.slots import Personaliser, compile_merge, recipient_context
from webzine.audit.fields import read_list_sample
from webzine.render.fields import RECIPIENT_FIELDS, field_uses
from webzine.message.factory import unsubscribe_base
from webzine.models import Recipient
from webzine.render.compose import BUILTIN_TEMPLATES, NEUTRAL_NAME, merge_environment, sender_name
from webzine.send.inputs import build_issue

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
KST = "+09:00"  # issue dates are Korean calendar days
INDEX_TEMPLATE = "archive/index.html.j2"
_NAV_STYLE = (
    ".archive-nav { max-width: 680px; margin: 0 auto; padding: 16px 20px; display: flex; flex-wrap: wrap;"
    " gap: 8px 20px; justify-content: space-between; font-size: 15px; }"
    " .archive-nav a { color: var(--accent, #1f6b46); }"
)


@dataclass(frozen=True)
class ArchivedIssue:
    """One issue as the archive publishes it."""

    slug: str
    source: str  # the issue file
    title: str
    date: date
    label: str  # "2026년 12월호"
    summary: str
    web_url: str
    page: str  # site/<slug>/index.html
    article: str  # the article's HTML with absolute links, for the feed
    assets: tuple[tuple[Path, str], ...]  # (file in the project, path inside site/)


@dataclass(frozen=True)
class Archive:
    issues: tuple[ArchivedIssue, ...]  # newest first
    files: Mapping[str, str]  # path inside site/ → text
    held_back: tuple[tuple[Path, str], ...] = ()


def issue_files(settings: Settings) -> list[Path]:
    """The issues to publish: `*.md` in [build] issues; a name starting with `_` is a draft."""
    folder = settings.path(settings.build.issues)
    if not folder.is_dir():
        raise IssueError(_("{folder}: no such folder; check [build] issues in webzine.toml.").format(folder=folder))
    found = sorted(p for p in folder.glob("*.md") if p.is_file() and not p.name.startswith(("_", ".")))
    return [_relative_to_cwd(path) for path in found]


def _relative_to_cwd(path: Path) -> Path:
    """`issues/x.md` rather than an absolute path, so messages read like the editor's own view."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def month_label(day: date) -> str:
    return f"{day.year}년 {day.month}월호"


@dataclass(frozen=True)
class Selection:
    publish: list[tuple[Path, Issue]]
    held_back: list[tuple[Path, str]]  # (file, why): drafts and issues dated after today


def select_issues(settings: Settings, *, today: date, include_drafts: bool = False) -> Selection:
    """The issues to publish as of `today`: drafts (`draft: true`) and future-dated issues stay
    private unless `include_drafts` (a private preview)."""
    publish, held = [], []
    for path in issue_files(settings):
        issue = load_issue(path)
        why = "draft: true" if issue.draft else (f"dated {issue.date.isoformat()}, after today" if issue.date > today else "")
        if why and not include_drafts:
            held.append((path, why))
        else:
            publish.append((path, issue))
    return Selection(publish, held)


def build_archive(settings: Settings, *, today: date, include_drafts: bool = False) -> Archive:
    """Render every published issue and the index, feed and sitemap (nothing is written)."""
    selection = select_issues(settings, today=today, include_drafts=include_drafts)
    if not selection.publish:
        folder = settings.path(settings.build.issues)
        text = (_("{folder}: no issues to publish (*.md) ({held} held back as drafts or future-dated).")
                if selection.held_back else _("{folder}: no issues to publish (*.md)."))
        raise IssueError(text.format(folder=folder, held=len(selection.held_back)), hint=_("webzine new TITLE starts one."))
    issues = sorted((archive_issue(settings, path, issue) for path, issue in selection.publish),
                    key=lambda i: (i.date, i.slug), reverse=True)
    _check_unique(issues)
    files: dict[str, str] = {".nojekyll": ""}  # GitHub Pages: serve the files as they are
    for index, item in enumerate(issues):
        newer = issues[index - 1] if index > 0 else None
        older = issues[index + 1] if index + 1 < len(issues) else None
        files[f"{item.slug}/index.html"] = _with_navigation(item.page, newer, older)
    files["index.html"] = render_index(settings, issues)
    files["feed.xml"] = atom_feed(settings, issues)
    files["sitemap.xml"] = sitemap(settings, issues)
    return Archive(tuple(issues), files, tuple(selection.held_back))


def archive_issue(settings: Settings, path: Path, issue: Issue) -> ArchivedIssue:
    """One issue's public page, built from the neutral `web_html`."""
    rendered = build_issue(settings, path, recipients=_stand_in(settings, issue))
    neutral = _neutral_context()
    title = _neutral_text(issue.title, issue, "title", neutral)
    summary = issue.summary or _neutral_text(issue.preheader, issue, "preheader", neutral)
    document = lxml.html.document_fromstring(rendered.web_html)
    _relative_links(document, settings, rendered.web_url)
    assets = _assets(document, issue, path, settings)
    head = document.find("head")
    if head is not None:
        head.append(lxml.html.Element("link", rel="alternate", type="application/atom+xml", href="../feed.xml"))
        style = lxml.html.Element("style")
        style.text = _NAV_STYLE
        head.append(style)
    page = lxml.html.tostring(document, doctype="<!DOCTYPE html>", encoding="unicode")
    return ArchivedIssue(
        slug=rendered.slug, source=issue.source, title=title, date=issue.date, label=month_label(issue.date), summary=summary,
        web_url=rendered.web_url, page=page, article=_article(page, rendered.web_url), assets=assets,
    )  # fmt: skip


def _stand_in(settings: Settings, issue: Issue) -> list[Recipient] | None:
    """One stand-in recipient for the build's merge-field check, so publishing costs the same for
    60 subscribers or 100,000 (the build would otherwise scan every row for empty fields, which
    the archive does not show). With the subscriber list present it has the list's columns, so an
    unknown field is still an error; without it (a CI checkout that keeps customer data out of the
    repository) it has every field the issue names — `webzine build` and `send` check those
    against the real list."""
    path = settings.path(settings.lists.subscribers)
    if path.is_file():
        names = set(read_list_sample(path, settings.lists.columns).columns) - set(RECIPIENT_FIELDS)
    else:
        environment = merge_environment(html=True)
        names = set()
        for source in (issue.body, issue.subject, issue.preheader, issue.title):
            try:
                names.update(use.name for use in field_uses(source, environment))
            except jinja2.TemplateSyntaxError:
                return None  # the build reports it with the editor's line
    return [Recipient(email="reader@example.invalid", fields={name: "" for name in sorted(names)})]


def _neutral_context() -> dict[str, object]:
    class Blank(dict):  # any list column reads as empty, the name as "고객"
        def __missing__(self, key: str) -> str:
            return ""

    return recipient_context(Blank(name=NEUTRAL_NAME, tags=()), None, "")


def _neutral_text(source: str, issue: Issue, key: str, context: Mapping[str, object]) -> str:
    """Front matter text (which may hold merge tags) as nobody in particular would read it."""
    template = compile_merge(source, merge_environment(html=False), origin=issue.source, first_line=issue.lines.get(key, 1))
    personaliser = Personaliser((template,))
    return " ".join(personaliser.render(template, personaliser.fill(context)).split())


def _relative_links(document: lxml.html.HtmlElement, settings: Settings, own_url: str) -> None:
    """Links and images under `base_url` become relative to `site/<slug>/` (the build may make
    an issue's own images absolute for mail clients); unsubscribe links become a subscribe link
    to the index."""
    base = settings.publication.base_url.rstrip("/")
    for element in document.iter("a", "img", "source"):
        attribute = "href" if element.tag == "a" else "src"
        value = (element.get(attribute) or "").strip()
        if element.tag == "a" and _is_unsubscribe(value, settings):
            element.set("href", "../#subscribe")
            element.text = "소식지 구독하기"
            for child in list(element):
                element.remove(child)
        elif value == own_url:
            element.set(attribute, "./")
        elif value.startswith(own_url):
            element.set(attribute, value[len(own_url) :])
        elif value == base or value.startswith(base + "/"):
            element.set(attribute, "../" + value[len(base) :].lstrip("/"))


def _is_unsubscribe(href: str, settings: Settings) -> bool:
    """The opt-out link in any form a template can produce (one-click URL, mailto, the preview
    placeholder the neutral rendering uses)."""
    one_click = unsubscribe_base(settings).rstrip("/")
    fallback = f"{settings.publication.base_url.rstrip('/')}/unsubscribe"
    mailto = settings.unsubscribe.mailto
    return (
        href in (one_click, fallback)
        or href.startswith((one_click + "/", fallback + "/"))
        or bool(mailto) and href.lower().startswith(f"mailto:{mailto.lower()}")
    )


def _assets(document: lxml.html.HtmlElement, issue: Issue, path: Path, settings: Settings) -> tuple[tuple[Path, str], ...]:
    """Files the page refers to by a relative URL (images, attachments), to copy beside it."""
    folder, root = path.resolve().parent, settings.root.resolve()
    found: dict[str, Path] = {}
    for element, attribute in _local_references(document):
        reference = element.get(attribute, "").split("#")[0].split("?")[0]
        if reference.startswith("/"):
            raise IssueError(_("{place}: '{reference}' starts with '/', which breaks when the archive is served from a "
                               "sub-folder; write it relative to the issue file.").format(
                place=where(issue.source, _line_of(issue, reference)), reference=reference))
        source = (folder / reference).resolve()
        target = PurePosixPath(issue.slug, reference)
        if not source.is_relative_to(root) or ".." in PurePosixPath(os.path.normpath(target)).parts:
            raise IssueError(_("{place}: '{reference}' points outside the project; keep images next to the issue "
                               "(e.g. issues/images/).").format(place=where(issue.source, _line_of(issue, reference)),
                                                                 reference=reference))
        if not source.is_file():
            if element.tag == "a":
                continue  # a relative page link, not a file of ours
            raise IssueError(_("{place}: image '{reference}' not found (looked for {source}); add the file or fix the "
                               "path.").format(place=where(issue.source, _line_of(issue, reference)), reference=reference,
                                               source=source))
        found[os.path.normpath(target)] = source
    return tuple((source, target) for target, source in sorted(found.items()))


def _local_references(document: lxml.html.HtmlElement) -> list[tuple[lxml.html.HtmlElement, str]]:
    references = []
    for element in document.iter("img", "source", "video", "audio", "a"):
        attribute = "href" if element.tag == "a" else "src"
        value = (element.get(attribute) or "").strip()
        if value and not urlsplit(value).scheme and not value.startswith(("#", "//", "../", "./")) and value != "./":
            references.append((element, attribute))
    return references


def _line_of(issue: Issue, needle: str) -> int | None:
    for offset, line in enumerate(issue.body.split("\n")):
        if needle in line:
            return issue.body_line + offset
    return None


def _article(page: str, web_url: str) -> str:
    """The article's HTML with absolute links: feed readers have no page to resolve them against."""
    document = lxml.html.document_fromstring(page)
    document.make_links_absolute(web_url, resolve_base_href=False)
    found = document.find(".//article")
    if found is None:
        found = document.find(".//main") if document.find(".//main") is not None else document.find("body")
    assert found is not None
    inner = (found.text or "") + "".join(lxml.html.tostring(child, encoding="unicode") for child in found)
    return inner.strip()


def _with_navigation(page: str, newer: ArchivedIssue | None, older: ArchivedIssue | None) -> str:
    """Links to the index and to the neighbouring issues, after the article."""
    links = ['<a href="../">← 지난 호 모두 보기</a>']
    if older is not None:
        links.append(f'<a href="../{older.slug}/" rel="prev">이전 호: {_escape(older.title)}</a>')
    if newer is not None:
        links.append(f'<a href="../{newer.slug}/" rel="next">다음 호: {_escape(newer.title)}</a>')
    nav = f'<nav class="archive-nav" aria-label="지난 호">{"".join(links)}</nav>'
    marker = "</main>"
    return page.replace(marker, marker + nav, 1) if marker in page else page.replace("</body>", nav + "</body>", 1)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _check_unique(issues: list[ArchivedIssue]) -> None:
    seen: dict[str, str] = {}
    for item in issues:
        if item.slug in seen:
            raise IssueError(_("{first} and {second} both use the slug '{slug}'; give one of them its own slug: "
                               "line.").format(first=item.source, second=seen[item.slug], slug=item.slug))
        seen[item.slug] = item.source


def render_index(settings: Settings, issues: list[ArchivedIssue]) -> str:
    folders = [settings.path(settings.build.templates), BUILTIN_TEMPLATES]
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f)) for f in dict.fromkeys(folders) if f.is_dir()])
    environment = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    publication = settings.publication
    try:
        template = environment.get_template(INDEX_TEMPLATE)
        return template.render(
            publication=publication, sender_name=sender_name(publication), base_url=publication.base_url.rstrip("/"),
            subscribe_href=f"mailto:{publication.contact_email}?subject={quote('소식지 구독 신청')}",
            issues=[{"title": i.title, "label": i.label, "summary": i.summary, "date": i.date.isoformat(),
                     "href": f"{i.slug}/"} for i in issues],
        )  # fmt: skip
    except jinja2.TemplateNotFound:
        raise TemplateError(_("templates/{name} not found; restore it from the webzine repository.").format(
            name=INDEX_TEMPLATE)) from None
    except jinja2.TemplateError as exc:
        line = f":{exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
        raise TemplateError(_("{place}: {reason}; fix the template.").format(
            place=f"templates/{INDEX_TEMPLATE}{line}", reason=exc.message)) from None


def _timestamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00{KST}"


def atom_feed(settings: Settings, issues: list[ArchivedIssue]) -> str:
    """RFC 4287 Atom: ids and links are the issues' `web_url`s, dates their issue dates, so the
    feed is the same however often it is rebuilt."""
    base = settings.publication.base_url.rstrip("/")
    ElementTree.register_namespace("", ATOM)

    def sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        element.text = text
        return element

    feed = ElementTree.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": settings.publication.language})
    sub(feed, "title", settings.publication.name)
    sub(feed, "id", f"{base}/")
    sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/")
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/feed.xml")
    sub(feed, "updated", _timestamp(issues[0].date))
    author = sub(feed, "author")
    sub(author, "name", sender_name(settings.publication))
    sub(feed, "generator", "webzine")
    for item in issues:
        entry = sub(feed, "entry")
        sub(entry, "title", item.title)
        sub(entry, "id", item.web_url)
        sub(entry, "link", rel="alternate", type="text/html", href=item.web_url)
        sub(entry, "published", _timestamp(item.date))
        sub(entry, "updated", _timestamp(item.date))
        if item.summary:
            sub(entry, "summary", item.summary)
        sub(entry, "content", item.article, type="html")
    ElementTree.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(feed, encoding="unicode") + "\n"


def sitemap(settings: Settings, issues: list[ArchivedIssue]) -> str:
    base = settings.publication.base_url.rstrip("/")
    ElementTree.register_namespace("", SITEMAP)
    urlset = ElementTree.Element(f"{{{SITEMAP}}}urlset")
    for location, day in [(f"{base}/", issues[0].date), *((item.web_url, item.date) for item in issues)]:
        url = ElementTree.SubElement(urlset, f"{{{SITEMAP}}}url")
        ElementTree.SubElement(url, f"{{{SITEMAP}}}loc").text = location
        ElementTree.SubElement(url, f"{{{SITEMAP}}}lastmod").text = day.isoformat()
    ElementTree.indent(urlset)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(urlset, encoding="unicode") + "\n"


def write_archive(archive: Archive, out: str | Path) -> Path:
    """Write the site to a temporary folder beside `out`, then swap it in."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would make the published folder unreadable
        for relative, text in archive.files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        for item in archive.issues:
            for source, relative in item.assets:
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
