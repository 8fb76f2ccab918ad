"""A real IMAP mailbox: Dovecot on 127.0.0.1 with a throw-away config, user and mail folder.

Bounces are APPENDed to INBOX, imported twice; the first import moves them to the processed
folder, the second reads nothing and changes nothing.
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
from pathlib import Path

import pytest

from bouncekit import FIXTURES, dsn
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
ssl = no
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
    port = 0
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


@pytest.fixture
def dovecot() -> Iterator[int]:
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
    port = _free_port()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port, uid=NOBODY if os.geteuid() == 0 else os.geteuid()))
    try:
        # dovecot daemonises; its output goes to a file so no pipe is left open behind it.
        with open(root / "start.log", "wb") as log:
            started = subprocess.run([DOVECOT, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT, timeout=30)
        logs = "".join(p.read_text(errors="replace") for p in (root / "start.log", root / "dovecot.log") if p.exists())
        assert started.returncode == 0, logs
        _wait_listening(port, time.monotonic() + 15)
        yield port
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


def _import(port: int, tmp_path: Path):  # type: ignore[no-untyped-def]
    source = ImapSource(f"imap://{USER}@127.0.0.1:{port}/INBOX", PASSWORD, "Processed")
    try:
        return run_import([source], events_path=tmp_path / "events.jsonl",
                          suppressions_path=tmp_path / "suppressions.csv", soft_limit=3)
    finally:
        source.close()


def test_import_from_dovecot_twice_changes_nothing_the_second_time(dovecot: int, tmp_path: Path) -> None:
    reports = [(FIXTURES / "eml" / name).read_bytes() for name in
               ("lhost-postfix-04.eml", "lhost-exim-01.eml", "arf-01.eml", "lhost-qmail-01.eml")]
    reports.append(dsn("kim@example.com"))
    _append(dovecot, reports)
    first = _import(dovecot, tmp_path)
    assert first.read == 5 and len(first.fresh) == 5 and first.skipped == []
    assert {e.kind for e in first.fresh} >= {Kind.HARD, Kind.COMPLAINT}
    assert (_count(dovecot, "INBOX"), _count(dovecot, "Processed")) == (0, 5)
    events_before = (tmp_path / "events.jsonl").read_bytes()
    suppressions_before = (tmp_path / "suppressions.csv").read_bytes()

    second = _import(dovecot, tmp_path)
    assert (second.read, second.fresh, second.suppressed) == (0, [], [])
    assert (tmp_path / "events.jsonl").read_bytes() == events_before
    assert (tmp_path / "suppressions.csv").read_bytes() == suppressions_before

    _append(dovecot, [dsn("lee@example.com", message_id="<dsn-new@mx.example.net>")])
    third = _import(dovecot, tmp_path)
    assert [e.email for e in third.fresh] == ["lee@example.com"]
    assert _count(dovecot, "Processed") == 6


def test_a_wrong_password_is_one_sentence_naming_the_server(dovecot: int) -> None:
    source = ImapSource(f"imap://{USER}@127.0.0.1:{dovecot}/INBOX", "wrong", "Processed")
    with pytest.raises(SourceError, match=rf"^127\.0\.0\.1:{dovecot}: IMAP login as bounces failed"):
        list(source.items())


def test_plain_imap_is_refused_for_a_remote_host() -> None:
    with pytest.raises(SourceError, match="plain imap:// would send the password unencrypted"):
        ImapSource("imap://bounces@192.0.2.10/INBOX", "x")
