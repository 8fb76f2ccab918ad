"""Report and digests at scale: 1,000,000 recipients and 12 months of history.

Data, generated once into bench/.data/report-<rows>/ (a publication folder):
- a subscriber list of ROWS distinct customers (UTF-8; Korean names and companies, the provider
  mix of a Korean B2B list, 29 account managers) and 10,000 key customers, 100 of them not on it;
- a ledger with 12 monthly issues × ROWS recipients (98 % accepted through SMTP, 1.5 % failed,
  0.4 % deferred, 0.1 % unknown);
- 2 % bounce events per issue (hard, soft, delayed), 0.2 % unsubscribes a month, 1 % ratings and
  0.1 % replies for the last issue.
Timed, in one process, each source read once as the commands do:
- load      the lists, the ledger rows of the issue, events, stores, replies
- outcomes  every customer's outcome, as one frame (`managers.outcomes.outcome_table`)
- digests   per manager: digest, HTML, text, CSV (and all.csv)
- history   the 12 months from aggregates
- report    the counts, the breakdowns and the page with its charts
Target: report and digests < 10 s.

    .venv/bin/python bench/bench_report.py [--rows N] [--months N]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import sys
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from listgen import ADJECTIVES, address, person, write_csv  # noqa: E402

CONFIG = """\
[publication]
name = "초록상회 소식지"
sender = "초록상회 <news@example.co.kr>"
reply_to = "hello@example.co.kr"
postal_address = "서울특별시 중구 세종대로 1"
phone = "02-000-0000"
base_url = "https://news.example.co.kr"

[unsubscribe]
base_url = "https://news.example.co.kr/u"
"""


def generate(folder: Path, rows: int, months: int) -> list[str]:
    """The publication folder (once); returns the issue slugs, oldest first."""
    slugs = [f"2026-{month:02d}-issue" if month <= 12 else f"2027-{month - 12:02d}-issue"
             for month in range(13 - months, 13)]
    if (folder / "done").exists():
        return slugs
    from webzine.bounces.events import BounceEvent, Kind
    from webzine.bounces.store import append_events
    from webzine.send.ledger import Claim, Ledger, Result, State
    from webzine.replies.records import Reply
    from webzine.replies.store import save_replies
    from webzine.unsubscribes.store import Store, UnsubscribeRequest

    rng = random.Random(18)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "webzine.toml").write_text(CONFIG, encoding="utf-8")
    customers = []
    for index in range(rows):
        name, company = person(rng)
        customers.append([address(rng, index), name, rng.choice(ADJECTIVES), company, f"m{rng.randrange(1, 30)}",
                          "2026-06-01", rng.choice(["", "vip"])])
    write_csv(folder / "lists" / "subscribers.csv",
              ["email", "name", "adjective", "company", "manager", "consent_at", "tags"], customers, "utf-8")
    write_csv(folder / "lists" / "managers.csv", ["id", "name", "email", "phone"],
              [[f"m{n}", person(rng)[0], f"m{n}@example.co.kr", ""] for n in range(1, 30)], "utf-8")
    keys = [[c[0], c[1], c[3], c[4]] for c in customers[:: max(1, rows // 9_900)][:9_900]]
    keys += [[f"gone{n}@example.com", "고객", "회사", f"m{n % 29 + 1}"] for n in range(100)]
    write_csv(folder / "lists" / "key-customers.csv", ["email", "name", "company", "manager"], keys, "utf-8")
    (folder / "issues").mkdir(exist_ok=True)
    emails = [c[0] for c in customers]
    events, unsubscribes = [], []
    with Ledger.open(folder / "state" / "ledger.sqlite3") as ledger:
        for month, slug in enumerate(slugs):
            day = date(int(slug[:4]), int(slug[5:7]), 1)
            (folder / "issues" / f"{slug}.md").write_text(
                f"---\ntitle: {day.month}월 소식\nsubject: {day.month}월 소식\ndate: {day.isoformat()}\n---\n본문\n",
                encoding="utf-8")
            run = ledger.start_run(slug, transport="smtp", allow_gaps=None, options={})
            states = rng.choices([State.ACCEPTED, State.FAILED, State.DEFERRED, State.CLAIMED], [980, 15, 4, 1], k=rows)
            pairs = list(enumerate(zip(emails, states)))
            for first in range(0, rows, 20_000):  # as a send writes them: claims, then outcomes
                chunk = pairs[first : first + 20_000]
                ledger.commit(slug, transport="smtp", run_id=run,
                              claims=[Claim(e.lower(), e, f"{slug}.{i}@x", None) for i, (e, _) in chunk])
                ledger.commit(slug, transport="smtp", run_id=run, outcomes=[
                    Result(e.lower(), s, 550 if s is State.FAILED else 250, None,
                           "550 5.1.1 no such user" if s is State.FAILED else "")
                    for _, (e, s) in chunk if s is not State.CLAIMED])
            for index in rng.sample(range(rows), rows // 50):
                kind = rng.choices([Kind.HARD, Kind.SOFT, Kind.DELAYED], [5, 4, 1])[0]
                events.append(BounceEvent(kind=kind, email=emails[index], dedupe_key=f"<{slug}.{index}@mx>",
                                          source="bench", issue=slug, status="5.1.1" if kind is Kind.HARD else "4.2.2",
                                          reason="user_unknown" if kind is Kind.HARD else "mailbox_full",
                                          occurred_at=None))
            unsubscribes += [(emails[i], f"{day.isoformat()}T03:00:00+00:00") for i in rng.sample(range(rows), rows // 500)]
    append_events(folder / "state" / "bounce-events.jsonl", events)
    store = Store(folder / "state" / "serve.sqlite3")
    try:
        store.record_unsubscribes([UnsubscribeRequest(a, "example.co.kr", "one-click", {}, False) for a, _ in unsubscribes])
    finally:
        store.close()
    with sqlite3.connect(folder / "state" / "serve.sqlite3") as db:  # backdate: each month's after its issue
        db.executemany("UPDATE unsubscribes SET at = ? WHERE address = ?", [(at, a.lower()) for a, at in unsubscribes])
        db.executemany("INSERT OR REPLACE INTO feedback (issue, address, score, comment, at) VALUES (?, ?, ?, ?, ?)",
                       [(slugs[-1], emails[i].lower(), rng.randint(1, 5), rng.choice(["", "잘 읽었습니다"]),
                         "2026-12-02T01:00:00+00:00") for i in rng.sample(range(rows), rows // 100)])
    save_replies(folder / "state" / "replies.jsonl", [
        Reply(message_id=f"<r{i}@example.com>", kind="human_reply", sender=emails[i].lower(),
              received_at="2026-12-02T10:00:00+09:00", subject="Re: 소식", excerpt="문의드립니다", issue=slugs[-1])
        for i in rng.sample(range(rows), rows // 1000)], {})
    (folder / "done").write_text("ok\n", encoding="utf-8")
    return slugs


def run(folder: Path, slug: str) -> dict[str, float]:
    from webzine.config import load_settings
    from webzine.render.issue import load_issue
    from webzine.send.ledger import Ledger
    from webzine.managers.digest import build_digests, csv_file, csv_rows, render_digest
    from webzine.managers.load import issue_files, load_history, load_issue_sources
    from webzine.managers.outcomes import outcome_table
    from webzine.managers.report import build_report, render_report, tally_outcomes

    settings = load_settings(folder / "webzine.toml")
    times: dict[str, float] = {}
    started = mark = time.perf_counter()
    cpu_started = cpu_mark = time.process_time()

    def lap(name: str) -> None:  # wall and CPU seconds: the machine is shared, CPU is what the code costs
        nonlocal mark, cpu_mark
        now, cpu = time.perf_counter(), time.process_time()
        times[name], times[f"{name}_cpu"] = now - mark, cpu - cpu_mark
        mark, cpu_mark = now, cpu

    loaded = load_issue_sources(settings, slug, date(2026, 12, 10))
    lap("load")
    outcomes = outcome_table(loaded.people, loaded.facts)
    lap("outcomes")
    digests = build_digests(outcomes, loaded.managers, loaded.facts)
    pages = [render_digest(d, publication="초록상회 소식지") for d in digests]
    bodies = [csv_rows(d) for d in digests]
    files = [csv_file([body]) for body in bodies] + [csv_file(bodies)]
    lap("digests")
    with Ledger.open(settings.path(settings.send.ledger)) as ledger:
        history = load_history(settings, ledger, [load_issue(p) for p in issue_files(settings)],
                               loaded.key_customers, events=loaded.events)
    lap("history")
    built = build_report(tally_outcomes(outcomes), loaded.managers, slug=slug, title=loaded.issue.title,
                         day=loaded.issue.date, history=history)
    page = render_report(built, publication="초록상회 소식지")
    lap("report")
    times["total"] = time.perf_counter() - started
    times["total_cpu"] = time.process_time() - cpu_started
    times["customers"] = len(outcomes)
    times["managers"] = len(digests)
    times["calls"] = sum(len(d.calls) for d in digests)
    times["months"] = len(built.history)
    times["bytes"] = sum(len(h) + len(t) for h, t in pages) + sum(map(len, files)) + len(page)
    times["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    folder = BENCH / ".data" / f"report-{args.rows}-{args.months}"
    started = time.perf_counter()
    slugs = generate(folder, args.rows, args.months)
    print(f"data: {folder} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    result = run(folder, slugs[-1])
    print(json.dumps({k: round(v, 2) for k, v in result.items()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
