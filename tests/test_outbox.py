from __future__ import annotations

import email.policy
import mailbox
import threading
from pathlib import Path

import pytest

import sendkit
from webzine.errors import ConfigError, TransportError
from webzine.render.slots import compile_merge
from webzine.message.factory import MessageFactory
from webzine.providers import transport_class
from webzine.transports.base import Transport
from webzine.models import Outcome
from webzine.transports.outbox import OutboxTransport


def messages(count: int, *, body: str | None = None):
    rendered = sendkit.rendered(paragraphs=3)
    if body is not None:
        rendered = sendkit.rendered(paragraphs=0)
        rendered.text = compile_merge(body, sendkit.TEXT_ENV, origin="t")
    factory = MessageFactory(rendered, sendkit.settings(), token_key=sendkit.SECRET, managers=sendkit.MANAGERS)
    return [factory.build(sendkit.recipient(n)) for n in range(count)]


def test_registry_names_the_outbox_and_it_meets_the_protocol(tmp_path: Path) -> None:
    assert transport_class("outbox") is OutboxTransport
    transport = OutboxTransport.from_settings(sendkit.settings(tmp_path))
    assert isinstance(transport, Transport)
    assert transport.location == tmp_path / "outbox"


def test_maildir_opens_in_a_mail_library_with_verp_return_path(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path / "outbox", "maildir")
    sent = messages(3)
    deliveries = [transport.send(m) for m in sent]
    transport.close()
    assert all(d.outcome is Outcome.ACCEPTED and d.provider_id for d in deliveries)
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    stored = sorted(box, key=lambda m: m["Message-ID"])
    assert len(stored) == 3 and not list((tmp_path / "outbox" / "tmp").iterdir())
    by_id = {f"<{m.message_id}>": m for m in sent}
    for message in stored:
        original = by_id[message["Message-ID"]]
        assert message["Return-Path"] == f"<{original.mail_from}>"
        assert message.as_bytes().replace(b"\n", b"\r\n").endswith(original.data[-200:])


def test_mbox_quotes_from_lines_and_keeps_every_message(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path / "outbox", "mbox")
    sent = messages(2) + messages(1, body="From the editor\n>From quoted\n")
    for message in sent:
        transport.send(message)
    transport.close()
    box = mailbox.mbox(tmp_path / "outbox" / "outbox.mbox", create=False)
    stored = list(box)
    assert len(stored) == 3
    assert stored[0].get_from().startswith(sent[0].mail_from)
    parsed = email.message_from_bytes(stored[2].as_bytes(), policy=email.policy.default)
    assert parsed["Subject"].startswith("김고객0")
    text = parsed.get_body(("plain",)).get_content()
    assert text == "From the editor\n>From quoted\n"  # base64 body: nothing to quote, nothing lost


def test_eml_files_keep_crlf_and_parse_strictly(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path / "outbox", "eml")
    (message,) = messages(1)
    delivery = transport.send(message)
    transport.close()
    path = tmp_path / "outbox" / "eml" / delivery.provider_id
    data = path.read_bytes()
    assert data.endswith(message.data) and b"\r\n" in data
    parsed = email.message_from_bytes(data, policy=email.policy.strict)
    assert parsed["Message-ID"] == f"<{message.message_id}>"
    assert path.name.startswith("user0@example.com.")


def test_concurrent_mbox_appends_never_interleave(tmp_path: Path) -> None:
    transport = OutboxTransport(tmp_path / "outbox", "mbox")
    sent = messages(40)
    threads = [threading.Thread(target=lambda part=part: [transport.send(m) for m in part]) for part in (sent[::2], sent[1::2])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    transport.close()
    stored = list(mailbox.mbox(tmp_path / "outbox" / "outbox.mbox", create=False))
    assert sorted(m["Message-ID"] for m in stored) == sorted(f"<{m.message_id}>" for m in sent)


def test_unwritable_outbox_is_a_transport_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TransportError, match=r"cannot create the outbox .*\[send\] outbox"):
        OutboxTransport(blocker / "outbox", "maildir")
    with pytest.raises(ConfigError, match="unknown outbox format 'pst'"):
        OutboxTransport(tmp_path / "o", "pst")


def test_mbox_quotes_from_lines_of_plain_bodies_mboxrd_style(tmp_path: Path) -> None:
    from api_samples import raw_message

    raw = b"From: a@example.com\r\nSubject: plain\r\n\r\nFrom here\r\n>From there\r\nNot From\r\n"
    transport = OutboxTransport(tmp_path / "outbox", "mbox")
    transport.send(raw_message("k", "bounces@example.co.kr", "k@example.com", raw, "m@x"))
    transport.close()
    data = (tmp_path / "outbox" / "outbox.mbox").read_bytes()
    assert b"\n>From here\n>>From there\nNot From\n\n" in data and b"\r" not in data
    (stored,) = mailbox.mbox(tmp_path / "outbox" / "outbox.mbox", create=False)
    # Python's reader keeps the quoting (it does not undo mboxrd); mutt and Thunderbird remove it.
    assert stored.get_payload() == ">From here\n>>From there\nNot From\n"
