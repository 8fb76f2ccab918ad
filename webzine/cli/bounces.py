"""`webzine bounces import SOURCE…` and `webzine bounces report`.

Import reads mbox files, Maildir folders, IMAP mailboxes and provider event files, stores new
events, and updates lists/suppressions.csv by the policy in [bounces]. Sender problems are shown
loudly on stderr: nobody is suppressed for them, the sender has to fix something. Exit codes:
0 done (also when some messages were skipped: they are listed), 2 a source cannot be read (the
other sources are still imported).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from webzine.i18n import N_, _
from webzine.cli.help import group, option
from webzine.bounces.importer import ImportResult, RecipientLookup, run_import
from webzine.bounces.sources import Source, SourceError, open_source
from webzine.bounces.store import write_json
from webzine.cli import Context, pass_context
from webzine.cli.due import TODAY_OPTION
from webzine.config import Settings, secret
from webzine.errors import WebzineError
from webzine.providers import PROVIDERS
from webzine.terminal import printable

REPORT_FILE = "bounce-report.json"


@group()
def bounces() -> None:
    """Read bounces, complaints and unsubscribe requests; keep the suppression list current."""


@bounces.command("import")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
@TODAY_OPTION
@pass_context
def import_(ctx: Context, sources: tuple[str, ...], as_json: bool, today: str | None) -> int:
    """Import SOURCE: an mbox file, a Maildir folder, imaps://user@host[:port]/INBOX (password
    from [bounces] imap_password_env), or a provider event file (.json: SES/SNS, SendGrid,
    Mailgun, Postmark). Importing the same source again changes nothing."""
    ctx.pin_today(today)
    settings = ctx.settings
    opened = [open_spec(spec, settings) for spec in sources]
    with ledger_lookup(settings) as lookup:
        try:
            result = run_import(
                opened,
                events_path=settings.path(settings.bounces.events),
                suppressions_path=settings.path(settings.lists.suppressions),
                soft_limit=settings.bounces.soft_limit,
                lookup=lookup,
                unsubscribe_addresses=_unsubscribe_addresses(settings),
                readers=tuple(PROVIDERS.values()),
                today=ctx.today,
            )
        finally:
            for source in opened:
                source.close()
    report = result.to_json()
    write_json(_report_path(settings), report)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_import(result, report)
    _warn(report)
    raise_if_failed(result.failed)
    return 0


def raise_if_failed(failed: list[tuple[str, str]]) -> None:
    """The other sources were imported; a failed one still decides the exit code (2)."""
    if failed:
        more = _(" (and {count} more source(s) failed)").format(count=len(failed) - 1) if len(failed) > 1 else ""
        raise SourceError(failed[0][1] + more, hint=_("fix the source and run the import again; what was read is kept."))


@bounces.command("report")
@option("--json", "as_json", is_flag=True, help="Print the last import report as JSON.")
@pass_context
def report(ctx: Context, as_json: bool) -> int:
    """Show the last import: counts by class and by domain, and every sender problem and unknown in full."""
    path = _report_path(ctx.settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WebzineError(_("{path}: no bounce import has run yet.").format(path=path),
                           hint=_("run `webzine bounces import SOURCE` first.")) from None
    except ValueError as exc:
        raise WebzineError(_("{path}: not a bounce report ({error}); run `webzine bounces import` again.").format(
            path=path, error=exc)) from exc
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    click.echo(_("Last import: {at} — {read} read, {new} new events, {known} already known, {skipped} skipped.").format(
        at=data["at"], read=data["read"], new=data["new_events"], known=data["known_events"],
        skipped=len(data["skipped"])))
    click.echo(message_kinds_line(data.get("by_message_kind", {})))
    _counts(_("By class"), data["by_kind"])
    _counts(_("By domain"), data["by_domain"])
    for item in data["attention"]:
        click.echo(_attention_line(item))
    for item in data["skipped"]:
        click.echo(printable(_("  skipped  {source}: {why}").format(source=item["source"], why=item["why"]),
                             single_line=True))
    return 0


def open_spec(spec: str, settings: Settings) -> Source:
    """A SOURCE argument → a source; an IMAP password from [bounces] imap_password_env."""
    password = None
    if spec.startswith(("imaps://", "imap://")):
        password = secret(settings.bounces.imap_password_env, purpose=_("the bounce mailbox's IMAP password"))
    ca_file = str(settings.path(settings.bounces.imap_ca_file)) if settings.bounces.imap_ca_file else ""
    return open_source(spec, password=password, processed_folder=settings.bounces.processed_folder, ca_file=ca_file)


@contextmanager
def ledger_lookup(settings: Settings) -> Iterator[RecipientLookup | None]:
    """The send ledger resolves VERP tokens and Message-IDs; without one, reports stand alone."""
    path = settings.path(settings.send.ledger)
    if not path.exists():
        yield None
        return
    from webzine.send.ledger import Ledger

    with Ledger.open(path) as ledger:
        yield ledger


def _unsubscribe_addresses(settings: Settings) -> frozenset[str]:
    mailto = settings.unsubscribe.mailto.strip().removeprefix("mailto:").split("?", 1)[0].lower()
    return frozenset({mailto}) if mailto else frozenset()


def _report_path(settings: Settings) -> Path:
    return settings.path(settings.bounces.events).with_name(REPORT_FILE)


def _print_import(result: ImportResult, report: dict) -> None:
    click.echo(_("Read {read}: {new} new events, {known} already imported, {skipped} skipped.").format(
        read=result.read, new=len(result.fresh), known=result.known, skipped=len(result.skipped)))
    click.echo(message_kinds_line(report["by_message_kind"]))
    _counts(_("By class"), report["by_kind"])
    for entry in result.suppressed:
        click.echo(printable(_("  suppressed  {email}  {reason}  {detail}").format(
            email=entry.email, reason=entry.reason.value, detail=entry.detail), single_line=True))
    for source, why in result.skipped:
        click.echo(printable(_("  skipped  {source}: {why}").format(source=source, why=why), single_line=True))


KIND_LABELS = {"bounce": N_("bounces"), "delay": N_("delays"), "auto_reply": N_("auto-replies"),
               "human_reply": N_("human replies"), "complaint": N_("complaints"),
               "unsubscribe": N_("unsubscribe requests"), "other": N_("other")}
ALWAYS_SHOWN = ("bounce", "delay", "auto_reply", "human_reply", "complaint")


def message_kinds_line(counts: dict[str, int]) -> str:
    """"Messages: bounces 6, delays 1, auto-replies 2, human replies 0, complaints 1": the five kinds
    always, in this order, so a month with no delay reads as plainly as one with many."""
    shown = [kind for kind in KIND_LABELS if kind in ALWAYS_SHOWN or counts.get(kind)]
    return _("Messages: {counts}").format(counts=", ".join(f"{_(KIND_LABELS[kind])} {counts.get(kind, 0)}"
                                                           for kind in shown))


def _counts(title: str, counts: dict[str, int]) -> None:
    if counts:
        parts = ", ".join(f"{name} {count}" for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        click.echo(printable(_("{title}: {counts}").format(title=title, counts=parts), single_line=True))


def _attention_line(item: dict) -> str:
    label = _("SENDER PROBLEM") if item["kind"] == "sender_problem" else _("unknown")
    return printable(f"  {label}  {item['email']}  {item.get('status') or '-'}  {item.get('reason') or ''}  "
                     f"{item.get('diagnostic') or ''}  [{item['source']}]", single_line=True)


def _warn(report: dict) -> None:
    problems = [item for item in report["attention"] if item["kind"] == "sender_problem"]
    if problems:
        click.echo(_("Warning: {count} sender problem(s): servers refused our mail for policy, authentication or "
                     "reputation reasons. Nobody was suppressed for these; fix the sending setup (SPF/DKIM/DMARC, "
                     "IP reputation, PTR, TLS).").format(count=len(problems)), err=True)
        for item in problems:
            click.echo(_attention_line(item), err=True)
    unknown = [item for item in report["attention"] if item["kind"] == "unknown"]
    if unknown:
        click.echo(_("Note: {count} failure(s) of unknown cause kept for a person to read (`webzine bounces "
                     "report`).").format(count=len(unknown)), err=True)
