"""Mailgun `POST /v3/{domain}/messages.mime`: our own MIME bytes, one recipient per request.

messages.mime takes the finished message as a file field and the envelope recipients in `to`, so
every header we wrote (Message-ID, List-Unsubscribe, List-Unsubscribe-Post, Reply-To, Feedback-ID,
our DKIM signature) reaches Mailgun as written. Mailgun adds its own DKIM signature, Received and
tracking headers, and sets the envelope sender (Return-Path) to its bounce domain, so our VERP
address is not used: bounces come back through Mailgun's events and suppression lists.
Tracking is set per message (`o:tracking*`, off unless `[send] track_opens` / `track_clicks`
ask), and our Message-ID and issue ride as
user-variables (`v:`), which Mailgun echoes in every event. Authentication is HTTP Basic with the
user `api` and the API key.

Why no batching: Mailgun's batch sending sends one request to up to 1,000 recipients and
personalises it with `recipient-variables` substituted into the content; it answers with one
message id for the whole batch. Our messages differ per recipient in base64-encoded bodies,
Message-ID and the List-Unsubscribe token — substitution cannot reach inside base64, and one id
cannot be matched back to 1,000 ledger rows — so each message is its own request.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from webzine.config import MailgunApi, Settings, secret
from webzine.errors import ConfigError
from webzine.i18n import _
from webzine.models import Message, Suppression, SuppressionReason
from webzine.providers.base import MAX_PAGES, ProviderTransport, Tracking, listed
from webzine.providers.preflight import Finding, failed, passed, warned
from webzine.providers.tags import correlation
from webzine.transports.http import BAD_ADDRESS, Delivery, accepted, excerpt, json_body, permanent


# The suppression lists `webzine suppressions pull` reads, followed by their `paging.next` links.
SUPPRESSION_LISTS = {
    "bounces": SuppressionReason.HARD_BOUNCE,
    "complaints": SuppressionReason.COMPLAINT,
    "unsubscribes": SuppressionReason.UNSUBSCRIBED,
}


def tracking_options(tracking: Tracking) -> dict[str, str]:
    """Per message, over the domain's settings: click tracking rewrites links inside our MIME
    (which also breaks our DKIM body hash), open tracking adds a pixel."""
    yes_no = {True: "yes", False: "no"}
    return {"o:tracking": yes_no[tracking.opens or tracking.clicks], "o:tracking-clicks": yes_no[tracking.clicks],
            "o:tracking-opens": yes_no[tracking.opens]}


class MailgunTransport(ProviderTransport):
    name = "mailgun"
    looks_up_messages = True

    def __init__(self, client: httpx.Client, *, api_key: str, domain: str, key_env: str = "MAILGUN_API_KEY",
                 tracking: Tracking = Tracking()) -> None:
        super().__init__(client, secrets=(api_key, f"api:{api_key}"))
        self.tracking = tracking
        self.domain = domain
        token = base64.b64encode(f"api:{api_key}".encode()).decode("ascii")
        self.auth = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.domain_path = f"/v3/{quote(domain, safe='')}"
        self.path = f"{self.domain_path}/messages.mime"
        self.key_env = key_env

    @classmethod
    def options(cls, section: MailgunApi) -> dict[str, Any]:
        if not section.domain:
            raise ConfigError(
                _("[mailgun] domain is not set in webzine.toml; set it to your Mailgun sending domain "
                  "(for example domain = \"mg.example.co.kr\").")
            )
        return {"api_key": secret(section.api_key_env, purpose=_("Mailgun API key")), "domain": section.domain,
                "key_env": section.api_key_env}

    def transmit(self, message: Message) -> Delivery:
        files = {"message": ("message.eml", message.data, "message/rfc822")}
        data = {"to": message.rcpt_to, **tracking_options(self.tracking),
                **{f"v:{name}": value for name, value in correlation(message).items()}}
        return self.deliver(
            lambda: self.client.build_request("POST", self.path, data=data, files=files, headers=self.auth)
        )

    def read_accepted(self, response: httpx.Response) -> Delivery:
        """200 `{"id": "<message-id>", "message": "Queued. Thank you."}`."""
        body = json_body(response)
        provider_id = str(body.get("id", "")).strip("<>") if isinstance(body, dict) else ""
        return accepted(response.status_code, provider_id or None)

    def read_refused(self, response: httpx.Response) -> Delivery:
        """400 `{"message": "..."}`: this message or address is refused, in Mailgun's words."""
        body = json_body(response)
        words = str(body.get("message") or "") if isinstance(body, dict) else ""
        address = "'to' parameter is not a valid address" in words
        return permanent(
            response.status_code,
            f"HTTP {response.status_code}: {words or excerpt(response)}",
            status=BAD_ADDRESS if address else None,
        )

    def suppressions(self) -> Iterator[Suppression]:
        """/v3/{domain}/{bounces,complaints,unsubscribes}, following `paging.next`."""
        for kind, reason in SUPPRESSION_LISTS.items():
            url: str | None = f"{self.domain_path}/{kind}?limit=1000"
            seen: set[str] = set()
            for __ in range(MAX_PAGES):
                if url is None or url in seen:
                    break
                seen.add(url)
                body = self.fetch(lambda url=url: self.get_request(url))
                items = body.get("items") if isinstance(body, dict) else None
                if not items:
                    break
                yield from listed(items, reason, "mailgun", f"Mailgun {kind}", email="address", since="created_at",
                                  words=("code", "error"))
                url = (body.get("paging") or {}).get("next")

    def sent_record(self, message_id: str, recipient: str) -> str | None:
        """The events API, by Message-ID and recipient."""
        params = {"message-id": message_id, "recipient": recipient}
        body = self.fetch(lambda: self.get_request(f"{self.domain_path}/events", params))
        for item in (body or {}).get("items") or []:
            if str(item.get("recipient", "")).lower() == recipient.lower():
                return f"Mailgun's events API ({item.get('event')} event {item.get('id')})"
        return None

    def preflight(self, settings: Settings) -> list[Finding]:
        """The sending domain's state (`GET /v3/domains/{domain}`) and its tracking settings
        (`GET /v3/domains/{domain}/tracking`)."""
        path = f"/v3/domains/{quote(self.domain, safe='')}"
        domain = self.fetch(lambda: self.get_request(path), none_for=(404,))
        state = ((domain or {}).get("domain") or {}).get("state")
        if state != "active":
            return [failed("mailgun_domain", f"Mailgun has no active sending domain {self.domain} (state: "
                           f"{state or 'not found'}); add it and publish the DNS records Mailgun shows, then "
                           "verify it in Mailgun's Sending → Domains.",
                           f"Mailgun에 발송 도메인 {self.domain}이(가) 활성 상태가 아닙니다(상태: {state or '없음'}). "
                           "Sending → Domains에서 도메인을 추가하고 안내된 DNS 레코드를 등록한 뒤 인증하세요.")]
        found = [passed("mailgun_domain", f"Mailgun's sending domain {self.domain} is active.",
                        f"Mailgun 발송 도메인 {self.domain}이(가) 활성 상태입니다.")]
        tracking = (self.fetch(lambda: self.get_request(f"{path}/tracking")) or {}).get("tracking") or {}
        return found + self._tracking_findings(tracking)

    def _tracking_findings(self, tracking: dict) -> list[Finding]:
        def on(kind: str) -> bool:
            return str((tracking.get(kind) or {}).get("active")).lower() in ("true", "yes")

        found = []
        if self.tracking.clicks:
            found.append(warned("mailgun_click_tracking", "click tracking is on ([send] track_clicks = true): Mailgun "
                                "rewrites every link, the 수신거부 link too, and the rewrite breaks webzine's DKIM "
                                "signature (Mailgun's own still verifies); set track_clicks = false to keep both.",
                                "클릭 추적이 켜져 있어([send] track_clicks = true) Mailgun이 수신거부 링크를 포함한 "
                                "모든 링크를 바꾸고, 그 때문에 webzine의 DKIM 서명이 깨집니다(Mailgun 서명은 유효). "
                                "둘 다 지키려면 track_clicks = false로 두세요."))
        else:
            found.append(passed("mailgun_click_tracking", f"the domain's click tracking is {'on' if on('click') else 'off'}; "
                                "every message sets o:tracking-clicks=no, so links and our DKIM body hash stay intact.",
                                f"도메인의 클릭 추적은 {'켜짐' if on('click') else '꺼짐'}입니다. webzine은 메일마다 "
                                "o:tracking-clicks=no를 보내 링크와 DKIM 서명을 그대로 지킵니다."))
        if on("unsubscribe"):
            found.append(warned("mailgun_unsubscribe_tracking", "the domain's unsubscribe tracking is on: Mailgun may "
                                "add its own English unsubscribe footer and keep its own unsubscribe list, and readers "
                                "who use it never reach webzine serve; turn it off in Sending → Domain settings → "
                                "Tracking → Unsubscribes.",
                                "도메인의 수신거부 추적이 켜져 있어 Mailgun이 영어 수신거부 문구를 붙이고 자체 명단에 "
                                "기록할 수 있습니다. 그 링크를 쓴 독자는 webzine serve에 닿지 않으니 Sending → Domain "
                                "settings → Tracking → Unsubscribes에서 끄세요."))
        else:
            found.append(passed("mailgun_unsubscribe_tracking", "the domain's unsubscribe tracking is off: unsubscribes "
                                "reach webzine serve.",
                                "도메인의 수신거부 추적이 꺼져 있어 수신거부가 webzine serve로 옵니다."))
        return found
