"""The resolver edge: the few lookups the online checks make, with dnspython's errors translated.

"No such name" and "no record of that type" are answers (an empty tuple); a resolver that does not
answer is not, and stops the check with exit 3, since a missing record cannot be told from a
missing reply. Every answer is cached for the run: an SPF tree asks for the same names again.
"""

from __future__ import annotations

import ipaddress

import dns.exception
import dns.resolver

from webzine.errors import UsageError, WebzineError
from webzine.i18n import _


class DnsUnavailable(WebzineError):
    """The resolver did not answer: nothing can be concluded, re-run later (or with --resolver)."""

    exit_code = 3


def resolver_for(option: str | None, *, timeout: float = 5.0) -> dns.resolver.Resolver:
    """The system's resolver, or the one `--resolver HOST[:PORT]` names (`[::1]:5353` for IPv6)."""
    if not option:
        resolver = dns.resolver.Resolver()
    else:
        host, port = _host_and_port(option)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.lifetime = timeout
    return resolver


def _host_and_port(option: str) -> tuple[str, int]:
    text = option.strip()
    if text.startswith("["):
        host, __, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, __, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    try:
        ipaddress.ip_address(host)
        port = int(port_text) if port_text else 53
    except ValueError:
        raise UsageError(_("--resolver {option} is not an IP address with an optional port; "
                           "write it as 127.0.0.1:5353 or [::1]:5353.").format(option=repr(option))) from None
    if not 0 < port < 65536:
        raise UsageError(_("--resolver {option}: the port must be between 1 and 65535.").format(option=repr(option)))
    return host, port


class Dns:
    """TXT, MX and address lookups through one resolver, each asked once per run."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self._resolver = resolver
        self._answers: dict[tuple[str, str], tuple[str, ...]] = {}

    def txt(self, name: str) -> tuple[str, ...]:
        """Each TXT record as one string (its character-strings joined, RFC 7208 §3.3)."""
        return self._ask(name, "TXT")

    def mx(self, name: str) -> tuple[str, ...]:
        """The exchanges' host names, most preferred first; a null MX (RFC 7505) is ("",)."""
        return self._ask(name, "MX")

    def addresses(self, name: str) -> tuple[str, ...]:
        return self._ask(name, "A") + self._ask(name, "AAAA")

    def _ask(self, name: str, kind: str) -> tuple[str, ...]:
        key = (name.lower().rstrip("."), kind)
        if key not in self._answers:
            self._answers[key] = self._resolve(*key)
        return self._answers[key]

    def _resolve(self, name: str, kind: str) -> tuple[str, ...]:
        try:
            answer = self._resolver.resolve(name, kind)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return ()
        except dns.exception.Timeout:
            raise DnsUnavailable(_("the DNS resolver {resolver} did not answer for {name} {kind}; nothing "
                                   "was concluded — re-run later, or choose a resolver with --resolver.").format(
                resolver=self._where(), name=name, kind=kind)) from None
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(_("the DNS lookup of {name} {kind} at {resolver} failed ({reason}); re-run "
                                   "later, or choose a resolver with --resolver.").format(
                name=name, kind=kind, resolver=self._where(), reason=exc)) from None
        if kind == "TXT":
            return tuple(b"".join(record.strings).decode("utf-8", "replace") for record in answer)
        if kind == "MX":
            ordered = sorted(answer, key=lambda record: record.preference)
            names = (record.exchange.to_text(omit_final_dot=True) for record in ordered)
            return tuple("" if name == "." else name for name in names)
        return tuple(record.address for record in answer)

    def _where(self) -> str:
        servers = ", ".join(str(server) for server in self._resolver.nameservers)
        return f"{servers}:{self._resolver.port}"
