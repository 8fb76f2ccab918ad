"""Load on `webzine serve`: 50 concurrent clients posting 5,000 RFC 8058 one-click unsubscribes.

The server runs in its own process (`webzine serve`, exactly as deployed, on 127.0.0.1); the load
comes from this process over raw keep-alive HTTP/1.1 connections, so the client costs little CPU
on a 2-core machine. 20 % of the POSTs repeat an address already posted (a reader clicking twice,
a provider retrying); half are urlencoded and half multipart. Afterwards the store must hold every
address exactly once, none lost.

Peers measured in the same run, on the same uvicorn settings:
- `ceiling`: a bare Starlette app that answers every POST with 200 and does nothing else — the
  most this server stack can do here, whatever the application.
- `webzine`: the real service (token lookup, form parsing, SQLite WAL commit, Korean page).
- `webzine+notice`: the same with the 수신거부 notice mail on (outbox transport). The notice thread
  waits for a pause in the burst, so the table also says how long after the burst every notice
  had been written.

Run: .venv/bin/python bench/bench_serve.py [--requests 5000] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data" / "serve"
PYTHON = sys.executable
SECRET = "bench-unsubscribe-secret"
TARGET_RPS = 1000
TARGET_P99_MS = 50.0

CONFIG = """\
[publication]
name = "초록상회 소식지"
sender = "초록상회 <news@example.co.kr>"
reply_to = "hello@example.co.kr"
postal_address = "서울특별시 중구 세종대로 1"
phone = "02-000-0000"
base_url = "https://news.example.co.kr"

[send]
transport = "outbox"

[serve]
notify = {notify}
rate_limit_per_minute = 10000000
"""

CEILING_APP = """\
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

async def post(request):
    await request.body()
    return HTMLResponse("<p>ok</p>")

app = Starlette(routes=[Route("/u/{token}", post, methods=["POST"])])
"""


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    cpu_seconds: float  # the server process's user + system CPU during the timed run
    recorded: int | None = None
    expected: int | None = None
    notices_after: float | None = None  # seconds from the end of the burst until every notice was sent

    @property
    def cpu_us(self) -> float:
        """Server CPU per request: what the machine's other load cannot inflate much."""
        return self.cpu_seconds / self.requests * 1e6

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_project(folder: Path, addresses: list[str], *, notify: bool) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "lists").mkdir(parents=True)
    (folder / "webzine.toml").write_text(CONFIG.format(notify=str(notify).lower()), encoding="utf-8")
    rows = "".join(f"{address},독자{n}\n" for n, address in enumerate(addresses))
    (folder / "lists" / "subscribers.csv").write_text("email,name\n" + rows, encoding="utf-8")
    return folder


def start(command: list[str], cwd: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, WEBZINE_UNSUBSCRIBE_SECRET=SECRET, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server did not listen on 127.0.0.1:{port} within 30 s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_load(process: subprocess.Popen, port: int, payloads: list[bytes], clients: int) -> tuple[float, list[float], int, float]:
    """Warm up, then time the run. The client's own garbage collector is paused while timing:
    a full pass here would show up as a stall of all 50 connections and be blamed on the server."""
    asyncio.run(load(port, payloads[:200], clients))  # warm-up; these become repeats when timed
    before = cpu_seconds(process.pid)
    gc.collect()
    gc.disable()
    try:
        seconds, latencies, errors = asyncio.run(load(port, payloads, clients))
    finally:
        gc.enable()
    return seconds, latencies, errors, cpu_seconds(process.pid) - before


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def request_bytes(port: int, token: str, multipart: bool) -> bytes:
    if multipart:
        boundary = "webzinebench"
        body = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
            f"One-Click\r\n--{boundary}--\r\n"
        ).encode()
        content_type = f"multipart/form-data; boundary={boundary}"
    else:
        body = b"List-Unsubscribe=One-Click"
        content_type = "application/x-www-form-urlencoded"
    head = (
        f"POST /u/{token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench-serve\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def client(port: int, queue: list[bytes], latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            payload = queue.pop()
            began = time.perf_counter()
            writer.write(payload)
            status = await read_response(reader)
            latencies.append(time.perf_counter() - began)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def load(port: int, payloads: list[bytes], clients: int) -> tuple[float, list[float], int]:
    queue = list(reversed(payloads))
    latencies: list[float] = []
    errors: list[int] = []
    began = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(client(port, queue, latencies, errors) for _ in range(clients))), timeout=300
    )
    return time.perf_counter() - began, latencies, len(errors)


def plan(requests: int, seed: int = 8058) -> tuple[list[str], list[str]]:
    """Unique addresses and the POST order: 80 % first clicks, 20 % repeats, shuffled."""
    rng = random.Random(seed)
    unique = [f"reader{n:05d}@example.com" for n in range(requests * 4 // 5)]
    order = unique + [rng.choice(unique) for _ in range(requests - len(unique))]
    rng.shuffle(order)
    return unique, order


def run_webzine(name: str, unique: list[str], order: list[str], clients: int, notify: bool) -> Result:
    sys.path.insert(0, str(ROOT))
    from webzine.tokens import unsubscribe_token

    project = make_project(DATA / name, unique, notify=notify)
    tokens = {address: unsubscribe_token(SECRET, "example.co.kr", address) for address in unique}
    port = free_port()
    config = str(project / "webzine.toml")
    command = [PYTHON, "-c", "from webzine.cli import main; main()", "--config", config, "serve", "--port", str(port)]
    process = start(command, project, port)
    try:
        payloads = [request_bytes(port, tokens[a], n % 2 == 1) for n, a in enumerate(order)]
        seconds, latencies, errors, cpu = timed_load(process, port, payloads, clients)
        notices_after = wait_for_notices(project, len(unique)) if notify else None
    finally:
        stop(process)
    with sqlite3.connect(project / "state" / "serve.sqlite3") as db:
        stored = [row[0] for row in db.execute("SELECT address FROM unsubscribes")]
    if sorted(stored) != sorted(unique):
        missing = set(unique) - set(stored)
        raise SystemExit(f"{name}: store holds {len(stored)} rows, {len(missing)} addresses missing")
    return Result(name, len(order), seconds, latencies, errors, cpu, len(stored), len(unique), notices_after)


def wait_for_notices(project: Path, expected: int, timeout: float = 300) -> float:
    """Seconds until the server has sent (here: written to the outbox) every notice."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        with sqlite3.connect(project / "state" / "serve.sqlite3") as db:
            sent = db.execute("SELECT count(*) FROM unsubscribes WHERE notice_status = 'sent'").fetchone()[0]
        if sent >= expected:
            return time.monotonic() - began
        time.sleep(0.2)
    raise SystemExit(f"only {sent} of {expected} notices were sent within {timeout:.0f} s")


def run_ceiling(order: list[str], clients: int) -> Result:
    folder = DATA / "ceiling"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "ceiling_app.py").write_text(CEILING_APP)
    port = free_port()
    command = [PYTHON, "-m", "uvicorn", "ceiling_app:app", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    process = start(command, folder, port)
    try:
        payloads = [request_bytes(port, "x" * 43, n % 2 == 1) for n in range(len(order))]
        seconds, latencies, errors, cpu = timed_load(process, port, payloads, clients)
    finally:
        stop(process)
    return Result("ceiling (bare Starlette)", len(order), seconds, latencies, errors, cpu)


def outbox_available() -> bool:
    sys.path.insert(0, str(ROOT))
    try:
        from webzine.providers import transport_class

        transport_class("outbox")
    except Exception:
        return False
    return True


def table(results: list[Result], clients: int, load_before: float, load_after: float) -> str:
    ceiling = results[0].rps
    lines = [
        f"one-click unsubscribe, {results[0].requests} POSTs from {clients} keep-alive clients, server in its own process",
        f"machine: {os.cpu_count()} cores, 1-min load average {load_before:.1f} before / {load_after:.1f} after",
        f"{'server':<26}{'req/s':>8}{'× ceiling':>10}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'CPU µs/req':>11}{'non-200':>8}{'stored':>12}",
    ]
    for r in results:
        stored = f"{r.recorded}/{r.expected}" if r.recorded is not None else "-"
        lines.append(
            f"{r.name:<26}{r.rps:>8.0f}{r.rps / ceiling:>10.2f}{r.percentile(0.50):>8.1f}"
            f"{r.percentile(0.99):>8.1f}{max(r.latencies) * 1000:>8.1f}{r.cpu_us:>11.0f}{r.errors:>8}{stored:>12}"
        )
    for r in results:
        if r.notices_after is not None:
            lines.append(f"{r.name}: all {r.recorded} notice mails sent (outbox) {r.notices_after:.1f} s after the burst")
    lines.append(f"target: ≥ {TARGET_RPS} req/s and p99 < {TARGET_P99_MS:.0f} ms for webzine")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    unique, order = plan(args.requests)
    load_before = os.getloadavg()[0]
    results = [run_ceiling(order, args.clients), run_webzine("webzine", unique, order, args.clients, False)]
    if outbox_available():
        results.append(run_webzine("webzine+notice", unique, order, args.clients, True))
    print(table(results, args.clients, load_before, os.getloadavg()[0]))
    main_result = results[1]
    ok = main_result.errors == 0 and main_result.rps >= TARGET_RPS and main_result.percentile(0.99) < TARGET_P99_MS
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
