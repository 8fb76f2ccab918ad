"""`--check-dns`: which of a list's domains cannot receive mail, asked of DNS once per domain.

Off by default (cleaning must work offline and fast). When on, each distinct domain is looked up
once, a few at a time, with a timeout: no MX and no address record, a null MX (RFC 7505: "this
domain accepts no mail") or a domain that does not exist makes it undeliverable. Every answer is
one of three — deliverable, undeliverable, unknown — and only a certain "undeliverable" drops
anyone: a lookup that times out or fails, at any step, proves nothing, so a flaky resolver never
drops a subscriber.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import dns.exception
import dns.resolver

from webzine.i18n import _
from webzine.recipients.addresses import PROVIDERS

Lookup = Callable[[str], str]  # domain → why it is undeliverable, or ""


def resolver_lookup(resolver: dns.resolver.Resolver | None = None, *, timeout: float = 3.0) -> Lookup:
    """A lookup using dnspython (the system's resolvers unless one is given)."""
    resolver = resolver or dns.resolver.Resolver()
    resolver.lifetime = timeout

    def lookup(domain: str) -> str:
        try:
            answer = resolver.resolve(domain, "MX")
        except dns.resolver.NXDOMAIN:
            return _("the domain does not exist")
        except dns.resolver.NoAnswer:
            # Only a certain "no address either" drops anyone; an address lookup that failed is unknown.
            return _("the domain has no MX or address record") if _has_address(resolver, domain) is False else ""
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.exception.DNSException):
            return ""
        exchanges = [str(record.exchange).rstrip(".") for record in answer]
        if exchanges and all(exchange == "" for exchange in exchanges):
            return _("the domain accepts no mail (null MX)")
        return ""

    return lookup


def _has_address(resolver: dns.resolver.Resolver, domain: str) -> bool | None:
    """RFC 5321 §5.1: without MX records, mail goes to the domain's own address. Three answers:
    True (an A or AAAA record), False (DNS said there is none), None (DNS could not say)."""
    unknown = False
    for record_type in ("A", "AAAA"):
        try:
            resolver.resolve(domain, record_type)
            return True
        except dns.resolver.NXDOMAIN:
            return False
        except dns.resolver.NoAnswer:
            continue
        except dns.exception.DNSException:
            unknown = True
    return None if unknown else False


def undeliverable_domains(domains: Iterable[str], *, lookup: Lookup | None = None, workers: int = 16,
                          cache: dict[str, str] | None = None) -> dict[str, str]:
    """Domain → reason, for the domains that cannot receive mail. The big providers are known
    to, and are not asked; `cache` carries answers between calls."""
    lookup = lookup or resolver_lookup()
    cache = cache if cache is not None else {}
    todo = sorted({d for d in domains if d not in PROVIDERS and d not in cache})
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
            for domain, why in zip(todo, pool.map(lookup, todo)):
                cache[domain] = why
    return {domain: cache[domain] for domain in domains if cache.get(domain)}
