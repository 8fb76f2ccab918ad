"""Mailgun `POST /v3/{domain}/messages.mime`: our own MIME bytes, one recipient per request.

messages.mime takes the finished message as a file field and the envelope recipients in `to`, so
every header we wrote (Message-ID, List-Unsubscribe, List-Unsubscribe-Post, Reply-To, Feedback-ID,
our DKIM signature) reaches Mailgun as written. Mailgun adds its own DKIM signature, Received and
tracking headers, and sets the envelope sender (Return-Path) to its bounce domain, so our VERP
address is not used: bounces come back through Mailgun's events and suppression lists.
Tracking is switched off per message (`o:tracking*`), and our Message-ID and issue ride as
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

from webzine.config import MailgunApi, secret
from webzine.errors import ConfigError
from webzine.models import OutgoingMessage, Suppression, SuppressionReason
from webzine.providers.base import MAX_PAGES, ProviderTransport, listed
from webzine.providers.tags import correlation
from webzine.transports.http import BAD_ADDRESS, Delivery, accepted, excerpt, json_body, permanent


# Per message, over the domain's settings: click tracking rewrites links inside our MIME (which
# also breaks our DKIM body hash), open tracking adds a pixel.
TRACKING_OFF = {"o:tracking": "no", "o:tracking-clicks": "no", "o:tracking-opens": "no"}
# The suppression lists `webzine suppressions pull` reads, followed by their `paging.next` links.
SUPPRESSION_LISTS = {
    "bounces": SuppressionReason.HARD_BOUNCE,
    "complaints": SuppressionReason.COMPLAINT,
    "unsubscribes": SuppressionReason.UNSUBSCRIBED,
}


class MailgunTransport(ProviderTransport):
    name = "mailgun"
    looks_up_messages = True

    def __init__(self, client: httpx.Client, *, api_key: str, domain: str, key_env: str = "MAILGUN_API_KEY") -> None:
        super().__init__(client, secrets=(api_key, f"api:{api_key}"))
        token = base64.b64encode(f"api:{api_key}".encode()).decode("ascii")
        self.auth = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.domain_path = f"/v3/{quote(domain, safe='')}"
        self.path = f"{self.domain_path}/messages.mime"
        self.key_env = key_env

    @classmethod
    def options(cls, section: MailgunApi) -> dict[str, Any]:
        if not section.domain:
            raise ConfigError(
                "[mailgun] domain is not set in webzine.toml; set it to your Mailgun sending domain "
                "(for example domain = \"mg.example.co.kr\")."
            )
        return {"api_key": secret(section.api_key_env, purpose="Mailgun API key"), "domain": section.domain,
                "key_env": section.api_key_env}

    def transmit(self, message: OutgoingMessage) -> Delivery:
        files = {"message": ("message.eml", message.data, "message/rfc822")}
        data = {"to": message.rcpt_to, **TRACKING_OFF,
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
            for _ in range(MAX_PAGES):
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
