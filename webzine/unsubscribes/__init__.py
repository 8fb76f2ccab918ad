"""Unsubscribes: what the web service records (unsubscribes, provider events, reader feedback).

- `store.py`    the store on SQLite, and the choice between it and PostgreSQL
- `pgstore.py`  the same store on PostgreSQL, for several `webzine serve` instances
- `writer.py`   group commit: one transaction for every unsubscribe request that is waiting
"""
