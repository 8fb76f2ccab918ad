"""Several `webzine send ISSUE --yes` started at once against one ledger (issue 15, failure 1).

Four processes send the same issue, unthrottled, to a real SMTP server on 127.0.0.1 (aiosmtpd,
recording every message it accepts). Without a lock two of them often claim the same 512-recipient
chunk before either has committed, and both send it: in this test's runs on the code before the
lock, 512 to all 1,000 recipients got two copies, and every process exited 3. Whatever the timing, every recipient must receive exactly one copy;
one send runs, and each other one either finds the issue done (exit 0) or exits 3 with one
`Error:` line naming the running send by its PID (and at most `Hint:` lines), so a scheduled job and an editor's manual run
cannot both send.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from ledgerkit import location, pg_url, postgres  # noqa: F401  (fixtures: SQLite and PostgreSQL)
from smtp_project import ISSUE, environment, simple_rows, write_project
from smtp_server import SmtpTestServer
from test_serve_postgres import PASSWORD

from webzine.send.ledger_pg import PASSWORD_ENV

# slow: several webzine send processes against one SMTP server
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(180), pytest.mark.slow]

WEBZINE = str(Path(sys.executable).parent / "webzine")
SENDERS = 4
RECIPIENTS = 1000  # two claim chunks: enough for the race to show, a send of a few seconds


def test_sends_started_together_deliver_everyone_exactly_once(tmp_path: Path, location: str) -> None:
    """On SQLite the lock is a file's flock; on PostgreSQL a session advisory lock, named by its holder."""
    env = {**environment(), PASSWORD_ENV: PASSWORD}  # as a CI secret would set it; unused by SQLite
    with SmtpTestServer(tls="none") as server:
        project = write_project(tmp_path / "project", simple_rows(RECIPIENTS), server.port, send={"ledger": location})
        command = [WEBZINE, "send", ISSUE, "--yes", "--transport", "smtp"]
        senders = [subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(SENDERS)]  # fmt: skip
        try:
            outputs = [sender.communicate(timeout=120) for sender in senders]
        finally:
            for sender in senders:
                if sender.poll() is None:
                    sender.kill()
                    sender.wait(timeout=30)
        copies = Counter(rcpt.lower() for message in server.messages for rcpt in message.rcpt_tos)

    twice = {address: count for address, count in copies.items() if count > 1}
    assert not twice, f"{len(twice)} recipients got more than one copy, e.g. {sorted(twice.items())[:3]}"
    assert set(copies) == {row[0] for row in simple_rows(RECIPIENTS)}, "everyone received the issue"
    codes = [sender.returncode for sender in senders]
    assert set(codes) <= {0, 3}, (codes, [err for _, err in outputs])
    winners = {str(sender.pid) for sender in senders if sender.returncode == 0}
    losers = [err for sender, (_, err) in zip(senders, outputs) if sender.returncode == 3]
    assert winners and losers, f"the sends overlapped: one ran, the others found it running ({codes})"
    for err in losers:
        first, *rest = err.strip().splitlines()
        assert first.startswith("Error: ") and all(line.startswith("Hint: ") for line in rest), err
        assert any(pid in first for pid in winners), f"the running send is named by its PID: {first}"
    status = subprocess.run([WEBZINE, "status", ISSUE, "--json"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    (row,) = json.loads(status.stdout)
    assert (row["accepted"], row["unknown"], row["pending"]) == (RECIPIENTS, 0, 0)
