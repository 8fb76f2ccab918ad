"""`webzine preview ISSUE`: the issue as any recipient will see it, rebuilt on every save.

The server keeps running through broken saves: a build error is shown in the page and printed
here once per save, and the next save that builds clears it. It stops on Ctrl+C (or SIGTERM).
"""

from __future__ import annotations

import signal
import threading
import time
import webbrowser
from pathlib import Path
from types import FrameType

import click

from webzine.i18n import _
from webzine.cli.help import IntRange, command, option
from webzine.cli import Context, pass_context
from webzine.errors import ConfigError, IssueError, ListError
from webzine.web.preview import SAMPLE, Problem, Snapshot, Workspace, recipient_id
from webzine.web.preview_server import PreviewServer

DEFAULT_PORT = 8030


@command()
@click.argument("issue", type=click.Path(path_type=Path, dir_okay=False))
@option("--port", type=IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
        help="Port on 127.0.0.1; when it is taken the next free one is used (0: any).")  # fmt: skip
@option("--no-open", is_flag=True, help="Do not open a browser window.")
@option("--as", "as_email", metavar="EMAIL", help="Open the preview as this recipient (default: [build] sample_recipient).")
@pass_context
def preview(ctx: Context, issue: Path, port: int, no_open: bool, as_email: str | None) -> int:
    """Serve ISSUE on 127.0.0.1 with live reload: pick any recipient, switch desktop/mobile and
    light/dark, read the plain-text part, the inbox row and the lint report."""
    if not ctx.config_path.is_file():
        raise ConfigError(_("{path}: no such file.").format(path=ctx.config_path),
                          hint=_("run webzine in the project folder, or pass --config PATH."))
    if not issue.is_file():
        raise IssueError(_("{path}: no such issue file.").format(path=issue), hint=_("webzine new TITLE creates one."))
    reporter = _Reporter()
    server = PreviewServer(Workspace(ctx.config_path, issue, today=ctx.today), port=port, on_build=reporter)
    server.start()
    try:
        for notice in server.notices:
            reporter.problem(notice)
        url = server.url + _start_query(server.workspace.snapshot, as_email)
        click.echo(_("Preview of {issue}: {url}").format(issue=issue, url=url))
        click.echo(_("Rebuilds on every save of the issue, templates, webzine.toml and lists. Ctrl+C stops it."))
        if not no_open and not webbrowser.open(url):
            click.echo(_("No browser could be opened here; open the address above yourself."))
        _wait_for_interrupt()
    finally:
        server.stop()
    click.echo(_("Preview stopped."))
    return 0


def _start_query(snapshot: Snapshot, as_email: str | None) -> str:
    """`?r=<id>` for `--as`; an address that is not on the cleaned list is a usage error, unless
    the list itself could not be read (then the page says so and shows the sample)."""
    if not as_email:
        return ""
    key = as_email.strip().lower()
    for recipient in snapshot.recipients:
        if recipient.key == key:
            return f"?r={recipient_id(recipient)}"
    if snapshot.recipients and snapshot.recipients != (SAMPLE,):
        raise ListError(_("{email} is not on the cleaned list; check the spelling, or run webzine lists clean to see "
                          "whether it was rejected or suppressed.").format(email=as_email))
    click.echo(_("Warning: the list could not be read, so --as {email} cannot be chosen yet.").format(email=as_email),
               err=True)
    return ""


def _wait_for_interrupt() -> None:
    """Block until Ctrl+C or SIGTERM (a service manager, or a test stopping us by PID)."""
    stop = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        click.echo("")
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Reporter:
    """Prints one line per build; notices only when they change, so a save is one line."""

    def __init__(self) -> None:
        self._notices: tuple[Problem, ...] = ()
        self._failed = False

    def __call__(self, snapshot: Snapshot) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(snapshot.built_at))
        if snapshot.error is not None:
            self._failed = True
            click.echo(_("[{time}] build #{number} failed ({seconds:.2f} s); the page shows the error.").format(
                time=stamp, number=snapshot.version, seconds=snapshot.seconds), err=True)
            self.problem(snapshot.error)
        else:
            report = snapshot.rendered.report if snapshot.rendered is not None else None
            lint = _("lint ok") if report is not None and report.ok else _("lint found errors")
            counts = _("{errors} error(s), {warnings} warning(s)").format(
                errors=len(report.errors), warnings=len(report.warnings)) if report is not None else ""
            again = _(" — fixed") if self._failed else ""
            self._failed = False
            click.echo(_("[{time}] build #{number} in {seconds:.2f} s: {lint} ({counts}){again}").format(
                time=stamp, number=snapshot.version, seconds=snapshot.seconds, lint=lint, counts=counts, again=again))
        if snapshot.notices != self._notices:
            self._notices = snapshot.notices
            for notice in snapshot.notices:
                self.problem(notice)

    @staticmethod
    def problem(problem: Problem) -> None:
        line = _("Error: {message}") if problem.level == "error" else _("Warning: {message}")
        click.echo(line.format(message=problem.message), err=True)
        if problem.hint:
            click.echo(_("Hint: {hint}").format(hint=problem.hint), err=True)
