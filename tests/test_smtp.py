"""SMTP transport: pure rules first, then a real aiosmtpd server on 127.0.0.1 (tests/smtp_server.py).

Every integration test asserts what actually arrived at the server, message by message, next to
what the transport reported — the two must agree: nothing accepted is lost, nothing refused
arrives, and nothing arrives twice unless the server accepted without saying so.
"""

from __future__ import annotations

import base64
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
from conftest import PUBLICATION as PUBLICATION_KEYS
from hypothesis import given
from hypothesis import strategies as st
from smtp_server import Fault, SmtpTestServer, TestCertificate

from webzine.config import Publication, Settings, Smtp
from webzine.errors import ConfigError, SenderProblem, TransportError
from webzine.i18n import activate
from webzine.providers import transport_class
from api_samples import raw_message
from webzine.models import Delivery, Message, Outcome
from webzine.transports.smtp import SmtpTransport, delivery_for, is_loopback
from webzine.transports.smtp_client import Reply, Stage, payload_chunks, prepare_payload

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
    pytest.mark.timeout(60),
]

PASSWORD = "Pa55-w0rd-that-must-never-show"
PUBLICATION = Publication(**PUBLICATION_KEYS)


@pytest.fixture(autouse=True)
def smtp_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBZINE_SMTP_USERNAME", "news")
    monkeypatch.setenv("WEBZINE_SMTP_PASSWORD", PASSWORD)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return TestCertificate.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificate: TestCertificate):
    with SmtpTestServer(tls="starttls", certificate=certificate, users={"news": PASSWORD}) as running:
        yield running


def settings_for(server: SmtpTestServer, **smtp: object) -> Settings:
    values: dict[str, object] = dict(
        host=server.host,
        port=server.port,
        security=server.tls,
        ca_file=str(server.ca_file or ""),
        timeout=5,
        connect_timeout=5,
        connections=2,
        helo="client.example.test",
    )
    values.update(smtp)
    return Settings(publication=PUBLICATION, smtp=Smtp(**values))


def transport_for(server: SmtpTestServer, **smtp: object) -> SmtpTransport:
    return SmtpTransport.from_settings(settings_for(server, **smtp))


def outgoing(n: int, *, body: str = "", **fields: object) -> Message:
    """A finished message like webzine.message.factory builds: base64 Korean body, CRLF, a dot line."""
    rcpt = str(fields.pop("rcpt_to", f"reader{n}@example.com"))
    text = body or f"{n}번째 독자님, 안녕하세요.\r\n.\r\n..점으로 시작하는 줄도 그대로 도착해야 합니다.\r\n"
    encoded = base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")
    data = (
        f"From: =?utf-8?b?7LSI66Gd7IOB7ZqM?= <news@example.co.kr>\r\n"
        f"To: <{rcpt}>\r\n"
        f"Subject: =?utf-8?b?{base64.b64encode(f'{n}월 소식'.encode()).decode()}?=\r\n"
        f"Message-ID: <issue-{n}@example.co.kr>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
    ).encode("utf-8") + encoded
    values: dict[str, object] = dict(
        key=rcpt.lower(),
        mail_from=f"bounces+tok{n:04d}@example.co.kr",
        rcpt_to=rcpt,
        data=data,
        message_id=f"issue-{n}@example.co.kr",
    )
    values.update(fields)
    return raw_message(**values)  # type: ignore[arg-type]


def assert_arrived(server: SmtpTestServer, sent: list[Message]) -> None:
    """Each message arrived once, in order, byte for byte, with its own envelope."""
    assert len(server.messages) == len(sent)
    for got, want in zip(server.messages, sent):
        assert got.mail_from == want.mail_from
        assert got.rcpt_tos == (want.rcpt_to,)
        assert got.data == want.data
        parsed = got.message
        assert parsed["Message-ID"] == f"<{want.message_id}>"
        assert parsed["To"].addresses[0].addr_spec == want.rcpt_to
        assert parsed["From"].addresses[0].display_name == "초록상회"
        body = base64.b64decode(want.data.split(b"\r\n\r\n", 1)[1]).decode("utf-8")
        assert parsed.get_content() == body


# -- pure rules ---------------------------------------------------------------------------------


PARTS = st.lists(st.sampled_from(["", ".", "..", "a", ".a", "가", "\r", "\n", "\r\n", "\r\n.", ".\r\n"]), max_size=40)
CLEAN = st.lists(st.sampled_from(["", ".", "..", "a", ".a", "가", "\r\n", "\r\n.", ".\r\n"]), max_size=40)
SMUGGLING = re.compile(rb"[\r\n]\.[\r\n]")  # an end of data for some server, however lenient


def unstuff(body: bytes) -> bytes:
    """What a strict server stores: CRLF lines, one leading dot removed."""
    lines = body.split(b"\r\n")[:-1]
    return b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n" for line in lines)


@given(PARTS, st.integers(min_value=1, max_value=12))
def test_no_server_sees_the_end_of_data_early(parts: list[str], size: int) -> None:
    data = "".join(parts).encode("utf-8")
    payload = b"".join(payload_chunks(data, size))
    assert payload.endswith(b"\r\n.\r\n")
    body = payload[: -len(b".\r\n")]
    assert SMUGGLING.search(b"\r\n" + body) is None  # not with CRLF, bare LF or bare CR line ends
    stored = unstuff(body)
    normalised = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    assert re.sub(rb"\r\n|\r|\n", b"\r\n", stored) == normalised + (b"" if normalised.endswith(b"\r\n") else b"\r\n")


@given(CLEAN, st.integers(min_value=1, max_value=12))
def test_crlf_messages_arrive_exactly_wherever_they_are_cut(parts: list[str], size: int) -> None:
    data = "".join(parts).encode("utf-8")
    pieces = list(payload_chunks(data, size))
    assert all(piece.endswith(b"\r\n") for piece in pieces)  # cut after a CRLF: no split line end
    assert b"".join(pieces) == prepare_payload(data)
    assert unstuff(prepare_payload(data)[:-3]) == data + (b"" if data.endswith(b"\r\n") else b"\r\n")


@pytest.mark.parametrize(
    ("data", "payload"),
    [
        (b".a\r\nb\r\n.\r\n", b"..a\r\nb\r\n..\r\n.\r\n"),
        (b"a\n.\r\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),  # <LF>.<CR><LF>: normalised, then stuffed
        (b"a\r.\rb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),  # <CR>.<CR>
        (b"bare\nlines\r\n", b"bare\nlines\r\n.\r\n"),  # no dot after it: the builder's business
        (b"no end", b"no end\r\n.\r\n"),
    ],
)
def test_payload_examples(data: bytes, payload: bytes) -> None:
    assert prepare_payload(data) == payload


def test_a_long_message_goes_in_pieces_and_dense_dots_take_the_c_path() -> None:
    data = b"Subject: x\r\n\r\n" + b"".join(b".line %d. and. more.\r\n" % n for n in range(20000))
    pieces = list(payload_chunks(data))
    assert len(pieces) > 3 and all(len(piece) <= 40000 for piece in pieces)
    assert b"".join(pieces) == data.replace(b"\r\n.", b"\r\n..") + b".\r\n"
    smuggled = data.replace(b"\r\n.line 7.", b"\n.\r\n.line 7.")
    assert SMUGGLING.search(b"\r\n" + prepare_payload(smuggled)[:-3]) is None


@pytest.mark.parametrize(
    ("code", "text", "status"),
    [
        (550, "5.1.1 <x@y>: user unknown", "5.1.1"),
        (451, "4.3.0 try later", "4.3.0"),
        (550, "4.3.0 class does not match the code", None),
        (250, "2.0.0 Ok: queued as 4F3", "2.0.0"),
        (554, "no enhanced code here", None),
        (550, "5.7.26 DMARC policy", "5.7.26"),
    ],
)
def test_enhanced_status_is_parsed_only_when_it_matches_the_code(code: int, text: str, status: str | None) -> None:
    assert Reply(code, (text,)).status == status


@pytest.mark.parametrize(
    ("stage", "code", "text", "outcome", "hard", "sender"),
    [
        (Stage.END, 250, "2.0.0 Ok: queued as 4F3A", Outcome.ACCEPTED, False, False),
        (Stage.RCPT, 550, "5.1.1 user unknown", Outcome.PERMANENT, True, False),
        (Stage.RCPT, 452, "4.5.3 too many recipients", Outcome.TEMPORARY, False, False),
        (Stage.RCPT, 421, "4.4.2 closing", Outcome.TEMPORARY, False, False),
        (Stage.END, 451, "4.3.0 local error", Outcome.TEMPORARY, False, False),
        (Stage.END, 554, "5.7.1 message refused as spam", Outcome.PERMANENT, False, True),
        (Stage.RCPT, 550, "5.7.1 relaying denied", Outcome.PERMANENT, False, True),
        (Stage.MAIL, 553, "5.1.8 sender domain does not exist", Outcome.PERMANENT, False, True),
        (Stage.MAIL, 530, "authentication required", Outcome.PERMANENT, False, True),
        (Stage.END, 552, "5.3.4 message too big", Outcome.PERMANENT, False, False),
        (Stage.DATA, 554, "5.5.1 no valid recipients", Outcome.PERMANENT, False, False),
    ],
)
def test_delivery_for_each_reply(stage: Stage, code: int, text: str, outcome: Outcome, hard: bool, sender: bool) -> None:
    delivery = delivery_for(stage, Reply(code, (text,)))
    assert (delivery.outcome, delivery.hard_bounce, delivery.sender_problem) == (outcome, hard, sender)
    assert delivery.code == code
    assert delivery.text == f"{stage}: {code} {text}"


def test_queue_id_is_kept_when_the_server_names_one() -> None:
    assert delivery_for(Stage.END, Reply(250, ("2.0.0 Ok: queued as 4F3A12B9C",))).provider_id == "4F3A12B9C"
    assert delivery_for(Stage.END, Reply(250, ("OK id=1tX9ab-000Abc-0R",))).provider_id == "1tX9ab-000Abc-0R"
    assert delivery_for(Stage.END, Reply(250, ("Message accepted for delivery",))).provider_id is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("10.0.0.1", False), ("smtp.example.com", False), ("localhost.example.com", False)],
)
def test_only_loopback_hosts_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_plaintext_to_a_remote_host_is_a_config_error() -> None:
    settings = Settings(publication=PUBLICATION, smtp=Smtp(host="smtp.example.com", security="none"))
    with pytest.raises(ConfigError, match="only allowed for a loopback address"):
        SmtpTransport.from_settings(settings)


def test_username_without_password_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBZINE_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="WEBZINE_SMTP_PASSWORD"):
        SmtpTransport.from_settings(Settings(publication=PUBLICATION, smtp=Smtp(security="none")))


def test_unreadable_ca_file_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(publication=PUBLICATION, smtp=Smtp(ca_file="certs/relay-ca.pem"), root=tmp_path)
    with pytest.raises(ConfigError, match=r"^\[smtp\] ca_file .*certs/relay-ca.pem: cannot be read"):
        SmtpTransport.from_settings(settings)


def test_registry_names_the_smtp_transport() -> None:
    assert transport_class("smtp") is SmtpTransport


def test_repr_of_credentials_hides_the_password(server: SmtpTestServer) -> None:
    transport = transport_for(server)
    try:
        assert transport.send(outgoing(1)).outcome is Outcome.ACCEPTED
        assert PASSWORD not in repr(vars(transport)) + repr(transport.endpoint)
    finally:
        transport.close()


# -- a real server: what arrives ----------------------------------------------------------------


def test_starttls_auth_plain_delivers_each_message_exactly(server: SmtpTestServer) -> None:
    transport = transport_for(server, max_messages_per_connection=3)
    sent = [outgoing(n) for n in range(7)]
    try:
        deliveries = [transport.send(message) for message in sent]
    finally:
        transport.close()
    assert [d.outcome for d in deliveries] == [Outcome.ACCEPTED] * 7
    assert [d.provider_id for d in deliveries] == [f"TEST{n:05d}" for n in range(1, 8)]
    assert_arrived(server, sent)
    assert all(got.tls and got.login == "news" for got in server.messages)
    assert [got.session for got in server.messages] == [1, 1, 1, 2, 2, 2, 3]  # reuse, then a new one
    assert server.sessions == 3
    assert all(got.mail_options == (f"SIZE={len(m.data)}",) for got, m in zip(server.messages, sent))


def test_auth_login_when_plain_is_not_offered(certificate: TestCertificate) -> None:
    with SmtpTestServer(certificate=certificate, users={"news": PASSWORD}, exclude_auth=("PLAIN",)) as server:
        transport = transport_for(server)
        try:
            assert transport.send(outgoing(1)).outcome is Outcome.ACCEPTED
        finally:
            transport.close()
        assert server.messages[0].login == "news"


def test_implicit_tls(certificate: TestCertificate) -> None:
    with SmtpTestServer(tls="tls", certificate=certificate, users={"news": PASSWORD}) as server:
        transport = transport_for(server)
        sent = [outgoing(n) for n in range(3)]
        try:
            assert all(transport.send(m).outcome is Outcome.ACCEPTED for m in sent)
        finally:
            transport.close()
        assert_arrived(server, sent)


def test_without_pipelining_the_same_messages_arrive(certificate: TestCertificate) -> None:
    with SmtpTestServer(certificate=certificate, users={"news": PASSWORD}, pipelining=False) as server:
        transport = transport_for(server)
        sent = [outgoing(n) for n in range(4)]
        try:
            assert all(transport.send(m).outcome is Outcome.ACCEPTED for m in sent)
        finally:
            transport.close()
        assert_arrived(server, sent)
        assert server.sessions == 1


def test_plaintext_loopback_relay_without_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBZINE_SMTP_USERNAME")
    with SmtpTestServer(tls="none") as server:
        transport = transport_for(server)
        try:
            assert transport.send(outgoing(1)).outcome is Outcome.ACCEPTED
        finally:
            transport.close()
        assert server.messages[0].login is None and not server.messages[0].tls


def test_threads_share_a_bounded_pool(server: SmtpTestServer) -> None:
    transport = transport_for(server, connections=4, max_messages_per_connection=1000)
    sent = [outgoing(n) for n in range(40)]
    try:
        with ThreadPoolExecutor(8) as pool:
            deliveries = list(pool.map(transport.send, sent))
    finally:
        transport.close()
    assert all(d.outcome is Outcome.ACCEPTED for d in deliveries)
    assert server.sessions <= 4
    arrived = {got.rcpt_tos[0]: got for got in server.messages}
    assert len(server.messages) == len(arrived) == 40
    assert all(arrived[m.rcpt_to].data == m.data and arrived[m.rcpt_to].mail_from == m.mail_from for m in sent)


def test_8bitmime_is_declared_only_when_needed(server: SmtpTestServer) -> None:
    eight_bit = outgoing(2, needs_8bitmime=True, data=outgoing(2).data.replace(b"To:", "X-이름: 값\r\nTo:".encode()))
    transport = transport_for(server)
    try:
        assert transport.send(outgoing(1)).outcome is Outcome.ACCEPTED
        assert transport.send(eight_bit).outcome is Outcome.ACCEPTED
    finally:
        transport.close()
    assert "BODY=8BITMIME" not in server.messages[0].mail_options
    assert "BODY=8BITMIME" in server.messages[1].mail_options
    assert server.messages[1].data == eight_bit.data


def test_smtputf8_when_announced(server: SmtpTestServer) -> None:
    message = outgoing(1, rcpt_to="독자@example.com", needs_smtputf8=True)
    transport = transport_for(server)
    try:
        assert transport.send(message).outcome is Outcome.ACCEPTED
    finally:
        transport.close()
    assert server.messages[0].rcpt_tos == ("독자@example.com",)
    assert "SMTPUTF8" in server.messages[0].mail_options


def test_smtputf8_refused_with_a_reason_when_not_announced(certificate: TestCertificate) -> None:
    with SmtpTestServer(certificate=certificate, users={"news": PASSWORD}, smtputf8=False) as server:
        transport = transport_for(server)
        try:
            refused = transport.send(outgoing(1, rcpt_to="독자@example.com", needs_smtputf8=True))
            accepted = transport.send(outgoing(2))
        finally:
            transport.close()
        assert refused.outcome is Outcome.PERMANENT and refused.status == "5.6.7"
        assert "needs SMTPUTF8" in refused.text and not refused.hard_bounce
        assert accepted.outcome is Outcome.ACCEPTED
        assert [got.rcpt_tos for got in server.messages] == [("reader2@example.com",)]


def test_message_over_the_announced_size_is_not_sent(certificate: TestCertificate) -> None:
    with SmtpTestServer(certificate=certificate, users={"news": PASSWORD}, data_size_limit=200) as server:
        transport = transport_for(server)
        try:
            delivery = transport.send(outgoing(1))
        finally:
            transport.close()
        assert (delivery.outcome, delivery.status) == (Outcome.PERMANENT, "5.3.4")
        assert server.messages == []


@pytest.mark.parametrize("rcpt", ["a@example.com>\r\nRCPT TO:<evil@example.com", "a b@example.com", "a\x00@x.com", ""])
def test_addresses_cannot_inject_commands(server: SmtpTestServer, rcpt: str) -> None:
    transport = transport_for(server)
    try:
        delivery = transport.send(outgoing(1, rcpt_to=rcpt))
        after = transport.send(outgoing(2))
    finally:
        transport.close()
    assert delivery.outcome is Outcome.PERMANENT and "cannot be used in an SMTP command" in delivery.text
    assert after.outcome is Outcome.ACCEPTED
    assert [got.rcpt_tos for got in server.messages] == [("reader2@example.com",)]


# -- a real server: faults ----------------------------------------------------------------------


def test_refusals_map_to_outcomes_and_the_connection_stays_usable(server: SmtpTestServer) -> None:
    server.faults.add(Fault("rcpt", reply="550 5.1.1 <ghost@example.com>: no such user", match="ghost"))
    server.faults.add(Fault("rcpt", reply="452 4.5.3 too many recipients", match="busy"))
    server.faults.add(Fault("message", reply="451 4.3.0 local problem", match="later"))
    server.faults.add(Fault("message", reply="554 5.7.1 message refused as spam", match="spam"))
    server.faults.add(Fault("mail", reply="550 5.7.1 sender blocked", match="tok0005"))
    names = ["ghost", "busy", "later", "spam", "fine", "blocked", "fine2"]
    sent = [outgoing(n, rcpt_to=f"{name}@example.com") for n, name in enumerate(names)]
    transport = transport_for(server)
    try:
        got = {name: transport.send(m) for name, m in zip(names, sent)}
    finally:
        transport.close()
    assert got["ghost"].outcome is Outcome.PERMANENT and got["ghost"].hard_bounce
    assert got["ghost"].text == "RCPT TO: 550 5.1.1 <ghost@example.com>: no such user"
    assert got["busy"].outcome is Outcome.TEMPORARY and got["busy"].status == "4.5.3"
    assert got["later"].outcome is Outcome.TEMPORARY and got["later"].text.startswith("end of DATA: 451")
    assert got["spam"].outcome is Outcome.PERMANENT and got["spam"].sender_problem
    assert got["blocked"].outcome is Outcome.PERMANENT and got["blocked"].sender_problem
    assert got["fine"].outcome is got["fine2"].outcome is Outcome.ACCEPTED
    assert [m.rcpt_tos for m in server.messages] == [("fine@example.com",), ("fine2@example.com",)]
    assert server.sessions == 1  # every refusal was followed by RSET on the same connection


def test_421_on_a_reused_connection_is_retried_on_a_fresh_one(server: SmtpTestServer) -> None:
    server.faults.add(Fault("rcpt", reply="421 4.4.2 idle too long, closing", match="reader1@"))
    transport = transport_for(server)
    sent = [outgoing(0), outgoing(1), outgoing(2)]
    try:
        deliveries = [transport.send(m) for m in sent]
    finally:
        transport.close()
    assert [d.outcome for d in deliveries] == [Outcome.ACCEPTED] * 3
    assert_arrived(server, sent)
    assert [m.session for m in server.messages] == [1, 2, 2]


def test_421_after_the_message_is_temporary_and_reconnects(server: SmtpTestServer) -> None:
    server.faults.add(Fault("message", reply="421 4.3.2 shutting down", match="reader0@"))
    transport = transport_for(server)
    try:
        first, second = transport.send(outgoing(0)), transport.send(outgoing(1))
    finally:
        transport.close()
    assert first.outcome is Outcome.TEMPORARY and first.code == 421
    assert second.outcome is Outcome.ACCEPTED
    assert [m.rcpt_tos for m in server.messages] == [("reader1@example.com",)]
    assert server.sessions == 2


def test_a_stale_connection_dropped_before_the_message_is_replaced(server: SmtpTestServer) -> None:
    server.faults.add(Fault("mail", action="drop", match="tok0001"))
    transport = transport_for(server, connections=1)
    sent = [outgoing(0), outgoing(1)]
    try:
        assert [transport.send(m).outcome for m in sent] == [Outcome.ACCEPTED] * 2
    finally:
        transport.close()
    assert_arrived(server, sent)
    assert server.sessions == 2


def test_drop_during_data_is_unknown_and_a_retry_delivers_once(server: SmtpTestServer) -> None:
    server.faults.add(Fault("message", action="drop", match="reader0@"))
    transport = transport_for(server)
    try:
        lost = transport.send(outgoing(0))
        retried = transport.send(outgoing(0))
    finally:
        transport.close()
    assert lost.outcome is Outcome.TEMPORARY
    assert lost.text.startswith("unknown: 127.0.0.1:") and "may have accepted it" in lost.text
    assert retried.outcome is Outcome.ACCEPTED
    assert_arrived(server, [outgoing(0)])


def test_accepted_but_unconfirmed_is_reported_as_unknown(server: SmtpTestServer) -> None:
    """The documented duplicate risk: the server kept it, the client cannot know."""
    server.faults.add(Fault("message", action="accept_then_drop"))
    transport = transport_for(server)
    try:
        delivery = transport.send(outgoing(0))
    finally:
        transport.close()
    assert delivery.outcome is Outcome.TEMPORARY and delivery.text.startswith("unknown:")
    assert len(server.messages) == 1


@pytest.mark.parametrize(("stage", "unknown"), [("rcpt", False), ("message", True)])
def test_a_server_that_stops_answering_times_out(server: SmtpTestServer, stage: str, unknown: bool) -> None:
    server.faults.add(Fault(stage, action="hang", hang=20))  # type: ignore[arg-type]
    transport = transport_for(server, timeout=0.5)
    started = time.monotonic()
    try:
        delivery = transport.send(outgoing(0))
    finally:
        transport.close()
    assert time.monotonic() - started < 3
    assert delivery.outcome is Outcome.TEMPORARY
    assert "no reply within 0.5 s" in delivery.text
    assert delivery.text.startswith("unknown:") is unknown
    assert server.messages == []


def test_random_faults_with_retries_lose_nothing_and_duplicate_nothing(server: SmtpTestServer) -> None:
    """Like the orchestration: retry temporary outcomes; every recipient ends accepted or refused."""
    replies = ["421 4.4.2 closing", "451 4.3.0 later", "452 4.5.3 busy", "550 5.1.1 no such user", "554 5.7.1 spam"]
    server.faults.random(0.3, replies, seed=7, stages=("mail", "rcpt", "message"))
    sent = [outgoing(n) for n in range(60)]
    final: dict[str, Delivery] = {}
    transport = transport_for(server, connections=3)
    try:
        pending = list(sent)
        for _ in range(30):
            with ThreadPoolExecutor(3) as pool:
                results = list(pool.map(transport.send, pending))
            final.update({m.rcpt_to: d for m, d in zip(pending, results)})
            pending = [m for m, d in zip(pending, results) if d.outcome is Outcome.TEMPORARY]
            if not pending:
                break
    finally:
        transport.close()
    assert not pending
    accepted = sorted(rcpt for rcpt, d in final.items() if d.outcome is Outcome.ACCEPTED)
    arrived = sorted(got.rcpt_tos[0] for got in server.messages)
    assert arrived == accepted  # nothing accepted twice, nothing refused arrived, nothing lost
    assert len(final) == 60 and 0 < len(accepted) < 60
    assert {reply[:3] for _, _, reply in server.faults.fired} == {r[:3] for r in replies}
    by_rcpt = {got.rcpt_tos[0]: got for got in server.messages}
    assert all(by_rcpt[m.rcpt_to].data == m.data for m in sent if m.rcpt_to in by_rcpt)


# -- a real server: the run's fate ----------------------------------------------------------------


def one_line(error: Exception) -> str:
    text = str(error)
    assert "\n" not in text and PASSWORD not in text
    return text


def test_auth_failure_stops_the_run_without_showing_the_password(certificate: TestCertificate) -> None:
    with SmtpTestServer(certificate=certificate, users={"news": "another password"}) as server:
        transport = transport_for(server)
        try:
            with pytest.raises(SenderProblem) as caught:
                transport.send(outgoing(0))
            with pytest.raises(SenderProblem) as again:
                transport.send(outgoing(1))
        finally:
            transport.close()
        assert server.messages == []
        assert server.sessions == 1  # a refused login is not retried from every thread
    assert again.value is caught.value
    text = one_line(caught.value)
    assert text.startswith(f"127.0.0.1:{server.port}: authentication failed (535 5.7.8")
    assert caught.value.exit_code == 3
    assert PASSWORD not in repr(caught.value.__cause__) + repr(caught.value.hint)


def test_auth_failure_in_korean(certificate: TestCertificate) -> None:
    activate("ko")
    with SmtpTestServer(certificate=certificate, users={"news": "x"}) as server, closing(transport_for(server)) as transport:
        with pytest.raises(SenderProblem) as caught:
            transport.send(outgoing(0))
    assert one_line(caught.value) == f"127.0.0.1:{server.port}: 인증에 실패했습니다(535 5.7.8 Authentication credentials invalid)."
    assert caught.value.hint == "[smtp]에 지정한 사용자 이름과 비밀번호 환경 변수를 확인하세요."


def test_certificate_for_another_host_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = TestCertificate.create(tmp_path, hosts=("mail.example.net",))
    with SmtpTestServer(certificate=other, users={"news": PASSWORD}) as server:
        transport = transport_for(server)
        try:
            with pytest.raises(SenderProblem) as caught:
                transport.send(outgoing(0))
        finally:
            transport.close()
        assert server.messages == []
    text = one_line(caught.value)
    assert text.startswith(f"127.0.0.1:{server.port}: the server's TLS certificate is not trusted (")
    assert "mismatch" in text.lower() or "match" in text.lower()


def test_certificate_from_an_unknown_ca_is_refused(server: SmtpTestServer) -> None:
    transport = transport_for(server, ca_file="")
    try:
        with pytest.raises(SenderProblem, match=r"not trusted \(.*(certificate|issuer)"):
            transport.send(outgoing(0))
    finally:
        transport.close()


def test_starttls_missing_is_refused_before_any_credentials() -> None:
    with SmtpTestServer(tls="none", users={"news": PASSWORD}) as server:
        transport = transport_for(server, security="starttls")
        try:
            with pytest.raises(SenderProblem, match="does not offer STARTTLS"):
                transport.send(outgoing(0))
        finally:
            transport.close()


def test_ehlo_refused_is_a_sender_problem_and_busy_is_for_later(server: SmtpTestServer) -> None:
    server.faults.add(Fault("ehlo", reply="554 5.7.1 client.example.test: Helo command rejected"))
    transport = transport_for(server)
    try:
        with pytest.raises(SenderProblem, match=r"refused EHLO \(554 5\.7\.1 client\.example\.test: Helo"):
            transport.send(outgoing(0))
    finally:
        transport.close()
    server.faults.add(Fault("ehlo", reply="421 4.3.2 too many connections"))
    transport = transport_for(server)
    try:
        with pytest.raises(TransportError, match="try again later") as caught:
            transport.send(outgoing(0))
        assert not isinstance(caught.value, SenderProblem)
        assert transport.send(outgoing(1)).outcome is Outcome.ACCEPTED  # a transient refusal is not remembered
    finally:
        transport.close()
    assert [m.rcpt_tos for m in server.messages] == [("reader1@example.com",)]


def test_cannot_connect_names_host_and_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connection refused
        settings = Settings(publication=PUBLICATION, smtp=Smtp(host="127.0.0.1", port=port, security="none"))
        transport = SmtpTransport.from_settings(settings)
        with pytest.raises(TransportError) as caught:
            transport.send(outgoing(0))
    assert not isinstance(caught.value, SenderProblem)
    assert one_line(caught.value).startswith(f"127.0.0.1:{port}: cannot connect (")


def test_send_after_close_raises(server: SmtpTestServer) -> None:
    transport = transport_for(server)
    assert transport.send(outgoing(0)).outcome is Outcome.ACCEPTED
    transport.close()
    with pytest.raises(TransportError, match="closed"):
        transport.send(outgoing(1))
