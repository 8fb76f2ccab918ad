"""One ASGI middleware for what every request goes through: size limit, rate limit, headers.

It is written against raw ASGI rather than Starlette's `BaseHTTPMiddleware`, which would add a
task and a memory stream per request; at a thousand one-click POSTs a second that overhead shows.

- Bodies are read here, up to `max_body_bytes` (`webhook_max_body_bytes` for provider batches),
  and replayed to the app: a declared or actual larger body gets 413 before any parsing happens.
- Rate limiting is a token bucket per client address (behind a reverse proxy, uvicorn's
  `--forwarded-allow-ips` makes that the real client). Provider webhooks are exempt: they are
  authenticated, come in bursts from a few addresses, and a refused delivery is only retried later.
- Security headers go on every response: a strict CSP (no scripts at all), no framing, no
  referrer (tokens are in our URLs), no MIME sniffing, and `no-store` on personal pages.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"x-robots-tag", b"noindex, nofollow"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

RATE_EXEMPT_PREFIXES = ("/webhooks/",)


class TokenBuckets:
    """`rate_per_minute` requests per client, in bursts of up to that many."""

    def __init__(self, rate_per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(rate_per_minute)
        self.refill = rate_per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, last seen)
        self._swept = clock()

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = self._clock()
        if now - self._swept > 60:
            self._sweep(now)
        tokens, seen = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - seen) * self.refill)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.refill
        self._buckets[client] = (tokens - 1, now)
        return 0.0

    def _sweep(self, now: float) -> None:
        """Forget clients whose bucket is full again, so the table does not grow without end."""
        full_after = self.capacity / self.refill
        self._buckets = {c: v for c, v in self._buckets.items() if now - v[1] < full_after}
        self._swept = now


ErrorResponder = Callable[[int, dict[str, str]], Any]  # status, headers → a Starlette Response


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        webhook_max_body_bytes: int,
        buckets: TokenBuckets,
        error: ErrorResponder,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.webhook_max_body_bytes = webhook_max_body_bytes
        self.buckets = buckets
        self.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        webhook = scope["path"].startswith(RATE_EXEMPT_PREFIXES)
        if not webhook:
            client = scope.get("client")
            wait = self.buckets.take(client[0] if client else "?")
            if wait:
                response = self.error(429, {"Retry-After": str(max(1, round(wait)))})
                await response(scope, receive, send_with_headers)
                return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            limit = self.webhook_max_body_bytes if webhook else self.max_body_bytes
            body = await _read_body(scope, receive, limit)
            if body is None:
                await self.error(413, {"Connection": "close"})(scope, receive, send_with_headers)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send_with_headers)

async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to exceed the limit."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                if int(value) > limit:
                    return None
            except ValueError:
                return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """Hand the buffered body to the app, then pass on what the server says next (disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive
