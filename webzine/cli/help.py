"""Click's words in the reader's language: help, usage lines and usage errors.

The language is known only once the command line is parsed (`--lang`, the locale, the publication),
so help is translated when it is rendered, not when a command is declared: the command, group and
option classes here keep the English text (a docstring or `help=`) as the msgid and look it up each
time click reads it. Click's own words (the "Usage:" prefix, the "Options" and "Commands" headings,
the help and version options, the usage errors) go through the same catalog; click's private names
are never touched. `tests/catalogkit.py` walks the command tree (`command_tree`) to put every help
text in the cli catalog.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import click

from webzine.i18n import N_, _, ngettext

# Click's headings and usage errors, in the catalog under click's own English words.
CLICK_WORDS = (N_("Options"), N_("Commands"), N_("Positional arguments"), N_("Missing command."),
               N_("required"))


def help_msgid(text: str | None) -> str | None:
    """A docstring or `help=` as click shows it (dedented, cut at a form feed): the msgid."""
    if not text:
        return None
    return inspect.cleandoc(text).partition("\f")[0]


def translated(text: str | None) -> str | None:
    msgid = help_msgid(text)
    return _(msgid) if msgid else msgid


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal: a Korean syllable takes two. (wcwidth is imported by the
    help and usage errors that measure, not by every command: 0.06 s of start-up.)"""
    from wcwidth import wcswidth

    width = wcswidth(" ".join(text.splitlines()))
    return width if width >= 0 else len(text)


def has_wide(text: str) -> bool:
    return display_width(text) != len(text)


def wrapped(text: str, width: int) -> list[str]:
    """`text`'s paragraphs (blank-line separated) wrapped at spaces to `width` terminal columns, a
    blank line between paragraphs; a word longer than the line stands on its own."""
    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        if lines:
            lines.append("")
        line = ""
        for word in paragraph.split():
            if line and display_width(f"{line} {word}") > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


class HelpFormatter(click.HelpFormatter):
    """Writes the usage prefix and section headings in the active language, and wraps Korean text
    by the columns it takes (click counts characters, and a Korean syllable takes two columns)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix if prefix is not None else _("Usage:") + " ")

    def section(self, name: str):  # type: ignore[no-untyped-def]
        return super().section(_(name))

    def write_text(self, text: str) -> None:
        if not has_wide(text):
            return super().write_text(text)
        indent = " " * self.current_indent
        for line in wrapped(text, max(self.width - self.current_indent, 11)):
            self.write(f"{indent}{line}\n" if line else "\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        if not any(has_wide(second) for __, second in rows):
            return super().write_dl(rows, col_max, col_spacing)
        first_col = min(max(len(first) for first, __ in rows), col_max) + col_spacing
        hanging = " " * (first_col + self.current_indent)
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + hanging)
            lines = wrapped(second, max(self.width - first_col - 2, 10))
            self.write(lines[0] + "\n" + "".join(f"{hanging}{line}\n" if line else "\n" for line in lines[1:]))


class HelpContext(click.Context):
    formatter_class = HelpFormatter


class TranslatedHelp:
    """A command whose help and short help are looked up in the catalog each time click reads them."""

    context_class = HelpContext
    source_help: str | None
    source_short_help: str | None

    @property
    def help(self) -> str | None:
        return translated(self.source_help)

    @help.setter
    def help(self, text: str | None) -> None:
        self.source_help = text

    @property
    def short_help(self) -> str | None:
        return translated(self.source_short_help)

    @short_help.setter
    def short_help(self, text: str | None) -> None:
        self.source_short_help = text

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = _("Show this message and exit.")
        return option


class Command(TranslatedHelp, click.Command):
    """A webzine command: its help in the active language."""


class Group(TranslatedHelp, click.Group):
    """A webzine command group: its help, and its subcommands', in the active language."""

    command_class = Command
    group_class = type


class Option(click.Option):
    """An option whose help, and the default, environment variable and "required" notes after it,
    are in the active language."""

    source_help: str | None

    @property  # type: ignore[override]
    def help(self) -> str | None:
        return translated(self.source_help)

    @help.setter
    def help(self, text: str | None) -> None:
        self.source_help = text

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        if self.hidden:
            return None
        extra = self.get_help_extra(ctx)
        notes = []
        if "envvars" in extra:
            notes.append(_("env var: {var}").format(var=", ".join(extra["envvars"])))
        if "default" in extra:
            notes.append(_("default: {default}").format(default=extra["default"]))
        if "range" in extra:
            notes.append(extra["range"])
        if "required" in extra:
            notes.append(_("required"))
        text = self.help or ""
        if notes:
            text = f"{text}  [{'; '.join(notes)}]" if text else f"[{'; '.join(notes)}]"
        return self.get_help_spec(ctx), text


class Choice(click.Choice):
    """A choice whose refusal of another value is in the active language."""

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        choices = ", ".join(map(repr, self.choices))
        return ngettext("{value!r} is not {choices}.", "{value!r} is not one of {choices}.",
                        len(self.choices)).format(value=value, choices=choices)


class _Range:
    """A number in a range whose refusals ("not a number", "out of range") are in the active language."""

    number: type
    not_a_number: str
    min: float | None
    max: float | None
    min_open: bool
    max_open: bool

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)  # type: ignore[misc]
        except click.BadParameter:
            try:
                number = self.number(value)
            except (TypeError, ValueError):
                self.fail(_(self.not_a_number).format(value=value), param, ctx)  # type: ignore[attr-defined]
            self.fail(_("{value} is not in the range {range}.").format(value=number, range=self.bounds()), param, ctx)  # type: ignore[attr-defined]

    def bounds(self) -> str:
        """The range as click writes it: x>=1, x>0, 0<=x<=65535."""
        if self.min is None:
            return f"x{'<' if self.max_open else '<='}{self.max}"
        if self.max is None:
            return f"x{'>' if self.min_open else '>='}{self.min}"
        return f"{self.min}{'<' if self.min_open else '<='}x{'<' if self.max_open else '<='}{self.max}"


class IntRange(_Range, click.IntRange):
    number = int
    not_a_number = N_("{value!r} is not a valid integer range.")


class FloatRange(_Range, click.FloatRange):
    number = float
    not_a_number = N_("{value!r} is not a valid float range.")


class ExistingFile(click.Path):
    """A file that must exist (a Path), its absence said in the active language."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, dir_okay=False, exists=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not os.path.exists(value):
            self.fail(_("File {filename!r} does not exist.").format(filename=os.fsdecode(value)), param, ctx)
        return super().convert(value, param, ctx)


command = partial(click.command, cls=Command)
group = partial(click.group, cls=Group)
option = partial(click.option, cls=Option)


def show_version(ctx: click.Context, _parameter: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from importlib.metadata import version  # 0.05 s of start-up, for --version only

        click.echo(_("{program}, version {version}").format(program=ctx.find_root().info_name,
                                                            version=version("webzine")))
        ctx.exit()


version_option = option("--version", is_flag=True, expose_value=False, is_eager=True, callback=show_version,
                        help=N_("Show the version and exit."))


def command_tree(root: click.Command) -> Iterator[tuple[str, click.Command]]:
    """Every command under `root` (the `webzine` group), as ("webzine send", command)."""
    yield from _walk(root, click.Context(root, info_name="webzine"))


def _walk(command: click.Command, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    yield ctx.command_path, command
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            child = command.get_command(ctx, name)
            if child is not None:
                yield from _walk(child, click.Context(child, info_name=name, parent=ctx))


def _param_hint(error: click.BadParameter) -> str | None:
    hint: str | Sequence[str] | None = error.param_hint
    if hint is None and error.param is not None:
        hint = error.param.get_error_hint(error.ctx)  # type: ignore[arg-type]
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(name) for name in hint)
    return hint


def _possibilities(possibilities: Sequence[str] | None) -> str:
    if not possibilities:
        return ""
    listed = ", ".join(repr(name) for name in sorted(possibilities))
    return " " + ngettext("Did you mean {possibilities}?", "(Did you mean one of: {possibilities}?)",
                          len(possibilities)).format(possibilities=listed)


def usage_message(error: click.UsageError) -> str:
    """A usage error's sentence in the active language (click's English words, translated)."""
    if isinstance(error, click.NoSuchOption):
        return _("No such option {name!r}.").format(name=error.option_name) + _possibilities(error.possibilities)
    command_name = getattr(error, "command_name", None)  # click.NoSuchCommand (click 8.4+)
    if command_name is not None:
        return (_("No such command {name!r}.").format(name=command_name)
                + _possibilities(getattr(error, "possibilities", None)))
    if isinstance(error, click.MissingParameter):
        hint = _param_hint(error)
        kind = error.param_type or (error.param.param_type_name if error.param is not None else "parameter")
        missing = {"argument": _("Missing argument {name}."), "option": _("Missing option {name}.")}.get(
            kind, _("Missing parameter {name}."))
        return missing.format(name=hint or "").replace(" .", ".")
    if isinstance(error, click.BadParameter):
        hint = _param_hint(error)
        if hint is None:
            return _("Invalid value: {message}").format(message=error.message)
        return _("Invalid value for {name}: {message}").format(name=hint, message=error.message)
    return _(error.message)


def show_usage_error(error: click.UsageError) -> None:
    """What click's UsageError.show prints — the usage line, where to find help, the error — in the
    active language."""
    ctx = error.ctx
    if ctx is not None:
        lines = [ctx.get_usage()]
        if ctx.command.get_help_option(ctx) is not None:
            names = ctx.command.get_help_option_names(ctx)
            lines.append(_("Try '{command} {option}' for help.").format(command=ctx.command_path,
                                                                         option=max(names, key=len)))
        click.echo("\n".join(lines) + "\n", err=True, color=ctx.color)
    click.echo(_("Error: {message}").format(message=usage_message(error)), err=True)
