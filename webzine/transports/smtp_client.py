"""A small blocking SMTP client for one job: many messages over few connections, fast and exact.

Why not smtplib: it waits for a reply after every command (four round trips per message where
PIPELINING needs two), re-quotes the whole message with a regular expression on every send, and
its exceptions do not say whether the end of the message had already left when a connection broke.
Here a transaction is `RSET` + `MAIL` + `RCPT` + `DATA` in one write (RFC 2920), then the
dot-stuffed body in one more; every reply has its own deadline; and a broken connection reports
whether the terminating `.` had been handed to the network (`committed`: the server may have
accepted the message) or not (nothing was delivered, a retry is safe).

Session set-up failures are the run's fate and raise `TransportError` / `SenderProblem` naming
`host:port`; transaction replies are returned as they are, for the transport to judge.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from webzine.errors import SenderProblem, TransportError
from webzine.i18n import _
from webzine.transports.redact import Redactor

Security = Literal["starttls", "tls", "none"]

CHUNK = 32768  # bytes of message per write
_QUIT_TIMEOUT = 3.0  # seconds; nothing depends on the answer to QUIT
_DOT_VISITS = 64  # dots looked at one by one in a piece; more: C-speed passes
_MAX_LINE = 4096  # RFC 5321 allows 512 octets per reply line; be lenient, never unbounded
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")


class Stage(StrEnum):
    """Where in the transaction a reply came from; shown in the ledger's reason text."""

    RSET = "RSET"
    MAIL = "MAIL FROM"
    RCPT = "RCPT TO"
    DATA = "DATA"
    END = "end of DATA"


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    lines: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """All lines of the reply, joined by a space."""
        return " ".join(line for line in self.lines if line)

    @property
    def status(self) -> str | None:
        """The enhanced status code (RFC 3463), when the reply starts with one of its class."""
        match = _ENHANCED.match(self.text)
        if match is None or match.group(1) != str(self.code)[0]:
            return None
        return match.group(0)

    def __str__(self) -> str:
        return f"{self.code} {self.text}".rstrip()


class ConnectionLost(Exception):
    """The connection broke or a reply did not come in time.

    `committed` is True only when the whole message including its terminating `.` had been
    handed to the network before the break: the server may then have accepted it."""

    def __init__(self, reason: str, *, committed: bool = False, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.committed = committed
        self.timed_out = timed_out


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    security: Security
    timeout: float  # for each reply, and for writing one command or message
    connect_timeout: float
    helo: str  # EHLO name; empty: the local address literal
    ca_file: str = ""

    @property
    def peer(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def redact(self, text: str) -> str:
        """Remove the password (plain or in any AUTH encoding) from a server's words."""
        return Redactor((self.password, f"\0{self.username}\0{self.password}"))(text)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """Verify the certificate chain and the host name; TLS 1.2 at least."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def prepare_payload(data: bytes) -> bytes:
    """The message as it goes after DATA: dot-stuffed, with the final `.` line."""
    return b"".join(payload_chunks(data))


def payload_chunks(data: bytes, size: int = CHUNK) -> Iterator[bytes]:
    """`prepare_payload` in pieces of about `size` bytes, each cut just after a CRLF, so the
    server reads one piece while the next is stuffed (on two cores they overlap)."""
    start, end = 0, len(data)
    while True:
        stop = end
        if end - start > size:
            cut = data.rfind(b"\r\n", start, start + size)
            stop = cut + 2 if cut > start else end  # a line longer than a piece: the rest at once
        piece = stuff(data[start:stop])
        if stop == end:
            if not piece.endswith(b"\r\n"):  # the last line needs its CRLF (a bare one becomes it)
                piece = (piece[:-1] if piece.endswith((b"\r", b"\n")) else piece) + b"\r\n"
            yield piece + b".\r\n"
            return
        yield piece
        start = stop


def stuff(piece: bytes) -> bytes:
    """`piece` (which starts a line) with a dot added before every dot that starts a line.

    Line ends are the message builder's job (`webzine.message.factory` writes CRLF only); what the
    transport guarantees is that no server, however lenient, sees the end of the data before
    ours. The shapes of SMTP smuggling all put a dot right after a bare CR or LF
    (`<LF>.<CR><LF>`, `<CR>.<CR>` …); a piece with one is normalised to CRLF first.

    Built messages are base64 with a handful of dots, so the dots are visited one by one
    (`find` is memchr): no pass over the 120 KB copies or counts anything. Dense text takes
    three C-speed passes instead."""
    scan = _scan_dots(piece)
    if scan is None:
        if b"\r." in piece or piece.count(b"\n.") != piece.count(b"\r\n."):
            piece = _LINE_BREAK.sub(b"\r\n", piece)
        stuffed = piece.replace(b"\r\n.", b"\r\n..")
        return b"." + stuffed if piece.startswith(b".") else stuffed
    starts, smuggling = scan
    if smuggling:
        return stuff(_LINE_BREAK.sub(b"\r\n", piece))  # no bare CR or LF is left: no second round
    if not starts:
        return piece
    bounds = [0, *starts, len(piece)]
    return b".".join(piece[a:b] for a, b in zip(bounds, bounds[1:]))


def _scan_dots(piece: bytes) -> tuple[list[int], bool] | None:
    """Offsets of the dots that start a line, and whether a dot follows a bare CR or LF; None
    when there are too many dots to visit one by one."""
    starts: list[int] = []
    smuggling = False
    found = piece.find(b".")
    for __ in range(_DOT_VISITS):
        if found < 0:
            return starts, smuggling
        before = (b"\r\n" + piece[max(0, found - 2) : found])[-2:]  # a piece starts after a CRLF
        if before == b"\r\n":
            starts.append(found)
        elif before[1:] in (b"\r", b"\n"):
            smuggling = True
        found = piece.find(b".", found + 1)
    return None if found >= 0 else (starts, smuggling)


class SmtpConnection:
    """One authenticated SMTP session. Not thread-safe: the pool lends it to one thread at a time."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self.endpoint = endpoint
        self.extensions: dict[str, str] = {}
        self.transactions = 0
        self.alive = True

    # -- set-up -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, endpoint: Endpoint, credentials: Credentials | None, context: ssl.SSLContext | None
    ) -> "SmtpConnection":
        """Connect, greet, secure and authenticate, or raise a one-sentence error naming host:port."""
        peer = endpoint.peer
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), endpoint.connect_timeout)
        except OSError as exc:
            raise TransportError(
                _("{peer}: cannot connect ({reason}).").format(peer=peer, reason=_reason(exc)),
                hint=_("check [smtp] host and port and that the server is reachable; re-running resumes."),
            ) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = cls(sock, endpoint)
        try:
            if endpoint.security == "tls":
                connection._wrap(_require(context))
            connection._handshake(credentials, context)
        except BaseException:
            connection.close()
            raise
        return connection

    def _handshake(self, credentials: Credentials | None, context: ssl.SSLContext | None) -> None:
        greeting = self._expect_reply("the greeting")
        if greeting.code != 220:
            raise _session_error(self.endpoint, "", greeting)
        self._ehlo()
        if self.endpoint.security == "starttls":
            if "STARTTLS" not in self.extensions:
                raise SenderProblem(
                    _("{peer}: the server does not offer STARTTLS, and webzine does not "
                      "send credentials or mail in the clear.").format(peer=self.endpoint.peer),
                    hint=_("use the server's submission port (587) or security = \"tls\" on port 465."),
                )
            reply = self._command_reply(b"STARTTLS\r\n", "STARTTLS")
            if reply.code != 220:
                raise _session_error(self.endpoint, "STARTTLS", reply)
            if self._buffer:
                # Anything the server sent before the handshake would be trusted after it
                # (CVE-2011-0411, command injection): refuse the session.
                raise SenderProblem(_("{peer}: the server sent data before the TLS handshake.").format(peer=self.endpoint.peer))
            self._wrap(_require(context))
            self._ehlo()
        if credentials is not None:
            self._authenticate(credentials)

    def _wrap(self, context: ssl.SSLContext) -> None:
        peer = self.endpoint.peer
        self._sock.settimeout(self.endpoint.connect_timeout)
        try:
            self._sock = context.wrap_socket(self._sock, server_hostname=self.endpoint.host)
        except ssl.SSLCertVerificationError as exc:
            raise SenderProblem(
                _("{peer}: the server's TLS certificate is not trusted ({reason}).").format(
                    peer=peer, reason=str(exc.verify_message).rstrip(".")),
                hint=_("set [smtp] host to the name on the certificate, or ca_file to the CA that signed it."),
            ) from exc
        except (ssl.SSLError, OSError) as exc:
            raise SenderProblem(
                _("{peer}: the TLS handshake failed ({reason}).").format(peer=peer, reason=_reason(exc)),
                hint=_("port 465 uses security = \"tls\", port 587 uses \"starttls\"."),
            ) from exc

    def _ehlo(self) -> None:
        name = self.endpoint.helo or _address_literal(self._sock)
        reply = self._command_reply(f"EHLO {name}\r\n".encode("ascii"), "EHLO")
        if reply.code != 250:
            raise _session_error(self.endpoint, "EHLO", reply)
        self.extensions = _parse_extensions(reply)

    def _authenticate(self, credentials: Credentials) -> None:
        peer = self.endpoint.peer
        offered = self.extensions.get("AUTH", "").upper().split()
        if "PLAIN" in offered:
            token = _b64(f"\0{credentials.username}\0{credentials.password}")
            reply = self._command_reply(f"AUTH PLAIN {token}\r\n".encode("ascii"), "AUTH")
        elif "LOGIN" in offered:
            reply = self._command_reply(b"AUTH LOGIN\r\n", "AUTH")
            for secret in (credentials.username, credentials.password):
                if reply.code != 334:
                    break
                reply = self._command_reply(f"{_b64(secret)}\r\n".encode("ascii"), "AUTH")
        else:
            text = (_("{peer}: the server offers no AUTH PLAIN or LOGIN over TLS.") if self.endpoint.security != "none"
                    else _("{peer}: the server offers no AUTH PLAIN or LOGIN."))
            raise SenderProblem(
                text.format(peer=peer),
                hint=_("unset the username variable if this relay does not need a login."),
            )
        if reply.code == 334:  # the server wants more than we have: cancel (RFC 4954)
            reply = self._command_reply(b"*\r\n", "AUTH")
        if reply.code != 235:
            said = credentials.redact(str(reply))
            error = SenderProblem if reply.code >= 500 else TransportError
            raise error(
                _("{peer}: authentication failed ({reply}).").format(peer=peer, reply=said),
                hint=_("check the username and password environment variables named in [smtp]."),
            )

    # -- transactions ---------------------------------------------------------------------------

    def transaction(
        self, mail_from: bytes, rcpt_to: bytes, data: bytes, *, rset: bool
    ) -> tuple[Stage, Reply]:
        """One message: returns the stage that decided and its reply (`END` + 250 is success).

        `mail_from` / `rcpt_to` are complete command lines; `data` is the message. With
        PIPELINING the envelope leaves first and the first piece of the message is stuffed while
        the server answers; each later piece while the server reads the one before.
        Raises `ConnectionLost`."""
        self.transactions += 1
        commands = [(Stage.RSET, b"RSET\r\n")] if rset else []
        commands += [(Stage.MAIL, mail_from), (Stage.RCPT, rcpt_to), (Stage.DATA, b"DATA\r\n")]
        pieces = payload_chunks(data)
        if "PIPELINING" in self.extensions:
            self._write(b"".join(line for __, line in commands), committed=False)
            first = next(pieces)  # stuffed while the server answers the envelope
            replies = []
            for stage, __ in commands:
                replies.append((stage, self._read_reply(committed=False)))
                if replies[-1][1].code == 421:
                    break  # the server is closing: no more replies will come
        else:
            first = next(pieces)
            replies = []
            for stage, line in commands:
                self._write(line, committed=False)
                replies.append((stage, self._read_reply(committed=False)))
                if not _positive(stage, replies[-1][1]):
                    break
        failed = next(((stage, reply) for stage, reply in replies if not _positive(stage, reply)), None)
        if failed is not None:
            self._abandon_data(replies)
            return failed
        piece = first
        for following in pieces:  # each piece is sent before the next one is stuffed
            self._write(piece, committed=False)
            piece = following
        self._write(piece, committed=False)  # the last piece ends with "." — after it, the fate is the server's
        return Stage.END, self._read_reply(committed=True)

    def _abandon_data(self, replies: list[tuple[Stage, Reply]]) -> None:
        """A server that said 354 although MAIL or RCPT failed gets an empty message (RFC 2920)."""
        if replies and replies[-1][0] is Stage.DATA and replies[-1][1].code == 354:
            self._write(b".\r\n", committed=False)
            self._read_reply(committed=False)
        if any(reply.code == 421 for __, reply in replies):
            self.close()

    def quit(self) -> None:
        """Say goodbye politely; a server that does not answer within a few seconds is closed anyway."""
        if self.alive:
            try:
                self._write(b"QUIT\r\n", committed=False)
                self._read_reply(committed=False, timeout=min(self.endpoint.timeout, _QUIT_TIMEOUT))
            except ConnectionLost:
                pass
        self.close()

    def close(self) -> None:
        self.alive = False
        try:
            self._sock.close()
        except OSError:
            pass

    # -- the wire -------------------------------------------------------------------------------

    def _write(self, data: bytes, *, committed: bool) -> None:
        self._sock.settimeout(self.endpoint.timeout)
        try:
            self._sock.sendall(data)
        except TimeoutError as exc:
            self.close()
            raise ConnectionLost(_("timed out while writing"), committed=committed, timed_out=True) from exc
        except OSError as exc:
            self.close()
            raise ConnectionLost(_reason(exc), committed=committed) from exc

    def _read_reply(self, *, committed: bool, timeout: float | None = None) -> Reply:
        limit = timeout or self.endpoint.timeout
        deadline = time.monotonic() + limit
        code, lines = None, []
        while True:
            line = self._read_line(deadline, limit, committed)
            if len(line) < 3 or not line[:3].isdigit() or (code is not None and int(line[:3]) != code):
                self.close()
                raise ConnectionLost(_("not an SMTP reply: {line}").format(line=repr(line[:80])), committed=committed)
            code = int(line[:3])
            lines.append(line[4:].decode("utf-8", "replace").strip())
            if line[3:4] != b"-":
                reply = Reply(code, tuple(lines))
                if code == 421:  # the server is closing the session (RFC 5321 3.8)
                    self.close()
                return reply

    def _read_line(self, deadline: float, limit: float, committed: bool) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1]).rstrip(b"\r\n")
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > _MAX_LINE:
                self.close()
                raise ConnectionLost(_("a reply line is too long"), committed=committed)
            if not self.alive:
                raise ConnectionLost(_("the connection is already closed"), committed=committed)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise ConnectionLost(_("no reply within {seconds:g} s").format(seconds=limit), committed=committed, timed_out=True)
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue  # the deadline check above turns this into ConnectionLost
            except OSError as exc:
                self.close()
                raise ConnectionLost(_reason(exc), committed=committed) from exc
            if not chunk:
                self.close()
                raise ConnectionLost(_("the server closed the connection"), committed=committed)
            self._buffer += chunk

    def _expect_reply(self, what: str) -> Reply:
        """A set-up reply: a broken connection here is the run's problem, not a message's."""
        try:
            return self._read_reply(committed=False)
        except ConnectionLost as exc:
            raise TransportError(
                _("{peer}: no answer to {command} ({reason}).").format(peer=self.endpoint.peer, command=what, reason=exc.reason)
            ) from exc

    def _command_reply(self, line: bytes, what: str) -> Reply:
        try:
            self._write(line, committed=False)
        except ConnectionLost as exc:
            raise TransportError(
                _("{peer}: the connection broke during {command} ({reason}).").format(
                    peer=self.endpoint.peer, command=what, reason=exc.reason)
            ) from exc
        return self._expect_reply(what)


def _positive(stage: Stage, reply: Reply) -> bool:
    return reply.code == 354 if stage is Stage.DATA else 200 <= reply.code < 300


def _parse_extensions(reply: Reply) -> dict[str, str]:
    """EHLO keywords (upper case) → their parameters; the first line is the greeting."""
    extensions = {}
    for line in reply.lines[1:]:
        keyword, __, parameters = line.partition(" ")
        extensions[keyword.upper()] = parameters.strip()
    return extensions


def _require(context: ssl.SSLContext | None) -> ssl.SSLContext:
    if context is None:
        raise ValueError("a TLS context is required for this security mode")
    return context


def _address_literal(sock: socket.socket) -> str:
    host = sock.getsockname()[0]
    return f"[IPv6:{host}]" if ":" in host else f"[{host}]"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    if isinstance(exc, TimeoutError | socket.timeout):
        return _("timed out")
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.rstrip(".")


def _session_error(endpoint: Endpoint, command: str, reply: Reply) -> TransportError:
    """5.7.x or a 5xx refusal of the session (`command` "" is the greeting) is for the sender to fix;
    4xx is for later."""
    if reply.code >= 500:
        text = _("{peer}: the server refused {command} ({reply}).") if command else _(
            "{peer}: the server refused the session ({reply}).")
        return SenderProblem(text.format(peer=endpoint.peer, command=command, reply=reply))
    text = _("{peer}: the server refused {command} ({reply}); try again later.") if command else _(
        "{peer}: the server refused the session ({reply}); try again later.")
    return TransportError(text.format(peer=endpoint.peer, command=command, reply=reply))
