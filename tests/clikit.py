"""Running webzine as a user does: a subprocess in a copy of the sample publication."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conftest import cli_environment
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sendkit import sample_project

ROOT = Path(__file__).resolve().parent.parent
WEBZINE = [str(Path(sys.executable).parent / "webzine")]
ISSUE = "issues/2026-12-year-end.md"
SECRET = "cli-test-secret"
Run = Callable[..., subprocess.CompletedProcess]  # `run`, or `run_here`'s in-process stand-in


def new_dkim_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def copy_sample(folder: Path) -> Path:
    """The sample publication, with a key-customer list whose customers are all on the list."""
    return sample_project(folder)


def secrets(dkim: str = "", **extra: str) -> dict[str, str]:
    """What `run` adds to the suite's environment: the secrets, a wide terminal, and `extra`."""
    return {"WEBZINE_UNSUBSCRIBE_SECRET": SECRET, "WEBZINE_DKIM_PRIVATE_KEY": dkim, "COLUMNS": "200", **extra}


def environment(dkim: str = "", **extra: str) -> dict[str, str]:
    """The process environment without the developer's WEBZINE_* variables, on the suite's clock."""
    return cli_environment(**secrets(dkim, **extra))


def run(project: Path, *args: str, env: dict[str, str] | None = None, dkim: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*WEBZINE, *args], cwd=project, env=environment(dkim, **(env or {})),
                          capture_output=True, text=True, timeout=120)


def set_section(project: Path, section: str, **values: object) -> None:
    """Rewrite (or add) keys of one [section] in the project's webzine.toml."""
    lines = (project / "webzine.toml").read_text(encoding="utf-8").splitlines()
    headers = [line.split("#", 1)[0].strip() for line in lines]
    if f"[{section}]" not in headers:
        lines += ["", f"[{section}]"]
        headers += ["", f"[{section}]"]
    current = None
    for index, line in enumerate(lines):
        if line.startswith("["):
            current = headers[index]
        key = line.split("=", 1)[0].strip()
        if current == f"[{section}]" and key in values:
            lines[index] = f"{key} = {json.dumps(values.pop(key), ensure_ascii=False)}"
    position = headers.index(f"[{section}]") + 1
    lines[position:position] = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    (project / "webzine.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def set_send(project: Path, **values: object) -> None:
    set_section(project, "send", **values)


def in_process(folder: Path, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    """`webzine ARGS…` run in this process inside `folder`: a function giving (exit code, stdout, stderr)."""
    import pytest

    from webzine.cli import main

    monkeypatch.chdir(folder)

    def invoke(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as stopped:
            main(list(args))
        out, err = capsys.readouterr()
        return int(stopped.value.code or 0), out, err

    return invoke


def run_here(monkeypatch, capsys) -> Run:  # type: ignore[no-untyped-def]
    """`run` in this process: `run_here(...)(project, *args, env=…, dkim=…)` gives the same
    CompletedProcess (exit code, stdout, stderr) without starting Python and importing webzine
    again (0.5–1 CPU-s a command). For tests about what a command says and does; a test about the
    process (its exit status as a shell sees it, signals, bytes on stdout) keeps `run`."""

    def invoke(project: Path, *args: str, env: dict[str, str] | None = None,
               dkim: str = "") -> subprocess.CompletedProcess:
        with monkeypatch.context() as this_run:  # like a process's, its environment and folder end with it
            for name, value in secrets(dkim, **(env or {})).items():
                this_run.setenv(name, value)
            code, out, err = in_process(project, this_run, capsys)(*args)
        return subprocess.CompletedProcess(list(args), code, out, err)

    return invoke
