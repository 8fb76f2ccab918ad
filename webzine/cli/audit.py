"""`webzine audit [ISSUE]`: would every key customer receive this issue?

Prints the gaps grouped by account manager (who must call whom), or `--json` (the stable schema
CI reads) or `--csv` (every key customer's outcome, for Excel). Exit 0 when every key customer is
present or excused, 1 when there are gaps, 2 on bad input.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import defaultdict
from pathlib import Path

import click

from webzine.i18n import _
from webzine.cli.help import command, option
from webzine.audit.audit import AuditReport, Gap, issue_name, run_audit
from webzine.cli import Context, column_option, pass_context
from webzine.cli.lists import format_table
from webzine.models import Manager
from webzine.terminal import printable

CSV_COLUMNS = ["manager", "row", "email", "name", "company", "outcome", "detail", "suggestion",
               "suggestion_rule", "excused", "list_row"]


@command("audit")
@click.argument("issue", required=False, type=click.Path(path_type=Path, dir_okay=False))
@option("--subscribers", type=click.Path(path_type=Path, dir_okay=False),
        help="Subscriber list to check against [default: [lists] subscribers].")
@option("--key-customers", type=click.Path(path_type=Path, dir_okay=False),
        help="Key-customer file (email,name,company,manager,excused) [default: [lists] key_customers].")
@option("--suppressions", type=click.Path(path_type=Path, dir_okay=False),
        help="Suppression list [default: [lists] suppressions].")
@option("--advertising/--informational", default=None,
        help="Consent rule to apply when no ISSUE is given [default: --advertising].")
@option("--json", "as_json", is_flag=True, help="Print the report as JSON (the stable schema).")
@option("--csv", "as_csv", is_flag=True, help="Print every key customer's outcome as CSV.")
@column_option
@pass_context
def audit(ctx: Context, issue: Path | None, subscribers: Path | None, key_customers: Path | None,
          suppressions: Path | None, advertising: bool | None, as_json: bool, as_csv: bool) -> int:
    """Reconcile the key customers (핵심 고객) against the cleaned subscriber list: for each one who
    would not receive ISSUE, say why and who should act. Exit 1 when there are gaps."""
    if as_json and as_csv:
        raise click.UsageError(_("choose one of --json and --csv."))
    settings = ctx.settings if ctx.config_path.exists() or not (subscribers and key_customers) else None
    name = None
    if issue is not None:
        from webzine.render.issue import load_issue

        loaded = load_issue(issue)
        name = issue_name(loaded)
        if advertising is not None and advertising != loaded.advertising:
            raise click.UsageError(_("{issue} says advertising: {value}; drop --advertising/--informational or "
                                     "the ISSUE.").format(issue=issue, value=str(loaded.advertising).lower()))
        advertising = loaded.advertising
    if key_customers is None and settings is not None and not settings.lists.key_customers.strip():
        from webzine.send.inputs import KeyCustomers

        click.echo(_("Nothing to audit: {reason}.").format(reason=KeyCustomers('').note))
        return 0
    report = run_audit(settings, advertising=True if advertising is None else advertising, issue=name,
                       today=ctx.today, suppressed=_suppressed(settings, suppressions),
                       subscribers=subscribers, key_customers=key_customers)
    if settings is not None:
        from webzine.customers.people import audit_notes

        report = report.model_copy(update={"notes": [*report.notes, *audit_notes(settings)]})
    if as_json:
        click.echo(json.dumps(report.schema(), ensure_ascii=False, indent=2))
    elif as_csv:
        # UTF-8 bytes with a byte-order mark whatever the locale: Excel reads a CSV without one in
        # the system code page and garbles the Korean names.
        click.echo(codecs.BOM_UTF8 + outcomes_csv(report).encode("utf-8"), nl=False)
    else:
        click.echo(render(report, {**_managers(settings), **report.list_managers}))
    return 0 if report.ok else 1


def _suppressed(settings, explicit: Path | None) -> dict:  # type: ignore[no-untyped-def]
    """`--suppressions FILE` alone, else the send's one source (the file and the unsubscribe store)."""
    from webzine.recipients.suppressions import load_suppressions

    if explicit is not None:
        return load_suppressions(explicit)
    if settings is None:
        return {}
    from webzine.send.inputs import suppression_source

    return suppression_source(settings).load()


def _managers(settings) -> dict[str, Manager]:  # type: ignore[no-untyped-def]
    if settings is None:
        return {}
    from webzine.recipients.clean import load_managers

    return load_managers(settings.path(settings.lists.managers))


def outcomes_csv(report: AuditReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for o in sorted(report.outcomes, key=lambda o: (o.manager, o.row)):
        writer.writerow([o.manager, o.row, o.email, o.name, o.company, o.outcome.value, o.detail,
                         o.suggestion or "", o.suggestion_rule or "", o.excused or "",
                         "" if o.list_row is None else o.list_row])
    return buffer.getvalue()


def render(report: AuditReport, managers: dict[str, Manager]) -> str:
    """The table: a headline, then the gaps grouped by account manager."""
    mode = _("advertising") if report.advertising else _("informational")
    about = _("issue {issue}, {mode}").format(issue=report.issue, mode=mode) if report.issue else mode
    gaps = len(report.gaps)
    lines = [_("Key customers: {total} — present {present}, gaps {gaps} (excused {excused}) [{about}]").format(
        total=report.key_customers, present=report.present, gaps=gaps, excused=report.excused, about=about)]
    lines += [printable(note) for note in report.notes]
    by_manager: dict[str, list[Gap]] = defaultdict(list)
    for gap in report.gaps:
        by_manager[gap.manager].append(gap)
    for manager_id in sorted(by_manager, key=lambda m: (m == "", m)):
        lines.append("")
        lines.append(_manager_line(manager_id, managers))
        rows = [[_cell(gap.name), _cell(gap.company), _cell(gap.email), _(gap.reason.value),
                 printable(_what(gap), single_line=True)]
                for gap in by_manager[manager_id]]
        lines.append(_indent(format_table([], rows)))
    if report.ok:
        lines.append("" if gaps else _("All key customers will receive this issue."))
        if gaps:
            lines.append(_("Every gap is excused."))
    return "\n".join(lines).rstrip()


def _cell(text: str) -> str:
    """A table cell from the lists: one line, nothing the terminal would act on."""
    return printable(text, single_line=True) or "-"


def _manager_line(manager_id: str, managers: dict[str, Manager]) -> str:
    return printable(_manager_text(manager_id, managers), single_line=True)


def _manager_text(manager_id: str, managers: dict[str, Manager]) -> str:
    if not manager_id:
        return _("(no account manager)")
    manager = managers.get(manager_id)
    if manager is None:
        return f"{manager_id}"
    contact = ", ".join(part for part in (manager.phone, manager.email) if part)
    # A manager the list names is known by their address: the contact says it already.
    named = manager.name if manager_id == manager.email.lower() else f"{manager_id} {manager.name}"
    return named + (f" ({contact})" if contact else "")


def _what(gap: Gap) -> str:
    parts = []
    if gap.suggestion:
        rule = f" ({_(gap.suggestion_rule)})" if gap.suggestion_rule else ""
        parts.append(f"→ {gap.suggestion}{rule}")
    elif gap.reason.value != "not_on_list":
        parts.append(gap.detail)
    if gap.excused:
        parts.append(_("excused: {reason}").format(reason=gap.excused))
    return "; ".join(parts)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
