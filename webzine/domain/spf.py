"""An SPF record and everything it pulls in (RFC 7208), read once, to answer three questions:
does it authorise this address, does it include this provider, and how many DNS-querying terms
does a receiver have to follow?

A receiver stops after 10 terms that query DNS (`include`, `a`, `mx`, `ptr`, `exists`,
`redirect`; §4.6.4) and returns permerror, which DMARC treats as an SPF failure. The whole tree is
counted, not just the path one address would take, because a receiver checking another sender's
address walks all of it. `ip4`, `ip6` and `all` cost nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Protocol

LOOKUP_LIMIT = 10
MX_LIMIT = 10  # §4.6.4: an `mx` term looks at no more than 10 exchanges
_DEPTH_LIMIT = 12  # include chains deeper than this are over the lookup limit anyway
_QUALIFIERS = "+-~?"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Resolver(Protocol):
    def txt(self, name: str) -> tuple[str, ...]: ...
    def mx(self, name: str) -> tuple[str, ...]: ...
    def addresses(self, name: str) -> tuple[str, ...]: ...


@dataclass
class SpfTree:
    domain: str
    records: int = 0  # how many v=spf1 records the domain has: 1 is right, 0 none, 2+ permerror
    lookups: int = 0  # DNS-querying terms in the whole tree
    authorised: list[Network] = field(default_factory=list)  # what a "+" term lets send
    included: list[str] = field(default_factory=list)  # every include: and redirect= target
    broken: list[str] = field(default_factory=list)  # targets without exactly one SPF record (permerror)

    def covers(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip.version == network.version and ip in network for network in self.authorised)


def spf_records(texts: tuple[str, ...]) -> list[str]:
    """The TXT records that are SPF records: "v=spf1" alone or followed by a space (§4.5)."""
    return [text for text in texts if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")]


def read_spf(domain: str, dns: Resolver) -> SpfTree:
    tree = SpfTree(domain=domain.lower())
    tree.records = len(spf_records(dns.txt(tree.domain)))
    if tree.records == 1:
        _walk(tree, dns, tree.domain, passing=True, depth=0, seen=set())
    return tree


def _walk(tree: SpfTree, dns: Resolver, domain: str, *, passing: bool, depth: int, seen: set[str]) -> None:
    if domain in seen or depth > _DEPTH_LIMIT:
        return
    seen.add(domain)
    records = spf_records(dns.txt(domain))
    if len(records) != 1:
        tree.broken.append(domain)
        return
    redirect = ""
    for term in records[0].split()[1:]:
        qualifier = term[0] if term[0] in _QUALIFIERS else "+"
        body = term.lstrip(_QUALIFIERS)
        name = body.split(":", 1)[0].split("/", 1)[0].split("=", 1)[0].lower()
        authorising = passing and qualifier == "+"
        if name == "all":
            return  # terms after "all" are never evaluated, and a redirect is ignored (§6.1)
        if name == "redirect":
            redirect = body.partition("=")[2].lower()
        elif name in ("ip4", "ip6") and authorising:
            try:
                tree.authorised.append(ipaddress.ip_network(body.partition(":")[2], strict=False))
            except ValueError:
                tree.broken.append(domain)  # a syntax error: receivers return permerror (§4.6)
        elif name in ("a", "mx"):
            tree.lookups += 1
            target, prefix = _target_and_prefix(body, name, domain)
            hosts = [target] if name == "a" else [host for host in dns.mx(target)[:MX_LIMIT] if host]
            if authorising and "%" not in target:
                tree.authorised += [_network(address, prefix) for host in hosts for address in dns.addresses(host)]
        elif name == "include":
            tree.lookups += 1
            target = body.partition(":")[2].lower()
            tree.included.append(target)
            if "%" not in target:
                _walk(tree, dns, target, passing=authorising, depth=depth + 1, seen=seen)
        elif name in ("ptr", "exists"):
            tree.lookups += 1
    if redirect and "%" not in redirect:
        tree.lookups += 1
        tree.included.append(redirect)
        _walk(tree, dns, redirect, passing=passing, depth=depth + 1, seen=seen)


def _target_and_prefix(body: str, name: str, domain: str) -> tuple[str, tuple[int, int]]:
    """`a:host/24//64` → ("host", (24, 64)); the domain itself when no host is named."""
    spec, __, cidr = body[len(name):].partition("/")
    target = spec.removeprefix(":").lower() or domain
    four, __, six = cidr.partition("//") if not cidr.startswith("/") else ("", "", cidr[1:])
    return target, (int(four or 32), int(six or 128))


def _network(address: str, prefix: tuple[int, int]) -> Network:
    ip = ipaddress.ip_address(address)
    return ipaddress.ip_network(f"{address}/{prefix[0] if ip.version == 4 else prefix[1]}", strict=False)
