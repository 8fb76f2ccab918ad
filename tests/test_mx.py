"""`--check-dns` against a real DNS server on 127.0.0.1 (started here, answering from a table):
MX, null MX, no MX but an address, no records, NXDOMAIN, and a server that never answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dnskit import DnsServer, running

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
SILENT_FOR = frozenset({("flaky.example.kr.", "A"), ("flaky.example.kr.", "AAAA")})


@pytest.fixture
def server() -> Iterator[DnsServer]:
    with running(DnsServer(ZONE, silent_names=frozenset({SILENT}), silent=SILENT_FOR)) as started:
        yield started


def test_lookups_against_a_real_server(server):
    lookup = resolver_lookup(server.resolver(), timeout=1.0)
    assert lookup("mail.example.kr") == ""
    assert lookup("nullmx.example.kr") == "the domain accepts no mail (null MX)"
    assert lookup("aonly.example.kr") == ""  # RFC 5321: no MX, mail goes to the A record
    assert lookup("empty.example.kr") == "the domain has no MX or address record"
    assert lookup("gone.example.kr") == "the domain does not exist"
    assert lookup("slow.example.kr") == ""  # a timeout proves nothing and rejects nobody


@pytest.mark.slow
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
