"""Unsubscribes: what the web service records (unsubscribes, provider events, reader feedback).

- `store.py`     the store, one class over SQLite (one instance) or PostgreSQL (several)
- `dialects.py`  what differs between the two: connecting, transactions, parameters, batch inserts
- `writer.py`    group commit: one transaction for every unsubscribe request that is waiting
"""
