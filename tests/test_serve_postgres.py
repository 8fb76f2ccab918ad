"""The PostgreSQL store against a real server started here on 127.0.0.1: two `webzine serve`
instances sharing one database record every unsubscribe exactly once, and the read side
(`load_unsubscribed`, `store_suppressions`, `store_events`) answers as it does for SQLite."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from serve_support import LIST_ID, SECRET, free_port, running_server, write_project
from webzine.bounces.events import BounceEvent, Kind
from webzine.errors import ConfigError
from webzine.models import SuppressionReason
from webzine.unsubscribes.store import load_unsubscribed, store_suppressions
from webzine.unsubscribes.store import Store, UnsubscribeRequest, open_store, store_events
from webzine.tokens import unsubscribe_token

# One worker runs every PostgreSQL test, so the session starts one cluster (make test: --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgresql")]

PASSWORD = "pg-test-password-7f3a"
USER = "webzine"


def _missing(what: str) -> None:
    message = f"{what} (install the Debian package postgresql and `pip install 'psycopg[binary]'`)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _run_as() -> list[str]:
    """PostgreSQL refuses to run as root: run it as `postgres` (or `nobody`) when we are root."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        if subprocess.run(["id", "-u", user], capture_output=True).returncode == 0:
            return ["runuser", "-u", user, "--"]
    _missing("running as root and neither a postgres nor a nobody user exists to run PostgreSQL")
    return []


@pytest.fixture(scope="session")
def postgres() -> Iterator[int]:
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port> with password auth; yields the port."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg is not installed")
    bin_dir = _pg_bin()
    if bin_dir is None:
        _missing("PostgreSQL (initdb/pg_ctl) is not installed")
    assert bin_dir is not None
    prefix = _run_as()
    root = Path(tempfile.mkdtemp(prefix="webzine-pg-"))
    data, pwfile = root / "data", root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if prefix:
        owner = prefix[2]
        shutil.chown(root, owner)
        shutil.chown(pwfile, owner)
    root.chmod(0o700)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "-A", "scram-sha-256",
         f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale", "--no-sync"],
        check=True, capture_output=True, env=env, timeout=120,
    )
    port = free_port()
    options = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "30",
         "-o", options, "start"],
        capture_output=True, env=env, timeout=60,
    )
    if started.returncode != 0:
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start on 127.0.0.1:{port}: {started.stderr.decode()} {log}")
    pid = int((data / "postmaster.pid").read_text().split()[0])
    try:
        yield port
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, env=env, timeout=60)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            pass
        else:  # pg_ctl could not stop it: stop that postmaster by its PID
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def pg_url(postgres: int, monkeypatch) -> str:
    """A fresh database per test, so tests do not see each other's rows."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"postgresql://{USER}@127.0.0.1:{postgres}/postgres", password=PASSWORD,
                         autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("WEBZINE_SERVE_DB_PASSWORD", PASSWORD)
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    return f"postgresql://{USER}@127.0.0.1:{postgres}/{name}"


@pytest.fixture()
def settings(tmp_path, pg_url):
    addresses = [f"reader{n}@example.com" for n in range(30)]
    return write_project(tmp_path, f'[serve]\nnotify = false\nstore = "{pg_url}"\n', subscribers=addresses)


def test_two_instances_record_every_address_exactly_once(settings):
    """Two servers on one database, concurrent one-click POSTs with every address sent three
    times across both: 200 each time, one row per address, stamped by the first arrival."""
    addresses = [f"reader{n}@example.com" for n in range(30)]
    first, second = open_store(settings), open_store(settings)
    try:
        with running_server(settings, first) as url_a, running_server(settings, second) as url_b:

            async def burst() -> list[int]:
                async with httpx.AsyncClient(timeout=20) as http:
                    posts = [
                        http.post(f"{(url_a, url_b)[(n + copy) % 2]}/u/{unsubscribe_token(SECRET, LIST_ID, address)}",
                                  data={"List-Unsubscribe": "One-Click"})
                        for copy in range(3)
                        for n, address in enumerate(addresses)
                    ]
                    return [response.status_code for response in await asyncio.gather(*posts)]

            statuses = asyncio.run(burst())
        assert statuses == [200] * 90
        assert first.count_unsubscribes() == 30 == second.count_unsubscribes()
        assert load_unsubscribed(settings) == set(addresses)
        recorded = first.get_unsubscribe("READER7@example.com")
        assert recorded is not None and recorded.source == "one-click" and recorded.notice_status == "skipped"
    finally:
        first.close()
        second.close()


def test_overlapping_batches_from_two_stores_in_threads_each_address_first_once(settings):
    """The same new addresses written by two instances at the same moment, in opposite orders,
    round after round: no deadlock, and across both exactly one writer is told "first time" for
    each address."""
    rounds, size = 15, 40
    stores = [open_store(settings), open_store(settings)]
    barrier = threading.Barrier(2, timeout=30)
    firsts = [0, 0]
    failures: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for round_ in range(rounds):
                addresses = [f"r{round_}-{n:02d}@example.com" for n in range(size)]
                ordered = addresses if index == 0 else [a.upper() for a in reversed(addresses)]
                requests = [UnsubscribeRequest(a, LIST_ID, "one-click", {}) for a in ordered]
                barrier.wait()
                firsts[index] += sum(first for first, _ in stores[index].record_unsubscribes(requests))
        except BaseException as exc:  # surfaced below: a deadlock would raise here
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=write, args=(i,)) for i in (0, 1)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures, failures
        assert sum(firsts) == rounds * size
        assert stores[0].count_unsubscribes() == rounds * size
    finally:
        for store in stores:
            store.close()


def test_a_repeat_changes_nothing_and_reports_the_first_time(settings):
    store = open_store(settings)
    try:
        first = store.record_unsubscribe("Hong@Example.com", LIST_ID, "one-click", {"ip": "203.0.113.9"})
        again = store.record_unsubscribe("hong@example.com", LIST_ID, "web-page", {}, notify=False)
        both = store.record_unsubscribes([UnsubscribeRequest("kim@example.org", LIST_ID, "web-page", {})] * 2)
        assert first[0] is True and again == (False, first[1])
        assert both[0][0] is True and both[1] == (False, both[0][1])
        kept = store.get_unsubscribe("HONG@example.com")
        assert kept is not None and (kept.source, kept.evidence, kept.notice_status) == (
            "one-click", {"ip": "203.0.113.9"}, "pending")
        store.mark_notice("hong@example.com", "sent")
        assert [u.address for u in store.due_notices("9999")] == ["kim@example.org"]
    finally:
        store.close()


def _events() -> list[BounceEvent]:
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    return [
        BounceEvent(Kind.HARD, "Gone@Example.net", "sg-1", "sendgrid", provider="sendgrid", occurred_at=at,
                    reason="user_unknown"),
        BounceEvent(Kind.COMPLAINT, "angry@example.org", "sg-2", "sendgrid", provider="sendgrid", occurred_at=at),
        BounceEvent(Kind.SOFT, "full@example.com", "mg-1", "mailgun", provider="mailgun", occurred_at=at),
    ]


def _exercise(store) -> None:
    store.record_unsubscribe("hong@example.com", LIST_ID, "one-click", {})
    assert store.record_events(_events()) == 3
    assert store.record_events(_events()[:2]) == 0  # providers retry; nothing new
    store.record_rating("2026-11", "Hong@example.com", 5, "좋아요")
    store.record_rating("2026-11", "hong@example.com", 4, "")  # the score link must not wipe the comment


def test_read_side_answers_as_the_sqlite_store_does(settings, tmp_path):
    postgres = open_store(settings)
    sqlite = Store(tmp_path / "parity.sqlite3")
    try:
        for store in (postgres, sqlite):
            _exercise(store)
        assert load_unsubscribed(settings) == {"hong@example.com", "angry@example.org"} == sqlite.unsubscribed()
        rows = store_suppressions(settings)
        assert sorted((r.email, r.reason, r.source, r.detail) for r in rows) == [
            ("angry@example.org", SuppressionReason.COMPLAINT, "webhook:sendgrid", ""),
            ("gone@example.net", SuppressionReason.HARD_BOUNCE, "webhook:sendgrid", "user_unknown"),
            ("hong@example.com", SuppressionReason.UNSUBSCRIBED, "serve:one-click", ""),
        ]
        assert sorted(rows, key=repr) == sorted(sqlite.suppressions(), key=repr)
        assert [(e.kind, e.key) for e in store_events(settings)] == [(e.kind, e.key) for e in sqlite.events()]
        rating = postgres.ratings("2026-11")
        assert [(r.address, r.score, r.comment) for r in rating] == [("hong@example.com", 4, "좋아요")]
        assert [(r.address, r.score, r.comment) for r in sqlite.ratings("2026-11")] == [
            (r.address, r.score, r.comment) for r in rating]
    finally:
        postgres.close()
        sqlite.close()


def test_a_password_in_the_url_is_refused(tmp_path, pg_url):
    leaky = pg_url.replace(f"{USER}@", f"{USER}:{PASSWORD}@")
    settings = write_project(tmp_path, f'[serve]\nstore = "{leaky}"\n')
    with pytest.raises(ConfigError, match="contains a password; secrets never go in the file") as caught:
        load_unsubscribed(settings)
    assert PASSWORD not in str(caught.value)


def test_a_wrong_password_names_the_server_and_where_the_password_comes_from(tmp_path, pg_url, monkeypatch,
                                                                               postgres):
    monkeypatch.setenv("WEBZINE_SERVE_DB_PASSWORD", "not-the-password")
    settings = write_project(tmp_path, f'[serve]\nstore = "{pg_url}"\n')
    with pytest.raises(ConfigError, match=rf"Cannot open the PostgreSQL store at 127\.0\.0\.1:{postgres}/t_") as caught:
        store_suppressions(settings)
    assert "not-the-password" not in str(caught.value)
    assert "WEBZINE_SERVE_DB_PASSWORD" in (caught.value.hint or "")
