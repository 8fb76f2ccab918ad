"""`webzine digest send ISSUE` and `webzine digest write ISSUE`: each account manager's digest.

`send` is a dry run unless `--yes`: it lists who would get which digest. With `--yes` each
manager gets theirs through the configured transport, recorded in the ledger under
`digest:<slug>` so a re-run (or a run after a kill) sends nobody a second copy. `write` puts the
digests as HTML and CSV files in `[digest] output/<slug>/`. Exit codes as for `webzine send`:
0 done, 1 some failed, 2 bad input, 3 interrupted or left for a re-run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import click

from webzine.i18n import _
from webzine.cli.help import group, option
from webzine.cli import Context, pass_context
from webzine.cli.due import TODAY_OPTION
from webzine.cli.send import _print_summary, _stop_on_signals
from webzine.send.inputs import make_transport, with_overrides
from webzine.config import Settings
from webzine.files import atomic_writer
from webzine.send.ledger import Ledger, State
from webzine.managers.digest import Digest, build_digests, csv_file, csv_rows, render_digest
from webzine.render.issue import load_issue
from webzine.managers.load import issue_files, load_issue_sources
from webzine.managers.mail import DigestMessages, RenderedDigest, digest_issue, digest_recipients
from webzine.managers.outcomes import outcome_table
from webzine.send.pacing import SuppressionWatch
from webzine.send.dispatch import Sender, SendOptions
from webzine.terminal import printable

DUE_WINDOW = timedelta(days=62)  # `--due` looks this far back: older issues' digests are history


@group()
def digest() -> None:
    """Each account manager's digest of an issue: whom to call, who got it, who answered."""


@dataclass(frozen=True)
class _Prepared:
    slug: str
    digests: list[Digest]
    rendered: dict[str, RenderedDigest]


def _prepare(settings: Settings, issue_arg: str, today: date) -> _Prepared:
    """Every source read once, then the pure steps: outcomes, digests, their HTML and text."""
    loaded = load_issue_sources(settings, issue_arg, today)
    digests = build_digests(outcome_table(loaded.people, loaded.facts), loaded.managers, loaded.facts)
    templates = settings.path(settings.build.templates)
    rendered = {}
    for item in digests:
        html, text = render_digest(item, publication=settings.publication.name, templates=templates)
        rendered[item.manager_id] = RenderedDigest(item, html, text)
    return _Prepared(loaded.issue.slug, digests, rendered)


@digest.command("send")
@click.argument("issue", required=False)
@option("--due", "due_now", is_flag=True,
        help="Every issue sent in the last two months whose date is [digest] days_after days ago or more.")
@TODAY_OPTION
@option("--yes", is_flag=True, help="Really send. Without it, a dry run lists who would get what.")
@option("--resend-unknown", is_flag=True, help="Also send digests whose earlier outcome is unknown (check the relay's log first).")
@option("--transport", "transport_name", metavar="NAME", help="Override [send] transport (outbox, smtp, …).")
@pass_context
def send(ctx: Context, issue: str | None, due_now: bool, today: str | None, yes: bool, resend_unknown: bool,
         transport_name: str | None) -> int:
    """Mail each account manager their digest of ISSUE (an issues/*.md file or its slug).

    Digests already accepted are never sent again, so `--due` can run every day."""
    ctx.pin_today(today)
    settings = with_overrides(ctx.settings, transport=transport_name)
    if due_now == bool(issue):
        raise click.UsageError(_("give either ISSUE or --due."))
    slugs = [issue] if issue else _due(settings, ctx.today)
    if not slugs:
        click.echo(_("No digest is due."))
    codes = [_send_one(settings, slug, ctx.today, yes, resend_unknown) for slug in slugs]
    return max(codes, default=0)


def _due(settings: Settings, today: date) -> list[str]:
    """Issues sent (they have ledger rows), dated between two months and [digest] days_after ago."""
    wait = timedelta(days=settings.digest.days_after)
    with Ledger.open(settings.path(settings.send.ledger)) as ledger:
        sent = {counts.issue for counts in ledger.counts() if counts.total}
    issues = [load_issue(path) for path in issue_files(settings)]
    return [i.slug for i in issues if i.slug in sent and today - DUE_WINDOW <= i.date <= today - wait]


def _send_one(settings: Settings, issue: str, today: date, yes: bool, resend_unknown: bool) -> int:
    prepared = _prepare(settings, issue, today)
    recipients = digest_recipients(prepared.rendered)
    key = digest_issue(prepared.slug)
    with Ledger.open(settings.path(settings.send.ledger)) as ledger:
        states = ledger.states(key, [r.key for r in recipients])
    if not yes:
        click.echo(_("Dry run: the digests of {issue} would go to {count} account manager(s) through {transport}:")
                   .format(issue=prepared.slug, count=len(recipients), transport=settings.send.transport))
        for recipient in recipients:
            item = prepared.rendered[recipient.manager].digest
            entry = states.get(recipient.key)
            state = entry.state if entry is not None else None
            done = {State.ACCEPTED: _(" (already sent)"),
                    State.CLAIMED: _(" (outcome unknown: not re-sent)")}.get(state, "")  # type: ignore[call-overload]
            click.echo(printable(_("  {name} <{email}>: 고객 {customers}명, 전화 드려야 할 고객 {calls}명{done}").format(
                name=item.name, email=recipient.email, customers=item.counts["customers"], calls=len(item.calls),
                done=done), single_line=True))
        _print_without_address(prepared)
        click.echo(_("Send them with: webzine digest send {issue} --yes").format(issue=issue))
        return 0
    from webzine.message.dkim import signer_from_settings

    factory = DigestMessages(settings, prepared.slug, prepared.rendered, signer=signer_from_settings(settings))
    transport = make_transport(settings)
    nobody = SuppressionWatch(settings.path(settings.send.ledger).with_name(".no-digest-suppressions"), lambda __: {})
    stop = threading.Event()
    try:
        with Ledger.open(settings.path(settings.send.ledger)) as ledger, _stop_on_signals(stop):
            sender = Sender(settings, today=today, factory=factory, transport=transport, ledger=ledger,  # type: ignore[arg-type]
                            suppressions=nobody, options=SendOptions(resend_unknown=resend_unknown), stop=stop)
            summary = sender.run(recipients)
    finally:
        transport.close()
    _print_summary(summary)
    _print_without_address(prepared)
    return summary.exit_code


def _print_without_address(prepared: _Prepared) -> None:
    for item in prepared.digests:
        if item.manager is None or not item.manager.email:
            click.echo(printable(_("  not mailed: {name} ({customers} customers, {calls} to call) has no address in "
                                   "managers.csv; see `webzine digest write`.").format(
                name=item.name, customers=item.counts["customers"], calls=len(item.calls)), single_line=True))


@digest.command("write")
@click.argument("issue")
@TODAY_OPTION
@pass_context
def write(ctx: Context, issue: str, today: str | None) -> int:
    """Write the digests of ISSUE as HTML and CSV files into [digest] output/<slug>/."""
    ctx.pin_today(today)
    settings = ctx.settings
    prepared = _prepare(settings, issue, ctx.today)
    folder = write_digests(settings.path(settings.digest.output) / prepared.slug, prepared)
    click.echo(_("Digests of {issue}: {folder}/ ({count} managers; all.csv has every customer)").format(
        issue=prepared.slug, folder=folder, count=len(prepared.digests)))
    return 0


def write_digests(folder: Path, prepared: _Prepared) -> Path:
    """<manager>.html and <manager>.csv per manager, and all.csv; each file written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    bodies = []
    for item in prepared.rendered.values():
        body = csv_rows(item.digest)
        bodies.append(body)
        _write(folder / f"{item.digest.file_stem}.html", item.html)
        _write(folder / f"{item.digest.file_stem}.csv", csv_file([body]))
    _write(folder / "all.csv", csv_file(bodies))
    return folder


def _write(path: Path, text: str) -> None:
    with atomic_writer(path, newline="") as handle:
        handle.write(text)
