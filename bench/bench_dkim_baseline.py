"""Issue 17's DKIM target, against the code the issue was filed against.

The issue asks for a signed send of at least 1.7× "today's signed rate" — the rate of the tree at
the start of turn 2 (commit 2605158, 433 msg/s in bench/README.md's table of 2026-11-23, measured
on a busier machine). This runs that tree's own send path (`git archive` of it, its
`bench_send.run_webzine` with a 2,048-bit signer) and today's, one core and signing pool, each
measurement in a fresh process and the three interleaved, so that all see the same machine.

Run: `.venv/bin/python bench/bench_dkim_baseline.py [--rounds 5] [--recipients 5000]`
(about 30 s per round).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = "2605158"  # the end of turn 1: what issue 17 calls today's signed send

# One measurement, run in a fresh interpreter with `tree` first on sys.path.
CHILD = """
import os, sys
tree, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path[:0] = [tree, tree + "/bench"]
import bench_send
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
try:
    from webzine.message.dkim import DkimSigner
except ImportError:  # the layout of turn 1
    from webzine.dkim import DkimSigner
config, issue = bench_send.make_project(count)
campaign = bench_send.campaign_for(config, issue)
pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
signer = DkimSigner("example.co.kr", "bench", pem)
extra = {"pool": True} if mode == "pool" else {}
ledger = bench_send.DATA / f"baseline-{os.getpid()}.sqlite3"
rate, _ = bench_send.run_webzine(campaign, bench_send.DiscardTransport(), count, ledger, signer=signer, **extra)
print(f"{rate:.0f}")
"""


def measure(tree: Path, mode: str, count: int) -> float:
    environ = {**os.environ, "WEBZINE_UNSUBSCRIBE_SECRET": "bench-only-secret"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree), mode, str(count)], cwd=tempfile.gettempdir(),
                          env=environ, capture_output=True, text=True, check=True, timeout=600)
    return float(done.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--recipients", type=int, default=5000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="webzine-baseline-") as folder:
        baseline = Path(folder)
        archive = subprocess.run(["git", "archive", BASELINE], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        runs = {"baseline": (baseline, "one"), "one core": (ROOT, "one"), "pool": (ROOT, "pool")}
        rates: dict[str, list[float]] = {name: [] for name in runs}
        print(f"{args.recipients:,} signed messages per run, rsa-2048, discarding sink; {os.cpu_count()} CPUs")
        print(f"| round | {BASELINE}, one core | today, one core | today, pool | pool ÷ {BASELINE} |")
        print("|---:|---:|---:|---:|---:|")
        for number in range(1, args.rounds + 1):
            for name, (tree, mode) in runs.items():
                rates[name].append(measure(tree, mode, args.recipients))
            row = [rates[name][-1] for name in runs]
            print(f"| {number} | {row[0]:,.0f} | {row[1]:,.0f} | {row[2]:,.0f} | {row[2] / row[0]:.2f}× |", flush=True)
    ratios = [pool / base for pool, base in zip(rates["pool"], rates["baseline"])]
    median = statistics.median(ratios)
    print(f"\nmedian pool ÷ {BASELINE}: {median:.2f}× (issue 17's target ≥ 1.7×: {'met' if median >= 1.7 else 'NOT met'}); "
          f"median pool ÷ today's one core: {statistics.median(p / o for p, o in zip(rates['pool'], rates['one core'])):.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
