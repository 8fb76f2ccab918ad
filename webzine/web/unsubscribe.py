"""Unsubscribe endpoints: RFC 8058 one-click POST and the page a person sees.

- `POST /u/<token>` with `List-Unsubscribe=One-Click` (form-urlencoded or multipart, as RFC 8058
  §3.2 allows either) unsubscribes and answers 200 with the result page — never a redirect, which
  mailbox providers do not follow. No cookie, CSRF token or Origin is asked for: the token is the
  credential. Repeating it changes nothing and answers the same.
- `GET /u/<token>` only shows a page with the masked address, a button that makes that POST, and
  a "keep me subscribed" link. A GET never changes anything, because mail scanners fetch links.
- Every token that does not resolve — unknown, forged, truncated, altered, another list's — gets
  the same 404 page, so the endpoint cannot be used to test which addresses are on the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from webzine.web.token_owners import AddressBook, mask_address
from webzine.web.forms import parse_form
from webzine.web.pages import Pages, Prepared, korean_time
from webzine.unsubscribes.store import Store, UnsubscribeRequest
from webzine.unsubscribes.writer import UnsubscribeWriter

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
MAX_USER_AGENT = 200


@dataclass
class UnsubscribeEndpoints:
    book: AddressBook
    store: Store
    writer: UnsubscribeWriter
    list_id: str
    pages: Pages
    notify: bool
    wake_notices: Callable[[], None]
    _done: dict[bool, Prepared] = field(init=False)

    def __post_init__(self) -> None:
        self._done = {
            first: self.pages.prepare("unsubscribed.html", ("masked", "at"), first=first, notify=self.notify)
            for first in (True, False)
        }

    async def show(self, request: Request) -> Response:
        token = request.path_params["token"]
        address = self.book.resolve(token)
        if address is None:
            return self.pages.not_found()
        done = self.store.get_unsubscribe(address)
        if done is not None:
            return self.pages.render("already.html", masked=mask_address(address), at=korean_time(done.at))
        return self.pages.render(
            "unsubscribe.html", masked=mask_address(address), token=token, notify=self.notify
        )

    async def keep(self, request: Request) -> Response:
        address = self.book.resolve(request.path_params["token"])
        if address is None:
            return self.pages.not_found()
        done = self.store.get_unsubscribe(address)
        if done is not None:
            return self.pages.render("already.html", masked=mask_address(address), at=korean_time(done.at))
        return self.pages.render("kept.html")

    async def one_click(self, request: Request) -> Response:
        address = self.book.resolve(request.path_params["token"])
        if address is None:
            return self.pages.not_found()
        fields = parse_form(request.headers.get("content-type", ""), await request.body())
        if fields is None or fields.get(ONE_CLICK_FIELD) != ONE_CLICK_VALUE:
            return self.pages.error(
                400,
                "요청을 처리할 수 없습니다",
                "수신거부 요청 형식이 올바르지 않습니다. 메일의 수신거부 링크를 열어 버튼을 눌러 주세요.",
            )
        via = "web-page" if fields.get("via") == "page" else "one-click"
        first, at = await self.writer.record(
            UnsubscribeRequest(address, self.list_id, via, _evidence(request, via), self.notify)
        )
        if first and self.notify:
            self.wake_notices()
        return self._done[first].response(masked=mask_address(address), at=korean_time(at))


def _evidence(request: Request, via: str) -> dict[str, str]:
    """What the record keeps about the request that made it: enough to show how and when a
    reader asked, nothing more (no cookies, no full headers)."""
    return {
        "via": via,
        "client": request.client.host if request.client else "",
        "user_agent": request.headers.get("user-agent", "")[:MAX_USER_AGENT],
        "content_type": request.headers.get("content-type", "").split(";", 1)[0][:100],
    }
