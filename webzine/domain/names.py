"""Domain names as a receiver sees them: the organisational domain DMARC aligns on, and the
values that are still the sample's (or a template's) rather than the sender's own.

The organisational domain comes from the Public Suffix List (RFC 7489 §3.2) through
`publicsuffixlist`, which ships the list inside the package: no download, so `webzine check`
works offline and gives the same answer on every run of one installed version.
"""

from __future__ import annotations

import functools
import re

from publicsuffixlist import PublicSuffixList

# RFC 2606 and RFC 6761: names that can never be a sender's. "example" as any label also catches
# the sample's example.co.kr, which is not reserved but is what `make demo` ships.
RESERVED_TOP_LEVEL = frozenset({"test", "example", "invalid", "localhost"})
_MARKER = re.compile(r"(?i)change[-_ ]?me|\btodo\b|\bfixme\b|your[-_.]?(?:domain|company|name)|placeholder|"
                     r"<[^<>@]*>|예시|\b0\d{1,2}-000-\d{4}\b")  # "예시" (example), a 000 exchange
_HOSTNAME = re.compile(r"(?i)(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9](?![\w-])")


@functools.cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # parses the bundled list once per process


def organisational_domain(domain: str) -> str:
    """`news.example.co.kr` → `example.co.kr`; a name that is itself a public suffix stays as it is."""
    name = domain.strip().rstrip(".").lower()
    return _suffixes().privatesuffix(name) or name


def aligned(first: str, second: str) -> bool:
    """Relaxed DMARC alignment (RFC 7489 §3.1): the same organisational domain."""
    return organisational_domain(first) == organisational_domain(second)


def domain_of(address_or_url: str) -> str:
    """The domain of an address (`a@b.kr`), a URL (`https://b.kr/u`) or a bare host name."""
    value = address_or_url.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        value = value.rpartition("@")[2].split(":", 1)[0]
    return value.rpartition("@")[2].rstrip(".>").strip()


def placeholder_in(value: str) -> str:
    """What in `value` is a placeholder (`example.co.kr`, `CHANGE-ME`…), or "" when nothing is."""
    for host in _HOSTNAME.findall(value):
        labels = host.lower().split(".")
        if "example" in labels or labels[-1] in RESERVED_TOP_LEVEL:
            return host.lower()
    marker = _MARKER.search(value)
    return marker.group(0) if marker else ""
