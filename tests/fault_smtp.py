"""A recording SMTP server on 127.0.0.1 that misbehaves at random, in its own process.

Built on `smtp_server.SmtpTestServer` (aiosmtpd). Every message the server accepted — replied
250 to, or stored and then hung up on ("accept_then_drop") — is appended to a JSON Lines file as
``{"rcpt": [...], "message_id": "...", "session": N}``, one flushed line each, so whoever started
the server can count, at any moment and after the clients are gone, what really arrived.

Used by the fault soak (`bench/soak_faults.py`) and the concurrency test::

    python tests/fault_smtp.py --record accepted.jsonl --fault-rate 0.02 --seed 1 --stall 2.5

prints ``PORT <n>`` on stdout once it listens and serves until SIGTERM or SIGINT, then prints
``FIRED <json>`` (how often each fault fired) and exits 0. `--fault-rate 0` records only.

Faults, each drawn with probability `--fault-rate` at RCPT and again after DATA:
421 (and the connection closes), 451, 550 5.1.1, a dropped connection, a stall longer than the
client's timeout; after DATA also a stall and "accepted, then dropped" (the client cannot know).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smtp_server import Fault, Faults, SmtpTestServer, Stage  # noqa: E402

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*<?([^\r\n>]+)>?", re.IGNORECASE | re.MULTILINE)


def fault_menu(stall: float) -> dict[str, tuple[Fault, ...]]:
    """What can go wrong at RCPT and after DATA; each entry is equally likely once a fault is drawn."""
    kinds: list[dict[str, Any]] = [
        {"reply": "421 4.3.2 injected: service shutting down"},
        {"reply": "451 4.3.0 injected: temporary failure"},
        {"reply": "550 5.1.1 injected: no such user"},
        {"action": "drop"},
        {"action": "hang", "hang": stall},
    ]
    return {
        "rcpt": tuple(Fault("rcpt", **kind) for kind in kinds),
        "message": (*(Fault("message", **kind) for kind in kinds), Fault("message", action="accept_then_drop")),
    }


@dataclass
class RandomFaults(Faults):
    """Draws a fault from `menu` with probability `rate` at each listed stage (seeded)."""

    rate: float = 0.0
    menu: dict[str, tuple[Fault, ...]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def take(self, stage: Stage, address: str) -> Fault | None:
        with self._lock:
            choices = self.menu.get(stage)
            if not choices or self.rng.random() >= self.rate:
                return None
            fault = self.rng.choice(choices)
            self.fired.append((stage, address, fault.reply if fault.action == "reply" else fault.action))
            return fault


class RecordingServer(SmtpTestServer):
    """Writes one line per accepted message instead of keeping the messages in memory."""

    def __init__(self, record: IO[str], **kwargs: object) -> None:
        super().__init__(tls="none", **kwargs)  # type: ignore[arg-type]
        self._record_file = record
        self.accepted = 0

    def _record(self, envelope, session, number: int) -> int:  # type: ignore[no-untyped-def]
        data = bytes(envelope.original_content or b"")
        header = data[: data.find(b"\r\n\r\n") + 2]
        found = _MESSAGE_ID.search(header)
        line = json.dumps({"rcpt": list(envelope.rcpt_tos), "session": number,
                           "message_id": found.group(1).decode("ascii", "replace") if found else ""})
        with self._lock:
            self._record_file.write(line + "\n")
            self._record_file.flush()
            self.accepted += 1
            return self.accepted


def read_record(path: Path) -> list[dict]:
    """The accepted messages so far (a line being written is left for the next read)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines[:-1] if line]


class FaultServer:
    """This module's server in a child process, stopped by its PID; a context manager.

    `port` once started; `accepted()` reads the record; `fired` (after `stop`) counts the faults."""

    host = "127.0.0.1"

    def __init__(self, record: Path, *, fault_rate: float = 0.0, seed: int = 0, stall: float = 3.0) -> None:
        self.record = record
        self.fired: dict[str, int] = {}
        self._args = [sys.executable, str(Path(__file__).resolve()), "--record", str(record),
                      "--fault-rate", str(fault_rate), "--seed", str(seed), "--stall", str(stall)]
        self._process: subprocess.Popen[str] | None = None
        self._counted = (0, 0)  # (bytes read, lines in them)
        self.port = 0

    def start(self) -> "FaultServer":
        self._process = subprocess.Popen(self._args, stdout=subprocess.PIPE, text=True)
        first = self._process.stdout.readline() if self._process.stdout else ""
        if not first.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"the fault SMTP server did not start (it said {first!r})")
        self.port = int(first.split()[1])
        return self

    def accepted(self) -> list[dict]:
        return read_record(self.record)

    def count(self) -> int:
        """How many messages the server has accepted so far (reads only what is new)."""
        offset, lines = self._counted
        if self.record.exists():
            with open(self.record, "rb") as handle:
                handle.seek(offset)
                new = handle.read()
            end = new.rfind(b"\n") + 1
            self._counted = (offset + end, lines + new.count(b"\n", 0, end))
        return self._counted[1]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            out, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate(timeout=10)
        for line in (out or "").splitlines():
            if line.startswith("FIRED "):
                self.fired = json.loads(line[len("FIRED "):])

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", type=Path, required=True, help="JSON Lines file of accepted messages")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="probability of a fault per stage")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stall", type=float, default=3.0, help="seconds a stall lasts")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds the server waits for a client")
    args = parser.parse_args(argv)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    with open(args.record, "a", encoding="utf-8") as record:
        server = RecordingServer(record, timeout=args.timeout)
        server.faults = RandomFaults(rate=args.fault_rate, menu=fault_menu(args.stall), rng=random.Random(args.seed))
        with server:
            print(f"PORT {server.port}", flush=True)
            while not stopped.wait(0.5):
                pass
        fired = Counter(what for _, _, what in server.faults.fired)
    print(f"FIRED {json.dumps(dict(fired), sort_keys=True)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
