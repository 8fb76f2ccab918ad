"""What every provider's webhook endpoint shares.

`POST /webhooks/<provider>`: the provider's `<name>_webhook.py` authenticates the request first,
then maps the body with its event parser, and the events are stored with dedupe (providers retry,
SNS may deliver twice). A refused request is logged with the provider, the client address and the
reason, and answered 401 (or the provider's documented "do not retry" code) — the provider's retry
cannot succeed, and an attacker learns nothing more.

A provider whose secret is not in the environment has no endpoint (404): an unauthenticated
webhook is never accepted. Network look-ups (SNS certificates) go through an injectable
`fetch(url) -> bytes`, so tests use their own certificate without a network.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from webzine.bounces.events import BounceEvent, PayloadError
from webzine.config import Settings

log = logging.getLogger("webzine.providers.webhook")

Fetch = Callable[[str], bytes]


class SignatureError(Exception):
    """Why a webhook was refused; logged, never shown to the caller beyond a status code."""


class EventSink(Protocol):
    """Where received events go (the service's store); answers how many were new."""

    def record_events(self, events: Sequence[BounceEvent]) -> int: ...


def fetch_https(url: str) -> bytes:
    """GET a URL the caller has checked; no redirects (they could leave the checked host)."""
    try:
        response = httpx.get(url, timeout=10, follow_redirects=False)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise SignatureError(f"could not fetch {url}: {exc}") from exc
    return response.content


@dataclass(frozen=True)
class Wiring:
    """What an endpoint is given by the service: the store, the clock and the allowed skew."""

    sink: EventSink
    max_age_seconds: float
    fetch: Fetch = fetch_https
    clock: Callable[[], float] = time.time


class Webhook:
    """One provider's endpoint: `from_settings` reads its secret (None: the endpoint is off, and
    `off_reason` says why), `receive` answers one request."""

    name: ClassVar[str]
    refused_status: ClassVar[int] = 401
    unreadable_status: ClassVar[int] = 400

    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring

    @classmethod
    def from_settings(cls, settings: Settings, wiring: Wiring) -> Self | None:
        raise NotImplementedError

    @classmethod
    def off_reason(cls, settings: Settings) -> str:
        raise NotImplementedError

    async def receive(self, request: Request) -> Response:
        raise NotImplementedError

    def refused(self, request: Request, exc: Exception) -> Response:
        log.warning("refused %s webhook from %s: %s", self.name, client_of(request), exc)
        return JSONResponse({"error": "signature not valid"}, status_code=self.refused_status)

    def unreadable(self, request: Request, reason: str) -> Response:
        log.warning("unreadable %s webhook from %s: %s", self.name, client_of(request), reason)
        return JSONResponse({"error": "payload not understood"}, status_code=self.unreadable_status)

    def store(self, request: Request, parse: Callable[[], list[BounceEvent]], **counts: int) -> Response:
        try:
            events = parse()
        except PayloadError as exc:
            return self.unreadable(request, str(exc))
        new = self.wiring.sink.record_events(events)
        return JSONResponse({"received": len(events), "stored": new, **counts})


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


async def disabled(request: Request) -> Response:
    return JSONResponse({"error": "not found"}, status_code=404)
