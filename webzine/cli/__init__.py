"""The command line: the only place that prints, prompts and chooses exit codes.

Each command group lives in its own module here and is registered below: `init.py`, `build.py` (new, build),
`lists.py`, `audit.py`, `customers.py`, `check.py`, `send.py`, `due.py`, `settle.py`, `ledger.py`, `bounces.py`,
`replies.py`, `suppressions.py`, `digest.py`, `report.py`, `serve.py`, `preview.py`, `archive.py`; `help.py` holds
the command, group and option classes that show help and usage errors in the chosen language (`--lang`, the
locale, the publication). Errors from the stages (`WebzineError`) are shown once, in `main`, as `Error: …` /
`Hint: …` (`오류: …` / `안내: …`) without a traceback (`--debug` shows it). Exit codes: 0 success, 1 a check found problems, 2 bad usage or input,
3 transient failure, safe to re-run.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping, Sequence
import importlib
import os
import sqlite3
import sys
import tomllib
from datetime import date
from pathlib import Path

import click

from webzine.cli.help import Choice, Group, option, show_usage_error, version_option
from webzine.clock import resolve_today
from webzine.config import CONFIG_FILE, Settings, load_settings
from webzine.errors import StorageError, WebzineError
from webzine.i18n import LANGUAGES, N_, _, activate, choose_language, language_of_locale
from webzine.terminal import printable


class Context:
    """Carries the global options; settings are read once, on first use, and "today" is decided
    once per command (`--today`, else `WEBZINE_TODAY`, else the date in Korea) and passed down."""

    def __init__(self, config_path: Path, debug: bool, today: str | None = None) -> None:
        self.config_path = config_path
        self.debug = debug
        self._today_option = today
        self._today: date | None = None
        self._settings: Settings | None = None
        self._columns: dict[str, str] = {}

    @property
    def today(self) -> date:
        if self._today is None:
            self._today = resolve_today(self._today_option, os.environ)
        return self._today

    @property
    def today_pinned(self) -> bool:
        """Whether the command line chose the day (a hint to continue must repeat it)."""
        return bool(self._today_option)

    def pin_today(self, option: str | None) -> None:
        """A command's own `--today` overrides the global one."""
        if option:
            self._today_option, self._today = option, None

    @property
    def settings(self) -> Settings:
        """webzine.toml, with the command line's `--column` added to `[lists.columns]`."""
        if self._settings is None:
            settings = load_settings(self.config_path)
            if self._columns:
                lists = settings.lists.model_copy(update={"columns": {**settings.lists.columns, **self._columns}})
                settings = settings.model_copy(update={"lists": lists})
            self._settings = settings
        return self._settings

    def use_columns(self, columns: dict[str, str]) -> None:
        self._columns.update(columns)
        self._settings = None


def parse_columns(values: Sequence[str], example: str = "email=전자우편") -> dict[str, str]:
    """`--column email=전자우편` (repeatable) → {"email": "전자우편"}; `example` is shown when a value
    is not FIELD=HEADER."""
    columns: dict[str, str] = {}
    for value in values:
        field, sep, header = value.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise click.BadParameter(_("{value!r}: write it as FIELD=HEADER, e.g. {example}.").format(
                value=value, example=example), param_hint="--column")
        columns[field.strip()] = header.strip()
    return columns


def column_option(function):  # type: ignore[no-untyped-def]
    """`--column FIELD=HEADER` for a command that reads the subscriber list: added to
    `[lists.columns]` for this run."""

    def remember(context: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> None:
        if values:
            context.find_object(Context).use_columns(parse_columns(values))

    return option("--column", "columns", multiple=True, metavar="FIELD=HEADER", expose_value=False,
                  callback=remember,
                  help=N_("Which column of the list holds a field, e.g. --column email=전자우편 (repeatable; "
                          "adds to [lists.columns])."))(function)


pass_context = click.make_pass_decorator(Context)

# Every command, in the order the pipeline runs; each module is imported only when its command
# runs (or when --help lists them), so `webzine build` does not pay for the web service's imports.
COMMANDS: dict[str, str] = {
    "init": "webzine.cli.init:init",
    "new": "webzine.cli.build:new",
    "build": "webzine.cli.build:build",
    "preview": "webzine.cli.preview:preview",
    "lists": "webzine.cli.lists:lists",
    "customers": "webzine.cli.customers:customers",
    "audit": "webzine.cli.audit:audit",
    "due": "webzine.cli.due:due",
    "check": "webzine.cli.check:check",
    "send": "webzine.cli.send:send",
    "status": "webzine.cli.send:status",
    "settle": "webzine.cli.settle:settle_command",
    "bounces": "webzine.cli.bounces:bounces",
    "replies": "webzine.cli.replies:replies",
    "digest": "webzine.cli.digest:digest",
    "report": "webzine.cli.report:report",
    "suppressions": "webzine.cli.suppressions:suppressions",
    "archive": "webzine.cli.archive:archive",
    "ledger": "webzine.cli.ledger:ledger",
    "serve": "webzine.cli.serve:serve",
    "feedback": "webzine.cli.serve:feedback",
}


class LazyGroup(Group):
    """A group whose commands are imported on first use; it speaks the chosen language from the
    start, so `webzine --help` and usage errors before any command runs do too."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: object) -> click.Context:
        peeked: dict[Path, str | None] = {}
        activate(chosen_language(lang_argument(args), Path(os.environ.get("WEBZINE_CONFIG") or CONFIG_FILE), peeked))
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta[PEEKED] = peeked
        return ctx

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, __, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)


def lang_argument(args: Sequence[str]) -> str | None:
    """The value of `--lang` on the command line, read before click parses it: a usage error
    found while parsing (`webzine --lang ko --nope`) is shown in the language asked for."""
    for index, argument in enumerate(args):
        if argument == "--":
            break
        if argument == "--lang" and index + 1 < len(args):
            return args[index + 1]
        if argument.startswith("--lang="):
            return argument.partition("=")[2]
    return None


# The publication languages read from config files while one command starts, by path: the file is
# read once for the language, however often the language is chosen.
PEEKED = "webzine.peeked_languages"


def chosen_language(option: str | None, config_path: Path, peeked: dict[Path, str | None]) -> str:
    """`--lang`, else the locale, else the publication's language (the config file is read for it
    only when neither decides), else Korean."""
    if option or language_of_locale(os.environ):
        return choose_language(option, os.environ, None)
    path = config_path.resolve()
    if path not in peeked:
        peeked[path] = publication_language(path)
    return choose_language(None, os.environ, peeked[path])


def publication_language(config_path: Path) -> str | None:
    """`[publication] language` of the config file, or None when it cannot be read: the language is
    chosen before the settings are loaded, and a broken file must still get its error in a language."""
    try:
        publication = tomllib.loads(config_path.read_text(encoding="utf-8")).get("publication", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    language = publication.get("language") if isinstance(publication, Mapping) else None
    return language if isinstance(language, str) else None


def use_language(_ctx: click.Context, _parameter: click.Parameter, language: str | None) -> str | None:
    """`--lang` takes effect as soon as it is parsed, so `webzine --lang ko --help` is Korean."""
    if language:
        activate(language)
    return language


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=CONFIG_FILE,
    show_default=True,
    envvar="WEBZINE_CONFIG",
    help=N_("The publication's webzine.toml."),
)
@option("--lang", type=Choice(LANGUAGES), is_eager=True, callback=use_language,
        help=N_("Language of messages and help: ko or en; default: the locale (LANGUAGE, LC_ALL, LANG) when it "
                "is Korean or English, else [publication] language, else Korean."))
@option("--debug", is_flag=True, help=N_("Show tracebacks for errors."))
@option("--today", metavar="YYYY-MM-DD",
        help=N_("Treat this date as today (Asia/Seoul); default: WEBZINE_TODAY, else the date in Korea."))
@version_option
@click.pass_context
def cli(ctx: click.Context, config_path: Path, lang: str | None, debug: bool, today: str | None) -> None:
    """webzine: 고객 소식지 — Markdown in, personalised email out, audited before it is sent."""
    activate(chosen_language(lang, config_path, ctx.meta.setdefault(PEEKED, {})))
    ctx.obj = Context(config_path, debug, today)


# A full disk, a quota, a file-size limit, a read-only or failing device: the machine's problem,
# not the input's. Writers replace files whole (temp file + rename) and SQLite rolls back, so
# nothing is half-written and re-running once the cause is fixed is safe (exit 3).
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


def storage_failure(exc: BaseException) -> StorageError | None:
    """A storage failure no stage translated, as one sentence; None for any other error."""
    if isinstance(exc, sqlite3.OperationalError):
        return StorageError(_("a database write failed ({error}); nothing was half-written — free disk space or "
                              "fix permissions, then re-run the same command.").format(error=exc))
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        if exc.filename:
            return StorageError(_("{path}: cannot write ({reason}); nothing was half-written — free disk space or "
                                  "fix the device, then re-run the same command.").format(path=exc.filename,
                                                                                        reason=exc.strerror))
        return StorageError(_("cannot write ({reason}); nothing was half-written — free disk space or fix the "
                              "device, then re-run the same command.").format(reason=exc.strerror))
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the group, print WebzineErrors as one sentence, exit with their code.

    Commands return their exit code (0, or 1 when a check found problems)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        try:
            status = cli.main(args=argv, prog_name="webzine", standalone_mode=False)
        except (OSError, sqlite3.OperationalError) as exc:
            storage = storage_failure(exc)
            if storage is None:
                raise
            raise storage from exc
    except WebzineError as exc:
        if debug:
            raise
        # Messages quote file names, cells and server replies: nothing from outside drives the terminal.
        click.echo(_("Error: {message}").format(message=printable(exc.message, single_line=True)), err=True)
        if exc.hint:
            click.echo(_("Hint: {hint}").format(hint=printable(exc.hint, single_line=True)), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo(_("Aborted."), err=True)
        sys.exit(3)
    except click.UsageError as exc:
        show_usage_error(exc)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(_("Error: {message}").format(message=exc.format_message()), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(status if isinstance(status, int) else 0)
