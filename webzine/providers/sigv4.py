"""AWS Signature Version 4 for httpx requests, with the standard library only.

Amazon SES needs nothing else from an AWS SDK: one signed JSON POST per message. The steps follow
the AWS General Reference ("Create a signed AWS API request"): canonical request → string to sign
→ signing key derived by HMAC-SHA256 over date, region, service and "aws4_request" → signature
in the Authorization header. Pure functions; `sign` only adds headers to the request it is given.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote

import httpx

ALGORITHM = "AWS4-HMAC-SHA256"
UNRESERVED = "-_.~"


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str = ""
    session_token: str = ""  # temporary credentials (STS, instance roles) carry one

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key!r}, secret_key=<hidden>)"


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def query_string(params: dict[str, str]) -> str:
    """Percent-encode parameters the way SigV4 canonicalises them (a space is %20, never +),
    so the query we send and the one we sign are the same bytes."""
    return "&".join(f"{quote(k, safe=UNRESERVED)}={quote(v, safe=UNRESERVED)}" for k, v in params.items())


def canonical_query(query: bytes) -> str:
    pairs = [item.partition("=")[::2] for item in query.decode("ascii").split("&") if item]
    encoded = sorted((quote(unquote(k), safe=UNRESERVED), quote(unquote(v), safe=UNRESERVED)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_request(request: httpx.Request, signed: list[str], payload_hash: str) -> str:
    """Method, URI (the path as sent, encoded once more, as for every service but S3), sorted
    query, the signed headers (lowercase, values trimmed), their names, and the payload hash."""
    path = request.url.raw_path.split(b"?", 1)[0].decode("ascii") or "/"
    headers = "".join(f"{name}:{' '.join(request.headers[name].split())}\n" for name in signed)
    return "\n".join(
        [request.method, quote(path, safe="/" + UNRESERVED), canonical_query(request.url.query), headers, ";".join(signed), payload_hash]
    )


def sign(request: httpx.Request, credentials: Credentials, region: str, service: str, *, now: datetime | None = None) -> None:
    """Add X-Amz-Date (and the session token) and the Authorization header to `request`."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    request.headers["X-Amz-Date"] = amz_date
    if credentials.session_token:
        request.headers["X-Amz-Security-Token"] = credentials.session_token
    signed = sorted(name for name in ("host", "content-type", "x-amz-date", "x-amz-security-token") if name in request.headers)
    payload_hash = hashlib.sha256(request.content).hexdigest()
    scope = f"{date}/{region}/{service}/aws4_request"
    digest = hashlib.sha256(canonical_request(request, signed, payload_hash).encode("utf-8")).hexdigest()
    to_sign = "\n".join([ALGORITHM, amz_date, scope, digest])
    key = signing_key(credentials.secret_key, date, region, service)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    request.headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
