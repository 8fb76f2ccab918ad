"""Builders for bounce and reply tests: RFC 3464 reports addressed to a VERP return path, replies,
a fake ledger, and a real Dovecot IMAP server on 127.0.0.1 (the `dovecot` fixture)."""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
TODAY = date(2026, 12, 1)  # the policy's "today", passed in: no test depends on the real date


def dsn(recipient: str, *, status: str = "5.1.1", diagnostic: str = "550 5.1.1 <{r}>: Recipient address rejected: "
        "User unknown", to: str = "bounces@example.co.kr", message_id: str = "<dsn-1@mx.example.net>",
        original_id: str = "<issue-1@example.co.kr>", action: str = "failed",
        date: str = "Tue, 01 Dec 2026 09:00:00 +0900") -> bytes:
    """A Postfix-style multipart/report for one recipient."""
    diagnostic = diagnostic.format(r=recipient)
    text = f"""\
Return-Path: <>
Date: {date}
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Message-Id: {message_id}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

<{recipient}>: host mx.example.org[192.0.2.1] said: {diagnostic} (in reply to RCPT TO command)

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--BOUNDARY
Content-Type: text/rfc822-headers

From: 초록상회 <news@example.co.kr>
To: {recipient}
Subject: 12월 소식
Message-ID: {original_id}

--BOUNDARY--
"""
    return text.replace("\n", "\r\n").encode("utf-8")


@dataclass
class SentRow:
    issue: str
    state: str
    claimed_at: str


@dataclass
class FakeLedger:
    """The lookup interface of webzine.send.ledger.Ledger, in memory."""

    verp: dict[str, tuple[str, str]] = field(default_factory=dict)
    message_ids: dict[str, tuple[str, str]] = field(default_factory=dict)
    provider_ids: dict[str, tuple[str, str]] = field(default_factory=dict)
    sent: dict[str, list[SentRow]] = field(default_factory=dict)

    def find_by_verp(self, token: str) -> tuple[str, str] | None:
        return self.verp.get(token.lower())

    def find_by_message_id(self, message_id: str) -> tuple[str, str] | None:
        return self.message_ids.get(message_id.strip("<>"))

    def find_by_provider_id(self, provider_id: str) -> tuple[str, str] | None:
        return self.provider_ids.get(provider_id)

    def history(self, email: str) -> list[SentRow]:
        return self.sent.get(email.lower(), [])


def mail(headers: str, body: str) -> bytes:
    """A plain-text message from `Name: value` lines and a body (UTF-8, CRLF)."""
    return (headers.strip() + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + body).replace(
        "\n", "\r\n").encode("utf-8")


def reply(sender: str, subject: str, body: str, *, number: int, date: str = "Wed, 02 Dec 2026 09:00:00 +0900",
          answers: str = "", extra: str = "") -> bytes:
    """A person's (or a program's) message to the newsletter's address."""
    refs = f"In-Reply-To: <{answers}>\nReferences: <{answers}>\n" if answers else ""
    return mail(f"From: {sender}\nTo: 초록상회 소식 <news@example.co.kr>\nSubject: {subject}\n"
                f"Message-ID: <reply-{number}@mail.example.com>\nDate: {date}\n{refs}{extra}", body)


# --- a real IMAP server ----------------------------------------------------------------------------

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
USER, PASSWORD = "bounces", "test-password-1"
NOBODY = 65534

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2
ssl_cipher_list = ECDHE+AESGCM:ECDHE+CHACHA20
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"dovecot did not listen on 127.0.0.1:{port}")


def _stop(pid_file: Path) -> None:
    """SIGTERM the master by the PID it wrote, then wait until it is gone."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Server:
    port: int  # plain IMAP (allowed on loopback only)
    tls_port: int  # IMAPS with a throw-away certificate for 127.0.0.1
    ca_file: str


def _certificate(root: Path) -> None:
    """A self-signed certificate for IP 127.0.0.1 (ECDSA: no DH parameters needed)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"), "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)


@pytest.fixture
def cli(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`webzine …` in the conftest project folder → (exit code, stdout, stderr)."""
    from clikit import in_process

    monkeypatch.delenv("WEBZINE_TODAY", raising=False)
    return in_process(project, monkeypatch, capsys)


@pytest.fixture
def dovecot() -> Iterator[Server]:
    if DOVECOT is None:
        if os.environ.get("CI") == "true":
            pytest.fail("dovecot is not installed; `make test` installs it (.ci/system-deps.sh: dovecot-imapd)")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd); the IMAP import is untested here")
    # Not under pytest's 0700 tmp folder: the mail processes run as nobody and must reach the mail dir.
    root = Path(tempfile.mkdtemp(prefix="webzine-dovecot-"))
    os.chmod(root, 0o755)
    (root / "mail").mkdir()
    if os.geteuid() == 0:
        os.chown(root / "mail", NOBODY, NOBODY)
    port, tls_port = _free_port(), _free_port()
    _certificate(root)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port, tls_port=tls_port,
                                    uid=NOBODY if os.geteuid() == 0 else os.geteuid()))
    try:
        # dovecot daemonises; its output goes to a file so no pipe is left open behind it.
        with open(root / "start.log", "wb") as log:
            started = subprocess.run([DOVECOT, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT, timeout=30)
        logs = "".join(p.read_text(errors="replace") for p in (root / "start.log", root / "dovecot.log") if p.exists())
        assert started.returncode == 0, logs
        _wait_listening(port, time.monotonic() + 15)
        _wait_listening(tls_port, time.monotonic() + 15)
        yield Server(port, tls_port, str(root / "cert.pem"))
    finally:
        _stop(root / "run" / "master.pid")
        shutil.rmtree(root, ignore_errors=True)


def append(port: int, messages: list[bytes]) -> None:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    client.login(USER, PASSWORD)
    for data in messages:
        status, detail = client.append("INBOX", None, None, data)
        assert status == "OK", detail
    client.logout()


def count(port: int, folder: str) -> int:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    client.login(USER, PASSWORD)
    status, data = client.select(f'"{folder}"', readonly=True)
    client.logout()
    return int(data[0]) if status == "OK" else -1
