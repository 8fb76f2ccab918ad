"""`webzine check [--dns]`: the sending domain's pre-flight, and the gate `webzine send` runs.

Offline it reads only webzine.toml and the DKIM key; with `--dns` it asks DNS what receivers ask
(SPF, the DKIM selector, DMARC, the Return-Path domain) and prints the Gmail/Yahoo/Naver
bulk-sender checklist. Exit codes: 0 every check passed (warnings allowed), 1 a check failed,
2 bad usage or configuration, 3 the resolver did not answer (re-run).
"""

from __future__ import annotations

import json
import os
from typing import NoReturn

import click
from rich.console import Console
from rich.table import Table

from webzine.cli.help import Choice, command, option
from webzine.cli import Context, pass_context
from webzine.config import Settings
from webzine import providers
from webzine.domain.findings import MARKS, Reported, Status, exit_code, failures
from webzine.domain.lookups import Dns, resolver_for
from webzine.domain.offline import check_dkim_key, offline_checks
from webzine.domain.online import Requirement, bulk_sender_checklist, online_checks
from webzine.domain.texts import check_name, language_for, message
from webzine.errors import ConfigError
from webzine.i18n import _
from webzine.terminal import printable
from webzine.transports import REHEARSALS


@command()
@option("--dns", "online", is_flag=True, help="Also ask DNS: SPF, the DKIM selector's key, DMARC, the "
        "Return-Path domain, the email API's own settings, and the Gmail/Yahoo/Naver bulk-sender checklist.")
@option("--resolver", metavar="HOST[:PORT]", help="With --dns: ask this DNS server (e.g. 127.0.0.1:5353) "
        "instead of the system's.")
@option("--lang", type=Choice(["ko", "en"]), help="Language of the report; default: [publication] language.")
@option("--json", "as_json", is_flag=True, help="Print the findings (and the checklist) as JSON.")
@pass_context
def check(ctx: Context, online: bool, resolver: str | None, lang: str | None, as_json: bool) -> int:
    """Check the sending domain and the settings a send uses, before a real send.

    Offline: placeholder (example.*) values left in the settings, From / DKIM / Return-Path domains
    aligned for DMARC, https links on your own domain, the DKIM key's size, the footer fields.
    With --dns: SPF covering the SMTP host or provider (at most 10 lookups), the DKIM key in DNS
    matching the private key, DMARC, MX for the Return-Path domain, and the email API's own
    settings read through its API (stream, tracking, webhooks, identity)."""
    if resolver and not online:
        raise click.UsageError(_("--resolver only applies with --dns."))
    settings = ctx.settings
    language = language_for(lang, settings.publication.language)
    key = check_dkim_key(settings, os.environ.get(settings.dkim.private_key_env) or None)
    findings: list[Reported] = list(offline_checks(settings, key))
    checklist: list[Requirement] = []
    if online:
        findings = [*findings, *online_checks(settings, Dns(resolver_for(resolver)), key.public),
                    *providers.preflight(settings)]
        checklist = bulk_sender_checklist(settings, findings)
    if as_json:
        click.echo(json.dumps({"findings": [_as_dict(finding, language) for finding in findings],
                               "checklist": [_requirement_dict(row, language) for row in checklist],
                               "exit_code": exit_code(findings)}, ensure_ascii=False, indent=2))
        return exit_code(findings)
    for finding in findings:
        click.echo(_line(finding, language))
    if checklist:
        _print_checklist(checklist, language)
    failed = failures(findings)
    click.echo(message("some_failed", language, count=str(len(failed))) if failed else message("all_passed", language))
    return exit_code(findings)


def _line(finding: Reported, language: str) -> str:
    return printable(f"{MARKS[finding.status]} {check_name(finding.check, language)}: {finding.text(language)}",
                     single_line=True)


def _as_dict(finding: Reported, language: str) -> dict[str, str]:
    return {"check": finding.check, "status": finding.status.value, "message": finding.text(language)}


def _requirement_dict(row: Requirement, language: str) -> dict[str, str | None]:
    return {"requirement": message(row.key, language), "receivers": row.receivers,
            "status": row.status.value if row.status else None, "todo": message(f"{row.key}_todo", language)}


def _print_checklist(rows: list[Requirement], language: str) -> None:
    table = Table(*(message(column, language) for column in ("col_requirement", "col_receivers", "col_result",
                                                             "col_todo")),
                  title=message("checklist_title", language), box=None, pad_edge=False, title_justify="left")
    for row in rows:
        result = message("manual", language) if row.status is None else "✓" if row.status is Status.PASS else "✗"
        todo = "" if row.status is Status.PASS else message(f"{row.key}_todo", language)
        table.add_row(message(row.key, language), row.receivers, result, todo)
    Console(highlight=False, soft_wrap=True).print(table)


def provider_gate(settings: Settings) -> None:
    """`webzine send --yes`'s gate through an email API: the provider's own settings, read through its
    API (stream, tracking, webhooks, identity), stop the send (exit 2) with one line per failed one —
    a send must not go out with click tracking rewriting the 수신거부 link or through a stream that
    adds its own unsubscribe. Nothing to ask for the outbox and SMTP."""
    if settings.send.preflight == "off":
        return
    problems = failures(providers.preflight(settings))
    if problems:
        _refuse(settings, problems)


def preflight(settings: Settings) -> str:
    """`webzine send`'s gate: the offline checks. Through a real transport a failed check stops
    the send (exit 2) with one line per reason; for the outbox, a rehearsal, it returns the warning
    the send shows once its own gates have passed (else ""). `[send] preflight = "off"` is for test
    relays with made-up domains."""
    if settings.send.preflight == "off":
        return ""
    key = check_dkim_key(settings, os.environ.get(settings.dkim.private_key_env) or None)
    problems = failures(offline_checks(settings, key))
    if not problems:
        return ""
    if settings.send.transport in REHEARSALS:
        language = language_for(None, settings.publication.language)
        return message("gate_rehearsal", language, count=str(len(problems)))
    _refuse(settings, problems)


def _refuse(settings: Settings, problems: list[Reported]) -> NoReturn:
    """Stop the send: one line per failed check, then the error (exit 2)."""
    language = language_for(None, settings.publication.language)
    for problem in problems:
        click.echo(_line(problem, language), err=True)
    raise ConfigError(message("gate_failed", language, count=str(len(problems)), transport=settings.send.transport),
                      hint=message("gate_hint", language))
