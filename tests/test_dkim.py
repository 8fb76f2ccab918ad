from __future__ import annotations

import base64
import hashlib
import multiprocessing
import os
import re
import signal
import subprocess
import threading
from datetime import date

import dkim as dkimpy
import dkim.canonicalization as dkim_canon
import pytest
from hypothesis import given, strategies as st
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import sendkit
from webzine.models import Message
from api_servers import ApiServer
from webzine.message.dkim import DkimSigner, body_hash, relaxed_body, relaxed_header, signer_from_settings
from webzine.errors import ConfigError
from webzine.i18n import activate
from webzine.message.encoding import UnsafeHeader, check_address
from webzine.message.factory import DKIM_HEADERS, MessageFactory
from api_samples import raw_message
from webzine.transports.http import build_client
from webzine.providers.mailgun import MailgunTransport
from webzine.message.signing import WORKER_NICENESS, SigningFailed, SigningPool
from webzine.recipients.suppressions import load_suppressions
from webzine.send.dispatch import Sender
from webzine.send.ledger import Ledger, State
from webzine.send.pacing import SuppressionWatch
from webzine.transports.memory import MemoryTransport


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def dns_for(record: bytes):
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"wz2026._domainkey.example.co.kr." else None

    return lookup


def signed_settings(monkeypatch: pytest.MonkeyPatch, pem: bytes, *, flatten: bool = False):
    value = pem.decode().replace("\n", "\\n") if flatten else pem.decode()
    monkeypatch.setenv("WEBZINE_DKIM_PRIVATE_KEY", value)
    base = sendkit.settings()
    return base.model_copy(update={"dkim": base.dkim.model_copy(update={"domain": "example.co.kr", "selector": "wz2026"})})


@pytest.mark.parametrize("flatten", [False, True])
def test_signed_messages_verify_against_the_public_key(monkeypatch, keypair, flatten: bool) -> None:
    pem, record = keypair
    settings = signed_settings(monkeypatch, pem, flatten=flatten)
    signer = signer_from_settings(settings)
    factory = MessageFactory(
        sendkit.rendered(paragraphs=10), settings, token_key=sendkit.SECRET, managers=sendkit.MANAGERS, signer=signer
    )
    for number in range(3):
        data = factory.build(sendkit.recipient(number, name="홍길동" * number)).data
        assert data.startswith(b"DKIM-Signature: ")
        assert dkimpy.verify(data, dnsfunc=dns_for(record))
        header = data.split(b"\r\n\r\n", 1)[0].decode()
        h_tag = header.split("h=", 1)[1].split(";", 1)[0]
        names = {name.strip().lower() for name in h_tag.replace("\r\n", "").split(":")}
        assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= names
        assert names == {name.lower() for name in DKIM_HEADERS}


def test_tampering_breaks_the_signature(monkeypatch, keypair) -> None:
    pem, record = keypair
    settings = signed_settings(monkeypatch, pem)
    factory = MessageFactory(
        sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET, managers={},
        signer=signer_from_settings(settings),
    )
    data = factory.build(sendkit.recipient(2)).data
    tampered = data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nope")
    assert not dkimpy.verify(tampered, dnsfunc=dns_for(record))


def test_no_domain_means_no_signing_and_a_bad_key_is_a_config_error(monkeypatch) -> None:
    assert signer_from_settings(sendkit.settings()) is None
    with pytest.raises(ConfigError, match=r"wz._domainkey.example.co.kr cannot be read .*\[dkim\] private_key_env"):
        DkimSigner("example.co.kr", "wz", b"-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n")
    monkeypatch.delenv("WEBZINE_DKIM_PRIVATE_KEY", raising=False)
    base = sendkit.settings()
    settings = base.model_copy(update={"dkim": base.dkim.model_copy(update={"domain": "example.co.kr", "selector": "s"})})
    with pytest.raises(ConfigError, match="WEBZINE_DKIM_PRIVATE_KEY"):
        signer_from_settings(settings)


lines = st.lists(st.text(st.sampled_from(["a", "가", " ", "\t", "=", "x"]), max_size=12), max_size=8)


@given(lines, st.integers(0, 3))
def test_relaxed_body_matches_dkimpy(body_lines: list[str], blank_tail: int) -> None:
    body = ("\r\n".join(body_lines) + "\r\n" * blank_tail).encode("utf-8")
    assert relaxed_body(body) == dkim_canon.Relaxed.canonicalize_body(body)


@given(lines, st.integers(0, 3), st.sampled_from([b"", b"Subject: x\r\nTo: y@example.co.kr"]))
def test_the_body_hash_is_the_hash_of_dkimpys_relaxed_body(body_lines: list[str], blank_tail: int, head: bytes) -> None:
    """Hashed where it lies (no copies) when there is nothing to reduce; the same answer either way."""
    body = ("\r\n".join(body_lines) + "\r\n" * blank_tail).encode("utf-8")
    expected = base64.b64encode(hashlib.sha256(dkim_canon.Relaxed.canonicalize_body(body)).digest()).decode()
    assert body_hash(head + b"\r\n\r\n" + body, len(head) + 4) == expected


@pytest.mark.parametrize("last_line", [b"two  spaces", b"ends with a space ", b"a\ttab", b"nothing to reduce"])
@pytest.mark.parametrize("spaces_before", [0, 3, 200])
def test_relaxed_body_finds_whitespace_to_reduce_after_any_number_of_single_spaces(last_line: bytes,
                                                                                  spaces_before: int) -> None:
    """The check visits single spaces one by one up to a limit, then searches: both halves must
    find what is left to reduce (base64 lines first, as our messages have)."""
    body = (b"Content-Type: text/html; charset=utf-8\r\n\r\n" + (b"QUJD" * 19 + b"\r\n") * 40
            + b" ".join([b"w"] * (spaces_before + 1)) + b"\r\n" + last_line + b"\r\n\r\n")
    assert relaxed_body(body) == dkim_canon.Relaxed.canonicalize_body(body)


@given(st.sampled_from(["Subject", "TO", "List-Unsubscribe"]), lines)
def test_relaxed_header_matches_dkimpy(name: str, folded: list[str]) -> None:
    value = "\r\n ".join(folded) or " "
    field = f"{name}: {value}".encode("utf-8")
    ((ours_name, ours_value),) = [relaxed_header(field).split(b":", 1)]
    ((their_name, their_value),) = dkim_canon.Relaxed.canonicalize_headers([(name.encode(), field.split(b":", 1)[1])])
    assert ours_name == their_name and ours_value + b"\r\n" == their_value


def test_keys_that_are_not_rsa_or_too_short_are_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match="not an RSA key; generate one: openssl genrsa 2048"):
        DkimSigner("example.co.kr", "wz", ec_pem)
    # `cryptography` refuses to generate keys this short, but loads them: make one with openssl.
    short = subprocess.run(["openssl", "genrsa", "768"], capture_output=True, check=True).stdout
    with pytest.raises(ConfigError, match="768 bits; receivers require 1024 or more"):
        DkimSigner("example.co.kr", "wz", short)


def test_a_short_key_and_an_unwritable_address_in_korean() -> None:
    activate("ko")
    short = subprocess.run(["openssl", "genrsa", "768"], capture_output=True, check=True).stdout
    with pytest.raises(ConfigError) as refused:
        DkimSigner("example.co.kr", "wz", short)
    assert refused.value.message == ("wz._domainkey.example.co.kr의 DKIM 키는 768비트입니다. 수신 서버는 1024비트 이상을 "
                                     "요구합니다(2048비트를 쓰세요).")
    with pytest.raises(UnsafeHeader, match=r"^To address 'kim\.\.a@example\.com'의 로컬 부분\(@ 앞\)에 점이 잘못된 위치에 "
                                           r"있습니다$"):
        check_address("To address", "kim..a@example.com")


def _as_ses_sends_it(data: bytes) -> bytes:
    """Amazon SES's documented rewrites of a raw message: its own Message-ID and the Date it
    accepted the message (https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-manual.html)."""
    head, _, body = data.partition(b"\r\n\r\n")
    fields = []
    for field in re.split(rb"\r\n(?![ \t])", head):
        name = field.partition(b":")[0].lower()
        if name == b"message-id":
            field = b"Message-ID: <0100019384e0c1a2-4c7f1d2e-9b3a-4d5e-8f60-7a8b9c0d1e2f-000000@email.amazonses.com>"
        elif name == b"date":
            field = b"Date: Tue, 1 Dec 2026 00:00:03 +0000"
        fields.append(field)
    return b"\r\n".join(fields) + b"\r\n\r\n" + body


def _signed_message_for(monkeypatch: pytest.MonkeyPatch, pem: bytes, transport: str) -> Message:
    """One signed message, built for `[send] transport`, as the factory hands it to that transport."""
    settings = signed_settings(monkeypatch, pem)
    settings = settings.model_copy(update={"send": settings.send.model_copy(update={"transport": transport})})
    factory = MessageFactory(sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET, managers={},
                             signer=signer_from_settings(settings))
    return factory.build(sendkit.recipient(1))


def _signed_for(monkeypatch: pytest.MonkeyPatch, pem: bytes, transport: str) -> bytes:
    """One signed message's bytes, built for `[send] transport`."""
    return _signed_message_for(monkeypatch, pem, transport).data


def test_a_message_for_ses_still_verifies_after_ses_rewrites_message_id_and_date(monkeypatch, keypair) -> None:
    pem, record = keypair
    data = _signed_for(monkeypatch, pem, "ses")
    rewritten = _as_ses_sends_it(data)
    assert rewritten != data and b"amazonses.com" in rewritten
    assert dkimpy.verify(rewritten, dnsfunc=dns_for(record))
    h_tag = data.split(b"h=", 1)[1].split(b";", 1)[0].replace(b"\r\n\t", b"").lower()
    assert b"list-unsubscribe-post" in h_tag and b"date" not in h_tag.split(b":") and b"message-id" not in h_tag


def test_other_transports_still_sign_message_id_and_date(monkeypatch, keypair) -> None:
    """Mailgun and SMTP keep both headers as written: a changed Message-ID must break the signature."""
    pem, record = keypair
    data = _signed_for(monkeypatch, pem, "mailgun")
    assert dkimpy.verify(data, dnsfunc=dns_for(record))
    assert not dkimpy.verify(_as_ses_sends_it(data), dnsfunc=dns_for(record))


def test_a_message_sent_through_mailgun_still_verifies_as_it_arrives(monkeypatch, keypair) -> None:
    """messages.mime takes our bytes as written and tracking is off per message (no link
    rewriting in the body); Mailgun only adds headers above ours: its Received, its own
    DKIM-Signature and Return-Path. Our signature must verify on what the stand-in received."""
    pem, record = keypair
    data = _signed_for(monkeypatch, pem, "mailgun")
    server = ApiServer("mailgun")
    try:
        server.configure()
        message = raw_message(key="kim@example.com", mail_from="bounces@example.co.kr", rcpt_to="kim@example.com",
                                  data=data, message_id="dkim-test@example.co.kr")
        mailgun = MailgunTransport(build_client(server.url, timeout=5, connections=1), api_key="test-token",
                                   domain="mg.example.co.kr")
        mailgun.send(message)
        [accepted] = server.messages()
    finally:
        server.stop()
    added = (b"Return-Path: <bounce+1a2b3c@mg.example.co.kr>\r\n"
             b"DKIM-Signature: a=rsa-sha256; v=1; c=relaxed/relaxed; d=mg.example.co.kr; q=dns/txt; s=mx; t=1764547200;"
             b" h=From: To: Subject; bh=AAAA; b=AAAA\r\n"
             b"Received: by mailgun.net with HTTP; Tue, 01 Dec 2026 00:00:00 +0000\r\n"
             b"X-Mailgun-Sending-Ip: 198.51.100.7\r\nX-Mailgun-Sid: WyJhYmMiXQ==\r\n")
    arrived = added + accepted["raw"].encode("ascii")
    ours = dkimpy.DKIM(arrived)
    assert ours.verify(idx=1, dnsfunc=dns_for(record))  # idx 0 is Mailgun's own signature


def test_the_signing_pool_signs_exactly_as_one_core_does(monkeypatch, keypair) -> None:
    pem, record = keypair
    settings = signed_settings(monkeypatch, pem)
    signer = DkimSigner("example.co.kr", "wz2026", pem, clock=lambda: 1_700_000_000)
    factory = MessageFactory(sendkit.rendered(paragraphs=3), settings, token_key=sendkit.SECRET,
                             managers=sendkit.MANAGERS, clock=lambda: 1_700_000_000)
    messages = [factory.build(sendkit.recipient(number)).data for number in range(5)]
    with SigningPool(signer, workers=2) as pool:
        headers = pool.submit(messages).result()
        workers = [child.pid for child in multiprocessing.active_children()]
        assert len(workers) == 2
        assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in workers} == \
            {min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS)}  # fmt: skip
    assert headers == [signer.sign(message) for message in messages]  # RSASSA-PKCS1-v1_5 is deterministic
    assert all(dkimpy.verify(header + message, dnsfunc=dns_for(record)) for header, message in zip(headers, messages))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_send_signed_by_the_pool_delivers_every_message_signed_in_order(tmp_path, monkeypatch, keypair,
                                                                          concurrency: int) -> None:
    pem, record = keypair
    settings = sendkit.settings(tmp_path, rate=1_000_000, concurrency=concurrency)
    monkeypatch.setenv("WEBZINE_DKIM_PRIVATE_KEY", pem.decode())
    factory = MessageFactory(sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET, managers=sendkit.MANAGERS)
    transport = MemoryTransport()
    recipients = [sendkit.recipient(number) for number in range(SigningPool.batch * 3 + 5)]
    watch = SuppressionWatch(tmp_path / "suppressions.csv", load_suppressions)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger, \
            SigningPool(DkimSigner("example.co.kr", "wz2026", pem), workers=2) as pool:  # fmt: skip
        summary = Sender(settings, today=date(2026, 12, 1), factory=factory, transport=transport, ledger=ledger,
                         suppressions=watch, signing=pool).run(recipients)
    assert summary.accepted == len(recipients) and summary.exit_code == 0
    if concurrency == 1:
        assert [m.rcpt_to for m in transport.accepted] == [r.email for r in recipients]
    assert sorted(m.rcpt_to for m in transport.accepted) == sorted(r.email for r in recipients)
    assert all(m.data.count(b"DKIM-Signature: ") == 1 for m in transport.accepted)
    assert all(dkimpy.verify(m.data, dnsfunc=dns_for(record)) for m in transport.accepted[:3])


def test_a_stop_while_signatures_are_pending_leaves_them_deferred_not_unknown(tmp_path, monkeypatch, keypair) -> None:
    pem, _ = keypair
    settings = sendkit.settings(tmp_path, rate=1_000_000, concurrency=1)
    factory = MessageFactory(sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET, managers=sendkit.MANAGERS)
    stop = threading.Event()
    recipients = [sendkit.recipient(number) for number in range(SigningPool.batch * 4)]
    stop_at = recipients[5].email  # in the first signed batch, while later batches wait for signatures

    class StopsMidway(MemoryTransport):
        def transmit(self, message):  # type: ignore[no-untyped-def]
            if message.rcpt_to == stop_at:
                stop.set()
            return super().transmit(message)

    transport = StopsMidway()
    watch = SuppressionWatch(tmp_path / "suppressions.csv", load_suppressions)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger, \
            SigningPool(DkimSigner("example.co.kr", "wz2026", pem), workers=2) as pool:  # fmt: skip
        summary = Sender(settings, today=date(2026, 12, 1), factory=factory, transport=transport, ledger=ledger,
                         suppressions=watch, signing=pool, stop=stop).run(recipients)
        states = ledger.states(factory.issue, [r.key for r in recipients])
    assert summary.stopped == "interrupted" and summary.unknown == 0
    assert summary.accepted + summary.deferred == len(recipients)
    assert len(transport.handed) == summary.accepted
    assert {entry.state for entry in states.values()} <= {State.ACCEPTED, State.DEFERRED}
    assert len(states) == len(recipients)


def test_a_signing_process_killed_mid_send_is_one_error_and_nobody_is_left_unknown(tmp_path, monkeypatch, keypair) -> None:
    """The OOM killer picks a signing process: the messages still waiting for a signature were
    never handed over, so they are deferred (a re-run sends them), not left claimed as unknown;
    the send stops with one sentence and exit code 3, and a re-run reaches everyone once."""
    pem, _ = keypair
    settings = sendkit.settings(tmp_path, rate=1_000_000, concurrency=1)
    factory = MessageFactory(sendkit.rendered(paragraphs=2), settings, token_key=sendkit.SECRET, managers=sendkit.MANAGERS)
    recipients = [sendkit.recipient(number) for number in range(SigningPool.batch * 8)]
    kill_at = recipients[3].email

    class KillsASigner(MemoryTransport):
        def transmit(self, message):  # type: ignore[no-untyped-def]
            if message.rcpt_to == kill_at:
                victim = multiprocessing.active_children()[0]  # the OOM killer picks one
                os.kill(victim.pid, signal.SIGKILL)  # type: ignore[arg-type]
                victim.join(10)
            return super().transmit(message)

    transport = KillsASigner()
    watch = SuppressionWatch(tmp_path / "suppressions.csv", load_suppressions)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        with SigningPool(DkimSigner("example.co.kr", "wz2026", pem), workers=2) as pool, \
                pytest.raises(SigningFailed) as failed:  # fmt: skip
            Sender(settings, today=date(2026, 12, 1), factory=factory, transport=transport, ledger=ledger,
                   suppressions=watch, signing=pool).run(recipients)
        states = ledger.states(factory.issue, [r.key for r in recipients])
    assert failed.value.exit_code == 3 and "\n" not in str(failed.value)
    assert "run the send again" in str(failed.value).lower()
    assert {entry.state for entry in states.values()} <= {State.ACCEPTED, State.DEFERRED}
    assert sum(entry.state is State.DEFERRED for entry in states.values()) > 0

    rerun = MemoryTransport()
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger, \
            SigningPool(DkimSigner("example.co.kr", "wz2026", pem), workers=2) as pool:  # fmt: skip
        summary = Sender(settings, today=date(2026, 12, 1), factory=factory, transport=rerun, ledger=ledger,
                         suppressions=watch, signing=pool).run(recipients)
    assert summary.exit_code == 0 and summary.unknown == 0
    delivered = [m.rcpt_to for m in transport.accepted] + [m.rcpt_to for m in rerun.accepted]
    assert sorted(delivered) == sorted(r.email for r in recipients)
