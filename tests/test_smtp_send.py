"""End to end through the SMTP transport: the orchestration (`webzine.send.dispatch.Sender`), the real
ledger and a real aiosmtpd server with faults. For each fault: the ledger says what the server
did, nothing the server accepted is sent twice (except the one case the transport documents),
nothing is lost, and the run ends with the documented exit code and a one-line reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from clikit import set_send
from conftest import TODAY, cli_environment
import sendkit
from sendkit import SkippingClock
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from smtp_server import Fault, SmtpTestServer, TestCertificate

from webzine.config import Settings, Smtp
from webzine.send.ledger import Ledger, State
from webzine.message.factory import MessageFactory
from webzine.models import Recipient
from webzine.send.pacing import SuppressionWatch
from webzine.send.dispatch import Sender, SendOptions, SendSummary
from webzine.recipients.suppressions import load_suppressions, merge_suppressions
from webzine.transports.smtp import SmtpTransport

# slow: Postfix smtp-sink and aiosmtpd servers, webzine send in subprocesses
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(120),
    pytest.mark.slow,
]

PASSWORD = "e2e-Pa55-never-shown"


@pytest.fixture(autouse=True)
def smtp_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBZINE_SMTP_USERNAME", "news")
    monkeypatch.setenv("WEBZINE_SMTP_PASSWORD", PASSWORD)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return TestCertificate.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificate: TestCertificate):
    with SmtpTestServer(certificate=certificate, users={"news": PASSWORD}) as running:
        yield running


def settings_for(root: Path, server: SmtpTestServer, **send: object) -> Settings:
    send = {"rate": 1_000_000, "concurrency": 3, "retry_deadline_seconds": 30, **send}
    base = sendkit.settings(root, **send)
    smtp = Smtp(host=server.host, port=server.port, security=server.tls, ca_file=str(server.ca_file or ""),
                timeout=2, connect_timeout=2, connections=3, helo="client.example.test")  # fmt: skip
    return base.model_copy(update={"smtp": smtp})


def run(root: Path, settings: Settings, recipients: list[Recipient], options: SendOptions = SendOptions()
        ) -> tuple[SendSummary, dict[str, State]]:
    """One `webzine send` run as the CLI does it, on a `SkippingClock`; returns the summary and the
    ledger's states."""
    factory = MessageFactory(sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET,
                             managers=sendkit.MANAGERS)  # fmt: skip
    suppressions = root / "suppressions.csv"
    transport = SmtpTransport.from_settings(settings)
    with Ledger.open(root / "ledger.sqlite3") as ledger:
        sender = Sender(settings, today=TODAY, factory=factory, transport=transport, ledger=ledger,
                        suppressions=SuppressionWatch(suppressions, load_suppressions),
                        merge_suppressions=lambda new: merge_suppressions(suppressions, new),
                        options=options, clock=(clock := SkippingClock()), sleep=clock.sleep)  # fmt: skip
        try:
            summary = sender.run(recipients)
        finally:
            transport.close()
        states = {row.email: row.state for row in ledger.rows(factory.issue)}
    return summary, states


def people(count: int) -> list[Recipient]:
    return [sendkit.recipient(n) for n in range(count)]


def arrivals(server: SmtpTestServer) -> Counter[str]:
    return Counter(message.rcpt_tos[0] for message in server.messages)


def test_everyone_arrives_once_and_a_rerun_sends_nothing(tmp_path: Path, server: SmtpTestServer) -> None:
    settings = settings_for(tmp_path, server)
    summary, states = run(tmp_path, settings, people(30))
    assert (summary.accepted, summary.exit_code) == (30, 0)
    assert arrivals(server) == Counter({r.email: 1 for r in people(30)})
    assert set(states.values()) == {State.ACCEPTED}
    assert all(m.tls and m.login == "news" for m in server.messages)
    assert server.sessions <= 3
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        ids = {row.provider_id for row in ledger.rows("2026-12-year-end")}
    assert ids == {f"TEST{n:05d}" for n in range(1, 31)}  # the server's queue ids, in the ledger

    again, _ = run(tmp_path, settings, people(30))
    assert (again.accepted, again.already_accepted, again.exit_code) == (0, 30, 0)
    assert len(server.messages) == 30


def test_refusals_retries_and_drops_end_in_the_right_states(tmp_path: Path, server: SmtpTestServer) -> None:
    server.faults.add(Fault("rcpt", reply="550 5.1.1 <user1@example.com>: no such user", match="user1@", times=None))
    server.faults.add(Fault("rcpt", reply="451 4.3.0 greylisted, try again", match="user2@"))
    server.faults.add(Fault("message", reply="452 4.3.1 insufficient storage", match="user3@"))
    server.faults.add(Fault("message", action="drop", match="user4@"))
    server.faults.add(Fault("rcpt", reply="421 4.4.2 too busy, closing", match="user5@"))
    server.faults.add(Fault("message", action="hang", hang=10, match="user6@"))
    settings = settings_for(tmp_path, server)
    summary, states = run(tmp_path, settings, people(12))

    assert states.pop("user1@example.com") is State.FAILED
    # user4's and user6's messages went out whole and the server never answered: they may have
    # been delivered, so they stay claimed (reported as unknown) instead of being retried into a
    # duplicate. Refusals and drops *before* the final "." (user2, user3, user5) were retried.
    unconfirmed = ("user4@example.com", "user6@example.com")
    assert [states.pop(email) for email in unconfirmed] == [State.CLAIMED, State.CLAIMED]
    assert set(states.values()) == {State.ACCEPTED}
    assert summary.accepted == 9 and summary.failed == 1 and summary.hard_bounces == 1
    assert summary.unknown == 2 and summary.exit_code == 3  # a re-run reports them again
    assert arrivals(server) == Counter(
        {r.email: 1 for r in people(12) if r.email not in ("user1@example.com", *unconfirmed)}
    )
    suppressed = (tmp_path / "suppressions.csv").read_text(encoding="utf-8")
    assert "user1@example.com,hard_bounce" in suppressed and "5.1.1" in suppressed


def test_random_faults_lose_nothing_and_duplicate_nothing(tmp_path: Path, server: SmtpTestServer) -> None:
    replies = ["421 4.4.2 closing", "451 4.3.0 later", "452 4.5.3 busy", "550 5.1.1 no such user"]
    server.faults.random(0.25, replies, seed=11, stages=("rcpt", "message"))
    server.faults.add(Fault("mail", reply="451 4.3.0 sender check unavailable", times=3))  # 5xx there stops
    settings = settings_for(tmp_path, server, max_attempts=20, stop_after_consecutive_errors=1000)
    recipients = people(50)
    summary, states = run(tmp_path, settings, recipients)

    accepted = {email for email, state in states.items() if state is State.ACCEPTED}
    failed = {email for email, state in states.items() if state is State.FAILED}
    assert summary.stopped is None
    assert accepted | failed == {r.email for r in recipients}  # nothing lost or left deferred
    assert arrivals(server) == Counter({email: 1 for email in accepted})  # nothing twice
    assert summary.failed == len(failed) > 0 and summary.exit_code == 1
    assert summary.retries > 0


def test_a_policy_refusal_stops_the_run_and_a_rerun_resumes(tmp_path: Path, server: SmtpTestServer) -> None:
    server.faults.add(Fault("message", reply="554 5.7.1 message refused: sender reputation", match="user3@"))
    settings = settings_for(tmp_path, server, concurrency=1)
    recipients = people(10)
    first, states = run(tmp_path, settings, recipients)
    assert first.exit_code == 3
    assert first.stopped == "sender problem: 554 5.7.1 end of DATA: 554 5.7.1 message refused: sender reputation"
    assert states["user3@example.com"] is State.DEFERRED  # not the recipient's fault: no bounce
    assert not (tmp_path / "suppressions.csv").exists()
    assert 0 < len(server.messages) < 10

    second, states = run(tmp_path, settings, recipients)
    assert second.exit_code == 0
    assert set(states.values()) == {State.ACCEPTED}
    assert arrivals(server) == Counter({r.email: 1 for r in recipients})


def test_a_refused_login_stops_the_run_before_anything_is_sent(
    tmp_path: Path, server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBZINE_SMTP_PASSWORD", "wrong-" + PASSWORD)
    summary, states = run(tmp_path, settings_for(tmp_path, server), people(10))
    assert summary.exit_code == 3 and summary.accepted == 0
    assert summary.stopped is not None
    assert summary.stopped.startswith(f"sender problem: 127.0.0.1:{server.port}: authentication failed (535 5.7.8")
    assert "\n" not in summary.stopped and PASSWORD not in summary.stopped
    assert server.messages == [] and server.sessions == 1
    assert State.ACCEPTED not in states.values()


def test_a_certificate_for_another_host_stops_the_run(tmp_path: Path) -> None:
    other = TestCertificate.create(tmp_path / "tls", hosts=("mail.example.net",))
    with SmtpTestServer(certificate=other, users={"news": PASSWORD}) as server:
        summary, _ = run(tmp_path, settings_for(tmp_path, server), people(5))
        assert server.messages == []
    assert summary.exit_code == 3
    assert summary.stopped is not None
    assert summary.stopped.startswith(f"sender problem: 127.0.0.1:{server.port}: the server's TLS certificate is not trusted")


def test_a_server_that_is_gone_defers_everyone(tmp_path: Path, certificate: TestCertificate) -> None:
    server = SmtpTestServer(certificate=certificate, users={"news": PASSWORD}).start()
    server.stop()  # the port is closed now: connection refused
    settings = settings_for(tmp_path, server, retry_deadline_seconds=0, stop_after_consecutive_errors=3)
    summary, states = run(tmp_path, settings, people(6))
    assert summary.exit_code == 3 and summary.accepted == 0
    assert summary.stopped is not None and "errors in a row" in summary.stopped
    assert f"127.0.0.1:{server.port}: cannot connect" in summary.stopped
    assert set(states.values()) == {State.DEFERRED}


def test_accepted_but_unconfirmed_is_reported_unknown_not_sent_twice(tmp_path: Path, server: SmtpTestServer) -> None:
    """The server stores the message and hangs up before saying 250: the transport reports an
    ambiguous outcome, the recipient stays claimed (unknown), and nobody gets a second copy —
    until `--resend-unknown` asks for one deliberately."""
    server.faults.add(Fault("message", action="accept_then_drop", match="user2@"))
    settings = settings_for(tmp_path, server)
    summary, states = run(tmp_path, settings, people(4))
    assert summary.unknown == 1 and summary.exit_code == 3
    assert states.pop("user2@example.com") is State.CLAIMED and set(states.values()) == {State.ACCEPTED}
    assert all(count == 1 for count in arrivals(server).values()) and len(arrivals(server)) == 4

    again, _ = run(tmp_path, settings, people(4))
    assert (again.unknown, again.accepted, again.already_accepted) == (1, 0, 3)
    assert arrivals(server)["user2@example.com"] == 1

    resent, states = run(tmp_path, settings, people(4), SendOptions(resend_unknown=True))
    assert (resent.resent_unknown, resent.accepted, resent.exit_code) == (1, 1, 0)
    assert states["user2@example.com"] is State.ACCEPTED and arrivals(server)["user2@example.com"] == 2


# -- the command line: `webzine send --transport smtp` as a user runs it ---------------------------

WEBZINE = str(Path(sys.executable).parent / "webzine")
ISSUE = "issues/2026-12-year-end.md"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The sample publication; its key customer is on the list, so the audit lets the send go."""
    return sendkit.sample_project(tmp_path)


def point_at(project: Path, server: SmtpTestServer) -> None:
    """Replace [smtp] in the project's webzine.toml by the test server's address and CA."""
    text = (project / "webzine.toml").read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[smtp]")
    tail = rest[rest.index("\n[") :] if "\n[" in rest else ""
    smtp = (
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "{server.tls}"\n'
        f'ca_file = "{server.ca_file}"\ntimeout = 2\nconnect_timeout = 2\nconnections = 3\n'
    )
    (project / "webzine.toml").write_text(head + smtp + tail, encoding="utf-8")


@pytest.fixture(scope="module")
def dkim_key() -> str:
    """The sample publication signs with DKIM: a throw-away key for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def webzine_send(project: Path, dkim: str, *args: str, password: str = PASSWORD,
                 lang: str = "en") -> subprocess.CompletedProcess:
    environment = cli_environment(WEBZINE_UNSUBSCRIBE_SECRET="cli-smtp-secret", WEBZINE_SMTP_USERNAME="news",
                                  WEBZINE_SMTP_PASSWORD=password, WEBZINE_DKIM_PRIVATE_KEY=dkim, COLUMNS="200")  # fmt: skip
    return subprocess.run([WEBZINE, "--lang", lang, "send", ISSUE, "--transport", "smtp", "--yes", *args], cwd=project,
                          env=environment, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_cli_send_delivers_everyone_once_and_resumes(project: Path, server: SmtpTestServer, dkim_key: str) -> None:
    point_at(project, server)
    set_send(project, rate=1000)  # not the sample's 20 a second: who gets a copy is the question here
    server.faults.add(Fault("rcpt", reply="451 4.7.1 greylisted, try later", match="kim.gapsu@"))  # retried
    server.faults.add(Fault("message", action="drop", match="jihye.park@"))  # after it: unknown
    done = webzine_send(project, dkim_key, "--json")
    assert done.returncode == 3, done.stderr
    summary = json.loads(done.stdout)
    assert summary["accepted"] == len(server.messages) > 5 and summary["retries"] >= 1
    assert summary["unknown"] == 1 and [p["email"] for p in summary["unknowns"]] == ["jihye.park@example.com"]
    assert all(count == 1 for count in arrivals(server).values())
    assert "jihye.park@example.com" not in arrivals(server) and arrivals(server)["kim.gapsu@example.co.kr"] == 1
    parsed = server.messages[0].message
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert server.messages[0].mail_from.startswith("bounces+")

    again = webzine_send(project, dkim_key, "--json")  # a plain re-run never guesses
    assert again.returncode == 3 and json.loads(again.stdout)["already_accepted"] == summary["accepted"]
    assert json.loads(again.stdout)["unknown"] == 1 and len(server.messages) == summary["accepted"]

    resent = webzine_send(project, dkim_key, "--json", "--resend-unknown")  # deliberately
    assert resent.returncode == 0, resent.stderr
    assert json.loads(resent.stdout)["resent_unknown"] == 1
    assert all(count == 1 for count in arrivals(server).values()) and "jihye.park@example.com" in arrivals(server)



def messages_besides_progress(stderr: str) -> list[str]:
    """stderr without the progress lines a send writes when it is not a terminal (as here)."""
    return [line for line in stderr.splitlines() if not re.match(r"sending \S+: [\d,]+/[\d,]+ \(\d+%\)", line)]

def test_cli_send_with_a_wrong_password_exits_3_with_one_line(
    project: Path, server: SmtpTestServer, dkim_key: str
) -> None:
    point_at(project, server)
    done = webzine_send(project, dkim_key, password="wrong")
    assert done.returncode == 3
    first = messages_besides_progress(done.stderr)[0]
    assert first.startswith(f"Stopped: sender problem: 127.0.0.1:{server.port}: authentication failed (535 5.7.8")
    assert "wrong" not in done.stderr and PASSWORD not in done.stderr
    assert server.messages == []


def test_cli_send_with_a_wrong_password_in_korean(project: Path, server: SmtpTestServer, dkim_key: str) -> None:
    point_at(project, server)
    done = webzine_send(project, dkim_key, password="wrong", lang="ko")
    assert done.returncode == 3
    lines = [line for line in done.stderr.splitlines() if not re.match(r"\S+ 발송 중: [\d,]+/[\d,]+\(\d+%\)", line)]
    assert lines[0] == (f"멈춤: 발신자 문제: 127.0.0.1:{server.port}: 인증에 실패했습니다(535 5.7.8 Authentication "
                        "credentials invalid).")
    assert server.messages == []


def test_cli_send_to_a_server_with_the_wrong_certificate_exits_3(project: Path, tmp_path: Path, dkim_key: str) -> None:
    other = TestCertificate.create(tmp_path / "other-tls", hosts=("mail.example.net",))
    with SmtpTestServer(certificate=other, users={"news": PASSWORD}) as server:
        point_at(project, server)
        done = webzine_send(project, dkim_key)
        assert server.messages == []
    assert done.returncode == 3
    assert messages_besides_progress(done.stderr)[0].startswith(
        f"Stopped: sender problem: 127.0.0.1:{server.port}: the server's TLS certificate is not trusted "
        "(IP address mismatch, certificate is not valid for '127.0.0.1')"
    )
