"""The suite's own promise: no test, fixture or webzine subprocess sees the developer's WEBZINE_*
settings or the day the suite runs; all of them run on the suite's clock (conftest.TODAY)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import clikit
import pytest
import smtp_project
from conftest import TODAY, cli_environment

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent
PINNED = {"WEBZINE_TODAY": TODAY.isoformat()}


def webzine_settings(environ: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in environ.items() if key.startswith("WEBZINE_")}


@pytest.mark.slow
def test_a_module_fixture_sees_neither_the_developers_settings_nor_the_real_date(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBZINE_SMTP_PASSWORD", "the-developers-own")
    monkeypatch.delenv("WEBZINE_TODAY")
    shutil.copy(TESTS / "conftest.py", pytester.path / "conftest.py")
    pytester.makepyfile(test_module_scope=f"""
        import os, pytest

        @pytest.fixture(scope="module")
        def seen():
            return {{k: v for k, v in os.environ.items() if k.startswith("WEBZINE_")}}

        def test_it(seen):
            assert seen == {PINNED!r}
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize("environment", [cli_environment, clikit.environment, smtp_project.environment],
                         ids=["conftest", "clikit", "smtp_project"])
def test_every_subprocess_environment_is_on_the_suites_clock_and_nothing_else_of_ours(
        environment: Callable[[], dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBZINE_SMTP_PASSWORD", "set-by-another-test")
    seen = webzine_settings(environment())
    assert seen.pop("WEBZINE_TODAY") == TODAY.isoformat()
    assert "WEBZINE_SMTP_PASSWORD" not in seen


def test_a_webzine_subprocess_takes_today_from_the_suite() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; from webzine.clock import resolve_today; print(resolve_today(None, os.environ))"],
        env=cli_environment(), capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == TODAY.isoformat()


def test_no_test_builds_a_subprocess_environment_of_its_own() -> None:
    """Filtering WEBZINE_* by hand also drops the suite's clock: use conftest.cli_environment."""
    own = [path.name for path in TESTS.glob("*.py")
           if path.name not in {"conftest.py", "smtp_project.py", Path(__file__).name}
           and re.search(r"startswith\(\"WEBZINE_\"\)", path.read_text(encoding="utf-8"))]  # fmt: skip
    assert own == []


@pytest.mark.slow
def test_an_xdist_group_runs_in_one_worker(pytester: pytest.Pytester) -> None:
    """`make test` (--dist loadgroup) relies on it: one PostgreSQL cluster, one wheel build, the
    moved-clock runs one after another. With pytest 9.2 and pytest-xdist 3.8 the marks were
    silently ignored and a group's tests ran on every worker."""
    record = pytester.mkdir("workers")
    pytester.makepyfile(test_grouped=f"""
        import os, pathlib, pytest

        @pytest.mark.xdist_group("together")
        @pytest.mark.parametrize("case", range(6))
        def test_grouped(case):
            pathlib.Path({str(record)!r}, str(case)).write_text(os.environ["PYTEST_XDIST_WORKER"])

        @pytest.mark.parametrize("case", range(6))
        def test_free(case):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup")
    result.assert_outcomes(passed=12)
    workers = {path.read_text() for path in record.iterdir()}
    assert len(workers) == 1, workers
