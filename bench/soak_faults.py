"""Fault-injection soak: SIGKILL `webzine send` at random moments while the SMTP server misbehaves,
resume with the same command until the issue is done, and count what the server really got.

Each trial is a fresh project (a small issue, a generated list of `--recipients` Korean
subscribers, an empty ledger) and a fresh server (`tests/fault_smtp.py`, aiosmtpd on 127.0.0.1 in
its own process) that injects 421, 451, 550, dropped connections, stalls and "accepted, then
dropped" at random, and records every message it accepted. `webzine send ISSUE --yes --transport
smtp` runs as a subprocess, exactly as a user runs it; it is SIGKILLed `--kills` times, each time
once the server has accepted a random number of messages, and re-run after each kill; after the
last kill it is re-run until `webzine status ISSUE --json` shows nothing pending (at most
`--max-runs` runs). Then, against the cleaned list:

- lost: on the list, never accepted by the server, not recorded failed and not reported unknown —
  silently skipped (the issue's literal "lost" also counts the undelivered unknowns; both shown);
- duplicated: recipients the server accepted more than once;
- unknown: rows left `claimed` (`status --json`), split into those the server has (delivered)
  and those it has not; "by kill" are claims a kill left, the rest are ambiguous SMTP answers
  (a drop or stall after the final ".") the send itself reported as unknown.

Run alone: `.venv/bin/python bench/soak_faults.py [--trials 4 --kills 5 --recipients 10000]`,
`--quick` for a smoke run; `--resend-unknown` resumes after the last kill with that option, to
count the copies it sends twice. `make bench` runs it with the defaults (20 kills, 10,000 recipients).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WEBZINE = Path(sys.executable).parent / "webzine"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from fault_smtp import FaultServer  # noqa: E402
from listgen import subscriber_rows  # noqa: E402
from smtp_project import ISSUE, SLUG, environment, write_project  # noqa: E402

from webzine.clock import today_in_korea, utc_now  # noqa: E402
from webzine.recipients.clean import load_clean_list  # noqa: E402
from webzine.config import load_settings  # noqa: E402
from webzine.send.ledger import Ledger, State  # noqa: E402

SMTP_TIMEOUT = 1.0  # seconds the client waits for a reply; a stall lasts longer
STALL = 2.5
RUN_TIMEOUT = 600.0  # one `webzine send` run; a run that takes longer is a finding in itself
SEND = {"retry_deadline_seconds": 15, "max_attempts": 4, "stop_after_consecutive_errors": 50}
SMTP = {"timeout": SMTP_TIMEOUT, "max_messages_per_connection": 200}


@dataclass
class Trial:
    number: int
    listed: int = 0
    kills: int = 0
    runs: int = 0
    exit_codes: list[int] = field(default_factory=list)
    accepted: int = 0  # distinct recipients the server accepted
    failed: int = 0  # recorded failed in the ledger
    lost: int = 0
    duplicated: int = 0
    extra_copies: int = 0
    unknown: int = 0
    unknown_delivered: int = 0
    unknown_by_kill: int = 0
    unknown_after_kill: list[int] = field(default_factory=list)  # status --json after each kill
    pending: int = 0  # deferred or not started when the run bound was reached
    faults: int = 0
    seconds: float = 0.0

    @property
    def lost_literal(self) -> int:
        """Never accepted and not recorded failed, unknowns included."""
        return self.lost + self.unknown - self.unknown_delivered


def status(project: Path) -> dict:
    done = subprocess.run([str(WEBZINE), "status", ISSUE, "--json"], cwd=project, env=environment(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    rows = json.loads(done.stdout or "[]")
    return rows[0] if rows else {"accepted": 0, "failed": 0, "pending": -1, "unknown": 0}  # no ledger yet


def send(project: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(WEBZINE), "send", ISSUE, "--yes", "--transport", "smtp", *extra], cwd=project,
                            env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip


def kill_point(project: Path, server: FaultServer, listed: int, kills_left: int, rng: random.Random) -> int:
    """How many accepted messages (in all) to wait for before the next kill: a random share of
    what is still to send, about 1/kills_left of it on average, so the kills spread over the send."""
    counts = status(project)
    remaining = max(1, listed - counts["accepted"] - counts["failed"] - counts["unknown"])
    share = rng.randint(1, max(1, min(remaining - 1, 2 * remaining // kills_left - 1)))
    return server.count() + share


def run_until_killed(project: Path, server: FaultServer, target: int) -> int | None:
    """Start a send and SIGKILL it once the server has accepted `target` messages in all.
    None when it was killed; its exit code when it ended first."""
    process = send(project)
    deadline = time.monotonic() + RUN_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        if server.count() >= target:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return None
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        return None
    process.communicate(timeout=30)
    return process.returncode


def settle_from_log(project: Path, log: Path) -> None:
    """What an operator does after the kills: settle the unknowns from the mail server's own record
    (the fault server's log of accepted messages), and decide to resend the rest."""
    subprocess.run([str(WEBZINE), "settle", SLUG, "--delivered", str(log), "--resend", "--yes"], cwd=project,
                   env=environment(), capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)


def run_to_end(project: Path, *extra: str) -> int:
    process = send(project, *extra)
    try:
        _, err = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        return -9
    if process.returncode not in (0, 1, 3):
        print(f"  webzine send exited {process.returncode}: {err.strip()[-400:]}", file=sys.stderr)
    return process.returncode


def run_trial(number: int, rows: list[list[str]], args: argparse.Namespace, rng: random.Random) -> Trial:
    trial = Trial(number)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="webzine-soak-") as scratch:
        record = Path(scratch) / "accepted.jsonl"
        with FaultServer(record, fault_rate=args.fault_rate, seed=rng.randrange(1 << 30), stall=STALL) as server:
            project = write_project(Path(scratch) / "project", rows, server.port, send=SEND, smtp=SMTP)
            settings = load_settings(project / "webzine.toml")
            listed = {r.key for r in load_clean_list(settings, advertising=False, today=today_in_korea(utc_now()),
                                                     suppressions={}).recipients}
            trial.listed = len(listed)
            for kill in range(args.kills):
                code = run_until_killed(project, server, kill_point(project, server, trial.listed,
                                                                    args.kills - kill, rng))
                trial.runs += 1
                if code is None:
                    trial.kills += 1
                    trial.unknown_after_kill.append(int(status(project)["unknown"]))
                else:
                    trial.exit_codes.append(code)
            while trial.runs < args.kills + args.max_runs:
                trial.exit_codes.append(run_to_end(project, *(["--resend-unknown"] if args.resend_unknown else [])))
                trial.runs += 1
                if status(project)["pending"] == 0:
                    break
            if args.settle:
                settle_from_log(project, record)
                trial.exit_codes.append(run_to_end(project))
                trial.runs += 1
        trial.faults = sum(server.fired.values())
        measure(trial, project, listed, server.accepted(), status(project))
    trial.seconds = time.monotonic() - started
    return trial


def measure(trial: Trial, project: Path, listed: set[str], arrived: list[dict], counts: dict) -> None:
    copies = Counter(rcpt.lower() for message in arrived for rcpt in message["rcpt"])
    with Ledger.open(project / "state" / "ledger.sqlite3") as ledger:
        rows = {row.key: row for row in ledger.rows(SLUG)}
    claimed = {key for key, row in rows.items() if row.state is State.CLAIMED}
    failed = {key for key, row in rows.items() if row.state is State.FAILED}
    trial.accepted = sum(1 for key in listed if copies[key])
    trial.failed = len(failed & listed)
    trial.lost = sum(1 for key in listed - failed - claimed if not copies[key])
    trial.duplicated = sum(1 for count in copies.values() if count > 1)
    trial.extra_copies = sum(count - 1 for count in copies.values() if count > 1)
    trial.unknown = int(counts["unknown"])
    trial.unknown_delivered = sum(1 for key in claimed if copies[key])
    trial.unknown_by_kill = sum(1 for key in claimed if not rows[key].text.startswith("unknown:"))
    trial.pending = int(counts["pending"])
    assert trial.unknown == len(claimed), "status --json and the ledger disagree on unknowns"


COLUMNS = ("trial", "kills", "runs", "listed", "arrived", "failed", "lost", "lost*", "duplicated",
           "unknown", "…delivered", "…by kill", "pending", "faults", "seconds")  # fmt: skip


def row(name: str, trials: list[Trial]) -> list[str]:
    total = lambda attribute: sum(getattr(t, attribute) for t in trials)  # noqa: E731
    return [name, *(f"{total(a):,}" for a in ("kills", "runs", "listed", "accepted", "failed", "lost",
                                               "lost_literal", "duplicated", "unknown", "unknown_delivered",
                                               "unknown_by_kill", "pending", "faults")),
            f"{total('seconds'):.0f}"]  # fmt: skip


def print_table(trials: list[Trial]) -> None:
    rows = [row(str(t.number), [t]) for t in trials] + [row("total", trials)]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths)))
    for values in rows:
        print("  ".join(v.rjust(w) for v, w in zip(values, widths)))
    print("lost = never accepted, not failed, not unknown (silent); lost* = never accepted and not failed, "
          "unknowns included; duplicated = recipients the server accepted more than once "
          f"({sum(t.extra_copies for t in trials):,} extra copies)")
    print("unknown after each kill (status --json): "
          + "; ".join(f"trial {t.number}: {t.unknown_after_kill}" for t in trials))
    print(f"exit codes of the runs that were not killed: {[t.exit_codes for t in trials]}")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=4, help="fresh projects, each one whole send")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per trial")
    parser.add_argument("--recipients", type=int, default=10_000, help="rows in the generated list")
    parser.add_argument("--fault-rate", type=float, default=0.01,
                        help="probability of a fault at each RCPT and after each DATA")
    parser.add_argument("--max-runs", type=int, default=8, help="resumes after the last kill, at most")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--settle", action="store_true",
                        help="after the resumes, settle the unknowns from the server's log (webzine settle "
                             "--delivered LOG --resend) and send once more")
    parser.add_argument("--resend-unknown", action="store_true",
                        help="resume after the last kill with --resend-unknown (shows what that duplicates)")
    parser.add_argument("--quick", action="store_true", help="2 trials × 3 kills, 2,000 recipients")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.kills, args.recipients = 2, 3, 2000
    rng = random.Random(args.seed)
    print(f"{args.trials} trial(s) × {args.kills} SIGKILL(s), {args.recipients:,} generated rows, "
          f"fault rate {args.fault_rate:g} at RCPT and after DATA, stall {STALL} s vs client timeout "
          f"{SMTP_TIMEOUT} s, seed {args.seed}"
          + (", final resumes with --resend-unknown" if args.resend_unknown else ""), flush=True)
    rows = subscriber_rows(args.recipients, seed=15)
    trials = []
    for number in range(1, args.trials + 1):
        trials.append(run_trial(number, rows, args, rng))
        t = trials[-1]
        print(f"trial {number}: lost {t.lost}, duplicated {t.duplicated}, unknown {t.unknown} "
              f"({t.unknown_delivered} delivered), {t.runs} runs, {t.seconds:.0f} s", flush=True)
    print()
    print_table(trials)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
