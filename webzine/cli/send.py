"""`webzine send ISSUE` and `webzine status [ISSUE]`.

`send` is a dry run unless `--yes`: it renders, cleans, audits and builds the first message, then
shows what a send would do. With `--yes` it sends, with a progress bar on a terminal and a summary
table (or `--json`) at the end. Exit codes: 0 all sent, 1 some failed permanently (or were
rejected), 2 bad input, 3 interrupted / sender problem / left for a re-run (re-running resumes).
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import multiprocessing.connection
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from webzine.i18n import N_, _
from webzine.cli.help import Choice, ExistingFile, FloatRange, IntRange, command, option
from webzine.send.inputs import (
    Campaign,
    find_recipient,
    load_campaign,
    load_audience,
    make_factory,
    make_transport,
    sample_recipient,
    with_overrides,
)
from webzine.cli import Context, column_option, pass_context
from webzine.cli.check import preflight, provider_gate
from webzine.cli.due import TODAY_OPTION, pick_due
from webzine.clock import utc_now
from webzine.config import CONFIG_FILE
from webzine.errors import ConfigError, SendInterrupted, WebzineError
from webzine.render.issue import load_issue
from webzine.send.ledger import Ledger, State, ledger_exists
from webzine.message.dkim import signer_from_settings
from webzine.message.factory import FactoryOptions, RecipientRejected
from webzine.message.signing import signing_pool
from webzine.message.encoding import UnsafeHeader, check_address
from webzine.send.plan import Action, Plan, PlanOptions
from webzine.send.dispatch import EXIT_AGAIN, EXIT_FAILED, EXIT_OK, Sender, SendOptions, SendSummary
from webzine.send.lock import in_shard, parse_shard, send_lock, split_shard
from webzine.send.pacing import pacing_rate
from webzine.send.progress import ProgressLines
from webzine.terminal import printable
from webzine.transports import REHEARSALS
from webzine.recipients.suppressions import merge_suppressions
from webzine.models import Outcome

_PREVIEW_ROWS = 5


@command()
@click.argument("issue", type=ExistingFile(), required=False)
@option("--due", "due_now", is_flag=True, help="Send the issue due this month (see `webzine due`) instead of ISSUE.")
@TODAY_OPTION
@option("--yes", is_flag=True, help="Really send. Without it, a dry run shows what would happen.")
@option("--test-to", metavar="ADDR[,ADDR]", help="Send a [TEST] copy to these addresses only (no ledger, no audit).")
@option("--test-inboxes", is_flag=True,
        help="Send a [TEST] copy to each address in [send] test_inboxes (the webmail check in docs/clients.md).")
@option("--as", "as_email", metavar="EMAIL", help="With --test-to or --test-inboxes: personalise as this subscriber.")
@option("--limit", type=IntRange(min=1), help="Send at most N messages in this run (exit 3 while any are left).")
@option("--only", "only", multiple=True, metavar="EMAIL", help="Send only to this subscriber (repeatable).")
@option("--transport", "transport_name", metavar="NAME", help="Override [send] transport (outbox, smtp, …).")
@option("--outbox-format", type=Choice(["maildir", "mbox", "eml"]), help="Override [send] outbox_format.")
@option("--rate", type=FloatRange(min=0, min_open=True), metavar="N",
        help="Send at most N messages per second in this run, the outbox too (which is otherwise unpaced).")
@option("--allow-gaps", metavar="REASON", help="Send despite audit gaps; the reason is recorded in the ledger.")
@option("--resend-unknown", is_flag=True, help="Also send to recipients whose earlier send has no recorded outcome.")
@option("--retry-failed", is_flag=True,
        help="Also send again to recipients who failed permanently in an earlier run (the dry run lists why they failed).")
@option("--shard", metavar="I/N", callback=lambda _c, _p, value: parse_shard(value),
        help="One of N workers sharing the issue (0 ≤ I < N): send only to the recipients of shard I.")
@option("--workers", type=IntRange(min=1), default=1, show_default=True,
        help="Send with N processes on this machine, each taking its own shard of the issue (or of --shard).")
@column_option
@option("--json", "as_json", is_flag=True, help="Print the plan or the summary as JSON.")
@pass_context
def send(ctx: Context, issue: Path | None, due_now: bool, today: str | None, yes: bool, test_to: str | None,
         test_inboxes: bool, as_email: str | None, limit: int | None, only: tuple[str, ...], transport_name: str | None,
         outbox_format: str | None, rate: float | None, allow_gaps: str | None, resend_unknown: bool,
         retry_failed: bool, shard: str | None, workers: int, as_json: bool) -> int:  # fmt: skip
    """Merge ISSUE with the cleaned list and send it — a dry run unless --yes.

    Every recipient is recorded in the send ledger, so a re-run after a crash, a stop or a sender
    problem resumes where it left off and never sends anyone the same issue twice. What the
    local outbox accepted is a rehearsal: a send through a real transport still mails them. With
    --due the issue is the one dated this month (Asia/Seoul) that is not completely sent; nothing
    due → 0. Through a real transport, the offline checks of `webzine check` run first and a failed
    one stops the send (exit 2); the outbox only warns."""
    if due_now == (issue is not None):
        raise click.UsageError(_("give either ISSUE or --due."))
    ctx.pin_today(today)
    if due_now:
        issue = pick_due(ctx, today)
        if issue is None:
            return EXIT_OK
    if allow_gaps is not None and not allow_gaps.strip():
        raise click.BadParameter(_("give the reason the gaps are accepted, e.g. --allow-gaps \"대표님 승인\"."),
                                 param_hint="--allow-gaps")
    if workers > 1 and limit is not None:
        raise click.BadParameter(_("--limit caps one run, and each of the workers would send that many; leave out "
                                   "--workers, or --limit."), param_hint="--workers")
    if as_email and not (test_to or test_inboxes):
        raise click.BadParameter(_("--as only applies to test sends; add --test-to ADDR."), param_hint="--as")
    settings = with_overrides(ctx.settings, transport=transport_name, outbox_format=outbox_format, rate=rate)
    if test_inboxes:
        test_to = ",".join(filter(None, [test_to, *_configured_test_inboxes(settings)]))
    if test_to:
        return _test_send(settings, issue, test_to, as_email, as_json, ctx.today)
    rehearsal_warning = preflight(settings)
    # The real send streams the list (its memory does not grow with it); the dry run holds it to show the plan.
    campaign = load_campaign(settings, issue, today=ctx.today, allow_gaps=allow_gaps, stream=yes)
    if rehearsal_warning:
        click.echo(rehearsal_warning, err=True)
    keys = frozenset(_split(only))
    for key in keys:
        find_recipient(campaign, key)
    options = SendOptions(limit=limit, only=keys, resend_unknown=resend_unknown, retry_failed=retry_failed,
                          allow_gaps=allow_gaps)
    again = _again_command(ctx, issue, due_now, transport_name, outbox_format, rate, allow_gaps)
    if not yes:
        return _dry_run(campaign, options, as_json, again)
    provider_gate(settings)
    return _real_send(campaign, options, as_json, again, shard, workers)


def _split(values: tuple[str, ...] | str) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    return [part.strip().lower() for item in items for part in item.split(",") if part.strip()]


def _again_command(ctx: Context, issue: Path, due_now: bool, transport: str | None, outbox_format: str | None,
                   rate: float | None, allow_gaps: str | None) -> str:
    """The command that continues this same send: same config, day, issue (or --due), transport,
    pace and accepted gaps."""
    parts = ["webzine"]
    if Path(ctx.config_path) != Path(CONFIG_FILE):
        parts += ["--config", shlex.quote(str(ctx.config_path))]
    if ctx.today_pinned or due_now:
        parts += ["--today", ctx.today.isoformat()]
    parts.append("send")
    parts += ["--due"] if due_now else [shlex.quote(str(issue))]
    if transport:
        parts += ["--transport", shlex.quote(transport)]
    if outbox_format:
        parts += ["--outbox-format", outbox_format]
    if rate is not None:
        parts += ["--rate", f"{rate:g}"]
    if allow_gaps:
        parts += ["--allow-gaps", shlex.quote(allow_gaps)]
    parts.append("--yes")
    return " ".join(parts)


# -- the plan: dry run, and the whole issue after a run ---------------------------------------------


def _plan(campaign: Campaign, options: PlanOptions) -> Plan:
    """The plan from the ledger as it is now (read-only: no ledger file is created)."""
    path = campaign.settings.path(campaign.settings.send.ledger)
    if not ledger_exists(path):
        return campaign.audience.plan(None, options)
    with Ledger.open(path) as ledger:
        return campaign.audience.plan(ledger, options)


def _failure_reasons(campaign: Campaign, plan: Plan) -> dict[str, int]:
    """Why the recipients `--retry-failed` would cover failed, most common first."""
    failed = set(plan.keys(Action.FAILED)) if not plan.options.retry_failed else None
    path = campaign.settings.path(campaign.settings.send.ledger)
    if not ledger_exists(path):
        return {}
    reasons: dict[str, int] = {}
    with Ledger.open(path) as ledger:
        for row in ledger.rows(campaign.issue, State.FAILED):
            if row.rehearsal or (failed is not None and row.key not in failed):
                continue
            reason = " ".join(str(part) for part in (row.code, row.status) if part) or row.text.split(":")[0]
            reasons[reason or "unknown"] = reasons.get(reason or "unknown", 0) + 1
    return dict(sorted(reasons.items(), key=lambda item: -item[1]))


def _audit_notes(campaign: Campaign) -> list[str]:
    """The pre-send audit's notes (customers to propose as key customers, key customers slipping
    away): shown before and after a send, never a reason to stop it."""
    return list(getattr(campaign.audit, "notes", []))


def _dry_run(campaign: Campaign, options: SendOptions, as_json: bool, again: str) -> int:
    settings = campaign.settings
    factory = make_factory(campaign)
    plan = _plan(campaign, options.rule(settings.send.transport))
    counts = plan.counts
    sending = [recipient for recipient, action in plan.actions if action is Action.SEND]
    preview = []
    for recipient in sending[:_PREVIEW_ROWS]:
        try:
            message = factory.build(recipient)
            preview.append({"email": recipient.email, "name": recipient.name,
                            "subject": message.subject, "bytes": len(message.data)})
        except RecipientRejected as rejected:
            preview.append({"email": recipient.email, "name": recipient.name, "subject": None,
                            "rejected": rejected.reason})
    suppressed = _suppressed_by_reason(campaign)
    failed_reasons = _failure_reasons(campaign, plan)
    summary = {
        "dry_run": True, "issue": campaign.issue, "transport": settings.send.transport, "today": campaign.today.isoformat(),
        "recipients": len(campaign.clean.recipients), "rejected_while_cleaning": len(campaign.clean.rejects),
        "suppressed": suppressed, "plan": {action.value: counts[action] for action in Action},
        "to_send": counts[Action.SEND], "already_accepted": counts[Action.DONE], "already_failed": counts[Action.FAILED],
        "unknown": counts[Action.UNKNOWN], "left_for_later": counts[Action.LATER], "failed_reasons": failed_reasons,
        "key_customers": campaign.key_customers.note if campaign.key_customers else None,
        "allow_gaps": options.allow_gaps, "audit_ok": bool(getattr(campaign.audit, "ok", True)),
        "audit_notes": _audit_notes(campaign), "columns_not_used": list(campaign.rendered.fields.unused),
        "rate": pacing_rate(settings.send, settings.send.transport), "concurrency": settings.send.concurrency, "first": preview,
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return EXIT_OK
    console = Console(highlight=False, soft_wrap=True)
    console.print(_("[bold]Dry run[/] — nothing was sent. Add [bold]--yes[/] to send."))
    console.print(_("  issue      {issue}  ({title})").format(issue=campaign.issue, title=campaign.rendered.issue.title))
    console.print(_("  transport  {transport}").format(transport=_transport_line(settings)))
    console.print(_("  list       {recipients:,} recipients after cleaning ({rejected:,} rows rejected: webzine lists "
                    "clean shows why)").format(recipients=summary["recipients"],
                                               rejected=summary["rejected_while_cleaning"]))
    if suppressed:
        console.print(_("  suppressed {counts}").format(
            counts=", ".join(f"{count:,} {reason}" for reason, count in suppressed.items())))
    console.print(_("  ledger     {accepted:,} already accepted, {failed:,} failed, {unknown:,} unknown").format(
        accepted=counts[Action.DONE], failed=counts[Action.FAILED], unknown=counts[Action.UNKNOWN]))
    if campaign.key_customers is not None:
        console.print(_("  key        {note}").format(note=escape(campaign.key_customers.note)))
    if summary["audit_ok"]:
        console.print(_("  audit      ok"))
    else:
        console.print(_("  audit      gaps — gaps accepted: {reason}").format(reason=options.allow_gaps))
    for note in summary["audit_notes"]:
        console.print(_("  note       {note}").format(note=shown(note)))
    if campaign.rendered.fields.unused:
        console.print(_("  not used   {columns}").format(columns=shown(", ".join(campaign.rendered.fields.unused))))
    if summary["rate"] is None:
        console.print(_("  would send {count:,} message(s), unpaced (a rehearsal; --rate N paces it)").format(
            count=counts[Action.SEND]))
    else:
        console.print(_("  would send {count:,} message(s), about {duration} at {rate:g}/s").format(
            count=counts[Action.SEND], duration=_duration(counts[Action.SEND] / summary["rate"]), rate=summary["rate"]))
    if counts[Action.LATER]:
        console.print(_("  [yellow]{count:,} left for a later run[/] by --limit {limit}.").format(
            count=counts[Action.LATER], limit=options.limit))
    if counts[Action.UNKNOWN] and not options.resend_unknown:
        console.print(_("  [yellow]{count:,} unknown[/]: an earlier run stopped while they were in flight; they are "
                        "skipped (webzine status ISSUE --unknown lists them).").format(count=counts[Action.UNKNOWN]))
    if failed_reasons:
        failed = counts[Action.FAILED] or sum(failed_reasons.values())
        reasons = "; ".join(f"{shown(reason)} ×{count}" for reason, count in failed_reasons.items())
        line = (_("  failed     {count:,} would be sent again; reasons: {reasons}") if options.retry_failed else
                _("  failed     {count:,} are skipped; --retry-failed sends them again; reasons: {reasons}"))
        console.print(line.format(count=failed, reasons=reasons))
    table = Table(_("email"), _("name"), _("subject"), box=None, pad_edge=False)
    for row in preview:
        table.add_row(shown(row["email"]), shown(row["name"]), shown(row["subject"]) if row["subject"] else
                      _("[red]rejected: {reason}[/]").format(reason=shown(row["rejected"])))
    console.print(table)
    console.print(_("Next: {command}").format(command=again))
    return EXIT_OK


def _suppressed_by_reason(campaign: Campaign) -> dict[str, int]:
    """Rows of the list left out because they are suppressed (file or unsubscribe store), by reason."""
    from webzine.models import SuppressionReason

    suppressed = {reason.value for reason in SuppressionReason}
    tally: dict[str, int] = {}
    for reject in campaign.clean.rejects:
        if reject.reason.value in suppressed:
            tally[reject.reason.value] = tally.get(reject.reason.value, 0) + 1
    return tally


def _transport_line(settings) -> str:  # type: ignore[no-untyped-def]
    name = settings.send.transport
    if name == "outbox":
        return _("outbox ({format} in {folder}/; a rehearsal: nothing leaves this machine and a real send still mails "
                 "everyone)").format(format=settings.send.outbox_format, folder=settings.send.outbox)
    if name == "smtp":
        return f"smtp ({settings.smtp.host}:{settings.smtp.port}, {settings.smtp.security})"
    return name


def _duration(seconds: float) -> str:
    if seconds < 90:
        return _("{seconds:.0f} s").format(seconds=seconds)
    if seconds < 5400:
        return _("{minutes:.0f} min").format(minutes=seconds / 60)
    return _("{hours:.1f} h").format(hours=seconds / 3600)


# -- the real send ------------------------------------------------------------------------------


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM ask the run to stop: in-flight messages finish and are recorded."""
    previous = {}

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def _progress(settings, issue: str, total: int, as_json: bool) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A progress bar on a terminal (not with --json); elsewhere (a CI log) a line now and then,
    on stderr either way."""
    if as_json and sys.stderr.isatty():
        yield None
        return
    if not sys.stderr.isatty():
        yield ProgressLines(issue, total, lambda line: click.echo(line, err=True),
                            every_seconds=settings.send.progress_every_seconds,
                            every_percent=settings.send.progress_every_percent)
        return
    columns = (TextColumn("[bold]sending"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]:>7.1f} msg/s"), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("send", total=total, rate=0.0)

        def update(seen: int, summary: SendSummary) -> None:
            elapsed = bar.tasks[task].elapsed or 0.0
            done = summary.accepted + summary.failed
            bar.update(task, completed=seen, rate=done / elapsed if elapsed else 0.0)

        yield update


@dataclass(frozen=True)
class IssueStanding:
    """The whole issue after a run (every run so far), for the summary and the exit code."""

    delivered: int
    failed: int
    unknown: int
    remaining: int  # not yet sent (deferred, never reached, or left by --limit)
    rehearsed_only: int

    @property
    def exit_code(self) -> int:
        if self.unknown or self.remaining:
            return EXIT_AGAIN
        return EXIT_FAILED if self.failed else EXIT_OK


def _standing(campaign: Campaign, ledger: Ledger, transport: str) -> IssueStanding:
    counts = campaign.audience.plan_counts(ledger, PlanOptions(transport=transport))
    totals = ledger.counts(campaign.issue)[0]
    return IssueStanding(counts[Action.DONE], totals.failed, counts[Action.UNKNOWN], counts[Action.SEND],
                         totals.rehearsed)


def _real_send(campaign: Campaign, options: SendOptions, as_json: bool, again: str, shard: str | None = None,
               workers: int = 1) -> int:
    settings = campaign.settings
    total = campaign.clean.kept if shard is None else sum(1 for _ in in_shard(campaign.clean.recipients, shard))
    if workers > 1:
        summary = _send_with_workers(campaign, options, split_shard(shard, workers), total=total, as_json=as_json)
    else:
        with _progress(settings, campaign.issue, total, as_json) as progress:
            summary = _send_shard(campaign, options, shard, progress=progress, pooled_signing=True)
    with Ledger.open(settings.path(settings.send.ledger)) as ledger:
        standing = _standing(campaign, ledger, summary.transport)
    exit_code = max(summary.exit_code, standing.exit_code)  # 3 (re-run) outranks 1 (failures) outranks 0
    if as_json:
        click.echo(json.dumps({"dry_run": False, **summary.as_dict(), "issue_so_far": dataclasses.asdict(standing),
                               "audit_notes": _audit_notes(campaign), "exit_code": exit_code},
                              ensure_ascii=False, indent=2))
    else:
        _print_summary(summary, standing, campaign)
        for note in _audit_notes(campaign):
            click.echo(_("Note: {note}").format(note=printable(note)))
        if options.allow_gaps:
            click.echo(_("Sent despite audit gaps; reason recorded in the ledger: {reason}").format(
                reason=printable(options.allow_gaps)))
    _print_hints(summary, standing, again)
    return exit_code


def _send_shard(campaign: Campaign, options: SendOptions, shard: str | None, *, progress: object,
                pooled_signing: bool) -> SendSummary:
    """One run over the recipients of `shard` (all without), under that shard's send lock."""
    settings = campaign.settings
    signing = signing_pool(signer_from_settings(settings)) if pooled_signing else None
    factory = make_factory(campaign, sign=signing is None)
    ledger_path = settings.path(settings.send.ledger)
    suppressions = settings.path(settings.lists.suppressions)
    watch = campaign.audience.source.watch(campaign.audience.suppressions)
    stop = threading.Event()
    with send_lock(ledger_path, campaign.issue, now=utc_now(), shard=shard):
        transport = make_transport(settings)
        try:
            with Ledger.open(ledger_path) as ledger, _stop_on_signals(stop):
                sender = Sender(settings, factory=factory, transport=transport, ledger=ledger, suppressions=watch,
                                options=options, stop=stop, progress=progress, today=campaign.today, signing=signing,
                                merge_suppressions=lambda new: merge_suppressions(suppressions, new))  # fmt: skip
                return sender.run(in_shard(campaign.clean.recipients, shard))
        finally:
            transport.close()
            if signing is not None:
                signing.close()


def _worker(campaign: Campaign, options: SendOptions, shard: str, report) -> None:  # type: ignore[no-untyped-def]
    """A forked worker: its shard's run, reported to the parent as progress now and then (counts
    only: the lists of problems come once, in the summary), then a summary or an error."""
    def progress(seen: int, summary: SendSummary) -> None:
        report.send(("progress", (seen, dataclasses.replace(summary, failures=[], rejects=[], unknowns=[]))))

    try:
        report.send(("summary", _send_shard(campaign, options, shard, progress=progress, pooled_signing=False)))
    except WebzineError as exc:
        report.send(("error", (exc, exc.hint)))


def _send_with_workers(campaign: Campaign, options: SendOptions, shards: list[str], *, total: int,
                       as_json: bool) -> SendSummary:
    """One forked process per shard, started after the campaign is loaded (the list, the issue and
    the audit are read once), each with its own ledger connection, transport and lock; their
    summaries added up. Workers sign inline: they already use every core. Their progress, added
    up, goes to the same bar or lines as a one-process send's. A stop signal to this process is
    passed on, so every worker finishes and records what is in flight."""
    context = multiprocessing.get_context("fork")
    started = {}
    for shard in shards:
        receive, report = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(campaign, options, shard, report), daemon=False)
        process.start()  # before the progress bar's thread exists: a fork copies only this thread
        report.close()
        started[receive] = (shard, process)

    def pass_on(signum: int, frame: object) -> None:
        for __, process in started.values():
            if process.pid is not None:
                try:
                    os.kill(process.pid, signum)
                except ProcessLookupError:
                    pass

    previous = {signum: signal.signal(signum, pass_on) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _progress(campaign.settings, campaign.issue, total, as_json) as progress:
            summaries, errors = _collect(started, progress)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if errors:
        raise max(errors, key=lambda error: error.exit_code == 3)
    return _added(summaries)


def _collect(started, progress) -> tuple[list[SendSummary], list[WebzineError]]:  # type: ignore[no-untyped-def]
    """Read every worker's reports as they come, until each has sent its summary or error (or
    ended without one); `progress` gets the workers' counts added up."""
    summaries: list[SendSummary] = []
    errors: list[WebzineError] = []
    latest: dict[str, tuple[int, SendSummary]] = {}
    pending = dict(started)
    while pending:
        for receive in multiprocessing.connection.wait(list(pending)):
            shard, process = pending[receive]
            try:
                kind, value = receive.recv()
            except EOFError:
                kind, value = "error", (SendInterrupted(
                    _("worker for shard {shard} ended without a report; its claims are in the ledger.").format(
                        shard=shard),
                    hint=_("re-run the same command to resume (webzine status --unknown lists who may have it).")),
                    None)
            if kind == "progress":
                latest[shard] = value
                if progress is not None:
                    progress(sum(seen for seen, __ in latest.values()), _added([part for __, part in latest.values()]))
                continue
            del pending[receive]
            process.join()
            if kind == "summary":
                summaries.append(value)
            else:
                error, hint = value
                error.hint = hint
                errors.append(error)
    return summaries, errors


def _added(summaries: list[SendSummary]) -> SendSummary:
    """The workers' summaries as one run's: counts and problems added up, the longest time, the
    first reason to stop, the first run id."""
    values: dict[str, object] = {}
    for field in dataclasses.fields(SendSummary):
        parts = [getattr(summary, field.name) for summary in summaries]
        if field.name in ("issue", "transport", "run_id"):
            values[field.name] = parts[0]
        elif field.name == "elapsed":
            values[field.name] = max(parts)
        elif field.name == "stopped":
            values[field.name] = next((part for part in parts if part), None)
        elif isinstance(parts[0], list):
            values[field.name] = [item for part in parts for item in part]
        else:
            values[field.name] = sum(parts)
    return SendSummary(**values)  # type: ignore[arg-type]


def shown(text: str) -> str:
    """Outside text (server replies, addresses, names) for the terminal: no escapes, no rich markup."""
    return escape(printable(text, single_line=True))


def _print_summary(summary: SendSummary, standing: IssueStanding | None = None, campaign: Campaign | None = None) -> None:
    """The run's table; with `standing`, the whole issue's line; with `campaign`, the key-customer note."""
    console = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"webzine send {summary.issue} → {summary.transport}", show_header=False, box=None)
    rows = [
        (N_("accepted"), summary.accepted, "green"), (N_("failed (permanent)"), summary.failed, "red"),
        (N_("  of which hard bounces → suppressed"), summary.hard_bounces, "red"),
        (N_("rejected (unsafe data, not sent)"), summary.rejected, "red"),
        (N_("deferred (a re-run retries them)"), summary.deferred, "yellow"),
        (N_("unknown (not re-sent; see below)"), summary.unknown, "yellow"),
        (N_("left for a later run (--limit)"), summary.later, "yellow"),
        (N_("already sent earlier"), summary.already_accepted, ""), (N_("failed earlier"), summary.already_failed, ""),
        (N_("sent again (--retry-failed)"), summary.retried_failed, ""),
        (N_("suppressed during the send"), summary.suppressed, ""), (N_("retries"), summary.retries, ""),
        (N_("claimed by another process"), summary.taken_by_other, "yellow"),
    ]  # fmt: skip
    for label, value, colour in rows:
        if value or label in ("accepted", "failed (permanent)"):
            table.add_row(_(label), f"[{colour}]{value:,}[/]" if colour and value else f"{value:,}")
    table.add_row(_("time"), _("{seconds:.1f} s ({rate:,.0f} msg/s)").format(seconds=summary.elapsed, rate=summary.rate))
    if standing is not None:
        counts = dict(done=standing.delivered, failed=standing.failed, unknown=standing.unknown,
                      remaining=standing.remaining, rehearsed=standing.rehearsed_only)
        if summary.transport not in REHEARSALS and standing.rehearsed_only:
            whole = _("{done:,} done, {failed:,} failed, {unknown:,} unknown, {remaining:,} still to send, "
                      "{rehearsed:,} only rehearsed (outbox)").format(**counts)
        else:
            whole = _("{done:,} done, {failed:,} failed, {unknown:,} unknown, {remaining:,} still to send").format(
                **counts)
        table.add_row(_("whole issue"), whole)
    if campaign is not None and campaign.key_customers is not None:
        table.add_row(_("key customers"), escape(campaign.key_customers.note))
    console.print(table)
    for problem in summary.failures[:10]:
        code = " ".join(str(p) for p in (problem.code, problem.status) if p)
        console.print(_("  [red]failed[/] {email}: {code} {reason}").format(
            email=shown(problem.email), code=shown(code), reason=shown(problem.text)).rstrip())
    for problem in summary.rejects[:10]:
        console.print(_("  [red]rejected[/] {email}: {reason}").format(email=shown(problem.email),
                                                                      reason=shown(problem.text)))
    for problem in summary.unknowns[:10]:
        console.print(_("  [yellow]unknown[/] {email}: {reason}").format(email=shown(problem.email),
                                                                        reason=shown(problem.text)))


def _print_hints(summary: SendSummary, standing: IssueStanding, again: str) -> None:
    if summary.stopped:
        click.echo(_("Stopped: {reason}.").format(reason=printable(summary.stopped).rstrip(".")), err=True)
        click.echo(_("Hint: fix the cause, then re-run to resume (already accepted recipients are skipped): {command}")
                   .format(command=again), err=True)
    elif summary.deferred:
        click.echo(_("Hint: {count} message(s) were deferred by the server; re-run later to retry: {command}").format(
            count=summary.deferred, command=again), err=True)
    elif standing.remaining:
        click.echo(_("Hint: {count:,} recipient(s) of this issue are still to send; continue with: {command}").format(
            count=standing.remaining, command=again), err=True)
    if standing.unknown:
        click.echo(_("Hint: {count} recipient(s) are unknown: their messages were in flight when a run stopped or the "
                     "connection was lost, so they may already have them. List them with webzine status {issue} "
                     "--unknown and settle them with webzine settle, or send them deliberately with: {command} "
                     "--resend-unknown").format(count=standing.unknown, issue=summary.issue, command=again), err=True)


# -- test sends -----------------------------------------------------------------------------------


def _configured_test_inboxes(settings) -> list[str]:  # type: ignore[no-untyped-def]
    if not settings.send.test_inboxes:
        raise ConfigError(_("{path}: [send] test_inboxes is empty; list the team's test accounts, e.g. test_inboxes = "
                            '["webzine.test@naver.com", "webzine.test@hanmail.net"].').format(
            path=settings.root / CONFIG_FILE))
    for address in settings.send.test_inboxes:
        try:
            check_address("test_inboxes", address)
        except UnsafeHeader as exc:
            raise ConfigError(_("{path}: [send] test_inboxes: {reason}.").format(path=settings.root / CONFIG_FILE,
                                                                                 reason=exc.reason)) from None
    return settings.send.test_inboxes


def _test_send(settings, issue: Path, test_to: str, as_email: str | None, as_json: bool, today) -> int:  # type: ignore[no-untyped-def]
    addresses = [part.strip() for part in test_to.split(",") if part.strip()]
    for address in addresses:
        try:
            check_address("--test-to", address)
        except UnsafeHeader as exc:
            raise click.BadParameter(f"{exc.reason}.", param_hint="--test-to") from None
    campaign = load_campaign(settings, issue, today=today, gate=False)
    recipient = find_recipient(campaign, as_email) if as_email else sample_recipient(campaign)
    factory = make_factory(campaign, options=FactoryOptions(subject_prefix="[TEST] ", test=True))
    transport = make_transport(settings)
    results = []
    try:
        for address in addresses:
            try:
                message = factory.build(recipient, rcpt_to=address)
            except RecipientRejected as rejected:
                raise ConfigError(_("{email} cannot be used for a test: {reason}.").format(
                    email=recipient.email, reason=rejected.reason)) from None
            delivery = transport.send(message)
            results.append({"to": address, "as": recipient.email, "outcome": delivery.outcome.value,
                            "code": delivery.code, "text": delivery.text})
    finally:
        transport.close()
    if as_json:
        click.echo(json.dumps({"test": True, "issue": campaign.issue, "results": results}, ensure_ascii=False, indent=2))
    else:
        for result in results:
            click.echo(_("[TEST] {issue} as {recipient} → {to}: {outcome} {code} {reason}").format(
                issue=campaign.issue, recipient=result["as"], to=result["to"], outcome=result["outcome"],
                code=result["code"] or "", reason=result["text"]).rstrip())
    outcomes = {result["outcome"] for result in results}
    if Outcome.PERMANENT.value in outcomes:
        return EXIT_FAILED
    return EXIT_AGAIN if Outcome.TEMPORARY.value in outcomes else EXIT_OK


# -- status ---------------------------------------------------------------------------------------


@command()
@click.argument("issue", required=False)
@option("--unknown", "list_unknown", is_flag=True,
        help="List the recipients whose outcome is unknown, with Message-ID and claim time.")
@option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_context
def status(ctx: Context, issue: str | None, list_unknown: bool, as_json: bool) -> int:
    """Ledger counts per issue: accepted, failed, pending, unknown, and rehearsed (outbox only).

    ISSUE is an issue file or its slug; without it, every issue in the ledger is shown. Given an
    issue file, pending counts, with the same plan the send uses, everyone on today's cleaned list
    a send through the configured transport would still mail; otherwise pending is the deferred ones."""
    settings = ctx.settings
    issue_file = Path(issue) if issue and (issue.endswith(".md") or Path(issue).is_file()) else None
    loaded = load_issue(issue_file) if issue_file else None
    slug = loaded.slug if loaded else issue
    path = settings.path(settings.send.ledger)
    rows: list[dict[str, object]] = []
    unknown_rows = []
    if ledger_exists(path):
        audience = load_audience(settings, loaded, today=ctx.today) if loaded else None
        with Ledger.open(path) as ledger:
            runs = {run["issue"]: run for run in ledger.runs(slug)}
            pending = None
            if audience is not None:
                pending = audience.plan_counts(ledger, PlanOptions(transport=settings.send.transport))[Action.SEND]
            for counts in ledger.counts(slug):
                rows.append({"issue": counts.issue, "accepted": counts.accepted, "failed": counts.failed,
                             "pending": counts.deferred if pending is None else pending, "unknown": counts.unknown,
                             "deferred": counts.deferred, "rehearsed": counts.rehearsed,
                             "not_started": None if pending is None else max(0, pending - counts.deferred),
                             "last_run": runs.get(counts.issue)})  # fmt: skip
            if list_unknown and slug:
                unknown_rows = [row for row in ledger.rows(slug, State.CLAIMED) if not row.rehearsal]
    if list_unknown:
        return _print_unknown(slug, unknown_rows, as_json)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        click.echo((_("No sends recorded in {path} for {issue}.") if slug else _("No sends recorded in {path}.")).format(
            path=path, issue=slug))
        return EXIT_OK
    table = Table(_("issue"), _("accepted"), _("failed"), _("pending"), _("unknown"), _("last run"), box=None,
                  pad_edge=False)
    for row in rows:
        last = row["last_run"] or {}
        when = f"{last.get('finished_at') or last.get('started_at') or ''}"[:16].replace("T", " ")
        code = last.get("exit_code")
        rehearsed = _(" ({count:,} outbox only)").format(count=row["rehearsed"]) if row["rehearsed"] else ""
        table.add_row(str(row["issue"]), f"{row['accepted']:,}{rehearsed}", f"{row['failed']:,}", f"{row['pending']:,}",
                      f"{row['unknown']:,}",
                      _("{when} UTC, exit {code}").format(when=when, code=code) if code is not None else when)
    Console(highlight=False, soft_wrap=True).print(table)
    return EXIT_OK


def _print_unknown(slug: str | None, rows: list, as_json: bool) -> int:  # type: ignore[type-arg]
    if not slug:
        raise click.UsageError(_("--unknown needs ISSUE (an issue file or its slug)."))
    listed = [{"email": row.email, "message_id": row.message_id, "transport": row.transport,
               "claimed_at": row.claimed_at, "updated_at": row.updated_at, "text": row.text} for row in rows]
    if as_json:
        click.echo(json.dumps(listed, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not listed:
        click.echo(_("{issue}: no recipient is unknown.").format(issue=slug))
        return EXIT_OK
    table = Table(_("email"), "Message-ID", _("transport"), _("claimed (UTC)"), _("last answer"), box=None,
                  pad_edge=False)
    for item in listed:
        table.add_row(shown(item["email"]), f"<{item['message_id']}>", item["transport"],
                      item["claimed_at"][:19].replace("T", " "), shown(item["text"]))
    Console(highlight=False, soft_wrap=True).print(table)
    click.echo(_("Settle them from the mail server's log: webzine settle {issue} --delivered FILE, or send them again: "
                 "webzine settle {issue} --resend").format(issue=slug), err=True)
    return EXIT_OK
