"""Transports: where a finished message goes. The registry that names them is `webzine.providers`.

The files:
- `base.py`         the `Transport` protocol and `BaseTransport` (redaction at the edge)
- `outbox.py`       the embedded default: a local Maildir, sends nothing (a rehearsal)
- `smtp.py`         a bounded pool of pipelining SMTP connections
- `smtp_client.py`  the small blocking SMTP client that pool uses
- `http.py`         what every email-API transport shares: one httpx client, one reading of HTTP
- `memory.py`       every message kept in memory: for tests and for scripts
- `redact.py`       secrets taken out of whatever a server says
"""

from __future__ import annotations

# Transports that deliver nothing (the local outbox): what they accept is a rehearsal, which a
# send through a real transport does not count as a delivery.
REHEARSALS = frozenset({"outbox"})
