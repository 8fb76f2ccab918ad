"""A real IMAP mailbox: Dovecot on 127.0.0.1 with a throw-away config, user and mail folder.

Bounces are APPENDed to INBOX and imported twice over IMAPS (a throw-away certificate for
127.0.0.1); the first import moves them to the processed folder, the second reads nothing and
changes nothing.
"""

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
from dataclasses import dataclass
from pathlib import Path

import pytest

from bouncekit import FIXTURES, TODAY, dsn
from webzine.bounces.events import Kind
from webzine.bounces.importer import run_import
from webzine.bounces.sources import ImapSource, SourceError

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
USER, PASSWORD = "bounces", "test-password-1"
NOBODY = 65534

pytestmark = pytest.mark.dovecot

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


def _append(port: int, messages: list[bytes]) -> None:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    client.login(USER, PASSWORD)
    for data in messages:
        status, detail = client.append("INBOX", None, None, data)
        assert status == "OK", detail
    client.logout()


def _count(port: int, folder: str) -> int:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    client.login(USER, PASSWORD)
    status, data = client.select(f'"{folder}"', readonly=True)
    client.logout()
    return int(data[0]) if status == "OK" else -1


def _import(server: Server, tmp_path: Path):  # type: ignore[no-untyped-def]
    source = ImapSource(f"imaps://{USER}@127.0.0.1:{server.tls_port}/INBOX", PASSWORD, "Processed",
                        ca_file=server.ca_file)
    try:
        return run_import([source], events_path=tmp_path / "events.jsonl",
                          suppressions_path=tmp_path / "suppressions.csv", soft_limit=3, today=TODAY)
    finally:
        source.close()


def test_import_from_dovecot_twice_changes_nothing_the_second_time(dovecot: Server, tmp_path: Path) -> None:
    reports = [(FIXTURES / "eml" / name).read_bytes() for name in
               ("lhost-postfix-04.eml", "lhost-exim-01.eml", "arf-01.eml", "lhost-qmail-01.eml")]
    reports.append(dsn("kim@example.com"))
    _append(dovecot.port, reports)
    first = _import(dovecot, tmp_path)
    assert first.read == 5 and len(first.fresh) == 5 and first.skipped == [] and first.failed == []
    assert {e.kind for e in first.fresh} >= {Kind.HARD, Kind.COMPLAINT}
    assert (_count(dovecot.port, "INBOX"), _count(dovecot.port, "Processed")) == (0, 5)
    events_before = (tmp_path / "events.jsonl").read_bytes()
    suppressions_before = (tmp_path / "suppressions.csv").read_bytes()

    second = _import(dovecot, tmp_path)
    assert (second.read, second.fresh, second.suppressed) == (0, [], [])
    assert (tmp_path / "events.jsonl").read_bytes() == events_before
    assert (tmp_path / "suppressions.csv").read_bytes() == suppressions_before

    _append(dovecot.port, [dsn("lee@example.com", message_id="<dsn-new@mx.example.net>")])
    third = _import(dovecot, tmp_path)
    assert [e.email for e in third.fresh] == ["lee@example.com"]
    assert _count(dovecot.port, "Processed") == 6


def test_plain_imap_on_loopback_reads_the_same_mailbox(dovecot: Server, tmp_path: Path) -> None:
    _append(dovecot.port, [dsn("park@example.com")])
    source = ImapSource(f"imap://{USER}@127.0.0.1:{dovecot.port}/INBOX", PASSWORD, "Done")
    try:
        result = run_import([source], events_path=tmp_path / "e.jsonl", suppressions_path=tmp_path / "s.csv",
                            soft_limit=3, today=TODAY)
    finally:
        source.close()
    assert [e.email for e in result.fresh] == ["park@example.com"] and _count(dovecot.port, "Done") == 1


def test_an_untrusted_certificate_and_a_wrong_password_are_one_sentence(dovecot: Server) -> None:
    untrusted = ImapSource(f"imaps://{USER}@127.0.0.1:{dovecot.tls_port}/INBOX", PASSWORD)
    with pytest.raises(SourceError, match=rf"^127\.0\.0\.1:{dovecot.tls_port}: the IMAP server's certificate is "
                                          r"not trusted .*; set \[bounces\] imap_ca_file to its CA\.$"):
        list(untrusted.items())
    wrong = ImapSource(f"imaps://{USER}@127.0.0.1:{dovecot.tls_port}/INBOX", "wrong", ca_file=dovecot.ca_file)
    with pytest.raises(SourceError, match=rf"^127\.0\.0\.1:{dovecot.tls_port}: IMAP login as bounces failed"):
        list(wrong.items())


def test_plain_imap_is_refused_for_a_remote_host() -> None:
    with pytest.raises(SourceError, match="plain imap:// would send the password unencrypted"):
        ImapSource("imap://bounces@192.0.2.10/INBOX", "x")
