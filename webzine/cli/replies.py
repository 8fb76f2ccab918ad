"""`webzine replies import SOURCE…` and `webzine replies report`.

Import reads the same sources as `webzine bounces import` (mbox, Maildir, imaps://) and keeps
the customers' replies to an issue, with the customer and account manager attached, in
state/replies.jsonl; bounces and delays are left for the bounce import. The report lists one
issue's replies per manager, oldest unanswered first. Exit codes: 0 done, 2 a source cannot be
read (the other sources are still imported) or a list cannot be read.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

import click

from webzine.i18n import _
from webzine.cli.help import group, option
from webzine.cli import Context, pass_context
from webzine.cli.bounces import ledger_lookup, message_kinds_line, open_spec, raise_if_failed
from webzine.cli.due import TODAY_OPTION
from webzine.config import Settings
from webzine.models import Manager
from webzine.recipients.clean import load_clean_list, load_managers
from webzine.replies.importer import Customer, ImportResult, run_import
from webzine.replies.records import Reply
from webzine.replies.report import RepliesReport, build_report
from webzine.replies.store import load_replies
from webzine.terminal import printable

STORE_FILE = "replies.jsonl"  # next to [bounces] events


@group()
def replies() -> None:
    """Keep customers' replies to an issue for their account managers."""


@replies.command("import")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@TODAY_OPTION
@pass_context
def import_(ctx: Context, sources: tuple[str, ...], today: str | None) -> int:
    """Import SOURCE: an mbox file, a Maildir folder or imaps://user@host[:port]/INBOX (password
    from [bounces] imap_password_env). Replies, auto-replies and other mail are taken (an IMAP
    source moves them to the processed folder); bounces are left for `webzine bounces import`.
    Importing the same source again changes nothing."""
    ctx.pin_today(today)
    settings = ctx.settings
    customers, managers = _people(settings, ctx.today)
    opened = [open_spec(spec, settings) for spec in sources]
    with ledger_lookup(settings) as lookup:
        try:
            result = run_import(opened, store_path=store_path(settings), customers=customers, managers=managers,
                                lookup=lookup)
        finally:
            for source in opened:
                source.close()
    _print_import(result)
    raise_if_failed(result.failed)
    return 0


@replies.command("report")
@option("--issue", metavar="SLUG", help="The issue whose replies to list (default: the newest replied-to).")
@option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def report(ctx: Context, issue: str | None, as_json: bool) -> int:
    """List one issue's replies per account manager, oldest unanswered first."""
    settings = ctx.settings
    built = build_report(load_replies(store_path(settings)), _people(settings, ctx.today)[1], issue)
    if as_json:
        click.echo(json.dumps(_as_json(built), ensure_ascii=False, indent=2))
    else:
        for line in report_lines(built):
            click.echo(printable(line, single_line=True))
    return 0


def store_path(settings: Settings) -> Path:
    return settings.path(settings.bounces.events).with_name(STORE_FILE)


def _people(settings: Settings, today: date) -> tuple[dict[str, Customer], dict[str, Manager]]:
    """Everyone on the subscriber list, also those not mailed (suppressed, consent expired): their
    replies still deserve an answer; and the account managers, from managers.csv and from the
    list's own manager columns."""
    managers = load_managers(settings.path(settings.lists.managers))
    path = settings.path(settings.lists.subscribers)
    if not path.exists():
        return {}, managers
    cleaned = load_clean_list(settings, advertising=False, today=today, suppressions={}, check_dns=False)
    found = {r.key: Customer(r.key, r.name, r.company, r.manager) for r in cleaned.recipients}
    for reject in cleaned.rejects:
        if reject.email and reject.email.lower() not in found:
            found[reject.email.lower()] = Customer(reject.email.lower(), reject.name, reject.company, reject.manager)
    return found, {**managers, **cleaned.managers}


def _print_import(result: ImportResult) -> None:
    click.echo(_("Read {read}: {replies} new replies, {auto} new auto-replies (counted, not listed), {known} already "
                 "imported, {strangers} not from a customer, {answered} marked answered, {skipped} skipped.").format(
        read=result.read, replies=len(result.fresh_replies), auto=result.fresh_auto_replies, known=result.known,
        strangers=result.strangers, answered=len(result.answered), skipped=len(result.skipped)))
    click.echo(message_kinds_line(dict(result.kinds)))
    for reply in result.fresh_replies:
        click.echo(printable(_("  reply  {date}  {sender}  {subject}").format(
            date=reply.received_at[:10], sender=_who(reply), subject=reply.subject), single_line=True))
    for source, why in result.skipped:
        click.echo(printable(_("  skipped  {source}: {why}").format(source=source, why=why), single_line=True))


def report_lines(built: RepliesReport) -> list[str]:
    """The report as printed: a heading, then each manager's replies."""
    issue = built.issue or "호수 미상"
    lines = [f"이번 호에 답장한 고객 — {issue}: 답장 {built.replies}건 (자동 응답 {built.auto_replies}건은 목록에서 뺐습니다)"]
    if not built.groups:
        lines.append("  아직 답장이 없습니다.")
    for manager_group in built.groups:
        manager = manager_group.manager
        title = f"{manager.name} ({manager.email})" if manager else (
            f"담당자 {manager_group.manager_id} (managers.csv에 없음)" if manager_group.manager_id else "담당자 없음")
        lines.append("")
        lines.append(f"{title} — 미답변 {len(manager_group.unanswered)}건, 답변 {len(manager_group.answered)}건")
        for reply in manager_group.unanswered:
            lines.append(f"  {_when(reply)}  {_who(reply)}  「{reply.subject}」  {reply.excerpt}")
        for reply in manager_group.answered:
            lines.append(f"  {_when(reply)}  {_who(reply)}  「{reply.subject}」  (답변함 {reply.answered_at}, "
                         f"{reply.answered_by})")
    if len(built.issues) > 1:
        lines.append("")
        lines.append("다른 호: " + ", ".join(i for i in built.issues if i != built.issue) + " (--issue로 보기)")
    return lines


def _when(reply: Reply) -> str:
    return reply.received_at[:16].replace("T", " ") or "날짜 없음"


def _who(reply: Reply) -> str:
    name = reply.customer or reply.sender_name
    company = f" · {reply.company}" if reply.company else ""
    return f"{name}{company} <{reply.sender}>" if name else f"<{reply.sender}>"


def _as_json(built: RepliesReport) -> dict:
    return {
        "issue": built.issue, "replies": built.replies, "auto_replies": built.auto_replies, "issues": list(built.issues),
        "managers": [{"id": g.manager_id, "name": g.manager.name if g.manager else "",
                      "email": g.manager.email if g.manager else "",
                      "unanswered": [asdict(r) for r in g.unanswered], "answered": [asdict(r) for r in g.answered]}
                     for g in built.groups],
    }
