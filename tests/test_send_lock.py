"""The send lock: a second send of the same issue with the same ledger is refused, naming the first."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest

from webzine.errors import SendLocked
from webzine.i18n import activate
from webzine.send.lock import send_lock

STARTED = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def test_a_second_send_is_refused_in_korean_naming_the_first(tmp_path: Path) -> None:
    activate("ko")
    ledger = tmp_path / "state" / "ledger.sqlite3"
    with send_lock(ledger, "2026-12", now=STARTED, command="webzine send issues/2026-12.md --yes"):
        with pytest.raises(SendLocked) as caught:
            with send_lock(ledger, "2026-12", now=STARTED):
                pass
    assert caught.value.message == (
        f"2026-12은(는) 이미 이 발송 대장으로 발송 중입니다: {socket.gethostname()}의 pid {os.getpid()}, "
        "2026-12-01T09:30:00+00:00부터 실행 중(webzine send issues/2026-12.md --yes). 아무것도 보내지 않았습니다.")
    assert caught.value.hint == ("그 발송이 끝날 때까지 기다린 뒤(진행 상황은 webzine status로 볼 수 있습니다) "
                                 "다시 실행하면 남은 수신자에게 보냅니다.")
