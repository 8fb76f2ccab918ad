"""Secrets a server echoes never reach the ledger, the terminal or `--json`.

The end-to-end tests run `webzine send` against a real aiosmtpd relay on 127.0.0.1 that, after a
successful login, quotes the AUTH PLAIN string, the AUTH LOGIN password and the password itself in
its later replies (and sends terminal escape sequences with them)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_samples import messages
from clikit import set_send
from conftest import cli_environment
from sendkit import sample_project
from smtp_server import Fault, SmtpTestServer, TestCertificate

from webzine.config import load_settings
from webzine.errors import SenderProblem, TransportError
from webzine.models import Delivery, Outcome
from webzine.transports.redact import MASK, Redactor, traces
from webzine.providers.sendgrid import SendGridTransport

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parent.parent
WEBZINE = str(Path(sys.executable).parent / "webzine")
ISSUE = "issues/2026-12-year-end.md"
USER = "news"
PASSWORD = "Echo-Pa55word-never-stored"
UNSUBSCRIBE_SECRET = "cli-smtp-unsubscribe-secret-42"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


AUTH_PLAIN = b64(f"\0{USER}\0{PASSWORD}".encode())
AUTH_LOGIN = b64(PASSWORD.encode())


# -- the redactor on its own --------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [b"", b"x", b"xy", b"\0us", b"\0user\0"])
def test_a_password_embedded_in_longer_base64_is_found_at_every_alignment(prefix: bytes) -> None:
    echoed = b64(prefix + PASSWORD.encode() + b"\0trailing")
    redacted = Redactor([PASSWORD])(f"535 5.7.8 you sent {echoed}")
    assert MASK in redacted
    # What is left of the encoded password is at most the two groups it shares with its neighbours.
    left = redacted.removeprefix("535 5.7.8 you sent ").replace(MASK, "")
    assert len(left) <= len(b64(prefix)) + len(b64(b"\0trailing")) + 8
    assert PASSWORD not in base64.b64decode(left + "=" * (-len(left) % 4), validate=False).decode("latin-1")


@pytest.mark.parametrize(
    "echo",
    [PASSWORD, AUTH_PLAIN, AUTH_LOGIN, AUTH_LOGIN.rstrip("="), json.dumps(PASSWORD + '"')[1:-3],
     f"AUTH PLAIN {AUTH_PLAIN}", b64(f"api:{PASSWORD}".encode())],
    ids=["plain", "auth-plain", "auth-login", "auth-login-unpadded", "json", "command", "basic-auth"],
)
def test_every_form_of_the_password_is_masked(echo: str) -> None:
    redactor = Redactor([PASSWORD, f"\0{USER}\0{PASSWORD}"])
    text = redactor(f"250 2.0.0 you said: {echo} ok")
    assert PASSWORD not in text and AUTH_PLAIN not in text and AUTH_LOGIN.rstrip("=") not in text
    assert text.startswith("250 2.0.0 you said: ") and text.endswith(" ok")


def test_short_secrets_and_unrelated_text_are_left_alone() -> None:
    assert Redactor(["t"])("the text stays") == "the text stays"
    assert Redactor([PASSWORD])("250 2.0.0 Ok: queued as 4Q8ZxL0kQz") == "250 2.0.0 Ok: queued as 4Q8ZxL0kQz"
    assert Redactor()("anything") == "anything"


def test_traces_cover_the_three_alignments() -> None:
    found = traces("abcdefghijkl")
    for prefix in (b"", b"Q", b"QQ"):
        encoded = b64(prefix + b"abcdefghijkl" + b"ZZ")
        assert any(trace in encoded for trace in found - {"abcdefghijkl"})


def test_settings_name_every_secret(tmp_path: Path) -> None:
    (tmp_path / "webzine.toml").write_text((ROOT / "webzine.toml").read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings(tmp_path / "webzine.toml")
    environ = {"WEBZINE_SMTP_USERNAME": USER, "WEBZINE_SMTP_PASSWORD": PASSWORD, "SENDGRID_API_KEY": "SG.sendgrid-key-1",
               "MAILGUN_API_KEY": "key-mailgun-2", "POSTMARK_SERVER_TOKEN": "postmark-token-3",
               "AWS_SECRET_ACCESS_KEY": "aws-secret-4", "WEBZINE_UNSUBSCRIBE_SECRET": UNSUBSCRIBE_SECRET}  # fmt: skip
    redactor = Redactor.from_settings(settings, environ)
    said = " ".join([AUTH_PLAIN, *list(environ.values())[1:], b64(b"api:key-mailgun-2")])
    assert redactor(said).replace(MASK, "").strip() == ""


def test_a_transport_redacts_its_deliveries_and_its_errors() -> None:
    key = "SG.very-secret-sendgrid-key"

    def answer(request: httpx.Request) -> httpx.Response:
        if b"user1@example.com" in request.content:
            return httpx.Response(401, json={"errors": [{"message": f"bad key {key}"}]})
        return httpx.Response(400, json={"errors": [{"message": f"you sent {b64(key.encode())}", "field": "x"}]})

    transport = SendGridTransport(httpx.Client(base_url="https://api.sendgrid.test",
                                               transport=httpx.MockTransport(answer)), api_key=key)
    first, second = messages(2)
    refused = transport.send(first)
    assert refused.outcome is Outcome.PERMANENT and key not in refused.text and MASK in refused.text
    with pytest.raises(SenderProblem) as raised:
        transport.send(second)
    assert key not in str(raised.value) and MASK in str(raised.value)


def test_redacting_an_exception_reaches_its_causes() -> None:
    try:
        try:
            raise OSError(f"socket said {PASSWORD}")
        except OSError as exc:
            raise TransportError(f"relay said {AUTH_PLAIN}", hint=f"not {PASSWORD}") from exc
    except TransportError as error:
        Redactor([PASSWORD, f"\0{USER}\0{PASSWORD}"]).scrub(error)
        assert PASSWORD not in error.message + (error.hint or "") + str(error) + str(error.__cause__)
        assert AUTH_PLAIN not in str(error)


def test_a_delivery_keeps_its_outcome() -> None:
    delivery = Delivery(Outcome.PERMANENT, 550, "5.1.1", f"550 5.1.1 {PASSWORD}", provider_id=PASSWORD)
    redacted = Redactor([PASSWORD]).delivery(delivery)
    assert (redacted.outcome, redacted.code, redacted.status) == (Outcome.PERMANENT, 550, "5.1.1")
    assert redacted.text == f"550 5.1.1 {MASK}" and redacted.provider_id == MASK


# -- end to end: a relay that echoes the login ------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return TestCertificate.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def dkim_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return sample_project(tmp_path)


@pytest.fixture
def echoing(certificate: TestCertificate):
    """A relay that, once logged in, quotes the login back in its replies to several recipients."""
    with SmtpTestServer(certificate=certificate, users={USER: PASSWORD}) as server:
        escape = "\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J"
        for match, stage, reply in [
            ("jihye.park@", "rcpt", f"550 5.1.1 {escape}[bold]no such user[/bold], you are AUTH PLAIN {AUTH_PLAIN}"),
            ("kim.gapsu@", "rcpt", f"451 4.3.0 busy; your login was {AUTH_LOGIN}"),
            ("cheol.lee@", "message", f"550 5.6.0 message refused for {USER}:{PASSWORD}"),
            ("@", "message", f"250 2.0.0 Ok: queued as Q1 (auth {AUTH_PLAIN})"),
        ]:
            server.faults.add(Fault(stage, reply=reply, match=match, times=None))  # type: ignore[arg-type]
        yield server


def point_at(project: Path, server: SmtpTestServer) -> None:
    text = (project / "webzine.toml").read_text(encoding="utf-8")
    head, _, rest = text.partition("\n[smtp]")
    tail = rest[rest.index("\n[") :] if "\n[" in rest else ""
    smtp = (f'\n[smtp]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "starttls"\n'
            f'ca_file = "{server.ca_file}"\ntimeout = 2\nconnect_timeout = 2\nconnections = 2\n')  # fmt: skip
    (project / "webzine.toml").write_text(head + smtp + tail, encoding="utf-8")
    # One retry of the deferred recipient shows its echo redacted on the retry path too; the default
    # five attempts only wait out about 20 s more of backoff, and the sample's pace of 20 a second 2 s.
    set_send(project, max_attempts=2, rate=1000)


def webzine(project: Path, dkim: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    environment = cli_environment(WEBZINE_UNSUBSCRIBE_SECRET=UNSUBSCRIBE_SECRET, WEBZINE_SMTP_USERNAME=USER,
                                  WEBZINE_SMTP_PASSWORD=PASSWORD, WEBZINE_DKIM_PRIVATE_KEY=dkim, COLUMNS="200")  # fmt: skip
    return subprocess.run([WEBZINE, *args], cwd=project, env=environment, capture_output=True, timeout=150)


def leaks(data: bytes) -> list[str]:
    """Which traces of the password (or the unsubscribe secret) are in `data`."""
    needles = {PASSWORD, AUTH_PLAIN, AUTH_LOGIN.rstrip("="), UNSUBSCRIBE_SECRET}
    return [needle for needle in needles if needle.encode() in data]


def ledger_bytes(project: Path) -> bytes:
    return b"".join(path.read_bytes() for path in (project / "state").glob("ledger.sqlite3*"))


@pytest.mark.slow
def test_a_relay_echoing_the_login_leaks_it_nowhere(project: Path, echoing: SmtpTestServer, dkim_key: str) -> None:
    point_at(project, echoing)
    done = webzine(project, dkim_key, "send", ISSUE, "--transport", "smtp", "--yes")
    assert done.returncode in (0, 1, 3), done.stderr.decode()
    assert [stage for stage, _, _ in echoing.faults.fired].count("rcpt") >= 2  # the echoes were sent
    assert [address for _, address, _ in echoing.faults.fired].count("kim.gapsu@example.co.kr") == 2  # and retried
    assert leaks(done.stdout) == [] and leaks(done.stderr) == []
    assert leaks(ledger_bytes(project)) == []
    assert b"\x1b" not in done.stdout and b"\x07" not in done.stdout
    assert "jihye.park@example.com: 550 5.1.1 RCPT TO: 550 5.1.1 [bold]no such user[/bold], you are AUTH PLAIN ***" \
        in done.stdout.decode()
    status = webzine(project, dkim_key, "status", "--json")
    assert status.returncode == 0, status.stderr.decode()
    assert leaks(status.stdout) == [] and leaks(status.stderr) == []


@pytest.mark.slow
def test_a_relay_echoing_the_login_leaks_nothing_into_json(project: Path, echoing: SmtpTestServer,
                                                          dkim_key: str) -> None:
    point_at(project, echoing)
    done = webzine(project, dkim_key, "send", ISSUE, "--transport", "smtp", "--yes", "--json")
    summary = json.loads(done.stdout)
    assert summary["failed"] >= 1 and summary["accepted"] >= 1
    assert leaks(done.stdout) == [] and leaks(done.stderr) == []
    assert leaks(ledger_bytes(project)) == []
    failure = next(p for p in summary["failures"] if p["email"] == "jihye.park@example.com")
    assert failure["text"].startswith("RCPT TO: 550 5.1.1 \x1b]0;pwned\x07")  # JSON stays exact
    assert MASK in failure["text"]
