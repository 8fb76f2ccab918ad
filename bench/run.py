"""Run every bench/bench_*.py, then the fault soak, each in its own process; show what they printed.

A failing benchmark does not stop the others; the exit status is non-zero when any failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SOAKS = ("soak_faults.py",)  # measurements of correctness under faults, not of speed


def main() -> int:
    scripts = sorted(BENCH.glob("bench_*.py")) + [BENCH / name for name in SOAKS]
    failed: list[str] = []
    for script in scripts:
        print(f"== {script.name} ==", flush=True)
        start = time.monotonic()
        done = subprocess.run([sys.executable, str(script)], cwd=BENCH.parent)
        took = time.monotonic() - start
        if done.returncode != 0:
            failed.append(script.name)
            print(f"-- {script.name} failed (exit {done.returncode}) after {took:.1f}s", flush=True)
        else:
            print(f"-- {script.name} done in {took:.1f}s", flush=True)
        print(flush=True)
    print(f"{len(scripts) - len(failed)} of {len(scripts)} benchmarks ran; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
