"""Claims are atomic across processes (issue 15): two sends that bypass the send lock — two
processes, each with its own `Ledger` connection on one ledger (a SQLite file or a PostgreSQL
database: every test here runs on both) — cannot both claim a recipient.

`Ledger.commit(issue, transport=, run_id=, claims=[Claim(...)])` returns the keys it claimed.
Each claim carries the attempt count its run read (0: no row yet) and holds only when the row
still has it, so of two runs that read the same row only the first to commit wins; the other's
claim leaves the row unchanged. Before the fix `commit` upserted every claim (ON CONFLICT DO
UPDATE), so a second process silently re-claimed the first one's rows and both sent them.
"""

from __future__ import annotations

import multiprocessing

import pytest
from ledgerkit import location, pg_url, postgres, stored  # noqa: F401  (fixtures: SQLite and PostgreSQL)

from webzine.send.ledger import Claim, Ledger, Result, State

# slow: processes racing for claims
pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

ISSUE = "2026-12-year-end"
BATCH = 10  # claims per commit: many small commits, so the two processes interleave


def claim(number: int, attempts: int = 0) -> Claim:
    return Claim(key=f"reader{number}@example.com", email=f"reader{number}@example.com",
                 message_id=f"{ISSUE}.{number}@example.co.kr", verp=f"verp{number:012d}", attempts=attempts)  # fmt: skip


def claim_in_batches(path: str, numbers: list[int], attempts: int, start, results) -> None:  # type: ignore[no-untyped-def]
    """One sender process: open the ledger, wait for the start, claim `numbers` BATCH at a time;
    report (run id, the keys its commits said it claimed — None when `commit` returned None)."""
    with Ledger.open(path) as ledger:
        run_id = ledger.start_run(ISSUE, transport="smtp", allow_gaps=None, options={})
        start.wait(30)
        claimed: list[str] | None = []
        for first in range(0, len(numbers), BATCH):
            got = ledger.commit(ISSUE, transport="smtp", run_id=run_id,
                                claims=[claim(n, attempts) for n in numbers[first : first + BATCH]])  # fmt: skip
            claimed = None if got is None or claimed is None else [*claimed, *got]
        results.put((run_id, claimed))


def claim_concurrently(path: str, *plans: list[int], attempts: int = 0) -> list[tuple[int, list[str] | None]]:
    """Run one process per plan, started together; their reports, in plan order."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=claim_in_batches, args=(path, plan, attempts, start, results)) for plan in plans]
    for process in processes:
        process.start()
    try:
        start.set()
        reports = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes), [p.exitcode for p in processes]
    return sorted(reports)  # run ids are given out in start order, not plan order; sorted by run id


@pytest.fixture
def path(location: str) -> str:
    """An existing ledger (SQLite or PostgreSQL), so the processes do not race to create the schema."""
    Ledger.open(location).close()
    return location


def assert_each_claimed_once(path: str, reports: list[tuple[int, list[str] | None]], keys: set[str],
                             attempts: int) -> None:  # fmt: skip
    found = stored(path, ISSUE)
    assert set(found) == keys
    reclaimed = sorted(key for key, (_, count, _) in found.items() if count != attempts)
    assert not reclaimed, f"{len(reclaimed)} rows claimed by both processes, e.g. {reclaimed[:3]}"
    assert all(state is State.CLAIMED for state, _, _ in found.values())
    assert all(claimed is not None for _, claimed in reports), "commit returns the keys it claimed"
    (run_a, claimed_a), (run_b, claimed_b) = reports
    assert not set(claimed_a) & set(claimed_b), "no key claimed by both"
    assert set(claimed_a) | set(claimed_b) == keys, "every key claimed by one of them"
    assert {key for key, (_, _, run) in found.items() if run == run_a} == set(claimed_a)


def test_two_processes_never_claim_the_same_new_recipient(path: str) -> None:
    """Both start in the overlap (100–199), in the same order, to meet there."""
    first = [*range(100, 200), *range(0, 100)]
    second = [*range(100, 200), *range(200, 300)]
    reports = claim_concurrently(path, first, second)
    assert_each_claimed_once(path, reports, {claim(n).key for n in range(300)}, attempts=1)


def test_two_processes_retrying_the_same_deferred_recipients_claim_each_once(path: str) -> None:
    """Rows an earlier run left deferred are due for a retry by whichever send comes first."""
    numbers = list(range(200))
    with Ledger.open(path) as ledger:
        ledger.commit(ISSUE, transport="smtp", run_id=None, claims=[claim(n) for n in numbers])
        ledger.commit(ISSUE, transport="smtp", run_id=None,
                      outcomes=[Result(claim(n).key, State.DEFERRED, 451, "4.3.0", "try later") for n in numbers])
    reports = claim_concurrently(path, numbers, numbers, attempts=1)  # both read the deferred rows
    assert_each_claimed_once(path, reports, {claim(n).key for n in numbers}, attempts=2)
