"""SMTP transport: a bounded pool of pipelining connections behind a thread-safe `send`.

The orchestration calls `send` from `[send] concurrency` threads; each call borrows one
connection from the pool (at most `[smtp] connections` are open), runs one transaction on it and
gives it back, so N threads keep N connections busy without sharing a socket. A connection is
reused with `RSET` (free: it rides in the same write as the next `MAIL`) until
`max_messages_per_connection`, and replaced when the server says 421 or the connection breaks.

What the caller gets back, and why:
- 2xx after the message: accepted, with the server's queue id in `provider_id` when it names one.
- 4xx: temporary (the orchestration retries). 5xx: permanent, with the enhanced status code;
  5.7.x, authentication refusals and any refusal of `MAIL FROM` are `sender_problem` (the run
  stops: it is not the recipient's fault).
- A reused connection that broke (or said 421) before the message left: the message is retried
  once on a fresh connection inside `send`; nothing can have been delivered.
- A connection that broke, or a reply that did not come, after the whole message and its final
  `.` had been sent: temporary and `ambiguous`, with a text (starting `unknown:`) saying the
  server may have accepted it (RFC 1047). The orchestration keeps such a recipient unknown and
  never retries it on its own: a retry would deliver twice whenever the server had queued it.
- Cannot connect, TLS not trusted, authentication refused: raised (`TransportError`,
  `SenderProblem`) with `host:port`; these are the run's fate, not a recipient's.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
import threading
from collections.abc import Callable

from webzine.config import Settings, secret
from webzine.errors import ConfigError, SenderProblem, TransportError
from webzine.i18n import _
from webzine.transports.base import BaseTransport
from webzine.models import Delivery, Message, Outcome
from webzine.transports.smtp_client import (
    ConnectionLost,
    Credentials,
    Endpoint,
    Reply,
    SmtpConnection,
    Stage,
    tls_context,
)

Connect = Callable[[], SmtpConnection]

_QUEUE_ID = re.compile(r"(?:queued as|queue id|id=|InternalId=)\s*<?([\w.@:+-]{3,})>?", re.IGNORECASE)
_ADDRESS_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>]")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`: the only hosts webzine talks to in the clear."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Pool:
    """At most `size` open connections, each lent to one thread at a time (LIFO: hot ones first).

    Until one connection has succeeded, connections open one at a time: a wrong password or an
    untrusted certificate is then met once, not by every thread (relays lock accounts out)."""

    def __init__(self, connect: Connect, size: int) -> None:
        self._connect = connect
        self._size = size
        self._idle: list[SmtpConnection] = []
        self._open = 0
        self._closed = False
        self._proven = False  # a connection has been set up at least once
        self._probing = False  # the first connection is being set up
        self._refused: SenderProblem | None = None
        self._cond = threading.Condition()

    def acquire(self) -> SmtpConnection:
        with self._cond:
            while True:
                if self._closed:
                    raise TransportError(_("the SMTP transport is closed; no more messages can be sent."))
                if self._refused is not None:
                    raise self._refused
                if self._idle:
                    return self._idle.pop()
                if self._open < self._size and (self._proven or not self._probing):
                    break
                self._cond.wait()
            self._open += 1
            self._probing = not self._proven
        try:
            connection = self._connect()
        except SenderProblem as problem:
            self._forget(refused=problem)
            raise
        except BaseException:
            self._forget()
            raise
        with self._cond:
            self._proven, self._probing = True, False
            self._cond.notify_all()
        return connection

    def release(self, connection: SmtpConnection, *, reuse: bool) -> None:
        with self._cond:
            if reuse and connection.alive and not self._closed:
                self._idle.append(connection)
                self._cond.notify()
                return
        connection.quit() if connection.alive else connection.close()
        self._forget()

    def _forget(self, *, refused: SenderProblem | None = None) -> None:
        with self._cond:
            self._open -= 1
            self._probing = False
            self._refused = self._refused or refused
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for connection in idle:
            connection.quit()


class SmtpTransport(BaseTransport):
    name = "smtp"

    def __init__(self, endpoint: Endpoint, *, connect: Connect, connections: int, max_per_connection: int) -> None:
        self.endpoint = endpoint
        self._pool = _Pool(connect, connections)
        self._max_per_connection = max_per_connection

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpTransport":
        smtp = settings.smtp
        if smtp.security == "none" and not is_loopback(smtp.host):
            raise ConfigError(
                _("[smtp] security = \"none\" sends mail and passwords in the clear to {host}; "
                  "that is only allowed for a loopback address.").format(host=smtp.host),
                hint=_("use security = \"starttls\" (port 587) or \"tls\" (port 465)."),
            )
        endpoint = Endpoint(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            timeout=smtp.timeout,
            connect_timeout=smtp.connect_timeout,
            helo=smtp.helo or _local_fqdn(),
            ca_file=str(settings.path(smtp.ca_file)) if smtp.ca_file else "",
        )
        credentials = _credentials(smtp.username_env, smtp.password_env)
        context = _context(endpoint) if smtp.security != "none" else None
        return cls(
            endpoint,
            connect=lambda: SmtpConnection.open(endpoint, credentials, context),
            connections=smtp.connections,
            max_per_connection=smtp.max_messages_per_connection,
        ).redacting(settings)

    def transmit(self, message: Message) -> Delivery:
        """Deliver one message; thread-safe. Raises only for the run's fate (see the module text)."""
        refusal = _check_addresses(message)
        if refusal is not None:
            return refusal
        return self._attempt(message, retry_stale=True) or self._attempt(message, retry_stale=False)

    def _attempt(self, message: Message, *, retry_stale: bool) -> Delivery | None:
        """One transaction on a pooled connection. None: a reused connection turned out to be
        closed (or said 421) before the message left, so nothing was delivered — try again."""
        connection = self._pool.acquire()
        reused = connection.transactions > 0
        envelope = _envelope(message, connection)
        if isinstance(envelope, Delivery):
            self._pool.release(connection, reuse=True)
            return envelope
        try:
            stage, reply = connection.transaction(*envelope, message.data, rset=reused)
        except ConnectionLost as lost:
            self._pool.release(connection, reuse=False)
            if retry_stale and reused and not lost.committed and not lost.timed_out:
                return None
            return _lost(lost, self.endpoint.peer)
        except BaseException:
            self._pool.release(connection, reuse=False)
            raise
        stale = stage is Stage.RSET or (reply.code == 421 and stage is not Stage.END)
        self._pool.release(connection, reuse=not stale and connection.transactions < self._max_per_connection)
        if stale and reused and retry_stale:
            return None
        return delivery_for(stage, reply)

    def close(self) -> None:
        self._pool.close()


def delivery_for(stage: Stage, reply: Reply) -> Delivery:
    """What one SMTP reply means for one message: pure, so every rule is tested on its own."""
    text = f"{stage}: {reply}"
    status = reply.status
    if stage is Stage.END and 200 <= reply.code < 300:
        return Delivery(Outcome.ACCEPTED, reply.code, status, text, _queue_id(reply.text))
    if 500 <= reply.code < 600:
        sender = stage in (Stage.MAIL, Stage.RSET) or reply.code in (530, 535, 538) or bool(
            status and status.startswith("5.7.")
        )
        return Delivery(Outcome.PERMANENT, reply.code, status, text, sender_problem=sender)
    return Delivery(Outcome.TEMPORARY, reply.code, status, text)


def _lost(lost: ConnectionLost, peer: str) -> Delivery:
    if lost.committed:
        return Delivery(
            Outcome.TEMPORARY,
            text=_("unknown: {peer} {reason} after the whole message was sent; the server may "
                   "have accepted it, so a retry may deliver it twice.").format(peer=peer, reason=lost.reason),
            ambiguous=True,
        )
    return Delivery(
        Outcome.TEMPORARY,
        text=_("{peer} {reason} before the message was sent; not delivered.").format(peer=peer, reason=lost.reason),
    )


def _queue_id(text: str) -> str | None:
    match = _QUEUE_ID.search(text)
    return match.group(1) if match else None


def _unusable(role: str, address: str) -> str:
    if role == "recipient":
        return _("the recipient address {address} cannot be used in an SMTP command; not sent.").format(address=address)
    return _("the envelope sender address {address} cannot be used in an SMTP command; not sent.").format(address=address)


def _check_addresses(message: Message) -> Delivery | None:
    """No control character, space or angle bracket may reach an SMTP command line."""
    for role, address in (("envelope sender", message.mail_from), ("recipient", message.rcpt_to)):
        if _ADDRESS_FORBIDDEN.search(address) or (role == "recipient" and not address):
            return Delivery(
                Outcome.PERMANENT,
                status="5.1.3",
                text=_unusable(role, repr(address)),
                sender_problem=role == "envelope sender",
            )
    return None


def _envelope(message: Message, connection: SmtpConnection) -> tuple[bytes, bytes] | Delivery:
    """The MAIL and RCPT command lines for what this server announced, or why it cannot take it.

    SIZE is the message's length before dot-stuffing: RFC 1870 asks for an estimate."""
    extensions = connection.extensions
    size = len(message.data)
    peer = connection.endpoint.peer
    utf8 = message.needs_smtputf8 or not (message.mail_from.isascii() and message.rcpt_to.isascii())
    eight_bit = message.needs_8bitmime or not message.data.isascii()
    parameters = []
    if "SIZE" in extensions:
        limit = extensions["SIZE"]
        if limit.isdigit() and 0 < int(limit) < size:
            return Delivery(
                Outcome.PERMANENT,
                status="5.3.4",
                text=_("the message is {size} bytes; {peer} accepts at most {limit}; not sent.").format(
                    size=size, peer=peer, limit=limit),
            )
        parameters.append(f"SIZE={size}")
    if eight_bit:
        if "8BITMIME" not in extensions:
            return Delivery(
                Outcome.PERMANENT,
                status="5.6.3",
                text=_("the message has 8-bit content but {peer} does not announce 8BITMIME; not sent.").format(peer=peer),
            )
        parameters.append("BODY=8BITMIME")
    if utf8:
        if "SMTPUTF8" not in extensions:
            return Delivery(
                Outcome.PERMANENT,
                status="5.6.7",
                text=_("the address {address} needs SMTPUTF8, which {peer} does not announce; not sent.").format(
                    address=message.rcpt_to, peer=peer),
            )
        parameters.append("SMTPUTF8")
    suffix = "".join(f" {parameter}" for parameter in parameters)
    encoding = "utf-8" if utf8 else "ascii"
    mail = f"MAIL FROM:<{message.mail_from}>{suffix}\r\n".encode(encoding)
    rcpt = f"RCPT TO:<{message.rcpt_to}>\r\n".encode(encoding)
    return mail, rcpt


def _credentials(username_env: str, password_env: str) -> Credentials | None:
    """A login only when the username variable is set: many relays authorise by address instead."""
    username = os.environ.get(username_env, "")
    if not username:
        return None
    return Credentials(username, secret(password_env, purpose=_("the SMTP password")))


def _context(endpoint: Endpoint) -> ssl.SSLContext:
    try:
        return tls_context(endpoint.ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            _("[smtp] ca_file {path}: cannot be read as PEM certificates ({reason}).").format(path=endpoint.ca_file, reason=reason),
            hint=_("point ca_file at the PEM file of the CA that signed the relay's certificate, or remove it."),
        ) from exc


def _local_fqdn() -> str:
    """The EHLO name: this machine's FQDN, or "" (then the connection's address literal)."""
    name = socket.getfqdn()
    return name if "." in name and name.isascii() and not name.endswith(".") else ""
