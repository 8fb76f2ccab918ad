"""Message: a rendered issue × one recipient → the `webzine.models.Message` a transport takes:
its envelope, subject and fields for JSON APIs, and its RFC 5322 bytes, encoded once on demand.

- `encoding.py`  the encodings a message is made of (base64 bodies encoded once per issue, headers)
- `factory.py`   one recipient's message: headers, List-Unsubscribe, VERP, parts filled in
- `dkim.py`      optional DKIM signing (RFC 6376, rsa-sha256)
- `signing.py`   the DKIM signatures of a send computed on every core (a process pool)
- `compose.py`   a one-off message from its fields (the unsubscribe notice, a manager's digest)
"""
