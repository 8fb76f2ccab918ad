"""The SPF tree walker as a pure function over a table of DNS answers (RFC 7208 §4.6.4, §5, §6.1):
which terms count towards the 10 lookups, what `a`, `mx`, `include` and `redirect` authorise, and
that a loop or an include without a record ends the walk instead of hanging it."""

from __future__ import annotations

from webzine.domain.spf import read_spf


class Table:
    """A resolver answering from dicts; a name it does not know has no records."""

    def __init__(self, txt: dict[str, list[str]], mx: dict[str, list[str]] | None = None,
                 addresses: dict[str, list[str]] | None = None) -> None:
        self._txt, self._mx, self._addresses = txt, mx or {}, addresses or {}

    def txt(self, name: str) -> tuple[str, ...]:
        return tuple(self._txt.get(name, ()))

    def mx(self, name: str) -> tuple[str, ...]:
        return tuple(self._mx.get(name, ()))

    def addresses(self, name: str) -> tuple[str, ...]:
        return tuple(self._addresses.get(name, ()))


def test_ip_ranges_cost_nothing_and_authorise_their_addresses():
    tree = read_spf("a.kr", Table({"a.kr": ["v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 -all"]}))
    assert tree.lookups == 0 and tree.covers("203.0.113.9") and tree.covers("2001:db8::1")
    assert not tree.covers("198.51.100.1")


def test_a_and_mx_count_once_each_and_authorise_with_their_prefix():
    dns = Table({"a.kr": ["v=spf1 a/28 mx:b.kr -all"]}, mx={"b.kr": ["mx1.b.kr", "mx2.b.kr"]},
                addresses={"a.kr": ["192.0.2.1"], "mx1.b.kr": ["198.51.100.5"], "mx2.b.kr": ["198.51.100.6"]})
    tree = read_spf("a.kr", dns)
    assert tree.lookups == 2
    assert tree.covers("192.0.2.14") and not tree.covers("192.0.2.17")  # /28 around 192.0.2.1
    assert tree.covers("198.51.100.6")


def test_includes_redirects_and_terms_after_all():
    dns = Table({"a.kr": ["v=spf1 include:b.kr ?include:c.kr redirect=d.kr"], "b.kr": ["v=spf1 ip4:192.0.2.1 -all"],
                 "c.kr": ["v=spf1 ip4:192.0.2.2 -all"], "d.kr": ["v=spf1 ip4:192.0.2.3 -all include:e.kr"]})
    tree = read_spf("a.kr", dns)
    assert tree.included == ["b.kr", "c.kr", "d.kr"] and tree.lookups == 3  # e.kr is after "all": never reached
    assert tree.covers("192.0.2.1") and tree.covers("192.0.2.3")
    assert not tree.covers("192.0.2.2")  # "?include" makes a match neutral, not a pass


def test_a_loop_and_a_missing_include_end_the_walk():
    dns = Table({"a.kr": ["v=spf1 include:b.kr include:gone.kr -all"], "b.kr": ["v=spf1 include:a.kr -all"]})
    tree = read_spf("a.kr", dns)
    assert tree.broken == ["gone.kr"] and tree.lookups == 3


def test_no_record_and_two_records_are_told_apart():
    assert read_spf("a.kr", Table({"a.kr": ["google-site-verification=x"]})).records == 0
    assert read_spf("a.kr", Table({"a.kr": ["v=spf1 -all", "v=spf1 ip4:192.0.2.1 -all"]})).records == 2
