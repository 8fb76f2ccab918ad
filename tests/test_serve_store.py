"""The unsubscribe store's durability matches the ledger's: a 200 means the row survives power loss."""

from __future__ import annotations

from pathlib import Path

from webzine.unsubscribes.store import Store

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def test_the_store_commits_with_synchronous_full(tmp_path: Path) -> None:
    store = Store(tmp_path / "serve.sqlite3")
    try:
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == FULL
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()
