"""`--check-dns` against a real DNS server on 127.0.0.1 (started here, answering from a table):
MX, null MX, no MX but an address, no records, NXDOMAIN, and a server that never answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset
import pytest

from webzine.recipients.mx import resolver_lookup, undeliverable_domains

ZONE = {
    ("mail.example.kr.", "MX"): ["10 mx1.mail.example.kr."],
    ("nullmx.example.kr.", "MX"): ["0 ."],
    ("aonly.example.kr.", "A"): ["192.0.2.10"],
    ("empty.example.kr.", "TXT"): ["v=spf1 -all"],
    ("flaky.example.kr.", "TXT"): ["v=spf1 -all"],
}
SILENT = "slow.example.kr."
# Answers that MX has no records, then never answers the address questions (a flaky resolver).
SILENT_FOR = {("flaky.example.kr.", "A"), ("flaky.example.kr.", "AAAA")}


class DnsServer:
    """A UDP DNS server answering from ZONE; NXDOMAIN for names it does not know."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.questions: list[tuple[str, str]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                data, peer = self.socket.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            question = query.question[0]
            name, kind = question.name.to_text(), dns.rdatatype.to_text(question.rdtype)
            self.questions.append((name, kind))
            if name == SILENT or (name, kind) in SILENT_FOR:
                continue
            response = dns.message.make_response(query)
            known = {n for n, _ in ZONE}
            if name not in known:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif (name, kind) in ZONE:
                response.answer.append(dns.rrset.from_text(name, 300, "IN", kind, *ZONE[(name, kind)]))
            self.socket.sendto(response.to_wire(), peer)

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        return resolver


@pytest.fixture
def server() -> Iterator[DnsServer]:
    running = DnsServer()
    running.thread.start()
    yield running
    running.stopping.set()
    running.thread.join(timeout=5)
    running.socket.close()


def test_lookups_against_a_real_server(server):
    lookup = resolver_lookup(server.resolver(), timeout=1.0)
    assert lookup("mail.example.kr") == ""
    assert lookup("nullmx.example.kr") == "the domain accepts no mail (null MX)"
    assert lookup("aonly.example.kr") == ""  # RFC 5321: no MX, mail goes to the A record
    assert lookup("empty.example.kr") == "the domain has no MX or address record"
    assert lookup("gone.example.kr") == "the domain does not exist"
    assert lookup("slow.example.kr") == ""  # a timeout proves nothing and rejects nobody


def test_only_a_certain_answer_drops_anyone(server):
    """No MX, and the address lookups time out: unknown, not "no MX or address record"."""
    lookup = resolver_lookup(server.resolver(), timeout=0.5)
    assert lookup("flaky.example.kr") == ""
    assert undeliverable_domains({"flaky.example.kr", "gone.example.kr"}, lookup=lookup) == {
        "gone.example.kr": "the domain does not exist"}


def test_each_domain_is_asked_once_and_providers_never(server):
    lookup = resolver_lookup(server.resolver(), timeout=1.0)
    cache: dict[str, str] = {}
    domains = {"mail.example.kr", "gone.example.kr", "naver.com", "nullmx.example.kr"}
    assert undeliverable_domains(domains, lookup=lookup, cache=cache) == {
        "gone.example.kr": "the domain does not exist", "nullmx.example.kr": "the domain accepts no mail (null MX)"}
    asked = len(server.questions)
    assert ("naver.com.", "MX") not in server.questions
    undeliverable_domains(domains, lookup=lookup, cache=cache)
    assert len(server.questions) == asked
