"""`webzine serve`: the unsubscribe / webhook / feedback service."""

from __future__ import annotations

import logging

import click

from webzine.cli import pass_context


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: [serve] host).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: [serve] port).")
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    envvar="FORWARDED_ALLOW_IPS",
    help="Reverse proxies whose X-Forwarded-For/-Proto are trusted (comma-separated, or '*').",
)
@click.option("--access-log", is_flag=True, help="Log every request (paths contain reader tokens).")
@pass_context
def serve(ctx: object, host: str | None, port: int | None, forwarded_allow_ips: str, access_log: bool) -> int:
    """Serve one-click unsubscribe (RFC 8058), provider webhooks and reader feedback."""
    import uvicorn

    from webzine.serve.app import create_app
    from webzine.serve.store import Store

    settings = ctx.settings  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = Store.from_settings(settings)
    try:
        app = create_app(settings, store)
        uvicorn.run(
            app,
            host=host or settings.serve.host,
            port=port if port is not None else settings.serve.port,
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
            access_log=access_log,
            server_header=False,
            timeout_keep_alive=5,
            log_level="info",
        )
    finally:
        store.close()
    return 0
