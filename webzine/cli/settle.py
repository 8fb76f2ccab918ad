"""`webzine settle ISSUE`: decide, from evidence, what became of the recipients left unknown.

Without options it uses what the project already holds (imported provider and bounce events, the
outbox); `--delivered FILE` adds the mail server's log (any line naming an unknown recipient's
address or Message-ID marks it delivered); `--ask-provider` asks the email API's own record
(Postmark's message search, Mailgun's events API) for each message sent through it; `--resend` marks the rest to be sent again by the next
`webzine send`. A dry run unless `--yes`. Exit codes: 0 nothing left unknown, 1 some still unknown,
2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from webzine.i18n import _
from webzine.cli.help import command, option
from webzine.cli import Context, pass_context
from webzine.errors import ListError
from webzine.render.issue import load_issue
from webzine.send.ledger import Ledger, State, ledger_exists
from webzine.send.settle import Settlement, evidence_lines, outbox_evidence, settle
from webzine.terminal import printable


@command("settle")
@click.argument("issue")
@option("--delivered", "delivered", type=click.Path(path_type=Path, dir_okay=False), multiple=True,
        metavar="FILE", help="A mail-server log or list: lines naming an address or Message-ID were delivered.")
@option("--ask-provider", is_flag=True,
        help="Ask the email API ([send] transport postmark or mailgun) whether it took each unknown message.")
@option("--resend", is_flag=True, help="Mark every recipient still unknown to be sent again by the next send.")
@option("--yes", is_flag=True, help="Record the decisions. Without it, show them.")
@option("--json", "as_json", is_flag=True, help="Print the decisions as JSON.")
@pass_context
def settle_command(ctx: Context, issue: str, delivered: tuple[Path, ...], ask_provider: bool, resend: bool,
                   yes: bool, as_json: bool) -> int:
    """Settle ISSUE's unknown recipients (an issue file or its slug) from evidence, recorded in the ledger."""
    settings = ctx.settings
    slug = load_issue(issue).slug if issue.endswith(".md") or Path(issue).is_file() else issue
    if ask_provider:
        _check_provider(settings.send.transport)
    path = settings.path(settings.send.ledger)
    if not ledger_exists(path):
        raise ListError(_("{path}: no send ledger yet; nothing to settle.").format(path=path))
    seen = _reports(settings, slug)
    for log in delivered:
        try:
            with log.open(encoding="utf-8", errors="replace") as lines:
                seen.update(evidence_lines(lines, str(log)))
        except OSError as exc:
            raise ListError(_("{path}: cannot be read ({reason}); give the mail server's log file.").format(
                path=log, reason=exc.strerror)) from None
    with Ledger.open(path) as ledger:
        unknown = ledger.rows(slug, State.CLAIMED)
        if ask_provider:
            seen.update(_provider_records(settings, unknown))
        rehearsed = outbox_evidence(settings.path(settings.send.outbox)) if any(r.rehearsal for r in unknown) else {}
        decisions = settle(unknown, seen=seen, resend=resend, rehearsed=rehearsed)
        if yes and decisions:
            ledger.settle(slug, [(d.key, State.ACCEPTED if d.delivered else State.DEFERRED, f"settled: {d.evidence}")
                                 for d in decisions])
    left = len(unknown) - len(decisions)
    _show(slug, decisions, left, yes, as_json)
    return 1 if left else 0


def _reports(settings, slug: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Bounce and complaint reports for this issue's recipients: the message was taken, then bounced."""
    from webzine.bounces.store import load_events
    from webzine.unsubscribes.store import store_events

    seen: dict[str, str] = {}
    events = [*load_events(settings.path(settings.bounces.events)), *store_events(settings)]
    for event in events:
        if event.issue == slug:
            seen.setdefault(event.key, f"a {event.kind} report from {event.source} (the message was taken)")
    return seen


def _check_provider(name: str) -> None:
    from webzine.errors import ConfigError
    from webzine.providers import PROVIDERS

    if name not in PROVIDERS or not PROVIDERS[name].transport_class().looks_up_messages:
        raise ConfigError(_("--ask-provider reads Postmark's or Mailgun's record of a message; [send] transport is "
                            "{transport}. Use --delivered FILE with the mail server's log instead.").format(transport=name))


def _provider_records(settings, rows: list) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Message-ID → the provider's record of taking it, for rows sent through [send] transport."""
    from webzine.providers import transport_class
    from webzine.providers.base import provider_evidence

    transport = transport_class(settings.send.transport).from_settings(settings)
    try:
        return provider_evidence(transport, rows)
    finally:
        transport.close()


def _show(slug: str, decisions: list[Settlement], left: int, recorded: bool, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"issue": slug, "recorded": recorded, "still_unknown": left,
                               "decisions": [{"email": d.email, "delivered": d.delivered, "evidence": d.evidence}
                                             for d in decisions]}, ensure_ascii=False, indent=2))
        return
    for decision in decisions:
        verdict = _("delivered") if decision.delivered else _("send again")
        click.echo(f"  {verdict:10} {printable(decision.email, single_line=True)}  "
                   f"({printable(decision.evidence, single_line=True)})")
    delivered = sum(d.delivered for d in decisions)
    counts = dict(issue=slug, delivered=delivered, again=len(decisions) - delivered, unknown=left)
    if recorded or not decisions:
        click.echo(_("{issue}: {delivered} delivered, {again} to send again, {unknown} still unknown.").format(**counts))
    else:
        click.echo(_("{issue}: {delivered} delivered, {again} to send again, {unknown} still unknown — a dry run: add "
                     "--yes to record it.").format(**counts))
    if left:
        click.echo(_("Hint: give the mail server's log with --delivered FILE, or decide with --resend: webzine settle "
                     "{issue} --resend --yes").format(issue=slug), err=True)
