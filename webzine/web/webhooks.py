"""Provider webhooks: `POST /webhooks/<provider>` for every provider in `webzine.providers`.

Each provider's endpoint (`webzine.providers.<name>_webhook`) authenticates the request, parses
its events and stores them; this module only mounts them. A provider whose secret is not in the
environment gets an endpoint that answers 404: an unauthenticated webhook is never accepted.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import Route

from webzine.config import Settings
from webzine.providers import PROVIDERS
from webzine.providers.webhook import EventSink, Fetch, Wiring, disabled


def webhook_routes(settings: Settings, sink: EventSink, *, fetch: Fetch,
                   clock: Callable[[], float]) -> tuple[list[Route], dict[str, str]]:
    """The routes, and provider → why its endpoint is off (for the start-up log). Secrets are
    read here, at start-up, so a malformed one fails before the first request."""
    wiring = Wiring(sink, settings.serve.webhook_max_age_seconds, fetch=fetch, clock=clock)
    routes, off = [], {}
    for name, provider in PROVIDERS.items():
        webhook = provider.webhook_class()
        endpoint = webhook.from_settings(settings, wiring)
        if endpoint is None:
            off[name] = webhook.off_reason(settings)
        routes.append(Route(f"/webhooks/{name}", endpoint.receive if endpoint else disabled, methods=["POST"]))
    return routes, off
