"""SMTP send speed, side by side in one run against the same Postfix smtp-sink on 127.0.0.1.

Rows (messages per second; ~120 KB messages of the same issue and the same recipient list):
- webzine SmtpTransport at 1, 2, 4, 8 connections (pre-built messages: the transport alone);
- Postfix smtp-source with the same message file, the same concurrency, connections reused (-d):
  the practical ceiling; "ratio" is webzine / smtp-source at the same concurrency (target ≥ 0.60);
- `webzine send --transport smtp --yes` end to end (merge, build, ledger, pacing, SMTP), when the
  send command exists;
- mailmerge 2.3.0 (PyPI, its own virtualenv under bench/.peers/), a real send, on a prefix;
- a naive pipeline on a prefix: per message Jinja render → premailer → EmailMessage → a new
  smtplib connection.

The machine is shared and noisy: each webzine/smtp-source pair runs interleaved, `--rounds`
times, and the median is shown. Run alone: `.venv/bin/python bench/bench_smtp.py [--quick]`.
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
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "smtp"
PEERS = HERE / ".peers"
PYTHON = Path(sys.executable)
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from webzine.config import Settings, load_settings  # noqa: E402
from webzine.message.factory import MessageFactory, token_secret  # noqa: E402
from webzine.models import Manager, Recipient  # noqa: E402
from webzine.send.inputs import build_issue  # noqa: E402
from webzine.models import Outcome  # noqa: E402
from webzine.models import Message
from webzine.transports.smtp import SmtpTransport  # noqa: E402

INSTALL_HINT = (
    "Postfix's smtp-sink/smtp-source are not installed. Install them with `make system-deps` "
    "(or, as root: echo 'postfix postfix/main_mailer_type select No configuration' | "
    "debconf-set-selections && DEBIAN_FRONTEND=noninteractive apt-get install -y postfix)."
)
TARGET_MESSAGE_BYTES = 120_000  # a long Korean issue: ~65 KB of inlined HTML, base64, plus text
SECRET = "bench-unsubscribe-secret-0123456789abcdef"


class Run(NamedTuple):
    rate: float  # messages per second, wall clock
    cpu: float  # CPU seconds per message spent by the sender (this process or the peer's)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tool(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}",) if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """Postfix smtp-sink on a free port, stopped by its PID."""

    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "-u", "nobody", f"127.0.0.1:{self.port}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"smtp-sink did not start on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(10)


# -- the project: one long issue, one generated list ---------------------------------------------


SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서준지현우도하윤수예은주원진아연성호영재"
DOMAINS = ("naver.com", "gmail.com", "daum.net", "hanmail.net", "nate.com", "example.co.kr")


def write_list(path: Path, count: int) -> None:
    """Clean, distinct rows with every column the sample issue merges (seeded, Korean names)."""
    rng = random.Random(23)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["email", "name", "adjective", "company", "manager", "consent_at", "tags", "last_order"])
    for index in range(count):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        writer.writerow([f"reader{index}@{rng.choice(DOMAINS)}", name, rng.choice(["소중한", "반가운", ""]),
                         f"{rng.choice(['한빛', '푸른', '새솔'])}{rng.choice(['상사', '식품', '테크'])}",
                         rng.choice(["m1", "m2", ""]), "2026-05-01", "vip", "하동 우전 500g"])  # fmt: skip
    path.write_text(buffer.getvalue(), encoding="utf-8")


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def write_config(project: Path, port: int, concurrency: int) -> Path:
    sample = load_settings(ROOT / "webzine.toml")
    sections = {
        "publication": sample.publication.model_dump(),
        "lists": {"subscribers": "lists/subscribers.csv", "key_customers": "lists/key-customers.csv",
                  "managers": "lists/managers.csv", "suppressions": "lists/suppressions.csv"},
        "build": {"issues": "issues", "templates": "templates", "output": "build"},
        "send": {"transport": "smtp", "rate": 100000, "concurrency": concurrency,
                 "return_path": "bounces@example.co.kr", "ledger": "state/ledger.sqlite3"},
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "connections": concurrency,
                 "max_messages_per_connection": 1000, "helo": "bench.example.co.kr"},
        "unsubscribe": {"base_url": "https://news.example.co.kr/u", "mailto": "unsubscribe@example.co.kr",
                        "secret_env": "WEBZINE_UNSUBSCRIBE_SECRET"},
    }  # fmt: skip
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items() if value not in ("", None)]
        lines.append("")
    path = project / "webzine.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def make_project(recipients: int, port: int, concurrency: int) -> tuple[Path, Path]:
    """bench/.data/smtp/project: the sample publication's templates, a long issue, a long list."""
    project = DATA / "project"
    if project.exists():
        shutil.rmtree(project)
    (project / "lists").mkdir(parents=True)
    shutil.copytree(ROOT / "issues" / "images", project / "issues" / "images")
    shutil.copytree(ROOT / "templates", project / "templates")
    for name in ("managers.csv",):
        shutil.copy(ROOT / "lists" / name, project / "lists" / name)
    (project / "lists" / "suppressions.csv").write_text("email,reason,since,source,detail\r\n", encoding="utf-8")
    write_list(project / "lists" / "subscribers.csv", recipients)
    # One key customer, the list's first row: a send needs a key-customer file that names someone.
    first = (project / "lists" / "subscribers.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    (project / "lists" / "key-customers.csv").write_text(f"email,name,company,manager,excused\r\n{first},,,,\r\n",
                                                          encoding="utf-8")
    config = write_config(project, port, concurrency)
    issue = project / "issues" / "2026-12-bench.md"
    source = (ROOT / "issues" / "2026-12-year-end.md").read_text(encoding="utf-8")
    head, _, body = source.partition("\n---\n")
    paragraphs = body.strip().split("\n\n")

    def message_size(count: int) -> int:
        text = "\n\n".join(paragraphs[i % len(paragraphs)] for i in range(count))
        issue.write_text(f"{head}\n---\n{text}\n", encoding="utf-8")
        settings = load_settings(config)
        sample = recipients_of(settings)[:20]
        rendered = build_issue(settings, issue, recipients=sample)
        factory = MessageFactory(rendered, settings, token_key=token_secret(settings), managers={})
        return len(factory.build(sample[0]).data)

    count = len(paragraphs)
    for _ in range(3):  # the size grows linearly with the text: two corrections are plenty
        size = message_size(count)
        if abs(size - TARGET_MESSAGE_BYTES) < 4000:
            break
        count = max(1, round(count * TARGET_MESSAGE_BYTES / size))
    return config, issue


def recipients_of(settings: Settings) -> list[Recipient]:
    with open(settings.path(settings.lists.subscribers), encoding="utf-8", newline="") as handle:
        return [
            Recipient(email=row["email"], name=row["name"], adjective=row["adjective"], company=row["company"],
                      manager=row["manager"], tags=(row["tags"],), fields={"last_order": row["last_order"]},
                      row=number)  # fmt: skip
            for number, row in enumerate(csv.DictReader(handle), start=2)
        ]


def managers_of(settings: Settings) -> dict[str, Manager]:
    with open(settings.path(settings.lists.managers), encoding="utf-8", newline="") as handle:
        return {row["id"]: Manager(row["id"], row["name"], row["email"], row["phone"], row.get("title", ""))
                for row in csv.DictReader(handle)}  # fmt: skip


# -- the runs -----------------------------------------------------------------------------------


def run_transport(settings: Settings, messages: list[Message], count: int, connections: int) -> Run:
    smtp = settings.smtp.model_copy(update={"connections": connections})
    transport = SmtpTransport.from_settings(settings.model_copy(update={"smtp": smtp}))
    started, cpu = time.perf_counter(), time.process_time()
    try:
        with ThreadPoolExecutor(connections) as pool:
            outcomes = list(pool.map(transport.send, (messages[i % len(messages)] for i in range(count))))
    finally:
        transport.close()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    refused = [d for d in outcomes if d.outcome is not Outcome.ACCEPTED]
    if refused:
        raise RuntimeError(f"{len(refused)} messages not accepted, e.g. {refused[0].text}")
    return Run(count / elapsed, cpu / count)


def run_smtp_source(binary: str, port: int, message_file: Path, count: int, sessions: int) -> Run:
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(
        [binary, "-d", "-s", str(sessions), "-m", str(count), "-F", str(message_file),
         "-f", "bounces@example.co.kr", "-t", "reader@example.com", "-M", "bench.example.co.kr",
         f"127.0.0.1:{port}"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return Run(count / (time.perf_counter() - started), (children_cpu() - cpu) / count)


def run_webzine_send(config: Path, issue: Path) -> tuple[Run, float, int]:
    """`webzine send --transport smtp --yes` as a user runs it (the whole list, 4 connections):
    wall clock from the command to its exit, and the send phase's own rate from its summary."""
    webzine = PYTHON.parent / "webzine"
    probe = subprocess.run([str(webzine), "send", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise RuntimeError("`webzine send` is not there yet")
    shutil.rmtree(config.parent / "state", ignore_errors=True)
    environment = dict(os.environ, WEBZINE_UNSUBSCRIBE_SECRET=SECRET)
    environment.pop("WEBZINE_SMTP_USERNAME", None)
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(
        [str(webzine), "--config", str(config), "send", str(issue), "--transport", "smtp", "--yes", "--json"],
        capture_output=True, text=True, env=environment, cwd=config.parent,
    )  # fmt: skip
    elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"webzine send exited {done.returncode}: {done.stderr.strip()[-500:]}")
    start = done.stdout.find("{")
    summary = json.loads(done.stdout[start:]) if start >= 0 else {}
    accepted = int(summary.get("accepted", 0))
    return Run(accepted / elapsed, cpu / max(accepted, 1)), float(summary.get("rate", 0.0)), accepted


def mailmerge_binary() -> Path:
    venv = PEERS / "mailmerge"
    binary = venv / "bin" / "mailmerge"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "mailmerge==2.3.0"], check=True)
    return binary


def run_mailmerge(settings: Settings, port: int, html: str, text: str, prefix: int) -> Run:
    """mailmerge's real send: its template is the issue's inlined HTML and text, merged per row."""
    work = DATA / "mailmerge"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nratelimit = 0\n", encoding="utf-8"
    )
    boundary = "=_mailmerge_bench"
    (work / "template.txt").write_text(
        "TO: {{email}}\nFROM: 초록상회 <news@example.co.kr>\nSUBJECT: (광고) {{name}} 님께 드리는 12월 소식\n"
        f'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
        f"--{boundary}\nContent-Type: text/html; charset=utf-8\n\n{html}\n--{boundary}--\n",
        encoding="utf-8",
    )
    rows = list(csv.reader(open(settings.path(settings.lists.subscribers), encoding="utf-8", newline="")))
    with open(work / "database.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows[: prefix + 1])
    binary = mailmerge_binary()
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(
        [str(binary), "--no-dry-run", "--no-limit", "--output-format", "raw",
         "--template", "template.txt", "--database", "database.csv", "--config", "server.conf"],
        check=True, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    return Run(prefix / (time.perf_counter() - started), (children_cpu() - cpu) / prefix)


def run_naive(port: int, web_html: str, text: str, recipients: list[Recipient]) -> Run:
    """Per message: Jinja render → premailer → EmailMessage → a new smtplib connection."""
    import smtplib

    import jinja2
    from premailer import transform

    template = jinja2.Template(web_html.replace("<body", "<body data-name=\"{{ name }}\"", 1))
    started, cpu = time.perf_counter(), time.process_time()
    for recipient in recipients:
        html = transform(template.render(name=recipient.name))
        message = EmailMessage()
        message["From"] = "초록상회 <news@example.co.kr>"
        message["To"] = recipient.email
        message["Subject"] = f"(광고) {recipient.name} 님께 드리는 12월 소식"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(message)
    count = len(recipients)
    return Run(count / (time.perf_counter() - started), (time.process_time() - cpu) / count)


# -- the report ---------------------------------------------------------------------------------


def median_run(runs: list[Run]) -> Run:
    """The run with the median rate (its own CPU figure comes with it)."""
    return sorted(runs, key=lambda run: run.rate)[len(runs) // 2]


def print_table(table: list[tuple[str, Run, float | None]], mailmerge: Run, naive: Run) -> None:
    width = max(len(name) for name, _, _ in table)
    print(f"\n{'':{width}}  {'msg/s':>7}  {'vs smtp-source':>14}  {'vs mailmerge':>12}  {'sender CPU/msg':>14}")
    for name, run, ratio in table:
        versus = f"{ratio:.0%}" if ratio is not None else ""
        cpu = f"{run.cpu * 1e6:>11,.0f} µs" if run.cpu == run.cpu else ""  # NaN: not measured apart
        print(f"{name:{width}}  {run.rate:>7,.0f}  {versus:>14}  {run.rate / mailmerge.rate:>11.1f}×  {cpu:>14}")
    best = max(run.rate for name, run, _ in table if name.startswith("webzine SmtpTransport"))
    print(f"\nbest webzine transport rate is {best / mailmerge.rate:.0f}× mailmerge and "
          f"{best / naive.rate:.0f}× the naive pipeline")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs — other work "
          "on the machine slows every row; compare ratios within one run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per transport/smtp-source run")
    parser.add_argument("--recipients", type=int, default=5000, help="rows in the generated list (webzine send)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is shown")
    parser.add_argument("--prefix", type=int, default=200, help="rows mailmerge sends")
    parser.add_argument("--naive-prefix", type=int, default=30, help="rows the naive pipeline sends")
    parser.add_argument("--quick", action="store_true", help="fewer messages and rounds (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.recipients, args.rounds, args.prefix, args.naive_prefix = 600, 600, 1, 50, 10
    sink_binary, source_binary = tool("smtp-sink"), tool("smtp-source")
    if not (sink_binary and source_binary):
        print(INSTALL_HINT, file=sys.stderr)
        return 1 if os.environ.get("CI") == "true" else 0
    os.environ["WEBZINE_UNSUBSCRIBE_SECRET"] = SECRET
    os.environ.pop("WEBZINE_SMTP_USERNAME", None)
    DATA.mkdir(parents=True, exist_ok=True)

    sink = Sink(sink_binary)
    try:
        return report(args, sink, source_binary)
    finally:
        sink.stop()


def report(args: argparse.Namespace, sink: Sink, source_binary: str) -> int:
    config, issue = make_project(args.recipients, sink.port, 4)
    settings = load_settings(config)
    recipients = recipients_of(settings)
    rendered = build_issue(settings, issue, recipients=recipients)
    factory = MessageFactory(rendered, settings, token_key=token_secret(settings), managers=managers_of(settings))
    built_at = time.perf_counter()
    messages = [factory.build(r) for r in recipients[: min(len(recipients), 600)]]
    build_rate = len(messages) / (time.perf_counter() - built_at)
    size = statistics.mean(len(m.data) for m in messages)
    message_file = DATA / "message.eml"
    message_file.write_bytes(messages[0].data)
    print(f"issue: {issue.name}, inlined HTML {len(rendered.preview_html.encode()):,} bytes; "
          f"messages {size / 1000:,.0f} KB on average ({len(messages)} distinct, built at {build_rate:,.0f}/s); "
          f"smtp-sink on 127.0.0.1:{sink.port}; {args.messages} messages per run, median of {args.rounds}")  # fmt: skip

    table: list[tuple[str, Run, float | None]] = []
    for connections in (1, 2, 4, 8):
        ours, ceiling = [], []
        for _ in range(args.rounds):
            ours.append(run_transport(settings, messages, args.messages, connections))
            ceiling.append(run_smtp_source(source_binary, sink.port, message_file, args.messages, connections))
        ours_run, ceiling_run = median_run(ours), median_run(ceiling)
        table.append((f"smtp-source -s {connections} (ceiling)", ceiling_run, None))
        table.append((f"webzine SmtpTransport, {connections} connection(s)", ours_run,
                      ours_run.rate / ceiling_run.rate))  # fmt: skip
    try:
        end_to_end, send_phase, accepted = run_webzine_send(config, issue)
        ceiling4 = next(run for name, run, _ in table if name.startswith("smtp-source -s 4"))
        table.append((f"webzine send --transport smtp, {accepted} recipients, whole command", end_to_end,
                      end_to_end.rate / ceiling4.rate))  # fmt: skip
        table.append(("  … its send phase (merge, build, ledger, SMTP; from --json)", Run(send_phase, float("nan")),
                      send_phase / ceiling4.rate))  # fmt: skip
    except RuntimeError as exc:
        lines = str(exc).splitlines()
        print(f"end-to-end row skipped: {lines[0]} … {lines[-1]}")
    mailmerge = run_mailmerge(settings, sink.port, rendered.preview_html, rendered.preview_text, args.prefix)
    table.append((f"mailmerge 2.3.0 real send ({args.prefix} recipients)", mailmerge, None))
    naive = run_naive(sink.port, rendered.web_html, rendered.preview_text, recipients[: args.naive_prefix])
    table.append((f"naive render→premailer→EmailMessage→smtplib ({args.naive_prefix})", naive, None))
    print_table(table, mailmerge, naive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
