"""The send ledger's two backends for tests: `location` is a SQLite file or a fresh database on the
session's PostgreSQL server (started by `test_serve_postgres.postgres` on 127.0.0.1), so a ledger
test written once runs against both. Import the fixtures into a test module to use them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_serve_postgres import PASSWORD, USER, postgres  # noqa: F401  (the session's server)

from webzine.send.ledger import Ledger, State
from webzine.send.ledger_pg import PASSWORD_ENV

# PostgreSQL cases are slow (a server) and share one xdist worker with the other PostgreSQL tests.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=[pytest.mark.slow, pytest.mark.xdist_group("postgresql")])]


@pytest.fixture
def pg_url(postgres: int, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """A fresh database per test; the password only in the environment (child processes inherit it)."""
    import psycopg

    name = f"l_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"postgresql://{USER}@127.0.0.1:{postgres}/postgres", password=PASSWORD,
                         autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return f"postgresql://{USER}@127.0.0.1:{postgres}/{name}"


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the ledger is: `[send] ledger` as a project would write it."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "ledger.sqlite3")
    return request.getfixturevalue("pg_url")


def is_database(location: str | Path) -> bool:
    return "://" in str(location)


@contextmanager
def emptied(location: str) -> Iterator[Ledger]:
    """The ledger at `location` with nothing in it, for a property test's next example."""
    if not is_database(location):
        for suffix in ("", "-wal", "-shm"):
            Path(location + suffix).unlink(missing_ok=True)
    with Ledger.open(location) as ledger:
        if is_database(location):
            ledger._db.execute("TRUNCATE webzine_sends, webzine_runs")
        yield ledger


def stored(location: str, issue: str) -> dict[str, tuple[State, int, int | None]]:
    """key → (state, attempts, run id) as stored (`Ledger.rows` does not show the run)."""
    with Ledger.open(location) as ledger:
        if is_database(location):
            found = ledger._db.execute("SELECT key, state, attempts, run_id FROM webzine_sends WHERE issue = %s",
                                       (issue,)).fetchall()
        else:
            found = ledger._db.execute("SELECT key, state, attempts, run_id FROM sends WHERE issue = ?",
                                       (issue,)).fetchall()
    return {key: (State(state), attempts, run) for key, state, attempts, run in found}
