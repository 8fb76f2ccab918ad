"""Bounce import throughput from a Maildir, against flufl.bounce on the same messages.

    .venv/bin/python bench/bench_bounces.py [--messages N]

Builds a Maildir of N real bounces (the Sisimai corpus from ../shared, or the shipped fixtures,
repeated, each copy with its own Message-ID) under bench/.data/, then measures:
  webzine parse      read each file, parse and classify it (dsn.parse_report + events)
  webzine import     the whole `webzine bounces import`: parse, store events, apply the policy,
                     write suppressions.csv
  flufl.bounce       read and scan each file with flufl.bounce.all_failures (its own venv)
Target: at least 500 messages per second for the import. Wall-clock and CPU-time rates are both
shown: on a machine shared with other work the wall clock measures the neighbours too, so the
load average is printed alongside.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bounce_accuracy import PEER_VENV, flufl  # noqa: E402
from webzine.bounces.dsn import parse_report  # noqa: E402
from webzine.bounces.importer import events_from_report, run_import  # noqa: E402
from webzine.bounces.sources import FileSource  # noqa: E402
from webzine.providers import PROVIDERS  # noqa: E402

READERS = tuple(PROVIDERS.values())  # as `webzine bounces import` passes them

DATA = ROOT / "bench" / ".data" / "bounces-maildir"


def corpus() -> Path:
    shared = ROOT.parent / "shared" / "corpus" / "bounces"
    return shared if shared.exists() else ROOT / "tests" / "fixtures" / "bounces"


def build_maildir(count: int) -> Path:
    samples = sorted((corpus() / "eml").glob("*.eml"))
    marker = DATA / f".built-{count}-{len(samples)}"
    if marker.exists():
        return DATA
    shutil.rmtree(DATA, ignore_errors=True)
    for sub in ("new", "cur", "tmp"):
        (DATA / sub).mkdir(parents=True)
    for index in range(count):
        raw = samples[index % len(samples)].read_bytes()
        (DATA / "cur" / f"{index:06d}.bench:2,S").write_bytes(b"Message-ID: <bench-%d@webzine.invalid>\n" % index + raw)
    marker.touch()
    return DATA


def time_parse(folder: Path) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    events = 0
    for item in FileSource(folder).items():
        events += len(events_from_report(parse_report(item.data, readers=READERS), item.source))  # type: ignore[union-attr]
    return time.perf_counter() - wall, time.process_time() - cpu, events


def time_import(folder: Path) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as scratch:
        wall, cpu = time.perf_counter(), time.process_time()
        result = run_import([FileSource(folder)], events_path=Path(scratch) / "events.jsonl",
                            suppressions_path=Path(scratch) / "suppressions.csv", soft_limit=3,
                            today=date(2026, 12, 1), readers=READERS)
        return time.perf_counter() - wall, time.process_time() - cpu, len(result.fresh)


PEER_TIMER = r"""
import email, os, sys, time
from flufl.bounce import all_failures
folder = sys.argv[1]
names = sorted(os.listdir(os.path.join(folder, 'cur')))
started, cpu = time.perf_counter(), time.process_time()
for name in names:
    with open(os.path.join(folder, 'cur', name), 'rb') as handle:
        msg = email.message_from_bytes(handle.read())
    try:
        all_failures(msg)
    except Exception:
        pass
print(time.perf_counter() - started, time.process_time() - cpu)
"""


def time_flufl(folder: Path) -> tuple[float, float] | None:
    if flufl(corpus(), []) is None:  # creates the peer's venv on first use
        return None
    done = subprocess.run([str(PEER_VENV / "bin" / "python"), "-c", PEER_TIMER, str(folder)], capture_output=True,
                          text=True, check=True)
    wall, cpu = (float(x) for x in done.stdout.split())
    return wall, cpu


def main(argv: list[str]) -> int:
    count = int(argv[argv.index("--messages") + 1]) if "--messages" in argv else 3000
    folder = build_maildir(count)
    parse_wall, parse_cpu, events = time_parse(folder)
    import_wall, import_cpu, stored = time_import(folder)
    peer = time_flufl(folder)
    rows = [("webzine parse", parse_wall, parse_cpu), ("webzine import", import_wall, import_cpu)]
    if peer is not None:
        rows.append(("flufl.bounce", *peer))
    print(f"Maildir: {folder} — {count} messages from {corpus()}; {events} events, {stored} stored; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'step':16} {'wall s':>7} {'msgs/s':>7} {'cpu s':>7} {'msgs/cpu-s':>10} {'vs flufl (cpu)':>15}")
    for name, wall, cpu in rows:
        ratio = f"{peer[1] / cpu:.2f}x" if peer else "-"
        print(f"{name:16} {wall:7.2f} {count / wall:7.0f} {cpu:7.2f} {count / cpu:10.0f} {ratio:>15}")
    print(json.dumps({"bench": "bounces", "import_msgs_per_s": round(count / import_wall),
                      "import_msgs_per_cpu_s": round(count / import_cpu), "target": 500}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
