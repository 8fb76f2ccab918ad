"""The DNS look-ups of `webzine check --dns`: the --resolver option and a resolver that does not answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from webzine.domain.lookups import Dns, DnsUnavailable, resolver_for
from webzine.errors import UsageError
from webzine.i18n import activate


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A UDP port on 127.0.0.1 that receives queries and never answers them."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield sink.getsockname()[1]


def test_a_bad_resolver_option_in_korean() -> None:
    activate("ko")
    with pytest.raises(UsageError) as named:
        resolver_for("dns.example:53")
    assert named.value.message == ("--resolver 'dns.example:53'은(는) IP 주소(포트는 선택)가 아닙니다. "
                                   "127.0.0.1:5353 또는 [::1]:5353 형식으로 쓰세요.")
    with pytest.raises(UsageError) as port:
        resolver_for("127.0.0.1:70000")
    assert port.value.message == "--resolver '127.0.0.1:70000': 포트는 1에서 65535 사이여야 합니다."


def test_a_resolver_that_does_not_answer_concludes_nothing_in_korean(silent_port: int) -> None:
    activate("ko")
    with pytest.raises(DnsUnavailable) as silent:
        Dns(resolver_for(f"127.0.0.1:{silent_port}", timeout=0.3)).txt("example.co.kr")
    assert silent.value.exit_code == 3
    assert silent.value.message == (f"DNS 리졸버 127.0.0.1:{silent_port}이(가) example.co.kr TXT 조회에 응답하지 않아 "
                                    "아무것도 판단하지 않았습니다. 나중에 다시 실행하거나 --resolver로 다른 리졸버를 "
                                    "지정하세요.")
