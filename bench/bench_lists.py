"""Cleaning throughput: a generated 1,000,000-row CP949 subscriber list (Korean Excel's default).

Each contender runs in its own process so its peak memory (max RSS) is its own:
- webzine   `clean_list` for an advertising issue: read, normalise, validate, typo domains,
            dedupe, suppressions (10,000), consent — everything the send path does.
- naive     the loop one writes first: csv.DictReader, then email-validator on every row,
            dedupe by lowercased address (no typos, no consent, no suppressions).
- csv only  csv.reader over the decoded file, doing nothing: the floor for any Python reader.
Targets on this 2-core machine: >= 100,000 rows/s and peak RSS < 600 MB for webzine.

    .venv/bin/python bench/bench_lists.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from listgen import HEADER, subscriber_rows, write_csv  # noqa: E402

DATA = BENCH / ".data"
LOAD_BEFORE = os.getloadavg()[0]


def dataset(rows: int) -> tuple[Path, Path]:
    subscribers = DATA / f"subscribers-{rows}-cp949.csv"
    suppressions = DATA / f"suppressions-{rows}.csv"
    if not subscribers.exists() or not suppressions.exists():
        generated = subscriber_rows(rows)
        write_csv(subscribers, HEADER, generated, "cp949")
        # 10,000 suppressions, off the stride bench_audit draws key customers from
        picked = [[generated[i][0].strip().lower(), "hard_bounce", "2026-01-01", "bench", ""]
                  for i in range(37, rows, max(1, rows // 10_000))]
        write_csv(suppressions, ["email", "reason", "since", "source", "detail"], picked, "utf-8")
    return subscribers, suppressions


def run_webzine(subscribers: Path, suppressions: Path) -> dict[str, object]:
    from datetime import date

    from webzine.recipients.clean import clean_list
    from webzine.recipients.suppressions import load_suppressions

    start = time.perf_counter()
    cpu = time.process_time()
    result = clean_list(subscribers, suppressions=load_suppressions(suppressions), advertising=True,
                        today=date(2026, 11, 23))
    return {"rows": result.rows_read, "kept": result.kept, "seconds": time.perf_counter() - start,
            "cpu": time.process_time() - cpu}


def run_naive(subscribers: Path, suppressions: Path) -> dict[str, object]:
    import csv

    from email_validator import EmailNotValidError, validate_email

    start = time.perf_counter()
    cpu = time.process_time()
    seen: set[str] = set()
    kept = rows = 0
    with subscribers.open(encoding="cp949", newline="") as handle:
        for row in csv.DictReader(handle):
            rows += 1
            try:
                email = validate_email(row["email"].strip(), check_deliverability=False).normalized
            except EmailNotValidError:
                continue
            if email.lower() not in seen:
                seen.add(email.lower())
                kept += 1
    return {"rows": rows, "kept": kept, "seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}


def run_csv_only(subscribers: Path, suppressions: Path) -> dict[str, object]:
    import csv

    start = time.perf_counter()
    cpu = time.process_time()
    with subscribers.open(encoding="cp949", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    return {"rows": rows, "kept": rows, "seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}


CONTENDERS = {
    "webzine": run_webzine,
    "naive": run_naive,
    "csv only": run_csv_only,
}


def peak_mb() -> float:
    """This process's own high-water mark (VmHWM). Not ru_maxrss: Linux carries that across
    exec, so a child would report the parent's peak (here: generating the data set)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, subscribers: str, suppressions: str) -> None:
    result = CONTENDERS[name](Path(subscribers), Path(suppressions))
    result["peak_mb"] = peak_mb()
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=sorted(CONTENDERS))
    args = parser.parse_args()
    subscribers, suppressions = dataset(args.rows)
    size = subscribers.stat().st_size / 1e6
    print(f"{args.rows:,} rows, CP949, {size:.0f} MB; 10,000 suppressions")
    results = {}
    for name in [args.only] if args.only else CONTENDERS:
        done = subprocess.run([sys.executable, __file__, "--child", name, str(subscribers), str(suppressions)],
                              capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    base = results.get("webzine")
    print(f"{'':10} {'rows/s':>10} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'kept':>9} {'vs webzine':>10}")
    for name, r in results.items():
        rate = r["rows"] / r["seconds"]
        ratio = f"{base['seconds'] / r['seconds']:.2f}x" if base else "-"
        print(f"{name:10} {rate:>10,.0f} {r['seconds']:>7.2f} {r['cpu']:>7.2f} {r['peak_mb']:>8.0f} {r['kept']:>9,} {ratio:>10}")
    if base:
        rate = base["rows"] / base["seconds"]
        ok = rate >= 100_000 and base["peak_mb"] < 600
        print(f"webzine: target >= 100,000 rows/s and < 600 MB {'met' if ok else 'NOT met'} "
              f"({rate:,.0f} rows/s, {base['peak_mb']:.0f} MB)")
    load = os.getloadavg()[0]
    print(f"load average before the run: {LOAD_BEFORE:.2f}, after: {load:.2f} on {os.cpu_count()} cores "
          "(other work on the machine slows every row; 'cpu s' is this process's own time)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        raise SystemExit(main())
