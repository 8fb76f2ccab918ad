"""`webzine build ISSUE` and `webzine new TITLE`: the editor's two everyday commands."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click
import jinja2
from rich.console import Console
from rich.markup import escape

from webzine.i18n import _
from webzine.cli.help import command, option
from webzine.cli import Context, column_option, pass_context
from webzine.clock import parse_day
from webzine.errors import IssueError, TemplateError
from webzine.files import create_new
from webzine.render.issue import slugify
from webzine.render.layout import BUILTIN_TEMPLATES

if TYPE_CHECKING:
    from webzine.render.lint import Finding
    from webzine.render.compose import RenderedIssue


@command()
@click.argument("issue", type=click.Path(path_type=Path, dir_okay=False))
@option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
        help="Output folder (default: [build] output in webzine.toml, i.e. build/).")  # fmt: skip
@column_option
@pass_context
def build(ctx: Context, issue: Path, out_dir: Path | None) -> int:
    """Render ISSUE into build/<slug>/: email.html (with merge slots), preview.html, email.txt,
    web.html and report.json. Exits 1 when lint finds errors (the output is still written)."""
    from webzine.render.compose import write_build  # premailer is slow to import; only build needs it
    from webzine.send.inputs import build_issue

    settings = ctx.settings
    rendered = build_issue(settings, issue)
    folder = write_build(rendered, out_dir or settings.path(settings.build.output))
    console = Console(highlight=False, soft_wrap=True)
    _print_summary(console, rendered, folder)
    return 0 if rendered.report.ok else 1


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _print_summary(console: Console, rendered: RenderedIssue, folder: Path) -> None:
    from webzine.render.lint import GMAIL_CLIP_BYTES

    report = rendered.report
    console.print(f"[bold]{rendered.issue.title}[/] → {_shown(folder)}/")
    for name in ("email.html", "preview.html", "email.txt", "web.html", "report.json"):
        note = _note(rendered, name)
        console.print(f"  {name:<13}{_kb((folder / name).stat().st_size):>9}" + (f"  {note}" if note else ""))
    # Gmail measures the part as it travels, a third larger than the file (base64), not the file.
    console.print(_("  HTML part as sent: {size} (base64); Gmail clips above {limit} KB").format(
        size=_kb(report.html_encoded_bytes), limit=GMAIL_CLIP_BYTES // 1024))
    if report.compatibility:
        console.print(_("  client support: {count} feature(s) partial or missing in a major client "
                        "(report.json: lint.compatibility)").format(count=len(report.compatibility)))
    fields = rendered.fields
    if fields.used:
        parts = [(_("{name} ({empty} empty of {recipients})") if fields.recipients else _("{name} ({empty} empty)"))
                 .format(name=name, empty=fields.empty.get(name, 0), recipients=fields.recipients)
                 for name in fields.used]
        console.print(_("  merge fields: {fields}").format(fields=", ".join(parts)))
    if fields.unused:
        console.print(_("  columns not used: {columns}").format(columns=escape(", ".join(fields.unused))))
    for finding in (*report.errors, *report.warnings):
        console.print(_finding_line(rendered, finding))
    verdict = f"[green]{_('ok')}[/]" if report.ok else f"[red]{_('failed')}[/]"
    console.print(_("  lint: {verdict} — {errors} error(s), {warnings} warning(s)").format(
        verdict=verdict, errors=len(report.errors), warnings=len(report.warnings)))


def _note(rendered: RenderedIssue, name: str) -> str:
    if name == "email.html":
        return _("merge template, {count} slots").format(count=len(rendered.html.slots))
    if name == "preview.html":
        return _("filled for a sample recipient: {subject}").format(subject=rendered.preview_subject)
    if name == "web.html":
        return rendered.web_url
    return ""


def _finding_line(rendered: RenderedIssue, finding: Finding) -> str:
    colour = "red" if finding.level == "error" else "yellow"
    place = f"{rendered.issue.source}:{finding.line}: " if finding.line else ""
    return f"  [{colour}]{finding.level}[/] {finding.code}: {place}{finding.message}"


@command()
@click.argument("title")
@option("--date", "issue_date", help="Issue date, YYYY-MM-DD (default: the month the title names, else this month).")
@option("--slug", help="File-name slug (default: the title romanised).")
@option("--advertising/--no-advertising", default=None,
        help="Whether the issue carries advertising (adds the (광고) subject prefix); "
             "default: [publication] advertising in webzine.toml, else not.")  # fmt: skip
@pass_context
def new(ctx: Context, title: str, issue_date: str | None, slug: str | None, advertising: bool | None) -> int:
    """Start a new issue: issues/YYYY-MM-<slug>.md from templates/new-issue.md.j2.

    The date is the month the issue is for: --date, else the month the title names ("1월 소식",
    "2027년 1월", "January"), else this month; the command says which it chose."""
    settings = ctx.settings
    day, why = issue_month(title, issue_date, ctx.today)
    name = slugify(slug or title, fallback=f"issue-{day:%d}")
    path = settings.path(settings.build.issues) / f"{day:%Y-%m}-{name}.md"
    if path.exists():
        raise IssueError(_("{path}: already exists; edit it, or pass --slug to start another issue.").format(
            path=_shown(path)))
    if advertising is None:
        advertising = settings.publication.advertising
    text = _scaffold(settings.path(settings.build.templates), title=title, date=day.isoformat(), advertising=advertising)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_new(path, text)
    click.echo(_("Created {path}, dated {date} ({why}; change it with --date or in the file).").format(
        path=_shown(path), date=day.isoformat(), why=why))
    click.echo(_("Next: edit it, then run: webzine build {path}").format(path=_shown(path)))
    return 0


_KOREAN_MONTH = re.compile(r"(?:(\d{4})\s*년\s*)?(\d{1,2})\s*월")
_ENGLISH_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                   "october", "november", "december")
_ENGLISH_MONTH = re.compile(r"\b(" + "|".join(_ENGLISH_MONTHS) + r"|" +
                            "|".join(m[:3] for m in _ENGLISH_MONTHS) + r")\b\.?(?:\s+(\d{4}))?", re.IGNORECASE)


def issue_month(title: str, explicit: str | None, today: date) -> tuple[date, str]:
    """(the issue's date, why it was chosen). A month named without a year is the nearest such
    month to `today`, the coming one on a tie: "1월 소식" written in December is next January's."""
    if explicit:
        return parse_day(explicit, what="--date"), _("from --date")
    named = _named_month(title)
    if named is None:
        return today, _("this month: the title names no month")
    year, month = named
    if year is None:
        ahead = (month - today.month) % 12
        year = today.year + (today.month + ahead - 1) // 12 if ahead <= 6 else today.year - (month > today.month)
    return date(year, month, 1), _("the month the title names: {year}-{month:02d}").format(year=year, month=month)


def _named_month(title: str) -> tuple[int | None, int] | None:
    korean = _KOREAN_MONTH.search(title)
    if korean and 1 <= int(korean.group(2)) <= 12:
        return (int(korean.group(1)) if korean.group(1) else None), int(korean.group(2))
    english = _ENGLISH_MONTH.search(title)
    if english:
        word = english.group(1).lower()[:3]
        month = next(i for i, name in enumerate(_ENGLISH_MONTHS, 1) if name.startswith(word))
        return (int(english.group(2)) if english.group(2) else None), month
    return None


def _scaffold(templates: Path, **context: object) -> str:
    folders = [str(f) for f in (templates, BUILTIN_TEMPLATES) if f.is_dir()]
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), keep_trailing_newline=True)
    environment.filters["quoted"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    try:
        return environment.get_template("new-issue.md.j2").render(context)
    except jinja2.TemplateNotFound:
        raise TemplateError(_("templates/new-issue.md.j2 not found; restore it from the webzine repository.")) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(_("{path}:{line}: {error}; fix the template.").format(
            path=exc.filename, line=exc.lineno, error=exc.message)) from None


def _write_new(path: Path, text: str) -> None:
    """Create the file only if it still does not exist (no overwrite, even in a race)."""
    try:
        create_new(path, text)
    except FileExistsError:
        raise IssueError(_("{path}: already exists; edit it, or pass --slug to start another issue.").format(
            path=_shown(path))) from None
