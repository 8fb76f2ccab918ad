"""The state a monthly CI send leaves behind, at the scale of hundreds of thousands (issue 21).

Twelve monthly issues to N recipients (default 300,000; the same people each month, 2% of them
new every month), each month on a fresh "runner": a clone of the project from a local bare
origin, `.ci/state.sh restore`, the month's sends written to the ledger the way `webzine send`
writes them (claims then outcomes, 2,000 a commit, real Message-IDs and VERP tokens, 1% refused),
then `.ci/state.sh save` (which folds the closed issue into its archive with `webzine ledger
compact`). Prints per month: live ledger bytes per recipient before folding, the archive's size,
the month's growth of the state branch in the origin (its pack), the largest file on the branch,
and restore/save times; then the branch's total.

Targets: ≤ 100 B per recipient in the live ledger, no file over 50 MB, and a month's growth no
more than the compressed size of that month's data (its archive plus the live ledger saved).

Run alone: `.venv/bin/python bench/bench_state.py` (about 20 minutes on 2 cores;
`--recipients 30000 --months 3` about a minute).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from webzine.send.ledger import Claim, Ledger, Result, State  # noqa: E402
from webzine.message.factory import message_id  # noqa: E402
from webzine.tokens import verp_token  # noqa: E402

SECRET = "bench-state-secret-0123456789abcdef"
CONSUMER = ("naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "nate.com")
SURNAMES = ("kim", "lee", "park", "choi", "jung", "kang", "cho", "yoon", "jang", "lim", "han", "oh")
BATCH = 2000


def address(number: int) -> str:
    """A plausible Korean customer address: 60% on consumer mail services, 40% on 5,000 companies."""
    pick = random.Random(number)
    local = f"{pick.choice(SURNAMES)}.{pick.choice('abcdefghjkmnpqrstuvwxyz')}{pick.choice('aeiou')}{number}"
    domain = pick.choice(CONSUMER) if pick.random() < 0.6 else f"corp{pick.randrange(5000)}.co.kr"
    return f"{local}@{domain}"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def pack_bytes(bare: Path) -> int:
    return sum(file.stat().st_size for file in (bare / "objects").rglob("*") if file.is_file())


def project(origin: Path, scratch: Path) -> None:
    """The project's main branch in the bare origin: the state script and a config."""
    seed = scratch / "seed"
    seed.mkdir()
    git("init", "-q", "-b", "main", cwd=seed)
    (seed / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "state.sh", seed / ".ci" / "state.sh")
    shutil.copy(ROOT / "webzine.toml", seed / "webzine.toml")
    (seed / ".gitignore").write_text("state/\n", encoding="utf-8")
    git("add", "-A", cwd=seed)
    git("-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "project", cwd=seed)
    git("push", "-q", str(origin), "main", cwd=seed)


def send_month(ledger_path: Path, slug: str, people: list[str]) -> float:
    start = time.monotonic()
    with Ledger.open(ledger_path) as ledger:
        run = ledger.start_run(slug, transport="smtp", allow_gaps=None, options={})
        for first in range(0, len(people), BATCH):
            chunk = people[first : first + BATCH]
            claims = [Claim(key, key, message_id(SECRET, slug, key, "example.co.kr"), verp_token(SECRET, slug, key))
                      for key in chunk]
            ledger.commit(slug, transport="smtp", run_id=run, claims=claims)
            outcomes = [Result(key, State.FAILED, 550, "5.1.1", "5.1.1 <address> User unknown") if hash(key) % 100 == 0
                        else Result(key, State.ACCEPTED, 250, "2.0.0", "2.0.0 Ok: queued", f"4Q{first + n:08X}")
                        for n, key in enumerate(chunk)]
            ledger.commit(slug, transport="smtp", run_id=run, outcomes=outcomes)
        ledger.finish_run(run, summary={}, exit_code=0)
        ledger._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=300_000)
    parser.add_argument("--months", type=int, default=12)
    options = parser.parse_args()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    with tempfile.TemporaryDirectory(prefix="bench-state-") as folder:
        scratch = Path(folder)
        origin = scratch / "origin.git"
        git("init", "-q", "--bare", str(origin), cwd=scratch)
        git("config", "uploadpack.allowFilter", "true", cwd=origin)
        project(origin, scratch)
        print(f"{options.recipients:,} recipients × {options.months} months; B/recipient is the live ledger "
              "before folding; growth is the origin's objects")
        print(f"{'month':>7} {'B/rcpt':>7} {'archive':>10} {'live saved':>11} {'growth':>10} {'largest file':>13} "
              f"{'restore':>8} {'write':>7} {'save':>7}")
        base = pack_bytes(origin)
        worst_rate, worst_file, over = 0.0, 0, []
        for month in range(1, options.months + 1):
            runner = scratch / f"runner{month}"
            git("clone", "-q", "--depth", "1", "--single-branch", "-b", "main", f"file://{origin}", str(runner),
                cwd=scratch)
            started = time.monotonic()
            subprocess.run(["bash", ".ci/state.sh", "restore"], cwd=runner, env=env, check=True, capture_output=True)
            restore = time.monotonic() - started
            slug = f"2027-{month:02d}"
            newcomers = options.recipients * (month - 1) // 50  # 2% new people a month
            people = [address(n) for n in range(newcomers, newcomers + options.recipients)]
            ledger_path = runner / "state" / "ledger.sqlite3"
            write = send_month(ledger_path, slug, people)
            rate = ledger_path.stat().st_size / options.recipients  # a fresh runner: only this issue is live
            started = time.monotonic()
            subprocess.run(["bash", ".ci/state.sh", "save", f"send {slug}"], cwd=runner, env=env, check=True,
                           capture_output=True)
            save = time.monotonic() - started
            archive = next((runner / "state" / "ledger-archive").glob(f"{slug}.*")).stat().st_size
            live = ledger_path.stat().st_size
            growth = pack_bytes(origin) - base
            base += growth
            sizes = [int(line.split()[3]) for line in git("ls-tree", "-r", "-l", "webzine-state", cwd=origin).splitlines()]
            worst_rate, worst_file = max(worst_rate, rate), max(worst_file, max(sizes))
            if growth > archive + live:
                over.append(slug)
            print(f"{slug:>7} {rate:7.1f} {archive / 1e6:8.2f}MB {live / 1e3:9.0f}kB {growth / 1e6:8.2f}MB "
                  f"{max(sizes) / 1e6:11.2f}MB {restore:7.1f}s {write:6.1f}s {save:6.1f}s", flush=True)
            shutil.rmtree(runner)
        git("gc", "-q", "--aggressive", "--prune=now", cwd=origin)
        total = pack_bytes(origin)
        print(f"branch total after {options.months} months: {total / 1e6:.1f} MB (origin repacked); "
              f"worst {worst_rate:.1f} B/recipient, largest file {worst_file / 1e6:.1f} MB, "
              f"months growing more than their data: {', '.join(over) or 'none'}")
        ok = worst_rate <= 100 and worst_file <= 50e6 and not over
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
