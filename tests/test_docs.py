"""Every command has help and is in the README; every docs page the README links to exists."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from webzine.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _all_commands() -> list[tuple[str, click.Command]]:
    found = []
    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None, name
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", command.commands[sub]) for sub in command.commands]
    return found


@pytest.mark.parametrize(("name", "command"), _all_commands(), ids=lambda value: value if isinstance(value, str) else "")
def test_command_has_help_and_is_in_the_readme(name: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"webzine {name} has no help text"
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Usage: " in result.output
    assert f"`webzine {name}" in README, f"README.md does not show `webzine {name}`"


def test_readme_starts_with_the_two_commands_and_has_the_korean_sections() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
    assert "## 빠른 시작" in README and "## 매월 자동 발송 설정" in README


def test_linked_docs_exist() -> None:
    for target in re.findall(r"\]\(((?:docs|bench)/[^)]+)\)", README):
        assert (ROOT / target).is_file(), target
