"""Personalised messages per second: `webzine send` against its peers, in one run.

Same generated recipient list and same issue for every row (the sample issue repeated until its
inlined HTML is ~65 KB, so each message is ~120 KB):
- webzine → a discarding sink: the real send path (audit-gated campaign, message factory, ledger
  with claim-before-send commits, pacing off), minus the disk;
- webzine message generation alone (the message factory, no ledger): what `message.py` costs;
- webzine → mbox outbox: the same, writing `outbox/outbox.mbox`;
- `webzine send --transport outbox --outbox-format mbox --yes` as a user runs it (start-up, render,
  list cleaning and audit included);
- webzine with DKIM (RSA 2048) → the discarding sink;
- mailmerge 2.3.0 (PyPI; own virtualenv under bench/.peers/) dry run, on a prefix;
- a naive per-recipient pipeline: Jinja render → CSS inlining → `EmailMessage` → bytes, with
  premailer and with css-inline, on prefixes (they are slow; compare rates, not totals).
Then peak memory (max RSS of a child process) for message generation at 10k and 1M recipients, and
for the whole send (ledger included) at 10k and 100k.

Run alone: `.venv/bin/python bench/bench_send.py` (about 8 minutes; `--quick` about 2).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "send"
PEERS = HERE / ".peers"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import listgen  # noqa: E402

from webzine.clock import today_in_korea, utc_now  # noqa: E402
from webzine.config import Settings, load_settings  # noqa: E402
from webzine.models import Recipient  # noqa: E402
from webzine.transports.base import BaseTransport, Message  # noqa: E402
from webzine.models import Delivery, Outcome

TODAY = today_in_korea(utc_now())  # the bench is an edge: it reads the clock once

TARGET_HTML_BYTES = 65_000
SECRET = "bench-unsubscribe-secret-0123456789abcdef"
MAILMERGE = "mailmerge==2.3.0"


class DiscardTransport(BaseTransport):
    """Accepts everything and keeps nothing: measures message production, not a disk or a server."""

    name = "discard"
    inline = True

    def __init__(self) -> None:
        self.bytes = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "DiscardTransport":
        return cls()

    def send(self, message: Message) -> Delivery:
        self.bytes += len(message.data)
        return Delivery(Outcome.ACCEPTED, 250)


# -- the project ----------------------------------------------------------------------------------


def write_list(path: Path, count: int) -> None:
    rng = random.Random(5)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["email", "name", "adjective", "company", "manager", "consent_at", "tags", "last_order"])
    for index in range(count):
        name, company = listgen.person(rng)
        writer.writerow([listgen.address(rng, index), name, rng.choice(listgen.ADJECTIVES), company,
                         rng.choice(["m1", "m2", "m3", ""]), "2026-05-01", "vip", "하동 우전 500g"])  # fmt: skip
    path.write_text(buffer.getvalue(), encoding="utf-8")


def make_project(recipients: int) -> tuple[Path, Path]:
    """bench/.data/send/project: the sample publication with a long issue and a generated list."""
    project = DATA / "project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "lists").mkdir(parents=True)
    shutil.copytree(ROOT / "issues" / "images", project / "issues" / "images")
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copy(ROOT / "lists" / "managers.csv", project / "lists" / "managers.csv")
    (project / "lists" / "suppressions.csv").write_text("email,reason,since,source,detail\r\n", encoding="utf-8")
    write_list(project / "lists" / "subscribers.csv", recipients)
    # One key customer, the list's first row: a send needs a key-customer file that names someone.
    first = (project / "lists" / "subscribers.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    (project / "lists" / "key-customers.csv").write_text(f"email,name,company,manager,excused\r\n{first},,,,\r\n",
                                                          encoding="utf-8")
    text = (ROOT / "webzine.toml").read_text(encoding="utf-8")
    text = text.replace("rate = 20 ", "rate = 1000000000 ").replace('outbox_format = "maildir"', 'outbox_format = "mbox"')
    config = project / "webzine.toml"
    config.write_text(_without_dkim(text), encoding="utf-8")
    settings = load_settings(config)
    issue = project / "issues" / "2026-12-bench.md"
    source = (ROOT / "issues" / "2026-12-year-end.md").read_text(encoding="utf-8")
    head, _, body = source.partition("\n---\n")
    from webzine.send.inputs import build_issue

    sample = recipients_sample(settings)
    for copies in range(1, 40):
        issue.write_text(f"{head}\n---\n" + "\n\n".join([body] * copies), encoding="utf-8")
        if len(build_issue(settings, issue, recipients=sample).preview_html.encode()) >= TARGET_HTML_BYTES:
            break
    return config, issue


def _without_dkim(toml: str) -> str:
    """The sample config without its [dkim] table: DKIM gets its own row."""
    out, skipping = [], False
    for line in toml.splitlines():
        if line.startswith("["):
            skipping = line.strip() == "[dkim]"
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def recipients_sample(settings: Settings) -> list[Recipient]:
    with open(settings.path(settings.lists.subscribers), encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:50]
    return [Recipient(email=r["email"], name=r["name"], adjective=r["adjective"], company=r["company"],
                      manager=r["manager"], fields={"last_order": r["last_order"]}) for r in rows]  # fmt: skip


def synthetic(count: int) -> Iterator[Recipient]:
    """Recipients made on the fly, for the memory runs: the list itself is not held."""
    rng = random.Random(9)
    for index in range(count):
        name, company = listgen.person(rng)
        yield Recipient(email=f"reader{index}@example.com", name=name, adjective="소중한", company=company,
                        manager=("m1", "m2", "")[index % 3], fields={"last_order": "하동 우전 500g"})  # fmt: skip


# -- the rows -------------------------------------------------------------------------------------


class Timer:
    """Wall-clock and CPU seconds (this process and its finished children) of a block: the machine
    is shared, so msg per CPU-second says what the code costs and msg/s what this run saw."""

    def __enter__(self) -> "Timer":
        self._wall, self._cpu = time.perf_counter(), self._cpu_now()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = self._cpu_now() - self._cpu

    @staticmethod
    def _cpu_now() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    def rates(self, count: int) -> tuple[float, float]:
        return count / self.wall, count / self.cpu


def campaign_for(config: Path, issue: Path):  # type: ignore[no-untyped-def]
    from webzine.send.inputs import load_campaign

    return load_campaign(load_settings(config), issue, today=TODAY)


def run_webzine(campaign, transport, count: int, ledger_path: Path, signer=None, pool: bool = False) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The send path; with `signer`, signed in the factory (one core) or, with `pool`, by a
    `SigningPool` on every core, as `webzine send` does."""
    from webzine.send.inputs import make_factory
    from webzine.send.ledger import Ledger
    from webzine.message.factory import MessageFactory
    from webzine.message.signing import SigningPool, usable_cores
    from webzine.send.pacing import SuppressionWatch
    from webzine.send.dispatch import Sender
    from webzine.recipients.suppressions import load_suppressions

    for suffix in ("", "-wal", "-shm"):
        Path(f"{ledger_path}{suffix}").unlink(missing_ok=True)
    settings = campaign.settings
    signing = SigningPool(signer, usable_cores()) if signer is not None and pool else None
    factory = make_factory(campaign) if signer is None else MessageFactory(
        campaign.rendered, settings, token_key=campaign.token_key, managers=campaign.managers,
        signer=None if signing else signer)
    watch = SuppressionWatch(settings.path(settings.lists.suppressions), load_suppressions)
    recipients = campaign.clean.recipients[:count]
    with Ledger.open(ledger_path) as ledger, Timer() as timer:
        summary = Sender(settings, today=TODAY, factory=factory, transport=transport, ledger=ledger, suppressions=watch,
                         signing=signing).run(recipients)
        transport.close()
        if signing is not None:
            signing.close()  # waits for the workers, so their CPU time is counted
    if summary.accepted != len(recipients):
        raise RuntimeError(f"webzine accepted {summary.accepted} of {len(recipients)}")
    return timer.rates(summary.accepted)


def run_generation(campaign, count: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Message generation alone (the factory, the same envelope the send computes), no ledger:
    what `message.py` costs, separated from the orchestration and SQLite."""
    import gc

    from webzine.send.inputs import make_factory

    factory = make_factory(campaign)
    recipients = campaign.clean.recipients[:count]
    size = 0
    gc.freeze()  # as the send does: the campaign lives for the whole run
    try:
        with Timer() as timer:
            for recipient in recipients:
                size += len(factory.build(recipient, mail_from=factory.envelope_sender(recipient)).data)
    finally:
        gc.unfreeze()
    if size < count * 100_000:
        raise RuntimeError(f"messages average {size / count:.0f} bytes; the issue is not the ~120 KB one")
    return timer.rates(count)


def run_cli(config: Path, issue: Path) -> tuple[tuple[float, float], int]:
    project = config.parent
    shutil.rmtree(project / "state", ignore_errors=True)
    shutil.rmtree(project / "outbox", ignore_errors=True)
    environment = dict(os.environ, WEBZINE_UNSUBSCRIBE_SECRET=SECRET)
    with Timer() as timer:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "webzine"), "--config", str(config), "send", str(issue),
             "--transport", "outbox", "--outbox-format", "mbox", "--yes", "--json"],
            capture_output=True, text=True, env=environment, cwd=project,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"webzine send exited {done.returncode}: {done.stderr.strip()[-400:]}")
    accepted = int(json.loads(done.stdout)["accepted"])
    return timer.rates(accepted), accepted


def mailmerge_binary() -> Path:
    venv = PEERS / "mailmerge"
    binary = venv / "bin" / "mailmerge"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", MAILMERGE], check=True)
    return binary


def run_mailmerge(campaign, prefix: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """mailmerge's dry run: it renders its Jinja template per row and builds the MIME message."""
    work = DATA / "mailmerge"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rendered = campaign.rendered
    (work / "server.conf").write_text("[smtp_server]\nhost = 127.0.0.1\nport = 25\n", encoding="utf-8")
    boundary = "=_mailmerge_bench"
    html = rendered.preview_html.replace(rendered.preview_subject, "{{name}} 님께")
    (work / "template.txt").write_text(
        "TO: {{email}}\nFROM: 초록상회 <news@example.co.kr>\nSUBJECT: (광고) {{name}} 님께 드리는 12월 소식\n"
        f'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{{{{name}}}} 님,\n{rendered.preview_text}\n"
        f"--{boundary}\nContent-Type: text/html; charset=utf-8\n\n{html}\n--{boundary}--\n",
        encoding="utf-8",
    )
    with open(campaign.settings.path(campaign.settings.lists.subscribers), encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[: prefix + 1]
    with open(work / "database.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    binary = mailmerge_binary()
    with Timer() as timer:
        subprocess.run(
            [str(binary), "--dry-run", "--no-limit", "--output-format", "raw",
             "--template", "template.txt", "--database", "database.csv", "--config", "server.conf"],
            check=True, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
    return timer.rates(prefix)


def uninlined_source(settings: Settings, issue: Path) -> tuple[str, str]:
    """The email HTML (with merge slots) as the layout renders it *before* CSS inlining, and the
    text: what a naive pipeline would render and inline per recipient."""
    import webzine.render.compose as render
    from webzine.send.inputs import build_issue

    inline = render._inline_css
    render._inline_css = lambda html: html  # one build with inlining switched off
    try:
        plain = build_issue(settings, issue, recipients=recipients_sample(settings))
    finally:
        render._inline_css = inline
    return plain.html.source, plain.text.source


def run_naive(campaign, source: tuple[str, str], prefix: int, inliner: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Per recipient: Jinja render → inline CSS → EmailMessage → bytes."""
    from webzine.render.slots import feedback_fields, manager_fields, recipient_context
    from webzine.render.compose import merge_environment

    if inliner == "premailer":
        from premailer import transform as inline
    else:
        import css_inline

        inline = css_inline.CSSInliner().inline
    html_template = merge_environment(html=True).from_string(source[0])
    text_template = merge_environment(html=False).from_string(source[1])
    subject_template = merge_environment(html=False).from_string(campaign.rendered.issue.subject)
    timer = Timer().__enter__()
    for recipient in campaign.clean.recipients[:prefix]:
        manager = campaign.managers.get(recipient.manager)
        context = recipient_context(recipient.merge_fields(), manager_fields(manager) if manager else None,
                                    "https://news.example.co.kr/u/token",
                                    **feedback_fields(campaign.settings, campaign.issue, SECRET, recipient.email))  # fmt: skip
        message = EmailMessage()
        message["From"] = "초록상회 <news@example.co.kr>"
        message["To"] = f"{recipient.name} <{recipient.email}>"
        message["Subject"] = subject_template.render(context)
        message.set_content(text_template.render(context))
        message.add_alternative(inline(html_template.render(context)), subtype="html")
        message.as_bytes()
    timer.__exit__()
    return timer.rates(prefix)


# -- memory -----------------------------------------------------------------------------------------


def child(mode: str, count: int, config: Path, issue: Path) -> None:
    """Runs in its own process; prints max RSS (MB) and the rate as JSON."""
    from webzine.message.factory import MessageFactory
    from webzine.recipients.clean import load_managers
    from webzine.send.inputs import build_issue

    settings = load_settings(config)
    rendered = build_issue(settings, issue, recipients=recipients_sample(settings))
    managers = load_managers(settings.path(settings.lists.managers))
    factory = MessageFactory(rendered, settings, token_key=SECRET, managers=managers)
    baseline, render_peak = _status_kb("VmRSS"), _status_kb("VmHWM")
    # Reset the peak (VmHWM) so that it measures the send, not rendering the issue (premailer and
    # lxml peak once per issue, whatever the list's size).
    Path("/proc/self/clear_refs").write_text("5")
    started = time.perf_counter()
    if mode == "generate":
        size = 0
        for recipient in synthetic(count):
            size += len(factory.build(recipient).data)
    else:
        from webzine.send.ledger import Ledger
        from webzine.send.pacing import SuppressionWatch
        from webzine.send.dispatch import Sender
        from webzine.recipients.suppressions import load_suppressions

        ledger_path = DATA / f"memory-{count}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ledger_path}{suffix}").unlink(missing_ok=True)
        watch = SuppressionWatch(settings.path(settings.lists.suppressions), load_suppressions)
        with Ledger.open(ledger_path) as ledger:
            Sender(settings, today=TODAY, factory=factory, transport=DiscardTransport(), ledger=ledger, suppressions=watch).run(
                synthetic(count))
    elapsed = time.perf_counter() - started
    print(json.dumps({"mode": mode, "count": count, "rate": round(count / elapsed),
                      "before_mb": round(baseline / 1024, 1), "peak_mb": round(_status_kb("VmHWM") / 1024, 1),
                      "render_mb": round(render_peak / 1024, 1)}))  # fmt: skip


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure_memory(mode: str, count: int, config: Path, issue: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(count), str(config), str(issue)],
        capture_output=True, text=True, env=dict(os.environ, WEBZINE_UNSUBSCRIBE_SECRET=SECRET), check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the report ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="smaller prefixes and 100k instead of 1M for memory")
    parser.add_argument("--dkim", type=int, metavar="ROUNDS",
                        help="only the signed sends: one core vs the signing pool, interleaved ROUNDS times")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, count, config, issue = args.child
        child(mode, int(count), Path(config), Path(issue))
        return 0
    os.environ["WEBZINE_UNSUBSCRIBE_SECRET"] = SECRET
    config, issue = make_project(args.recipients)
    campaign = campaign_for(config, issue)
    settings = campaign.settings
    html_kb = len(campaign.rendered.preview_html.encode()) / 1024
    n = len(campaign.clean.recipients)
    print(f"issue: inlined HTML {html_kb:.0f} KB, {len(campaign.rendered.html.slots)} HTML slots; list: {n:,} recipients")

    if args.dkim:
        return compare_signing(campaign, min(n, 5000), args.dkim)

    load_before = os.getloadavg()[0]
    rows: list[tuple[str, int, tuple[float, float]]] = []
    rows.append(("webzine send → discarding sink", n, run_webzine(campaign, DiscardTransport(), n, DATA / "l1.sqlite3")))
    rows.append(("webzine message generation only (no ledger)", n, run_generation(campaign, n)))
    from webzine.transports.outbox import OutboxTransport

    shutil.rmtree(DATA / "outbox", ignore_errors=True)
    mbox = OutboxTransport(DATA / "outbox", "mbox")
    rows.append(("webzine send → mbox outbox", n, run_webzine(campaign, mbox, n, DATA / "l2.sqlite3")))
    mbox_mb = (DATA / "outbox" / "outbox.mbox").stat().st_size / n / 1024
    shutil.rmtree(DATA / "outbox", ignore_errors=True)
    cli_rate, cli_count = run_cli(config, issue)
    rows.append(("`webzine send --transport outbox` CLI, end to end", cli_count, cli_rate))
    shutil.rmtree(config.parent / "outbox", ignore_errors=True)

    signer = bench_signer()
    dkim_n = min(n, 2000 if args.quick else 5000)
    rows.append(("webzine send + DKIM rsa-2048, one core → discarding sink", dkim_n,
                 run_webzine(campaign, DiscardTransport(), dkim_n, DATA / "l3.sqlite3", signer=signer)))
    rows.append(("webzine send + DKIM rsa-2048, signing pool → discarding sink", dkim_n,
                 run_webzine(campaign, DiscardTransport(), dkim_n, DATA / "l3.sqlite3", signer=signer, pool=True)))

    prefix_mm = 300 if args.quick else 1000
    rows.append(("mailmerge 2.3.0 --dry-run", prefix_mm, run_mailmerge(campaign, prefix_mm)))
    source = uninlined_source(settings, issue)
    prefix_css = 200 if args.quick else 500
    rows.append(("naive: Jinja → css-inline → EmailMessage", prefix_css, run_naive(campaign, source, prefix_css, "css-inline")))
    prefix_pm = 10 if args.quick else 30
    rows.append(("naive: Jinja → premailer → EmailMessage", prefix_pm, run_naive(campaign, source, prefix_pm, "premailer")))

    rates = {label: rate for label, _, rate in rows}
    (discard, discard_cpu), (outbox, _) = rates["webzine send → discarding sink"], rates["webzine send → mbox outbox"]
    load = os.getloadavg()[0]
    print(f"\nmessages: ~{mbox_mb:.0f} KB each in the mbox; load average {load_before:.1f} before the rows, "
          f"{load:.1f} after, on {os.cpu_count()} CPUs\n")
    print(f"| {'pipeline':<52} | {'messages':>8} | {'msg/s':>7} | {'msg/CPU-s':>9} | {'sink ÷ this':>11} "
          f"| {'mbox ÷ this':>11} | {'sink ÷ this, CPU':>16} |")
    print(f"|{'-' * 54}|{'-' * 10}:|{'-' * 9}:|{'-' * 11}:|{'-' * 13}:|{'-' * 13}:|{'-' * 18}:|")
    for label, count, (rate, cpu) in rows:
        print(f"| {label:<52} | {count:>8,} | {rate:>7,.0f} | {cpu:>9,.0f} | {discard / rate:>10,.1f}× "
              f"| {outbox / rate:>10,.1f}× | {discard_cpu / cpu:>15,.1f}× |")

    print_targets(rows)

    big = 100_000 if args.quick else 1_000_000
    memory = [measure_memory("generate", 10_000, config, issue), measure_memory("generate", big, config, issue),
              measure_memory("send", 10_000, config, issue), measure_memory("send", 100_000, config, issue)]  # fmt: skip
    print("\nRSS in MB (/proc/self/status): the peak while rendering the issue (premailer, once), RSS")
    print("before the send, and the peak during the send (VmHWM reset after rendering).\n")
    print(f"| {'memory':<38} | {'recipients':>10} | {'render':>7} | {'before':>7} | {'send peak':>9} | {'msg/s':>6} |")
    print(f"|{'-' * 40}|{'-' * 12}:|{'-' * 9}:|{'-' * 11}:|{'-' * 9}:|{'-' * 8}:|")
    for entry in memory:
        label = "message generation only" if entry["mode"] == "generate" else "whole send (ledger, discarding sink)"
        print(f"| {label:<38} | {entry['count']:>10,} | {entry['render_mb']:>7} | {entry['before_mb']:>7} "
              f"| {entry['peak_mb']:>9} | {entry['rate']:>6,} |")
    small, large = memory[0], memory[1]
    growth = large["peak_mb"] - small["peak_mb"]
    verdict = "met" if large["peak_mb"] < 250 and growth < 5 else "NOT met"
    print(f"\nmemory target (< 250 MB, flat from {small['count']:,} to {large['count']:,}): {verdict} "
          f"({small['peak_mb']} → {large['peak_mb']} MB)")
    return 0


def bench_signer():  # type: ignore[no-untyped-def]
    """A fresh RSA-2048 DKIM signer, as `webzine send` builds from WEBZINE_DKIM_PRIVATE_KEY."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from webzine.message.dkim import DkimSigner

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return DkimSigner("example.co.kr", "bench", pem)


def compare_signing(campaign, count: int, rounds: int) -> int:  # type: ignore[no-untyped-def]
    """Issue 17's DKIM target: the signing pool's wall-clock rate against signing on one core,
    interleaved so that both see the same load; the median ratio must reach 1.7×."""
    signer = bench_signer()
    ratios = []
    print(f"{count:,} signed messages per run, rsa-2048, discarding sink; load {os.getloadavg()[0]:.1f} before")
    print("| round | one core msg/s | pool msg/s | pool ÷ one core |\n|---:|---:|---:|---:|")
    for number in range(1, rounds + 1):
        one, _ = run_webzine(campaign, DiscardTransport(), count, DATA / "l3.sqlite3", signer=signer)
        pool, _ = run_webzine(campaign, DiscardTransport(), count, DATA / "l3.sqlite3", signer=signer, pool=True)
        ratios.append(pool / one)
        print(f"| {number} | {one:,.0f} | {pool:,.0f} | {pool / one:.2f}× |")
    median = sorted(ratios)[len(ratios) // 2]
    print(f"\nmedian {median:.2f}× (target ≥ 1.7×: {'met' if median >= 1.7 else 'NOT met'}); "
          f"load {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs")
    return 0


def print_targets(rows: list[tuple[str, int, tuple[float, float]]]) -> None:
    """Issue 5's speed targets, in wall-clock and CPU terms (the machine is shared)."""
    rates = {label: rate for label, _, rate in rows}
    sink = rates["webzine send → discarding sink"]
    checks = [
        ("≥ 80× mailmerge --dry-run", rates["mailmerge 2.3.0 --dry-run"], 80),
        ("≥ 40× naive css-inline", rates["naive: Jinja → css-inline → EmailMessage"], 40),
    ]
    print("\ntargets for webzine send → discarding sink (wall | per CPU-second):")
    for label, (peer_wall, peer_cpu), factor in checks:
        wall, cpu = sink[0] / peer_wall, sink[1] / peer_cpu
        print(f"  {label:<28} {wall:7.1f}× | {cpu:7.1f}×  {'met' if min(wall, cpu) >= factor else 'NOT met'}")
    print(f"  {'≥ 3,000 msg/s':<28} {sink[0]:7,.0f}  | {sink[1]:7,.0f}   "
          f"{'met' if min(sink) >= 3000 else 'met per CPU-second' if sink[1] >= 3000 else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
