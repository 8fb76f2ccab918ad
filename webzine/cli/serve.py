"""`webzine serve` (the unsubscribe / webhook / feedback service) and `webzine feedback report`."""

from __future__ import annotations

import json
import logging

import click

from webzine.cli.help import command, group, option
from webzine.cli import pass_context


@command("serve")
@option("--host", default=None, help="Address to listen on (default: [serve] host).")
@option("--port", type=int, default=None, help="Port to listen on (default: [serve] port).")
@option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    envvar="FORWARDED_ALLOW_IPS",
    help="Reverse proxies whose X-Forwarded-For/-Proto are trusted (comma-separated, or '*').",
)
@option("--access-log", is_flag=True, help="Log every request (paths contain reader tokens).")
@pass_context
def serve(ctx: object, host: str | None, port: int | None, forwarded_allow_ips: str, access_log: bool) -> int:
    """Serve one-click unsubscribe (RFC 8058), provider webhooks and reader feedback."""
    import uvicorn

    from webzine.web.app import create_app
    from webzine.unsubscribes.store import open_store

    settings = ctx.settings  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = open_store(settings)
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


@group("feedback")
def feedback() -> None:
    """Reader feedback collected by `webzine serve`."""


@feedback.command("report")
@click.argument("issue")
@option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def report(ctx: object, issue: str, as_json: bool) -> int:
    """Ratings for ISSUE (its slug, e.g. 2026-12-year-end): overall, per segment, per manager."""
    from webzine.web.feedback import feedback_report

    result = feedback_report(ctx.settings, issue)  # type: ignore[attr-defined]
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return 0
    for line in result.lines():
        click.echo(line)
    return 0
