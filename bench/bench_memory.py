"""Peak memory of `webzine send` as a user runs it, measured from outside with `/usr/bin/time -v`.

The sample publication (default templates, the sample issue, its managers and key customers) with
a subscriber list lengthened to N generated rows, sent with `--transport smtp --yes` to Postfix's
`smtp-sink` on 127.0.0.1 (stopped by its PID). Each size runs in a fresh project; the row shows
the command's maximum resident set size, its wall time and CPU seconds (user + system), and the
whole-command rate. "Flat" means the largest list's peak is within 10 % of the smallest's.

Run alone: `.venv/bin/python bench/bench_memory.py [--sizes 10000,100000,1000000]` (the 1,000,000
row sends 1,000,000 messages: most of an hour on a shared 2-core machine; `--quick` stops at
100,000).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "memory"
sys.path.insert(0, str(HERE))

from bench_smtp import INSTALL_HINT, Sink, tool  # noqa: E402

SECRET = "bench-unsubscribe-secret-0123456789abcdef"
TODAY = "2026-12-01"  # pinned: consent ages must not depend on the day the bench runs
TIME = "/usr/bin/time"
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서준지현우도하윤수예은주원진아연성호영재"
DOMAINS = ("naver.com", "gmail.com", "daum.net", "hanmail.net", "nate.com", "example.com")


def write_list(path: Path, count: int) -> None:
    """The sample list's rows (its key customers and sample recipient are on it), then generated
    distinct rows up to `count`; written in pieces, so the generator holds no list."""
    with open(ROOT / "lists" / "subscribers.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rng = random.Random(31)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerows(rows)
        for index in range(count - (len(rows) - 1)):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            writer.writerow([f"reader{index}@{rng.choice(DOMAINS)}", name, rng.choice(["소중한", "반가운", ""]),
                             f"{rng.choice(['한빛', '푸른', '새솔'])}{rng.choice(['상사', '식품', '테크'])}",
                             rng.choice(["m1", "m2", "m3", ""]), "2026-05-01", "vip", "하동 우전 500g"])  # fmt: skip


def make_project(count: int, port: int) -> tuple[Path, Path]:
    """bench/.data/memory/project: the sample publication sending over SMTP to 127.0.0.1:`port`."""
    project = DATA / "project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "lists").mkdir(parents=True)
    shutil.copytree(ROOT / "issues", project / "issues")
    shutil.copytree(ROOT / "templates", project / "templates")
    for name in ("managers.csv", "key-customers.csv"):
        shutil.copy(ROOT / "lists" / name, project / "lists" / name)
    (project / "lists" / "suppressions.csv").write_text("email,reason,since,source,detail\r\n", encoding="utf-8")
    write_list(project / "lists" / "subscribers.csv", count)
    text = (ROOT / "webzine.toml").read_text(encoding="utf-8")
    # The sample's example.* domains fail the pre-flight check by design; the sink is a test relay.
    text = text.replace("rate = 20 ", 'preflight = "off"\nrate = 1000000 ')
    text = re.sub(r"\[smtp\].*?(?=\n\[)", f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n',
                  text, flags=re.S)
    text = re.sub(r"\[dkim\].*?(?=\n\[)", "", text, flags=re.S)  # DKIM is bench_send's row
    config = project / "webzine.toml"
    config.write_text(text, encoding="utf-8")
    return config, project / "issues" / "2026-12-year-end.md"


def measure(count: int, sink: Sink) -> dict[str, float]:
    config, issue = make_project(count, sink.port)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("WEBZINE_")}
    environment["WEBZINE_UNSUBSCRIBE_SECRET"] = SECRET
    command = [TIME, "-v", str(Path(sys.executable).parent / "webzine"), "--config", str(config), "--today", TODAY,
               "send", str(issue), "--transport", "smtp", "--yes", "--json",
               "--allow-gaps", "bench: the sample key customer who left the list"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=config.parent)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        own = done.stderr.partition("\tCommand being timed")[0]  # what webzine printed, before time's report
        raise RuntimeError(f"webzine send exited {done.returncode}: {own.strip()[-600:]}")
    summary = json.loads(done.stdout)
    report = dict(re.findall(r"^\s*([^:\n]+):\s*(.+)$", done.stderr, flags=re.M))
    cpu = float(report["User time (seconds)"]) + float(report["System time (seconds)"])
    return {"count": count, "accepted": summary["accepted"], "peak_mb": int(report["Maximum resident set size (kbytes)"]) / 1024,
            "wall": wall, "cpu": cpu, "send_rate": summary["rate"]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated list sizes")
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 only")
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [int(size) for size in args.sizes.split(",")]
    binary = tool("smtp-sink")
    if binary is None or not os.access(TIME, os.X_OK):
        print(INSTALL_HINT if binary is None else f"{TIME} (GNU time) is not installed.", file=sys.stderr)
        return 2
    sink = Sink(binary)
    try:
        rows = [measure(size, sink) for size in sizes]
    finally:
        sink.stop()
        shutil.rmtree(DATA / "project", ignore_errors=True)
    print(f"`webzine send --transport smtp --yes` to smtp-sink on 127.0.0.1, default template, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(f"| {'recipients':>10} | {'peak RSS':>9} | {'wall s':>7} | {'CPU s':>7} | {'msg/s':>6} | {'msg/CPU-s':>9} "
          f"| {'send phase msg/s':>16} |")
    print(f"|{'-' * 11}:|{'-' * 10}:|{'-' * 8}:|{'-' * 8}:|{'-' * 7}:|{'-' * 10}:|{'-' * 17}:|")
    for row in rows:
        print(f"| {row['count']:>10,} | {row['peak_mb']:>6.1f} MB | {row['wall']:>7.1f} | {row['cpu']:>7.1f} "
              f"| {row['accepted'] / row['wall']:>6,.0f} | {row['accepted'] / row['cpu']:>9,.0f} "
              f"| {row['send_rate']:>16,.0f} |")
    small, large = rows[0], rows[-1]
    growth = large["peak_mb"] / small["peak_mb"] - 1
    verdict = "met" if growth <= 0.10 else "NOT met"
    print(f"\nflat within 10 % from {small['count']:,} to {large['count']:,}: {verdict} "
          f"({small['peak_mb']:.1f} → {large['peak_mb']:.1f} MB, {growth:+.1%})")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
