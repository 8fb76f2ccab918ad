"""A real DNS server on 127.0.0.1 (UDP) answering from a table, for the MX and `webzine check` tests.

`zone` maps (name with final dot, type) to record texts in zone-file syntax; a name the table does
not know gets NXDOMAIN, a known name without that type an empty answer. Names in `silent_names`
and pairs in `silent` are never answered (a resolver that times out). TXT values longer than 255
bytes are split into character-strings with `txt()`, as a zone file would have them.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset


def txt(value: str) -> str:
    """A TXT record's zone-file text: quoted, in 255-byte character-strings."""
    return " ".join(f'"{value[start:start + 255]}"' for start in range(0, len(value), 255))


class DnsServer:
    def __init__(self, zone: dict[tuple[str, str], list[str]], *, silent_names: frozenset[str] = frozenset(),
                 silent: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.zone = zone
        self.silent_names = silent_names
        self.silent = silent
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
            name, kind = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
            self.questions.append((name, kind))
            if name in self.silent_names or (name, kind) in self.silent:
                continue
            response = dns.message.make_response(query)
            if name not in {known for known, _ in self.zone}:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif (name, kind) in self.zone:
                response.answer.append(dns.rrset.from_text(name, 300, "IN", kind, *self.zone[(name, kind)]))
            self.socket.sendto(response.to_wire(), peer)

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        return resolver


@contextmanager
def running(server: DnsServer) -> Iterator[DnsServer]:
    """The server answering until the block ends; then stopped and its socket closed."""
    server.thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.thread.join(timeout=5)
        server.socket.close()
