"""Shared pieces for the `webzine serve` tests: a project on disk and the real server on 127.0.0.1.

The server is uvicorn itself (not Starlette's in-process test client) in a thread on a free port,
so requests go through real HTTP parsing, keep-alive and the ASGI lifespan, exactly as deployed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from conftest import write_config

from webzine.config import Settings, load_settings
from webzine.web.app import Collaborators, create_app
from webzine.unsubscribes.store import Store

SECRET = "test-unsubscribe-secret-0123456789"
LIST_ID = "example.co.kr"
SUBSCRIBERS = ["hong@example.com", "kim@example.org", "lee@example.net", "park@example.com"]



def write_project(folder: Path, extra: str = "", subscribers: list[str] | None = None) -> Settings:
    (folder / "lists").mkdir(parents=True, exist_ok=True)
    write_config(folder, extra)
    rows = [
        "email,name,adjective,company,manager,consent_at,tags",
        *(f"{a},독자{n},,회사{n},{'m1' if n % 2 else 'm2'},2026-01-01,{'vip' if n % 2 else 'retail'}"
          for n, a in enumerate(subscribers if subscribers is not None else SUBSCRIBERS)),
    ]
    (folder / "lists" / "subscribers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return load_settings(folder / "webzine.toml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(
    settings: Settings, store: Store, collaborators: Collaborators | None = None
) -> Iterator[str]:
    """Start uvicorn with the app on 127.0.0.1:<free port> in a thread; yields the base URL."""
    app = create_app(settings, store, collaborators)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "uvicorn did not stop within 10 s"
