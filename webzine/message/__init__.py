"""Message: a rendered issue × one recipient → the bytes a transport sends.

- `encoding.py`  the encodings a message is made of (base64 bodies encoded once per issue, headers)
- `factory.py`   one recipient's message: headers, List-Unsubscribe, VERP, parts filled in
- `dkim.py`      optional DKIM signing (RFC 6376, rsa-sha256)
- `signing.py`   the DKIM signatures of a send computed on every core (a process pool)
"""
