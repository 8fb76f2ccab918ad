"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with STARTTLS, AUTH and injected faults.

Reusable by any test that needs to watch what an SMTP client really sends::

    from smtp_server import Fault, SmtpTestServer, TestCertificate   # tests/ is on sys.path

    cert = TestCertificate.create(tmp_path)                     # throw-away CA + server certificate
    with SmtpTestServer(tls="starttls", certificate=cert, users={"news": "pw"}) as server:
        ...  # point the client at server.host, server.port, server.ca_file
        server.faults.add(Fault("rcpt", reply="550 5.1.1 no such user", match="ghost@"))
        ...
    assert [m.rcpt_tos for m in server.messages] == [("a@example.com",)]

- `tls`: "starttls" (offered, and required before MAIL and AUTH), "tls" (implicit, like port
  465) or "none" (plaintext; AUTH then allowed in the clear, as on a loopback relay).
- `users`: login → password for AUTH PLAIN/LOGIN; when given, AUTH is required before MAIL.
  `exclude_auth=("PLAIN",)` leaves only LOGIN.
- `pipelining`: announce PIPELINING (aiosmtpd reads commands as a stream, so it works).
- `server.messages`: every accepted message (`Received`), in order; `server.sessions`: number of
  connections seen; `server.faults.fired`: every fault that fired, as (stage, address, what).
- Faults (`server.faults`): scripted (`add(Fault(...))`) or random (`random(rate, replies,
  seed=)`). Stages: "ehlo" (matched against the EHLO name), "mail", "rcpt", "message" (after the
  whole message arrived; matched against the recipients). Actions: "reply" (answer with `reply`; a 421 also closes the connection),
  "drop" (close the connection without answering; at "message" the message is discarded), "hang"
  (stop answering for `hang` seconds) and "accept_then_drop" (at "message": store the message,
  then close without answering — the server accepted, the client cannot know).

The server runs in aiosmtpd's thread; `stop()` (or leaving the `with`) cancels hung handlers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import random
import socket
import ssl
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Stage = Literal["ehlo", "mail", "rcpt", "message"]
Action = Literal["reply", "drop", "hang", "accept_then_drop"]


@dataclass(frozen=True)
class TestCertificate:
    """A throw-away CA and a server certificate it signed, as PEM files in a folder."""

    __test__ = False  # not a pytest test class

    ca_file: Path  # give this to the client as its CA file
    cert_file: Path
    key_file: Path

    @classmethod
    def create(cls, directory: Path, hosts: Sequence[str] = ("localhost", "127.0.0.1")) -> "TestCertificate":
        """Names in `hosts` go into subjectAltName (IP addresses as IP entries)."""
        directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webzine test CA")])
        ca_cert = (
            _builder(ca_name, ca_name, ca_key, now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
        cert = (
            _builder(subject, ca_name, key, now)
            .add_extension(x509.SubjectAlternativeName([_san(host) for host in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        paths = cls(directory / "ca.pem", directory / "server.pem", directory / "server.key")
        paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths.key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return paths

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, now: dt.datetime):
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


@dataclass(frozen=True)
class Received:
    """One message the server accepted (replied 250 to), exactly as it arrived."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # after DATA, un-dot-stuffed, CRLF line ends
    mail_options: tuple[str, ...]
    session: int  # connection number, from 1
    tls: bool
    login: str | None  # the AUTH login, None when not authenticated

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the strict modern policy (headers decoded)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Fault:
    stage: Stage
    action: Action = "reply"
    reply: str = "451 4.3.0 injected temporary failure"
    match: str | None = None  # fires only when the recipient (sender, at "mail") contains this
    times: int | None = 1  # how often it fires; None: every time
    hang: float = 30.0  # seconds, for "hang"


@dataclass
class Faults:
    """The fault plan, shared between the test and the server thread."""

    rules: list[Fault] = field(default_factory=list)
    fired: list[tuple[Stage, str, str]] = field(default_factory=list)  # (stage, address, action/reply)
    _random: tuple[float, tuple[str, ...], frozenset[str], random.Random] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.rules.append(fault)
        return fault

    def random(
        self, rate: float, replies: Iterable[str], *, seed: int = 0, stages: Iterable[Stage] = ("rcpt", "message")
    ) -> None:
        """At each listed stage, with probability `rate`, answer with one of `replies`."""
        with self._lock:
            self._random = (rate, tuple(replies), frozenset(stages), random.Random(seed))

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self._random = None

    def take(self, stage: Stage, address: str) -> Fault | None:
        with self._lock:
            for rule in self.rules:
                if rule.stage == stage and (rule.match is None or rule.match in address):
                    if rule.times is not None:
                        if rule.times <= 0:
                            continue
                        rule.times -= 1
                    self.fired.append((stage, address, rule.reply if rule.action == "reply" else rule.action))
                    return rule
            if self._random is not None:
                rate, replies, stages, rng = self._random
                if stage in stages and rng.random() < rate:
                    reply = rng.choice(replies)
                    self.fired.append((stage, address, reply))
                    return Fault(stage, "reply", reply)
        return None


class _Handler:
    """aiosmtpd hooks: record what arrives, or misbehave as the fault plan says."""

    def __init__(self, server: "SmtpTestServer") -> None:
        self._server = server

    async def handle_EHLO(self, smtp: SMTP, session: Session, envelope: Envelope, hostname: str, responses):
        session.host_name = hostname
        fault = await self._fault(smtp, "ehlo", hostname)
        if fault is not None:
            return [fault]  # the whole EHLO answer
        if self._server.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options):
        fault = await self._fault(smtp, "mail", address)
        if fault is not None:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options):
        fault = await self._fault(smtp, "rcpt", address)
        if fault is not None:
            return fault
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope):
        fault = self._server.faults.take("message", ",".join(envelope.rcpt_tos))
        if fault is not None and fault.action != "accept_then_drop":
            return await self._act(smtp, fault)
        number = self._server._record(envelope, session, getattr(smtp, "session_number", 0))
        if fault is not None:
            _drop(smtp)
            return "421 4.4.2 dropped after accepting"
        return f"250 2.0.0 Ok: queued as TEST{number:05d}"

    async def _fault(self, smtp: SMTP, stage: Stage, address: str) -> str | None:
        """The reply to send instead of the normal one, if the plan says so."""
        fault = self._server.faults.take(stage, address)
        return None if fault is None else await self._act(smtp, fault)

    async def _act(self, smtp: SMTP, fault: Fault) -> str:
        if fault.action == "hang":
            await asyncio.sleep(fault.hang)
            return "451 4.4.2 woke up too late"
        if fault.action == "reply":
            if fault.reply.startswith("421"):
                smtp.loop.call_soon(_drop, smtp)  # after the reply is written
            return fault.reply
        _drop(smtp)  # "drop", or "accept_then_drop" before the message
        return "421 4.4.2 dropped"


def _drop(smtp: SMTP) -> None:
    if smtp.transport is not None:
        smtp.transport.abort()


class _CountingSMTP(SMTP):
    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        if self._original_transport is None:  # not the second call after STARTTLS
            self.server_owner._count_session(self)
        super().connection_made(transport)


class _Controller(Controller):
    def __init__(self, owner: "SmtpTestServer", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(_Handler(owner), **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        smtp = _CountingSMTP(self.handler, **self.SMTP_kwargs)
        smtp.server_owner = self._owner  # type: ignore[attr-defined]
        return smtp


class SmtpTestServer:
    """aiosmtpd on 127.0.0.1 and a free port, in its own thread; a context manager."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        tls: Literal["starttls", "tls", "none"] = "starttls",
        certificate: TestCertificate | None = None,
        users: dict[str, str] | None = None,
        pipelining: bool = True,
        smtputf8: bool = True,
        data_size_limit: int = 33554432,
        timeout: float = 30,
        exclude_auth: Sequence[str] = (),
    ) -> None:
        if tls != "none" and certificate is None:
            raise ValueError("a TLS server needs a TestCertificate")
        self.tls = tls
        self.certificate = certificate
        self.users = dict(users or {})
        self.pipelining = pipelining
        self.faults = Faults()
        self.messages: list[Received] = []
        self.sessions = 0
        self.port = 0
        self._lock = threading.Lock()
        self._kwargs = dict(
            enable_SMTPUTF8=smtputf8,
            data_size_limit=data_size_limit,
            timeout=timeout,
            decode_data=False,
            auth_required=bool(self.users),
            auth_require_tls=tls == "starttls",  # aiosmtpd cannot tell implicit TLS apart
            require_starttls=tls == "starttls",
            authenticator=self._authenticate if self.users else None,
            auth_exclude_mechanism=list(exclude_auth),
        )
        self._controller: _Controller | None = None

    @property
    def ca_file(self) -> Path | None:
        return self.certificate.ca_file if self.certificate else None

    def start(self) -> "SmtpTestServer":
        context = self.certificate.server_context() if self.certificate else None
        kwargs = dict(self._kwargs)
        if self.tls == "starttls":
            kwargs["tls_context"] = context
        elif self.tls == "tls":
            kwargs["ssl_context"] = context
        self.port = _free_port()
        self._controller = _Controller(self, hostname=self.host, port=self.port, ready_timeout=10, **kwargs)
        self._controller.start()
        with self._lock:
            self.sessions = 0  # the controller's own readiness probe is not a client
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SmtpTestServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _authenticate(self, smtp, session, envelope, mechanism, data) -> AuthResult:  # type: ignore[no-untyped-def]
        ok = isinstance(data, LoginPassword) and self.users.get(
            data.login.decode("utf-8", "replace")
        ) == data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False, auth_data=data)

    def _count_session(self, smtp: SMTP) -> None:
        with self._lock:
            self.sessions += 1
            smtp.session_number = self.sessions  # type: ignore[attr-defined]

    def _record(self, envelope: Envelope, session: Session, number: int) -> int:
        auth = session.auth_data
        login = auth.login.decode("utf-8", "replace") if isinstance(auth, LoginPassword) else None
        with self._lock:
            self.messages.append(
                Received(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=bytes(envelope.original_content or b""),
                    mail_options=tuple(envelope.mail_options),
                    session=number,
                    tls=session.ssl is not None or self.tls == "tls",
                    login=login,
                )
            )
            return len(self.messages)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
