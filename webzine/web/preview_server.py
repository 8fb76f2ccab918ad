"""The preview's HTTP side: a small stdlib server on 127.0.0.1 in front of a `Workspace`.

The standard library is enough here: one editor, a handful of requests per save, and a
thread per connection keeps Server-Sent Events (the reload signal) simple. Nothing is served
beyond loopback, and every response is guarded the way a page full of customer data should be:

- it binds 127.0.0.1 only and answers only requests whose Host is 127.0.0.1 or localhost on its
  port, so a web page elsewhere cannot read the list through DNS rebinding;
- recipients are named by an opaque id, never by address, in URLs; `Referrer-Policy: no-referrer`;
- the message frame runs no scripts (sandboxed iframe, CSP) and a remote image whose URL
  depends on the recipient (a tracking pixel with their address in it) is not fetched: only remote
  images that are the same for every reader load.
"""

from __future__ import annotations

import errno
import json
import mimetypes
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from webzine.errors import WebzineError
from webzine.i18n import _
from webzine.render.slots import PREVIEW_SECRET, reader_context
from webzine.models import Recipient
from webzine.web.preview import Problem, Snapshot, Workspace, personalise, recipient_id, search

ASSETS = Path(__file__).resolve().parent / "preview_assets"
PORT_ATTEMPTS = 10  # the asked-for port and the next nine, then any free port
POLL_SECONDS = 0.25
SETTLE_SECONDS = 0.1  # an editor's save can be several writes (temp file, rename, touch)
HEARTBEAT_SECONDS = 15.0
_APP_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'"
_FRAME_CSP = (
    "default-src 'none'; img-src 'self' data: https: http:; style-src 'unsafe-inline'; font-src data: https:; "
    "base-uri 'self'; form-action 'none'"
)
_IMG_SRC = re.compile(r"""(<img\b[^>]*?\ssrc\s*=\s*)(["'])(https?://[^"']*)\2""", re.IGNORECASE)
_SCHEME_QUERY = re.compile(r"prefers-color-scheme\s*:\s*(dark|light)", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HELD_BACK = "data:image/svg+xml," + (
    "%3Csvg xmlns='http://www.w3.org/2000/svg' width='120' height='24'%3E%3Crect width='120' height='24' "
    "fill='%23eee' stroke='%23bbb'/%3E%3Ctext x='60' y='16' font-size='11' text-anchor='middle' "
    "fill='%23777'%3Epersonal image%3C/text%3E%3C/svg%3E"
)


def frame_html(html: str, *, scheme: str, shared_images: frozenset[str], web_url: str = "") -> str:
    """The message as the frame shows it: the template's own dark-mode rules forced on or off
    (whatever the editor's OS prefers), links opening in a new tab, personal remote images held
    back, and the issue's own images (published later under `web_url`) read from the issue
    folder, so they show before the archive is published."""
    if web_url:
        html = re.sub(r"""(<img\b[^>]*?\ssrc\s*=\s*["'])""" + re.escape(web_url), r"\1/issue/", html, flags=re.IGNORECASE)
    wanted = "dark" if scheme == "dark" else "light"
    # A feature that always holds, and one that never does (no viewport is narrower than 0).
    html = _SCHEME_QUERY.sub(lambda m: "min-width: 0px" if m.group(1).lower() == wanted else "max-width: -1px", html)

    def hold_back(match: re.Match[str]) -> str:
        if match.group(3) in shared_images:
            return match.group(0)
        return f'{match.group(1)}{match.group(2)}{_HELD_BACK}{match.group(2)} data-held-back="personal"'

    html = _IMG_SRC.sub(hold_back, html)
    extra = f'<base target="_blank"><style>:root {{ color-scheme: {wanted}; }}</style>'
    head = _HEAD.search(html)
    return html[: head.end()] + extra + html[head.end() :] if head else extra + html


def shared_images(snapshot: Snapshot) -> frozenset[str]:
    """Remote image URLs that are the same for everyone: those of a blank recipient's message."""
    personaliser = snapshot.personaliser
    if snapshot.rendered is None or snapshot.settings is None or personaliser is None:
        return frozenset()
    blank = reader_context(snapshot.settings, snapshot.rendered.slug, {"email": "", "name": "", "tags": ()}, "", None,
                           unsubscribe_url="", secret=PREVIEW_SECRET)
    try:
        html = personaliser.render(snapshot.rendered.html, personaliser.fill(blank))
    except WebzineError:
        return frozenset()
    return frozenset(m.group(3) for m in _IMG_SRC.finditer(html))


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # an open event stream must not hold up shutdown

    def __init__(self, address: tuple[str, int], preview: PreviewServer) -> None:
        self.preview = preview
        super().__init__(address, _Handler)


class PreviewServer:
    """Serves a `Workspace` on 127.0.0.1 and rebuilds it when its files change.

    `on_build` is called (from the watcher thread) after every rebuild, for the terminal."""

    def __init__(
        self, workspace: Workspace, *, port: int, host: str = "127.0.0.1",
        on_build: Callable[[Snapshot], None] | None = None, poll_seconds: float = POLL_SECONDS,
    ) -> None:  # fmt: skip
        self.workspace = workspace
        self.host = host
        self.requested_port = port
        self.notices: tuple[Problem, ...] = ()
        self._on_build = on_build or (lambda snapshot: None)
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: _Server | None = None
        self._images: tuple[int, frozenset[str]] = (-1, frozenset())

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def start(self) -> None:
        """Bind (the next free port when the asked-for one is taken), build once, start serving."""
        self._server = self._bind()
        self._on_build(self.workspace.refresh())
        for target, name in ((self._server.serve_forever, "preview-http"), (self._watch, "preview-watch")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def shared_images(self, snapshot: Snapshot) -> frozenset[str]:
        version, images = self._images
        if version != snapshot.version:
            images = shared_images(snapshot)
            self._images = (snapshot.version, images)
        return images

    def _bind(self) -> _Server:
        ports = [self.requested_port] if self.requested_port == 0 else [
            *range(self.requested_port, self.requested_port + PORT_ATTEMPTS), 0]  # fmt: skip
        for port in ports:
            try:
                server = _Server((self.host, port), self)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise WebzineError(_("{host}:{port}: cannot listen ({reason}); pass another --port.").format(
                        host=self.host, port=port, reason=exc.strerror)) from exc
                continue
            if port != self.requested_port:
                actual = server.server_address[1]
                self.notices = (Problem(
                    "warning", _("{host}:{requested} is already in use (another preview or program); serving on "
                                 "{host}:{actual} instead.").format(host=self.host, requested=self.requested_port, actual=actual),
                    _("stop the other program, or pass --port {actual} next time.").format(actual=actual),
                ),)  # fmt: skip
            return server
        raise WebzineError(_("{host}: no free port to listen on; stop other servers and retry.").format(host=self.host))

    def _watch(self) -> None:
        """Poll for changes; once a change is seen, wait until the files stop moving, rebuild."""
        while not self._stopping.wait(self._poll):
            if not self.workspace.changed():
                continue
            self._stopping.wait(SETTLE_SECONDS)
            self._on_build(self.workspace.refresh())


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: only the CLI prints, and a request log would be noise while writing."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = urlsplit(self.path)
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, b"This preview answers only on 127.0.0.1.\n", "text/plain; charset=utf-8")
            return
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        route = _ROUTES.get(url.path)
        try:
            if route is not None:
                route(self, query)
            elif url.path.startswith("/assets/"):
                self._file(ASSETS, url.path.removeprefix("/assets/"))
            elif url.path.startswith("/issue/"):
                self._file(self.server.preview.workspace.issue_path.resolve().parent, url.path.removeprefix("/issue/"))
            else:
                self._send(HTTPStatus.NOT_FOUND, b"Not found.\n", "text/plain; charset=utf-8")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away (reload, closed tab)

    def _host_allowed(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in {f"127.0.0.1:{port}", f"localhost:{port}"}

    # -- routes ------------------------------------------------------------------------------

    def _index(self, query: dict[str, str]) -> None:
        self._file(ASSETS, "index.html")

    def _state(self, query: dict[str, str]) -> None:
        snapshot = self.server.preview.workspace.snapshot
        preview = self.server.preview
        self._json(HTTPStatus.OK, state_data(snapshot, preview.notices, source=str(preview.workspace.issue_path)))

    def _recipients(self, query: dict[str, str]) -> None:
        snapshot = self.server.preview.workspace.snapshot
        total, found = search(snapshot, query.get("q", ""))
        self._json(HTTPStatus.OK, {"total": total, "matches": [_recipient_data(snapshot, r) for r in found]})

    def _message(self, query: dict[str, str]) -> None:
        snapshot = self.server.preview.workspace.snapshot
        recipient = snapshot.recipient(query.get("r"))
        if recipient is None:
            self._json(HTTPStatus.CONFLICT, {"error": _("The issue has not been built yet.")})
            return
        try:
            personal = personalise(snapshot, recipient)
        except WebzineError as exc:
            self._json(HTTPStatus.CONFLICT, {"error": exc.message, "recipient": _recipient_data(snapshot, recipient)})
            return
        self._json(HTTPStatus.OK, {
            "recipient": _recipient_data(snapshot, recipient), "sender_name": personal.sender_name,
            "sender_email": personal.sender_email, "reply_to": personal.reply_to, "subject": personal.subject,
            "preheader": personal.preheader, "text": personal.text,
        })  # fmt: skip

    def _email(self, query: dict[str, str]) -> None:
        snapshot = self.server.preview.workspace.snapshot
        recipient = snapshot.recipient(query.get("r"))
        try:
            if recipient is None:
                raise WebzineError(_("The issue has not been built yet; fix the error shown above and save."))
            html = personalise(snapshot, recipient).html
        except WebzineError as exc:
            self._frame_message(exc.message)
            return
        images = self.server.preview.shared_images(snapshot)
        web_url = snapshot.rendered.web_url if snapshot.rendered is not None else ""
        self._frame(frame_html(html, scheme=query.get("scheme", "light"), shared_images=images, web_url=web_url))

    def _web(self, query: dict[str, str]) -> None:
        snapshot = self.server.preview.workspace.snapshot
        if snapshot.rendered is None:
            self._frame_message(_("The issue has not been built yet; fix the error shown above and save."))
            return
        html = snapshot.rendered.web_html
        self._frame(frame_html(html, scheme=query.get("scheme", "light"), shared_images=_all_remote(html)))

    def _events(self, query: dict[str, str]) -> None:
        """Server-Sent Events: one `build` event per rebuild; comments keep proxies and the
        browser from timing the stream out. EventSource reconnects by itself."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        workspace, stopping = self.server.preview.workspace, self.server.preview.stopping
        sent = -1
        idle = 0.0
        while not stopping.is_set():
            snapshot = workspace.wait(sent, timeout=1.0)
            if snapshot.version != sent:
                sent = snapshot.version
                self.wfile.write(f"id: {sent}\nevent: build\ndata: {sent}\n\n".encode())
                idle = 0.0
            else:
                idle += 1.0
                if idle < HEARTBEAT_SECONDS:
                    continue
                self.wfile.write(b": still here\n\n")
                idle = 0.0
            self.wfile.flush()

    # -- responses ---------------------------------------------------------------------------

    def _file(self, folder: Path, relative: str) -> None:
        """A file inside `folder` (the page's assets, the issue's images); nothing outside it,
        no hidden files."""
        relative = unquote(relative)
        target = (folder / relative).resolve()
        hidden = any(part.startswith(".") for part in Path(relative).parts)
        if hidden or not target.is_relative_to(folder) or not target.is_file():
            self._send(HTTPStatus.NOT_FOUND, b"Not found.\n", "text/plain; charset=utf-8")
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
            kind += "; charset=utf-8"
        extra = {"Content-Security-Policy": _APP_CSP} if target.name == "index.html" else {}
        self._send(HTTPStatus.OK, target.read_bytes(), kind, extra)

    def _frame(self, html: str) -> None:
        self._send(HTTPStatus.OK, html.encode("utf-8"), "text/html; charset=utf-8",
                   {"Content-Security-Policy": _FRAME_CSP})  # fmt: skip

    def _frame_message(self, message: str) -> None:
        page = (
            '<!DOCTYPE html><html lang="ko"><meta charset="utf-8"><body style="font:15px/1.6 sans-serif;'
            'color:#8a1f11;padding:24px">' + _escape(message) + "</body></html>"
        )
        self._send(HTTPStatus.CONFLICT, page.encode("utf-8"), "text/html; charset=utf-8",
                   {"Content-Security-Policy": _FRAME_CSP})  # fmt: skip

    def _json(self, status: HTTPStatus, data: object) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, kind: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {
            "Content-Type": kind, "Content-Length": str(len(body)), "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", **(extra or {}),
        }  # fmt: skip
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


_ROUTES: dict[str, Callable[[_Handler, dict[str, str]], None]] = {
    "/": _Handler._index,
    "/api/state": _Handler._state,
    "/api/recipients": _Handler._recipients,
    "/api/message": _Handler._message,
    "/issue/email.html": _Handler._email,
    "/issue/web.html": _Handler._web,
    "/events": _Handler._events,
}


def state_data(snapshot: Snapshot, server_notices: tuple[Problem, ...] = (), *, source: str = "") -> dict[str, object]:
    """What the page needs besides the message itself: build status, problems, lint, source."""
    rendered, settings = snapshot.rendered, snapshot.settings
    issue = rendered.issue if rendered is not None else None
    report = rendered.report if rendered is not None else None
    return {
        "version": snapshot.version,
        "built_at": snapshot.built_at,
        "seconds": round(snapshot.seconds, 3),
        "stale": snapshot.stale,
        "error": _problem(snapshot.error) if snapshot.error else None,
        "notices": [_problem(p) for p in (*server_notices, *snapshot.notices)],
        "publication": settings.publication.name if settings is not None else "",
        "issue": None if issue is None else {
            "title": issue.title, "slug": issue.slug, "date": issue.date.isoformat(),
            "advertising": issue.advertising, "web_url": rendered.web_url if rendered else "",
        },
        "source": {"path": source, "lines": list(snapshot.issue_lines)},
        "lint": None if report is None else {
            "ok": report.ok, "html_bytes": report.html_bytes, "text_bytes": report.text_bytes,
            "findings": [f.model_dump(mode="json") for f in report.findings],
        },
        "recipients": {"count": len(snapshot.recipients), "excluded": snapshot.excluded, "default": snapshot.default_id},
    }  # fmt: skip


def _problem(problem: Problem) -> dict[str, object]:
    return {"level": problem.level, "message": problem.message, "hint": problem.hint, "line": problem.line}


def _recipient_data(snapshot: Snapshot, recipient: Recipient) -> dict[str, object]:
    manager = snapshot.managers.get(recipient.manager) if recipient.manager else None
    return {
        "id": recipient_id(recipient), "name": recipient.name, "email": recipient.email,
        "company": recipient.company, "adjective": recipient.adjective, "tags": list(recipient.tags),
        "manager": None if manager is None else {
            "name": manager.name, "title": manager.title, "email": manager.email, "phone": manager.phone},
    }  # fmt: skip


def _all_remote(html: str) -> frozenset[str]:
    """The web page carries nobody's data: all its images may load."""
    return frozenset(m.group(3) for m in _IMG_SRC.finditer(html))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
