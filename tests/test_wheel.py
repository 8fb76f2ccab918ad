"""The package as a company gets it: an sdist and a wheel built from this tree, the wheel installed
(not editable) into a fresh virtualenv outside the tree, and there `webzine init`, then `build`,
`audit`, a dry-run `send` and `check` in the new publication — nothing read from the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from clikit import new_dkim_key
from conftest import TODAY, cli_environment
from test_workflows import _actionlint

# One xdist worker for the module: the sdist, the wheel and the virtualenv are built once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DATA = ("webzine/templates/email.html.j2", "webzine/templates/partials/styles.css.j2",
                "webzine/scaffold/webzine.toml.j2", "webzine/scaffold/dot-github/workflows/monthly-send.yml",
                "webzine/scaffold/dot-ci/state.sh", "webzine/web/templates/unsubscribe.html")  # fmt: skip

UNTRACKED = (".git", ".venv", "*.egg-info", "build", "dist", "outbox", "site", "state", "__pycache__",
             ".pytest_cache", ".hypothesis", ".peers", ".data", "webzine-*")


def outside_environment(**values: str) -> dict[str, str]:
    """The suite's environment without anything that would let the source tree leak in."""
    environment = cli_environment(**values)
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        environment.pop(name, None)
    return environment


def sh(*command: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env or outside_environment(),
                          capture_output=True, text=True, timeout=timeout)


def pip_into(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A fresh virtualenv at `home` (without pip) and `pip install ARGS` into it by the suite's own
    pip, the one `make` upgraded: ensurepip would cost 5 CPU-s a virtualenv. No bytecode is compiled
    at install time (the commands compile what they import)."""
    venv.create(home, with_pip=False)
    return sh(sys.executable, "-m", "pip", "--python", home / "bin" / "python", "install", "--quiet", "--no-compile",
              *args, cwd=cwd)


def tracked_tree(into: Path) -> Path:
    """A copy of the files git tracks, as a fresh clone has them.

    The build runs there, not in the working tree: setuptools writes `*.egg-info` and a release
    folder into the tree it builds, so a build in the working tree reads whatever an earlier install
    left behind (a stale SOURCES.txt listing files that moved) and races anything else using the tree.
    """
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True)
    if listed.returncode != 0:  # a tree without git (an unpacked archive): everything but what builds leave
        shutil.copytree(ROOT, into, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*UNTRACKED))
        return into
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(sdist, wheel, the build's output): the sdist first, then the wheel built from it."""
    out, tree = tmp_path_factory.mktemp("dist"), tracked_tree(tmp_path_factory.mktemp("tree"))
    done = sh(sys.executable, "-m", "build", "--outdir", out, tree, cwd=out, env=os.environ.copy())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
    return sdist, wheel, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(dist: tuple[Path, Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh virtualenv, outside the source tree, holding the wheel and its dependencies."""
    home = tmp_path_factory.mktemp("venv")
    done = pip_into(home, str(dist[1]), cwd=home)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home / "bin"


def test_the_build_has_no_setuptools_deprecation_warnings(dist: tuple[Path, Path, str]) -> None:
    output = dist[2]
    assert "project.license" not in output and "SetuptoolsDeprecationWarning" not in output, output[-3000:]


def test_sdist_and_wheel_carry_the_templates_and_the_scaffold(dist: tuple[Path, Path, str]) -> None:
    sdist, wheel, _ = dist
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = set(archive.getnames())
    assert {f"{top}/{name}" for name in (*PACKAGE_DATA, "LICENSE", "pyproject.toml")} <= names
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert set(PACKAGE_DATA) <= names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_the_installed_wheel_starts_builds_audits_and_rehearses_a_publication(installed: Path, tmp_path: Path) -> None:
    webzine = installed / "webzine"
    where = sh(installed / "python", "-c", "import webzine; print(webzine.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(installed.parent)) and str(ROOT) not in where.stdout, where.stdout

    done = sh(webzine, "init", "초록상회", "--dir", "news", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    news, issue = tmp_path / "news", f"issues/{TODAY:%Y-%m}-changganho.md"
    assert (news / issue).is_file() and not (news / "templates").exists()

    done = sh(webzine, "build", issue, cwd=news)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lint: ok — 0 error(s), 0 warning(s)" in done.stdout
    assert "초록상회 소식지를 시작합니다" in (news / "build" / f"{TODAY:%Y-%m}-changganho" / "email.html").read_text(encoding="utf-8")

    done = sh(webzine, "audit", issue, cwd=news)
    assert done.returncode == 0, done.stdout + done.stderr

    secrets = outside_environment(WEBZINE_UNSUBSCRIBE_SECRET="wheel-test-secret", WEBZINE_DKIM_PRIVATE_KEY=new_dkim_key())
    done = sh(webzine, "send", issue, cwd=news, env=secrets)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Dry run — nothing was sent.")
    assert not (news / "outbox").exists()

    done = sh(webzine, "check", "--lang", "en", cwd=news, env=secrets)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "example.com" in done.stdout  # the marked placeholders, until the company replaces them

    workflows = sorted((news / ".github" / "workflows").glob("*.yml"))
    linted = subprocess.run([_actionlint(), *map(str, workflows)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_editable_install_of_make_demo_prints_no_setuptools_warning(tmp_path: Path) -> None:
    """`make demo` starts with `pip install -e .`: a new user's first screen, which setuptools
    filled with a "!!" block (the editable-install notice of a flat layout). The pip is the one the
    Makefile upgrades to, the suite's own."""
    tree = tracked_tree(tmp_path / "tree")
    done = pip_into(tmp_path / "venv", "--no-deps", "-e", str(tree), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert "BuildBackendWarning" not in output and "SetuptoolsWarning" not in output and "!!" not in output, output
