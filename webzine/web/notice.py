"""The 수신거부 처리결과 통지: telling a reader that their unsubscribe was carried out.

Korean law (정보통신망법 §50 ⑧, 시행령 §62-3) asks the sender to notify the result of an opt-out
within 14 days, naming the sender, what was done and when. The request itself must answer at
once, so the notice is not sent inside it: the unsubscribe row is stored as `pending`, and a
background thread sends due notices through the configured transport, retrying temporary failures
with backoff. Because the queue is the store, a restart loses nothing.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from webzine.config import Settings
from webzine.errors import WebzineError
from webzine.render.korean import josa
from webzine.web.pages import KST, korean_time
from webzine.unsubscribes.store import Store, Unsubscribe, utcnow
from webzine.providers import transport_class
from webzine.transports.base import Transport
from webzine.message.compose import compose
from webzine.models import Delivery, Mailbox, Message, Outcome

log = logging.getLogger("webzine.web.notice")

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=6)
QUIET_SECONDS = 1.0  # notices wait for a pause in unsubscribe traffic this long …
MAX_DEFER_SECONDS = 60.0  # … but never longer than this


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def notice_text(settings: Settings, address: str, at: str) -> str:
    """The notice body: sender, what was done, when — and how to undo it."""
    publication = settings.publication
    sender_name = parseaddr(publication.sender)[0] or publication.name
    return (
        f"안녕하세요, {sender_name}입니다.\n\n"
        f"요청하신 수신거부가 처리되었음을 알려 드립니다.\n\n"
        f"- 전송자: {sender_name}\n"
        f"- 수신거부한 주소: {address}\n"
        f"- 처리 내용: {publication.name} 수신거부\n"
        f"- 처리 일시: {korean_time(at)}\n\n"
        f"앞으로 이 주소로는 {josa(publication.name, '을')} 보내 드리지 않습니다.\n"
        f"다시 받아 보고 싶으시거나 잘못 처리되었다면 {publication.contact_email}(으)로 알려 주세요.\n\n"
        f"{sender_name} · {publication.postal_address} · {publication.phone}\n"
    )


def build_notice(settings: Settings, record: Unsubscribe, *, now: datetime | None = None) -> Message:
    """One notice as finished message bytes for any transport."""
    publication = settings.publication
    sender_display, sender_address = parseaddr(publication.sender)
    digest = hashlib.sha256(f"notice\n{record.list_id}\n{record.address}".encode()).hexdigest()[:32]
    return compose(
        key=record.address.lower(),
        mail_from=settings.send.return_path or sender_address,
        rcpt_to=record.address,
        message_id=f"unsubscribe-notice.{digest}@{_domain(sender_address)}",
        sender=Mailbox(sender_address, sender_display),
        to=Mailbox(record.address),
        subject=f"[{publication.name}] 수신거부 처리결과 안내",
        date=(now or datetime.now(UTC)).astimezone(KST),
        reply_to=Mailbox(publication.contact_email),
        headers=[("Auto-Submitted", "auto-generated")],  # RFC 3834: no vacation replies to this
        text=notice_text(settings, record.address, record.at),
    )


def _retry_at(attempts: int) -> str:
    delay = min(timedelta(minutes=2**attempts), MAX_BACKOFF)
    return (datetime.now(UTC) + delay).isoformat(timespec="seconds")


class NoticeSender:
    """Sends due notices; `run_once` is the unit the tests drive, `start` runs it in a thread."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        transport_factory: Callable[[], Transport] | None = None,
        *,
        poll_seconds: float = 30.0,
        idle_for: Callable[[], float] = lambda: float("inf"),
    ) -> None:
        self.settings = settings
        self.store = store
        self._factory = transport_factory or (
            lambda: transport_class(settings.send.transport).from_settings(settings)
        )
        self._poll = poll_seconds
        self._idle_for = idle_for  # seconds since the server last wrote an unsubscribe
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Called from the request path after a new unsubscribe: cheap, never blocks."""
        self._wake.set()

    def run_once(self) -> int:
        """Send every notice that is due, a page at a time, over one transport; returns how
        many were accepted. Each notice handled leaves the due set (sent, failed, or retried
        later), so the loop ends."""
        due = self.store.due_notices(utcnow())
        if not due:
            return 0
        try:
            transport = self._factory()
        except WebzineError as exc:
            log.error("notice transport unavailable: %s", exc.message)
            for record in due:
                self._defer(record, f"transport unavailable: {exc.message}")
            return 0
        accepted = 0
        try:
            while due and not self._stop.is_set():
                accepted += sum(self._send(transport, record) for record in due)
                self._wait_for_a_pause()
                due = self.store.due_notices(utcnow())
        finally:
            transport.close()
        return accepted

    def _send(self, transport: Transport, record: Unsubscribe) -> int:
        try:
            delivery: Delivery = transport.send(build_notice(self.settings, record))
        except WebzineError as exc:
            self._defer(record, exc.message)
            return 0
        if delivery.outcome is Outcome.ACCEPTED:
            self.store.mark_notice(record.address, "sent", delivery.provider_id or "")
            return 1
        detail = f"{delivery.code or ''} {delivery.status or ''} {delivery.text}".strip()
        if delivery.outcome is Outcome.PERMANENT:
            log.warning("notice to %s refused permanently: %s", record.address, detail)
            self.store.mark_notice(record.address, "failed", detail)
        else:
            self._defer(record, detail)
        return 0

    def _defer(self, record: Unsubscribe, detail: str) -> None:
        attempts = record.notice_attempts + 1
        if attempts >= MAX_ATTEMPTS:
            log.warning("notice to %s given up after %d attempts: %s", record.address, attempts, detail)
            self.store.mark_notice(record.address, "failed", detail)
        else:
            self.store.mark_notice(record.address, "pending", detail, retry_at=_retry_at(attempts))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="webzine-notices", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _wait_for_a_pause(self) -> None:
        """Building and sending a notice takes the GIL for about a millisecond; during a burst of
        one-click POSTs that time is better spent answering them. The law allows 14 days."""
        deadline = time.monotonic() + MAX_DEFER_SECONDS
        while self._idle_for() < QUIET_SECONDS and time.monotonic() < deadline and not self._stop.is_set():
            self._stop.wait(QUIET_SECONDS / 2)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._wait_for_a_pause()
                self.run_once()
            except Exception:  # a bug here must not kill the thread: log it and try again later
                log.exception("sending unsubscribe notices failed")
            self._wake.wait(self._poll)
            self._wake.clear()
