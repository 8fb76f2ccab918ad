"""The unsubscribe store's durability matches the ledger's: a 200 means the row survives power loss."""

from __future__ import annotations

from pathlib import Path

import pytest

from webzine.errors import ConfigError
from webzine.i18n import activate
from webzine.unsubscribes.dialects import check_url
from webzine.unsubscribes.store import Store

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def test_the_store_commits_with_synchronous_full(tmp_path: Path) -> None:
    store = Store(tmp_path / "serve.sqlite3")
    try:
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == FULL
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()


def test_a_store_url_with_a_password_or_no_database_is_refused_in_korean() -> None:
    activate("ko")
    with pytest.raises(ConfigError) as leaky:
        check_url("postgresql://news:secret@db.example.co.kr/webzine")
    assert (leaky.value.message, leaky.value.hint) == (
        "webzine.toml [serve] store: PostgreSQL URL에 비밀번호가 들어 있습니다. 비밀 값은 파일에 쓰지 않습니다.",
        "URL에서 ':password'를 지우고 대신 WEBZINE_SERVE_DB_PASSWORD(또는 PGPASSWORD) 환경 변수를 설정하세요.")
    with pytest.raises(ConfigError) as nameless:
        check_url("postgresql://news@db.example.co.kr")
    assert nameless.value.message == ("webzine.toml [serve] store: 'postgresql://news@db.example.co.kr'에 호스트와 "
                                      "데이터베이스가 없습니다.")
