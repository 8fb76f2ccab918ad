"""`webzine lists clean` and `webzine lists stats`: the subscriber list as the send will see it.

`clean` runs the same function the send path runs in memory (`clean_list`) and writes what it
found for people to read in Excel: `clean.csv`, `rejects.csv` (row, value as written, reason,
suggestion), `reconfirm.csv` (whose marketing consent must be asked again) and `warnings.csv`.
`stats` shows the domain breakdown an editor wants before a send.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import click
from wcwidth import wcswidth

from webzine.i18n import N_, _
from webzine.cli.help import IntRange, group, option
from webzine.cli import Context, parse_columns, pass_context
from webzine.config import Settings
from webzine.recipients.tables import write_csv
from webzine.recipients.records import CleanList
from webzine.recipients.clean import RECIPIENT_COLUMNS, clean_list, load_clean_list
from webzine.terminal import printable


def read_options(function):  # type: ignore[no-untyped-def]
    """The options every list-reading command shares."""
    for decorator in reversed([
        click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False)),
        option("--encoding", metavar="NAME", help="The file's encoding (utf-8, cp949, utf-16); detected when omitted."),
        option("--sheet", metavar="NAME", help="The .xlsx sheet to read; the first when omitted."),
        option("--column", "columns", multiple=True, metavar="FIELD=HEADER",
               help="Which column holds a field, e.g. --column email=전자우편 (repeatable)."),
    ]):
        function = decorator(function)
    return function


def load_for_cli(ctx: Context, file: Path | None, *, advertising: bool, encoding: str | None,
                 sheet: str | None, columns: Sequence[str], fix_typos: bool = False,
                 check_dns: bool = False) -> tuple[CleanList, Settings | None]:
    """Clean FILE (or [lists] subscribers). Without webzine.toml, a FILE is cleaned on its own:
    no suppressions, the default consent limit."""
    mapping = parse_columns(columns)
    if file is not None and not ctx.config_path.exists():
        check = None
        if check_dns:
            from webzine.recipients.mx import undeliverable_domains

            check = undeliverable_domains
        result = clean_list(file, advertising=advertising, today=ctx.today, fix_typos=fix_typos,
                            columns=mapping, encoding=encoding, sheet=sheet, check_domains=check)
        return result, None
    settings = ctx.settings
    from webzine.customers import segments_for, with_segments
    from webzine.send.inputs import suppression_source

    result = load_clean_list(settings, advertising=advertising, today=ctx.today,
                             suppressions=suppression_source(settings).load(), path=file, fix_typos=fix_typos,
                             columns=mapping, encoding=encoding, sheet=sheet, check_dns=check_dns or None)
    result.recipients = with_segments(result.recipients, segments_for(settings))
    return result, settings


@group()
def lists() -> None:
    """Subscriber lists: clean them, see what is in them."""


@lists.command("clean")
@read_options
@option("--fix-typos", is_flag=True, help="Correct typo domains (naver.con → naver.com); each change is listed.")
@option("--check-dns", is_flag=True, help="Reject domains that cannot receive mail (MX lookups, cached per domain).")
@option("--advertising/--informational", default=True, show_default=True,
        help="Apply the consent rule for advertising issues (consent older than the limit or missing is excluded).")
@option("--strict", is_flag=True, help="Exit 1 when any row was rejected.")
@option("--output", type=click.Path(path_type=Path, file_okay=False),
        help="Folder for clean.csv, rejects.csv, reconfirm.csv, warnings.csv [default: build/lists].")
@pass_context
def clean(ctx: Context, file: Path | None, encoding: str | None, sheet: str | None, columns: tuple[str, ...],
          fix_typos: bool, check_dns: bool, advertising: bool, strict: bool, output: Path | None) -> int:
    """Clean the subscriber list (FILE, or [lists] subscribers in webzine.toml) and write what was
    kept, what was rejected and why. Exit 1 with --strict when rows were rejected."""
    result, settings = load_for_cli(ctx, file, advertising=advertising, encoding=encoding, sheet=sheet,
                                    columns=columns, fix_typos=fix_typos, check_dns=check_dns)
    folder = output or ((settings.path(settings.build.output) if settings else Path("build")) / "lists")
    written = write_reports(result, folder)
    for fix in result.fixes:
        click.echo(printable(_("fixed row {row}: {detail} ({email})").format(row=fix.row, detail=fix.detail,
                                                                             email=fix.email)))
    for note in result.warnings:
        if note.kind == "unclosed_quote":  # rows may be hidden in that cell: say so, not only in warnings.csv
            click.echo(printable(_("warning: row {row}, {detail}.").format(row=note.row, detail=note.detail)))
    mapped = [*(settings.lists.columns.values() if settings else ()), *parse_columns(columns).values()]
    click.echo(printable(summary(result, mapped)))
    click.echo(printable(_("Wrote {files}.").format(files=", ".join(str(path) for path in written))))
    return 1 if strict and result.rejects else 0


@lists.command("stats")
@read_options
@option("--top", default=15, show_default=True, type=IntRange(1), help="How many domains to list.")
@pass_context
def stats(ctx: Context, file: Path | None, encoding: str | None, sheet: str | None, columns: tuple[str, ...],
          top: int) -> int:
    """The domain breakdown of the cleaned list (naver.com, gmail.com, daum.net …) and how many
    addresses an informational and an advertising issue would reach."""
    result, __ = load_for_cli(ctx, file, advertising=False, encoding=encoding, sheet=sheet, columns=columns)
    domains = Counter(r.email.rpartition("@")[2] for r in result.recipients)
    total = sum(domains.values())
    suspects = {n.email.rpartition("@")[2]: n.suggestion.rpartition("@")[2]
                for n in result.warnings if n.kind == "suspect_domain"}
    rows = [[domain, f"{count:,}", _share(count, total),
             _("typo of {domain}?").format(domain=suspects[domain]) if domain in suspects else ""]
            for domain, count in domains.most_common(top)]
    rest = domains.most_common()[top:]
    if rest:
        others = sum(count for __, count in rest)
        rows.append([_("({count} other domains)").format(count=len(rest)), f"{others:,}", _share(others, total), ""])
    ads = result.kept - len(result.consent_reconfirm)
    click.echo(printable(_("{source}: {rows:,} rows; {kept:,} addresses can receive an informational issue, {ads:,} an "
                           "advertising one (consent within the limit).").format(
        source=result.source, rows=result.rows_read, kept=result.kept, ads=ads)))
    click.echo(printable(format_table([_("domain"), _("addresses"), _("share"), ""], rows, right={1, 2})))
    return 0


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def summary(result: CleanList, mapped: Iterable[str] = ()) -> str:
    """The table `lists clean` prints: rows read, kept, rejected by reason, duplicates; and once,
    the columns that are not webzine's fields nor `mapped`, each with the field it may have been
    meant for (a column meant for a field is not lost without a word)."""
    from webzine.render.fields import unused_columns

    where = f"{result.encoding}, {_delimiter_name(result.delimiter)}" if result.delimiter else result.encoding
    rows = [[_("rows read"), f"{result.rows_read:,}"], [_("kept"), f"{result.kept:,}"],
            [_("rejected"), f"{len(result.rejects):,}"]]
    rows += [[f"  {reason}", f"{count:,}"] for reason, count in sorted(result.rejected_by_reason().items())]
    rows.append([_("duplicates"), f"{len(result.duplicates):,}"])
    if result.blank_rows:
        rows.append([_("blank rows (skipped)"), f"{result.blank_rows:,}"])
    lines = [f"{result.source}" + (f" ({where})" if where else ""), format_table([], rows, right={1})]
    if result.warnings:
        kinds = Counter(note.kind for note in result.warnings)
        lines.append(_("warnings: {counts}").format(
            counts=", ".join(f"{kind} {count:,}" for kind, count in sorted(kinds.items()))))
    if result.fixes:
        lines.append(_("fixed typos: {count:,}").format(count=len(result.fixes)))
    if result.consent_reconfirm:
        lines.append(_("re-confirm consent: {count:,} subscribers (reconfirm.csv)").format(
            count=len(result.consent_reconfirm)))
    if others := unused_columns(result.extras, mapped):
        lines.append(_("columns that are not webzine fields (kept as merge fields): {columns}").format(
            columns=", ".join(others)))
    return "\n".join(lines)


def _delimiter_name(delimiter: str) -> str:
    names = {",": N_("comma-separated"), "\t": N_("tab-separated"), ";": N_("semicolon-separated")}
    return _(names[delimiter]) if delimiter in names else repr(delimiter)


def write_reports(result: CleanList, folder: Path) -> list[Path]:
    """clean.csv, rejects.csv (duplicates included, as `duplicate`), reconfirm.csv, warnings.csv."""
    extras = result.extras
    clean_rows = ([r.email, r.name, r.adjective, r.company, r.manager,
                   r.consent_at.isoformat() if r.consent_at else "", ";".join(r.tags),
                   *(r.fields.get(name, "") for name in extras)] for r in result.recipients)
    rejects = sorted([(r.row, r.value, r.reason.value, r.suggestion, r.detail) for r in result.rejects]
                     + [(d.row, d.value, "duplicate", "", f"same address as row {d.first_row}")
                        for d in result.duplicates])
    reconfirm = ([c.recipient.row, c.recipient.email, c.recipient.name, c.recipient.company, c.recipient.manager,
                  c.recipient.consent_at.isoformat() if c.recipient.consent_at else "", c.status]
                 for c in result.consent_reconfirm)
    notes = sorted((n.row, n.email, n.kind, n.detail, n.suggestion) for n in [*result.warnings, *result.fixes])
    return [
        write_csv(folder / "clean.csv", [*RECIPIENT_COLUMNS, *extras], clean_rows),
        write_csv(folder / "rejects.csv", ["row", "value", "reason", "suggestion", "detail"], rejects),
        write_csv(folder / "reconfirm.csv", ["row", "email", "name", "company", "manager", "consent_at", "status"],
                  reconfirm),
        write_csv(folder / "warnings.csv", ["row", "email", "kind", "detail", "suggestion"], notes),
    ]


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: set[int] = frozenset()) -> str:
    """Plain aligned columns that stay aligned with Korean text (wide characters count twice)."""
    rows = [list(map(str, row)) for row in rows]
    table = ([list(headers)] if headers else []) + rows
    if not table:
        return ""
    widths = [max(_width(row[i]) for row in table if i < len(row)) for i in range(max(map(len, table)))]
    lines = []
    for row in table:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)
