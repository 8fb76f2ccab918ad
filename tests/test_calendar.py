"""The suite gives the same answers on any day: a representative subset re-run with the system
clock moved (libfaketime, Debian's `faketime`), a year and more ahead.

Every stage takes "today" from the command (`--today`, `WEBZINE_TODAY`, which the suite pins);
a stage that still asked the system for the date would fail here — as two preview tests did on
2026-12-06, when a sample consent crossed the 730-day limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# slow: re-runs part of the suite under libfaketime, three times. Under `make test` the three run one
# after another in one worker (three nested suites at once timed out on a loaded machine), each within
# the nested run's own limit (900 s) rather than the suite's 600 s.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("calendar"), pytest.mark.timeout(960)]

LIBFAKETIME = next(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"), Path("/usr/lib/faketime/libfaketime.so.1"))
ROOT = Path(__file__).resolve().parent.parent
# Consent ages, the audit, due months, drafts, the archive and the preview: what the date decides.
# Each entry is paid three more times here, so the CLI tests among them run webzine in-process where
# the process is not what they check. Not here: tests/test_plan.py — the plan decides from ledger
# states, suppressions and options and reads no clock; the send under a moved clock is the dry-run
# test's, below.
SUBSET = [
    "tests/test_audit.py", "tests/test_cli_audit.py", "tests/test_cli_lists.py", "tests/test_archive.py",
    "tests/test_ci_send.py::test_two_due_runs_in_the_same_month_send_the_issue_once",
    "tests/test_preview.py::test_search_finds_by_name_email_or_company_and_only_cleaned_recipients",
    "tests/test_one_truth.py::test_new_dates_an_issue_for_the_month_its_title_names",
    "tests/test_one_truth.py::test_two_issues_for_one_month_are_refused_by_due",
    "tests/test_one_truth.py::test_drafts_and_future_issues_are_not_due_nor_published",
    "tests/test_one_truth.py::test_the_dry_run_counts_what_the_send_does",
]
# In those files but decided by no date: a missing or unreadable file, a bad option, a device, the
# bytes of the CSV's byte order mark (each a real `webzine` process, 0.5 CPU-s a run).
NOT_DATED = [
    "tests/test_cli_audit.py::test_bad_input_exits_2",
    "tests/test_cli_audit.py::test_csv_starts_with_a_byte_order_mark_so_excel_shows_korean",
    "tests/test_cli_lists.py::test_a_device_is_one_error_line_not_a_hang",
]


@pytest.mark.parametrize("moved_to", ["2026-12-06 09:00:00", "2027-07-01 09:00:00", "2029-01-01 09:00:00"])
def test_the_suite_passes_with_the_clock_moved(moved_to: str) -> None:
    if not LIBFAKETIME.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{LIBFAKETIME} is missing; .ci/system-deps.sh installs faketime")
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    env = dict(os.environ, LD_PRELOAD=str(LIBFAKETIME), FAKETIME=f"@{moved_to}", FAKETIME_FORCE_MONOTONIC_FIX="1")
    deselected = [option for node in NOT_DATED for option in ("--deselect", node)]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUBSET, *deselected],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]
