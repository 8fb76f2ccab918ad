"""Audit speed: 1,000,000 subscribers × 10,000 key customers, suggestions included.

The key-customer list (UTF-8 with BOM) holds 9,000 customers on the list, written the ways CRM
exports write them, and 1,000 gaps: suppressed, consent expired, typo domains, local-part typos,
moved jobs, invalid and unknown addresses — so about 700 customers need a suggestion.
- audit only      `audit()` against the already cleaned list (what the send gate does).
- end to end      `run_audit()`: read and clean the 1M-row CP949 list, then audit (`webzine audit`).
- naive suggest   rapidfuzz `process.extractOne` over every list address, per gap (the
                  10k × 1M approach), timed on 20 gaps and extrapolated to all of them.
Target: < 10 s for the audit with suggestions.

    .venv/bin/python bench/bench_audit.py [--rows N] [--keys N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from bench_lists import dataset, peak_mb  # noqa: E402
from listgen import write_csv  # noqa: E402

TODAY = date(2026, 11, 23)


def key_customers(subscribers: Path, rows: int, keys: int) -> tuple[Path, int]:
    """Key customers drawn from the list, with seeded gaps; returns the file and the gap count."""
    import csv

    path = BENCH / ".data" / f"key-customers-{rows}-{keys}.csv"
    rng = random.Random(4)
    with subscribers.open(encoding="cp949", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        picked = [row for i, row in enumerate(reader) if i % max(1, rows // keys) == 0][:keys]
    out, gaps = [], 0
    for i, row in enumerate(picked):
        email, name, _, company, manager = (row[0].strip(), row[1], row[2], row[3], row[4])
        kind = i % 100
        if kind < 90 or "@" not in email:
            out.append([email.upper() if kind % 3 == 0 else email, name, company, manager, ""])
            continue
        gaps += 1
        local, _, domain = email.partition("@")
        if kind < 93:  # the list has a typo domain (or another mailbox): suggestion by typo_domain
            out.append([f"{local}@{domain.replace('naver.com', 'naver.co.kr')}", name, company, manager, ""])
        elif kind < 96:  # a letter dropped in the key file's local part: local_typo
            out.append([f"{local[:-1]}@{domain}", name, company, manager, ""])
        elif kind < 98:  # moved jobs: same name and company
            out.append([f"{local}.old@oldjob.co.kr", name, company, manager, ""])
        elif kind < 99:
            out.append([f"{local}@@{domain}", name, company, manager, ""])
        else:
            out.append([f"nobody{i}@nowhere.co.kr", name, company, manager, "퇴사 확인"])
    write_csv(path, ["email", "name", "company", "manager", "excused"], out, "utf-8-sig")
    return path, gaps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    args = parser.parse_args()
    subscribers, suppressions = dataset(args.rows)
    keys, seeded = key_customers(subscribers, args.rows, args.keys)

    from webzine.audit.audit import audit, run_audit
    from webzine.recipients.clean import clean_list
    from webzine.recipients.suppressions import load_suppressions

    suppressed = load_suppressions(suppressions)
    start = time.perf_counter()
    clean = clean_list(subscribers, suppressions=suppressed, advertising=True, today=TODAY)
    cleaned = time.perf_counter() - start

    start, cpu = time.perf_counter(), time.process_time()
    report = audit(keys, clean, suppressed, issue="bench")
    audit_only, audit_cpu = time.perf_counter() - start, time.process_time() - cpu
    suggested = sum(1 for gap in report.gaps if gap.suggestion)

    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    addresses = list(clean.keys)
    sample = [gap.email.strip().lower() for gap in report.gaps if gap.reason.value == "not_on_list"][:20]
    start = time.perf_counter()
    for query in sample:
        process.extractOne(query, addresses, scorer=Levenshtein.distance, score_cutoff=2)
    naive_per_gap = (time.perf_counter() - start) / max(1, len(sample))
    naive_total = naive_per_gap * len([g for g in report.gaps if g.reason.value == "not_on_list"])

    schema = report.schema()
    del clean, addresses, report  # the end-to-end run builds its own

    start = time.perf_counter()
    again = run_audit(None, advertising=True, subscribers=subscribers, key_customers=keys,
                      suppressed=load_suppressions(suppressions), today=TODAY, issue="bench")
    end_to_end = time.perf_counter() - start
    assert again.schema() == schema
    report = again

    print(f"{args.rows:,} subscribers (CP949) × {report.key_customers:,} key customers (UTF-8 BOM, "
          f"{len(report.duplicate_rows)} more rows repeat one); "
          f"{len(report.gaps):,} gaps ({seeded:,} seeded + gaps the list itself makes), {suggested:,} with a suggestion")
    print(f"{'':16} {'seconds':>9} {'vs audit':>9}")
    print(f"{'audit only':16} {audit_only:>9.2f} {1:>8.2f}x   (cpu {audit_cpu:.2f} s)")
    print(f"{'end to end':16} {end_to_end:>9.2f} {end_to_end / audit_only:>8.2f}x   (cleaning alone {cleaned:.2f} s)")
    print(f"{'naive suggest':16} {naive_total:>9.2f} {naive_total / audit_only:>8.2f}x   "
          f"(extrapolated: {naive_per_gap * 1000:.0f} ms per gap)")
    print(f"peak memory {peak_mb():.0f} MB")
    print(f"target < 10 s for the audit with suggestions: {'met' if audit_only < 10 else 'NOT met'} "
          f"({audit_only:.2f} s; end to end including cleaning {end_to_end:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
