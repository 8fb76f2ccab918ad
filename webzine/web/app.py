"""The Starlette application: routes, collaborators and start-up, assembled in one place.

`create_app(settings, store)` wires the parts; each endpoint group lives in its own module
(unsubscribe, feedback, webhooks) and gets its collaborators from here, never from globals.
Secrets are read from the environment once, at start-up, so a missing one fails before the first
request rather than on it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from webzine.config import Settings, secret
from webzine.i18n import _
from webzine.web.token_owners import AddressBook, AddressReader, list_id, list_reader
from webzine.web.feedback import FeedbackEndpoints, FeedbackTokens, issue_titles
from webzine.web.notice import NoticeSender
from webzine.web.pages import Pages, Site
from webzine.web.security import Guard, TokenBuckets
from webzine.unsubscribes.store import Store
from webzine.web.unsubscribe import UnsubscribeEndpoints
from webzine.providers.webhook import Fetch, fetch_https
from webzine.web.webhooks import webhook_routes
from webzine.unsubscribes.writer import UnsubscribeWriter
from webzine.transports.base import Transport

log = logging.getLogger("webzine.web")

ERRORS = {
    400: ("요청을 처리할 수 없습니다", "요청 형식이 올바르지 않습니다."),
    405: ("요청을 처리할 수 없습니다", "이 주소에서는 그 방식의 요청을 받지 않습니다."),
    413: ("요청이 너무 큽니다", "보내신 내용이 너무 깁니다. 조금 줄여서 다시 보내 주세요."),
    429: ("요청이 너무 많습니다", "짧은 시간에 요청이 많이 들어왔습니다. 잠시 후 다시 시도해 주세요."),
}


@dataclass(frozen=True)
class Collaborators:
    """What the app talks to besides the store; tests and the benchmark pass their own."""

    transport_factory: Callable[[], Transport] | None = None
    address_reader: AddressReader | None = None  # default: the lists as `[lists.columns]` maps them
    refresh_seconds: float = 2.0  # how often the list files are checked for changes
    fetch: Fetch = fetch_https  # SNS signing certificates and subscription confirmations
    clock: Callable[[], float] = time.time  # webhook timestamp checks


def subscriber_files(settings: Settings) -> list[Path]:
    """The lists whose addresses can hold a token: subscribers and key customers."""
    return [settings.path(settings.lists.subscribers), settings.path(settings.lists.key_customers)]


def create_app(settings: Settings, store: Store, collaborators: Collaborators | None = None) -> Starlette:
    parts = collaborators or Collaborators()
    unsubscribe_secret = secret(settings.unsubscribe.secret_env, purpose=_("unsubscribe and feedback tokens"))
    pages = Pages(Site.from_settings(settings))
    book = AddressBook(
        unsubscribe_secret,
        list_id(settings),
        subscriber_files(settings),
        extra=store.unsubscribed,
        reader=parts.address_reader or list_reader(settings),
        check_every=parts.refresh_seconds,
    )
    writer = UnsubscribeWriter(store)
    notices = NoticeSender(settings, store, parts.transport_factory, idle_for=writer.seconds_since_last_write)
    unsubscribe = UnsubscribeEndpoints(
        book, store, writer, list_id(settings), pages, settings.serve.notify, notices.wake
    )
    feedback = FeedbackEndpoints(FeedbackTokens(unsubscribe_secret, book), store, pages, issue_titles(settings))
    webhooks, off = webhook_routes(settings, store, fetch=parts.fetch, clock=parts.clock)
    for provider, why in off.items():
        log.info(_("the {provider} webhook is off: {reason}").format(provider=provider, reason=why))

    async def css(request: Request) -> Response:
        return Response(pages.css, media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status in ERRORS:
            return pages.error(status, *ERRORS[status])
        return pages.not_found() if status == 404 else pages.error(status, "오류가 발생했습니다", "잠시 후 다시 시도해 주세요.")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.serve.notify:
            notices.start()
        # What exists now (modules, templates, the token index) lives as long as the process;
        # freezing it keeps the collector's full passes short. Without it, a full pass under load
        # stalled every open request: p99 66 ms instead of 33 ms in bench_serve.py.
        gc.freeze()
        try:
            yield
        finally:
            await writer.close()
            notices.stop()
            gc.unfreeze()  # a server started inside another process (tests) leaves its heap as it was

    routes = [  # the one-click POST first: it is the route under load
        Route("/u/{token}", unsubscribe.one_click, methods=["POST"]),
        Route("/u/{token}", unsubscribe.show, methods=["GET"]),
        Route("/serve.css", css),
        Route("/healthz", health),
        Route("/u/{token}/keep", unsubscribe.keep, methods=["GET"]),
        Route("/f/{issue}/{score:int}/{token}", feedback.show, methods=["GET"]),
        Route("/f/{issue}/{score:int}/{token}", feedback.submit, methods=["POST"]),
        *webhooks,
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.notices = notices
    app.state.book = book

    def guard_error(status: int, headers: dict[str, str]) -> Response:
        return pages.error(status, *ERRORS[status], headers=headers)

    app.add_middleware(
        Guard,
        max_body_bytes=settings.serve.max_body_bytes,
        webhook_max_body_bytes=settings.serve.webhook_max_body_bytes,
        buckets=TokenBuckets(settings.serve.rate_limit_per_minute),
        error=guard_error,
    )
    return app
