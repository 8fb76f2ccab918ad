"""`webzine customers score`'s reading and summing: 5,000,000 order lines of 1,000,000 customers in
five CSV exports (one a month, UTF-8 with a BOM and CP949 as editors have them), in under 30 s and
1 GB.

Each engine runs in its own process (peak memory is that process's maximum resident set): the
polars engine the command uses (`webzine.customers.totals.OrderTotals`), and the same steps in
plain Python, line by line, fed by the same reader with the same cell rules. Both must give the
same totals for every customer.

    python bench/bench_customers.py [--lines 5000000] [--customers 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

TODAY = date(2026, 12, 1)
STATUSES = ["구매확정"] * 12 + ["배송완료"] * 4 + ["취소완료", "반품완료", "환불완료"]


def generate(folder: Path, lines: int, customers: int, files: int = 5) -> list[Path]:
    """`files` monthly exports; orders of 1–3 lines, some addresses written in capitals."""
    rng = random.Random(19)
    paths = []
    per_file = lines // files
    number = 0
    for month in range(files):
        path = folder / f"orders-{month + 1}.csv"
        encoding = "cp949" if month % 2 else "utf-8-sig"
        start = TODAY - timedelta(days=30 * (files - month))
        out = ["주문번호,주문일시,주문자명,주문자 이메일,상품명,결제금액,주문상태,담당자"]
        written = 0
        while written < per_file:
            number += 1
            customer = rng.randrange(customers)
            email = f"customer{customer}@example.com" if customer % 7 else f"Customer{customer}@Example.COM"
            day = start + timedelta(days=rng.randrange(30))
            stamp = f"{day.isoformat()} {rng.randrange(24):02d}:{rng.randrange(60):02d}"
            status = rng.choice(STATUSES)
            for _ in range(min(rng.choice((1, 1, 2, 3)), per_file - written)):
                out.append(f"{number},{stamp},고객{customer % 1000},{email},녹차,{rng.randrange(1, 60) * 1000},"
                           f"{status},m{customer % 5}")
                written += 1
        path.write_bytes(("\r\n".join(out) + "\r\n").encode(encoding))
        paths.append(path)
    return paths


class PlainTotals:
    """The same steps in plain Python, line by line: each distinct cell parsed once through a dict
    cache (the same rules), lines summed per order in a dict, then per customer."""

    def __init__(self, today: date, cutoff: date, summary) -> None:  # type: ignore[no-untyped-def]
        from webzine.recipients.addresses import Normaliser

        self.today, self.cutoff, self.summary, self.normaliser = today.toordinal(), cutoff.toordinal(), summary, Normaliser()
        self.caches: dict[str, dict] = {"email": {}, "ordered_at": {}, "amount": {}, "status": {}}  # type: ignore[type-arg]
        self.orders: dict[str, list] = {}  # type: ignore[type-arg]  # order → [key, day, amount, file]
        self.people: dict[str, tuple[str, ...]] = {}

    def _address(self, cell: str) -> str:
        from webzine.recipients.addresses import BadAddress

        try:
            return self.normaliser.parse(cell)[0]
        except BadAddress:
            return ""

    def add(self, file: int, source: str, first_row: int, frame) -> None:  # type: ignore[no-untyped-def]
        from webzine.customers.values import is_cancelled, parse_amount, parse_date

        cells = frame.to_dict(as_series=False)

        rules = {"email": self._address, "ordered_at": lambda text: parse_date(text).toordinal(),
                 "amount": parse_amount, "status": is_cancelled}
        columns = {}
        for name, rule in rules.items():
            if name not in cells:
                continue
            cache = self.caches[name]
            texts = [text.strip() for text in cells[name]]
            if name == "ordered_at":
                texts = [text[:10] if len(text) > 10 and text[10] in " T" else text for text in texts]
            for text in dict.fromkeys(texts):
                if text not in cache and text:
                    cache[text] = rule(text)
            columns[name] = [cache.get(text) for text in texts]
        emails, days, amounts = columns["email"], columns["ordered_at"], columns["amount"]
        cancelled = columns.get("status") or [False] * len(emails)
        orders = cells["order"]
        names = cells.get("name") or [""] * len(emails)
        table, people, today, summary = self.orders, self.people, self.today, self.summary
        for index, email in enumerate(emails):
            if days[index] is None and not email:
                continue
            summary.lines += 1
            if not email or cancelled[index] or days[index] > today:
                continue
            summary.counted += 1
            key = email.lower()
            if key not in people:
                people[key] = (email, names[index].strip())
            order = orders[index]
            entry = table.get(order)
            if entry is None:
                table[order] = [key, days[index], amounts[index], file]
            elif entry[3] != file:
                summary.repeated += 1
            else:
                entry[1] = max(entry[1], days[index])
                entry[2] += amounts[index]

    def finish(self):  # type: ignore[no-untyped-def]
        cutoff = self.cutoff
        customers: dict[str, list[int]] = {}
        for key, day, amount, _ in self.orders.values():
            found = customers.get(key)
            if found is None:
                found = customers[key] = [day, 0, 0]
            elif day > found[0]:
                found[0] = day
            if day >= cutoff:
                found[1] += 1
                found[2] += amount
        import polars as pl

        from webzine.customers.totals import CUSTOMER_SCHEMA

        rows = [(key, *self.people[key], "", "", *customers[key]) for key in sorted(customers)]
        return pl.DataFrame(rows, schema=CUSTOMER_SCHEMA, orient="row")


def run_engine(engine: str, paths: list[str]) -> None:
    """In a child process: read, sum and score; print the time and a digest of the totals."""
    from webzine.customers.orders import read_orders
    from webzine.segment_rules import DEFAULT_SEGMENTS, parse_rule
    from webzine.customers.scoring import score_customers

    start = time.perf_counter()
    from webzine.customers.totals import OrderTotals

    totals, summary = read_orders(paths, today=TODAY, period_days=730,
                                  engine=PlainTotals if engine == "python" else OrderTotals)  # type: ignore[arg-type]
    read = time.perf_counter() - start
    read_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scores = score_customers(totals, [(name, parse_rule(rule)) for name, rule in DEFAULT_SEGMENTS], TODAY)
    took = time.perf_counter() - start
    digest = hashlib.sha256("".join(f"{key},{day},{orders},{value};" for key, day, orders, value in
                                    totals.select("key", "day", "orders", "value").iter_rows()).encode()).hexdigest()
    print(f"{engine}\t{read:.1f}\t{took:.1f}\t{scores.height}\t{summary.counted}\t{digest[:12]}\t{read_peak:.0f}",
          flush=True)


def measure(engine: str, paths: list[Path]) -> tuple[list[str], float]:
    """Run one engine in a child; its output fields (and its CPU seconds) and its peak RSS in MB."""
    # As `webzine customers score` runs it: polars' allocator returns freed pages at once.
    env = {**os.environ, "_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}
    child = subprocess.Popen([sys.executable, __file__, "--engine", engine, *map(str, paths)],
                             stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{engine} failed (exit {child.returncode})")
    return [*output.strip().split("\t"), f"{usage.ru_utime + usage.ru_stime:.1f}"], usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Keep the generated exports in this folder.")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        run_engine(args.engine, args.paths)
        return 0
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        existing = sorted(folder.glob("orders-*.csv"))
        paths = existing if args.keep and existing else generate(folder, args.lines, args.customers)
        size = sum(path.stat().st_size for path in paths)
        print(f"generated {args.lines:,} lines of {args.customers:,} customers in {len(paths)} files, "
              f"{size / 1e6:,.0f} MB, in {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.1f}")
        print(f"{'engine':8} {'read+sum s':>10} {'total s':>8} {'CPU s':>6} {'peak MB':>8} {'customers':>10} "
              f"{'lines kept':>11}  digest")
        digests = set()
        for engine in ("polars", "python"):
            fields, peak = measure(engine, paths)
            name, read, took, customers, kept, digest, _, cpu = fields
            digests.add(digest)
            print(f"{name:8} {float(read):>10.1f} {float(took):>8.1f} {float(cpu):>6.1f} {peak:>8.0f} "
                  f"{int(customers):>10,} {int(kept):>11,}  {digest}")
        print("same totals from both engines" if len(digests) == 1 else "THE ENGINES DISAGREE")
        return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
