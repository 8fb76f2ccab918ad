"""`webzine send ISSUE` and `webzine status [ISSUE]`.

`send` is a dry run unless `--yes`: it renders, cleans, audits and builds the first message, then
shows what a send would do. With `--yes` it sends, with a progress bar on a terminal and a summary
table (or `--json`) at the end. Exit codes: 0 all sent, 1 some failed permanently (or were
rejected), 2 bad input, 3 interrupted / sender problem / left for a re-run (re-running resumes).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from webzine.campaign import (
    Campaign,
    find_recipient,
    load_campaign,
    make_factory,
    make_transport,
    not_started,
    sample_recipient,
    suppression_watch,
    with_overrides,
)
from webzine.cli import Context, pass_context
from webzine.cli.due import TODAY_OPTION, pick_due
from webzine.errors import ConfigError
from webzine.issue import load_issue
from webzine.ledger import Ledger, State
from webzine.message import FactoryOptions, RecipientRejected
from webzine.mime import UnsafeHeader, check_address
from webzine.send import EXIT_AGAIN, EXIT_FAILED, EXIT_OK, Sender, SendOptions, SendSummary
from webzine.suppressions import merge_suppressions
from webzine.transports.base import Outcome

_PREVIEW_ROWS = 5


@click.command()
@click.argument("issue", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=False)
@click.option("--due", "due_now", is_flag=True, help="Send the issue due this month (see `webzine due`) instead of ISSUE.")
@TODAY_OPTION
@click.option("--yes", is_flag=True, help="Really send. Without it, a dry run shows what would happen.")
@click.option("--test-to", metavar="ADDR[,ADDR]", help="Send a [TEST] copy to these addresses only (no ledger, no audit).")
@click.option("--as", "as_email", metavar="EMAIL", help="With --test-to: personalise as this subscriber.")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most N messages in this run.")
@click.option("--only", "only", multiple=True, metavar="EMAIL", help="Send only to this subscriber (repeatable).")
@click.option("--transport", "transport_name", metavar="NAME", help="Override [send] transport (outbox, smtp, …).")
@click.option("--outbox-format", type=click.Choice(["maildir", "mbox", "eml"]), help="Override [send] outbox_format.")
@click.option("--allow-gaps", metavar="REASON", help="Send despite audit gaps; the reason is recorded in the ledger.")
@click.option("--resend-unknown", is_flag=True, help="Also send to recipients whose earlier send has no recorded outcome.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan or the summary as JSON.")
@pass_context
def send(ctx: Context, issue: Path | None, due_now: bool, today: str | None, yes: bool, test_to: str | None,
         as_email: str | None, limit: int | None, only: tuple[str, ...], transport_name: str | None,
         outbox_format: str | None, allow_gaps: str | None, resend_unknown: bool, as_json: bool) -> int:  # fmt: skip
    """Merge ISSUE with the cleaned list and send it — a dry run unless --yes.

    Every recipient is recorded in the send ledger, so a re-run after a crash, a stop or a sender
    problem resumes where it left off and never sends anyone the same issue twice. With --due the
    issue is the one dated this month (Asia/Seoul) that is not completely sent; nothing due → 0."""
    if due_now == (issue is not None):
        raise click.UsageError("give either ISSUE or --due.")
    if due_now:
        issue = pick_due(ctx, today)
        if issue is None:
            return EXIT_OK
    if allow_gaps is not None and not allow_gaps.strip():
        raise click.BadParameter("give the reason the gaps are accepted, e.g. --allow-gaps \"대표님 승인\".",
                                 param_hint="--allow-gaps")
    if as_email and not test_to:
        raise click.BadParameter("--as only applies to test sends; add --test-to ADDR.", param_hint="--as")
    settings = with_overrides(ctx.settings, transport=transport_name, outbox_format=outbox_format)
    if test_to:
        return _test_send(settings, issue, test_to, as_email, as_json)
    campaign = load_campaign(settings, issue, allow_gaps=allow_gaps)
    keys = frozenset(_split(only))
    for key in keys:
        find_recipient(campaign, key)
    options = SendOptions(limit=limit, only=keys, resend_unknown=resend_unknown, allow_gaps=allow_gaps)
    if not yes:
        return _dry_run(campaign, issue, options, as_json)
    return _real_send(campaign, issue, options, as_json)


def _split(values: tuple[str, ...] | str) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    return [part.strip().lower() for item in items for part in item.split(",") if part.strip()]


# -- dry run ----------------------------------------------------------------------------------


def _ledger_states(campaign: Campaign) -> dict[str, int]:
    """How the cleaned list stands in the ledger for this issue (read-only; no file is created)."""
    path = campaign.settings.path(campaign.settings.send.ledger)
    tally = {state.value: 0 for state in State}
    if not path.exists():
        return tally
    keys = [r.key for r in campaign.clean.recipients]
    with Ledger.open(path) as ledger:
        for start in range(0, len(keys), 5000):
            for state, _ in ledger.states(campaign.issue, keys[start : start + 5000]).values():
                tally[state.value] += 1
    return tally


def _dry_run(campaign: Campaign, issue: Path, options: SendOptions, as_json: bool) -> int:
    settings = campaign.settings
    factory = make_factory(campaign)
    recipients = campaign.clean.recipients
    if options.only:
        recipients = [r for r in recipients if r.key in options.only]
    states = _ledger_states(campaign)
    done = states["accepted"] + states["failed"] + (0 if options.resend_unknown else states["claimed"])
    to_send = max(0, len(recipients) - done) if not options.only else len(recipients)
    if options.limit is not None:
        to_send = min(to_send, options.limit)
    preview = []
    for recipient in recipients[:_PREVIEW_ROWS]:
        try:
            message = factory.build(recipient)
            subject = _subject_of(campaign, recipient)
            preview.append({"email": recipient.email, "name": recipient.name, "subject": subject,
                            "bytes": len(message.data)})
        except RecipientRejected as rejected:
            preview.append({"email": recipient.email, "name": recipient.name, "subject": None,
                            "rejected": rejected.reason})
    plan = {
        "dry_run": True, "issue": campaign.issue, "transport": settings.send.transport,
        "recipients": len(campaign.clean.recipients), "rejected_while_cleaning": len(campaign.clean.rejects),
        "already_accepted": states["accepted"], "already_failed": states["failed"],
        "deferred": states["deferred"], "unknown": states["claimed"], "to_send": to_send,
        "allow_gaps": options.allow_gaps, "audit_ok": bool(getattr(campaign.audit, "ok", True)),
        "rate": settings.send.rate, "concurrency": settings.send.concurrency, "first": preview,
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(plan, ensure_ascii=False, indent=2))
        return EXIT_OK
    console = Console(highlight=False, soft_wrap=True)
    console.print("[bold]Dry run[/] — nothing was sent. Add [bold]--yes[/] to send.")
    console.print(f"  issue      {campaign.issue}  ({campaign.rendered.issue.title})")
    console.print(f"  transport  {_transport_line(settings)}")
    console.print(f"  list       {plan['recipients']:,} recipients after cleaning "
                  f"({plan['rejected_while_cleaning']:,} rows rejected: webzine lists clean shows why)")
    console.print(f"  ledger     {states['accepted']:,} accepted, {states['failed']:,} failed, "
                  f"{states['deferred']:,} deferred, {states['claimed']:,} unknown")
    gaps = "" if plan["audit_ok"] else f" — gaps accepted: {options.allow_gaps}"
    console.print(f"  audit      {'ok' if plan['audit_ok'] else 'gaps'}{gaps}")
    seconds = to_send / settings.send.rate
    console.print(f"  would send {to_send:,} message(s), about {_duration(seconds)} at {settings.send.rate:g}/s")
    if states["claimed"] and not options.resend_unknown:
        console.print(f"  [yellow]{states['claimed']:,} unknown[/]: an earlier run stopped while they were in "
                      "flight; they are skipped unless you add --resend-unknown.")
    table = Table("email", "name", "subject", box=None, pad_edge=False)
    for row in preview:
        table.add_row(row["email"], row["name"], row["subject"] or f"[red]rejected: {row['rejected']}[/]")
    console.print(table)
    console.print(f"Next: webzine send {issue} --yes")
    return EXIT_OK


def _subject_of(campaign: Campaign, recipient) -> str:  # type: ignore[no-untyped-def]
    from webzine.merge import recipient_context

    manager = campaign.managers.get(recipient.manager)
    fields = None if manager is None else {"id": manager.id, "name": manager.name, "email": manager.email,
                                           "phone": manager.phone, "title": manager.title}
    return campaign.rendered.subject.render(recipient_context(recipient.merge_fields(), fields, ""))


def _transport_line(settings) -> str:  # type: ignore[no-untyped-def]
    name = settings.send.transport
    if name == "outbox":
        return f"outbox ({settings.send.outbox_format} in {settings.send.outbox}/; nothing leaves this machine)"
    if name == "smtp":
        return f"smtp ({settings.smtp.host}:{settings.smtp.port}, {settings.smtp.security})"
    return name


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


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
def _progress_bar(total: int, enabled: bool) -> Iterator[object]:
    if not enabled:
        yield None
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


def _real_send(campaign: Campaign, issue: Path, options: SendOptions, as_json: bool) -> int:
    settings = campaign.settings
    factory = make_factory(campaign)
    transport = make_transport(settings)
    suppressions = settings.path(settings.lists.suppressions)
    watch = suppression_watch(settings)
    stop = threading.Event()
    total = len(campaign.clean.recipients)
    show_bar = not as_json and sys.stderr.isatty()
    try:
        with Ledger.open(settings.path(settings.send.ledger)) as ledger, _stop_on_signals(stop), \
                _progress_bar(total, show_bar) as progress:  # fmt: skip
            sender = Sender(settings, factory=factory, transport=transport, ledger=ledger, suppressions=watch,
                            options=options, stop=stop, progress=progress,
                            merge_suppressions=lambda new: merge_suppressions(suppressions, new))  # fmt: skip
            summary = sender.run(campaign.clean.recipients)
    finally:
        transport.close()
    if as_json:
        click.echo(json.dumps({"dry_run": False, **summary.as_dict()}, ensure_ascii=False, indent=2))
    else:
        _print_summary(summary)
        if options.allow_gaps:
            click.echo(f"Sent despite audit gaps; reason recorded in the ledger: {options.allow_gaps}")
    _print_hints(summary, issue, options)
    return summary.exit_code


def _print_summary(summary: SendSummary) -> None:
    from rich.markup import escape

    from webzine.terminal import printable

    def shown(text: str) -> str:
        """Server replies and addresses: no terminal escapes, no rich markup."""
        return escape(printable(text, single_line=True))

    console = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"webzine send {summary.issue} → {summary.transport}", show_header=False, box=None)
    rows = [
        ("accepted", summary.accepted, "green"), ("failed (permanent)", summary.failed, "red"),
        ("  of which hard bounces → suppressed", summary.hard_bounces, "red"),
        ("rejected (unsafe data, not sent)", summary.rejected, "red"),
        ("deferred (a re-run retries them)", summary.deferred, "yellow"),
        ("unknown (not re-sent; see below)", summary.unknown, "yellow"),
        ("already sent earlier", summary.already_accepted, ""), ("failed earlier", summary.already_failed, ""),
        ("suppressed during the send", summary.suppressed, ""), ("retries", summary.retries, ""),
    ]  # fmt: skip
    for label, value, colour in rows:
        if value or label in ("accepted", "failed (permanent)"):
            table.add_row(label, f"[{colour}]{value:,}[/]" if colour and value else f"{value:,}")
    table.add_row("time", f"{summary.elapsed:.1f} s ({summary.rate:,.0f} msg/s)")
    console.print(table)
    for problem in summary.failures[:10]:
        code = " ".join(str(p) for p in (problem.code, problem.status) if p)
        console.print(f"  [red]failed[/] {shown(problem.email)}: {shown(code)} {shown(problem.text)}".rstrip())
    for problem in summary.rejects[:10]:
        console.print(f"  [red]rejected[/] {shown(problem.email)}: {shown(problem.text)}")
    for problem in summary.unknowns[:10]:
        console.print(f"  [yellow]unknown[/] {shown(problem.email)}: {shown(problem.text)}")


def _print_hints(summary: SendSummary, issue: Path, options: SendOptions) -> None:
    again = f"webzine send {issue} --yes"
    if summary.stopped:
        click.echo(f"Stopped: {summary.stopped.rstrip('.')}.", err=True)
        click.echo(f"Hint: fix the cause, then re-run to resume (already accepted recipients are skipped): {again}",
                   err=True)
    elif summary.deferred:
        click.echo(f"Hint: {summary.deferred} message(s) were deferred by the server; re-run later to retry: {again}",
                   err=True)
    if summary.unknown:
        click.echo(f"Hint: {summary.unknown} recipient(s) are unknown: their messages were in flight when a run "
                   f"stopped or the connection was lost, so they may already have them. Check the transport's logs, then send them "
                   f"deliberately with: {again} --resend-unknown", err=True)


# -- test sends -----------------------------------------------------------------------------------


def _test_send(settings, issue: Path, test_to: str, as_email: str | None, as_json: bool) -> int:  # type: ignore[no-untyped-def]
    addresses = [part.strip() for part in test_to.split(",") if part.strip()]
    for address in addresses:
        try:
            check_address("--test-to", address)
        except UnsafeHeader as exc:
            raise click.BadParameter(f"{exc.reason}.", param_hint="--test-to") from None
    campaign = load_campaign(settings, issue, gate=False)
    recipient = find_recipient(campaign, as_email) if as_email else sample_recipient(campaign)
    factory = make_factory(campaign, options=FactoryOptions(subject_prefix="[TEST] ", test=True))
    transport = make_transport(settings)
    results = []
    try:
        for address in addresses:
            try:
                message = factory.build(recipient, rcpt_to=address)
            except RecipientRejected as rejected:
                raise ConfigError(f"{recipient.email} cannot be used for a test: {rejected.reason}.") from None
            delivery = transport.send(message)
            results.append({"to": address, "as": recipient.email, "outcome": delivery.outcome.value,
                            "code": delivery.code, "text": delivery.text})
    finally:
        transport.close()
    if as_json:
        click.echo(json.dumps({"test": True, "issue": campaign.issue, "results": results}, ensure_ascii=False, indent=2))
    else:
        for result in results:
            click.echo(f"[TEST] {campaign.issue} as {result['as']} → {result['to']}: {result['outcome']} "
                       f"{result['code'] or ''} {result['text']}".rstrip())
    outcomes = {result["outcome"] for result in results}
    if Outcome.PERMANENT.value in outcomes:
        return EXIT_FAILED
    return EXIT_AGAIN if Outcome.TEMPORARY.value in outcomes else EXIT_OK


# -- status ---------------------------------------------------------------------------------------


@click.command()
@click.argument("issue", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_context
def status(ctx: Context, issue: str | None, as_json: bool) -> int:
    """Ledger counts per issue: accepted, failed, pending and unknown.

    ISSUE is an issue file or its slug; without it, every issue in the ledger is shown. Given an
    issue file, pending also counts the cleaned list's recipients that no run has reached yet;
    otherwise pending is the deferred ones."""
    settings = ctx.settings
    issue_file = Path(issue) if issue and (issue.endswith(".md") or Path(issue).is_file()) else None
    slug = load_issue(issue_file).slug if issue_file else issue
    path = settings.path(settings.send.ledger)
    rows: list[dict[str, object]] = []
    if path.exists():
        with Ledger.open(path) as ledger:
            runs = {run["issue"]: run for run in ledger.runs(slug)}
            fresh = not_started(settings, ledger, issue_file)[2] if issue_file else 0
            for counts in ledger.counts(slug):
                rows.append({"issue": counts.issue, "accepted": counts.accepted, "failed": counts.failed,
                             "pending": counts.deferred + fresh, "unknown": counts.unknown,
                             "deferred": counts.deferred, "not_started": fresh if issue_file else None,
                             "last_run": runs.get(counts.issue)})  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        click.echo(f"No sends recorded in {path}" + (f" for {slug}." if slug else "."))
        return EXIT_OK
    table = Table("issue", "accepted", "failed", "pending", "unknown", "last run", box=None, pad_edge=False)
    for row in rows:
        last = row["last_run"] or {}
        when = f"{last.get('finished_at') or last.get('started_at') or ''}"[:16].replace("T", " ")
        code = last.get("exit_code")
        table.add_row(str(row["issue"]), f"{row['accepted']:,}", f"{row['failed']:,}", f"{row['pending']:,}",
                      f"{row['unknown']:,}", f"{when} UTC, exit {code}" if code is not None else when)
    Console(highlight=False, soft_wrap=True).print(table)
    return EXIT_OK
