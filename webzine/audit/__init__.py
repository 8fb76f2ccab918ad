"""Audit: would every key customer (핵심 고객) receive this issue, and if not, why, and who to call.

- `audit.py`    key customers × cleaned list × suppressions → `AuditReport` (pure)
- `suggest.py`  for a key customer missing from the list: the list address that is probably them
- `fields.py`   the list's columns and rows, and the managers, as the build checks merge fields
"""
