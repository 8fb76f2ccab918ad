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

from webzine.cli import Context, column_option, pass_context
from webzine.clock import parse_day
from webzine.errors import IssueError, TemplateError
from webzine.files import create_new
from webzine.render.issue import slugify
from webzine.render.layout import BUILTIN_TEMPLATES

if TYPE_CHECKING:
    from webzine.render.lint import Finding
    from webzine.render.compose import RenderedIssue


@click.command()
@click.argument("issue", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
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
    console.print(f"  HTML part as sent: {_kb(report.html_encoded_bytes)} (base64); "
                  f"Gmail clips above {GMAIL_CLIP_BYTES // 1024} KB")  # fmt: skip
    if report.compatibility:
        console.print(f"  client support: {len(report.compatibility)} feature(s) partial or missing in a major client "
                      "(report.json: lint.compatibility)")  # fmt: skip
    fields = rendered.fields
    if fields.used:
        counted = f" of {fields.recipients}" if fields.recipients else ""
        parts = [f"{name} ({fields.empty.get(name, 0)} empty{counted})" for name in fields.used]
        console.print("  merge fields: " + ", ".join(parts))
    if fields.unused:
        console.print("  columns not used: " + escape(", ".join(fields.unused)))
    for finding in (*report.errors, *report.warnings):
        console.print(_finding_line(rendered, finding))
    verdict = "[green]ok[/]" if report.ok else "[red]failed[/]"
    console.print(f"  lint: {verdict} — {len(report.errors)} error(s), {len(report.warnings)} warning(s)")


def _note(rendered: RenderedIssue, name: str) -> str:
    if name == "email.html":
        return f"merge template, {len(rendered.html.slots)} slots"
    if name == "preview.html":
        return f"filled for a sample recipient: {rendered.preview_subject}"
    if name == "web.html":
        return rendered.web_url
    return ""


def _finding_line(rendered: RenderedIssue, finding: Finding) -> str:
    colour = "red" if finding.level == "error" else "yellow"
    place = f"{rendered.issue.source}:{finding.line}: " if finding.line else ""
    return f"  [{colour}]{finding.level}[/] {finding.code}: {place}{finding.message}"


@click.command()
@click.argument("title")
@click.option("--date", "issue_date", help="Issue date, YYYY-MM-DD (default: the month the title names, else this month).")
@click.option("--slug", help="File-name slug (default: the title romanised).")
@click.option("--advertising/--no-advertising", default=None,
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
        raise IssueError(f"{_shown(path)}: already exists; edit it, or pass --slug to start another issue.")
    if advertising is None:
        advertising = settings.publication.advertising
    text = _scaffold(settings.path(settings.build.templates), title=title, date=day.isoformat(), advertising=advertising)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_new(path, text)
    click.echo(f"Created {_shown(path)}, dated {day.isoformat()} ({why}; change it with --date or in the file).")
    click.echo(f"Next: edit it, then run: webzine build {_shown(path)}")
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
        return parse_day(explicit, what="--date"), "from --date"
    named = _named_month(title)
    if named is None:
        return today, "this month: the title names no month"
    year, month = named
    if year is None:
        ahead = (month - today.month) % 12
        year = today.year + (today.month + ahead - 1) // 12 if ahead <= 6 else today.year - (month > today.month)
    return date(year, month, 1), f"the month the title names: {year}-{month:02d}"


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
        raise TemplateError("templates/new-issue.md.j2 not found; restore it from the webzine repository.") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename}:{exc.lineno}: {exc.message}; fix the template.") from None


def _write_new(path: Path, text: str) -> None:
    """Create the file only if it still does not exist (no overwrite, even in a race)."""
    try:
        create_new(path, text)
    except FileExistsError:
        raise IssueError(f"{_shown(path)}: already exists; edit it, or pass --slug to start another issue.") from None
