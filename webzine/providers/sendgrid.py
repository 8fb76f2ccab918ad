"""SendGrid v3 `POST /v3/mail/send`, one message per request.

SendGrid takes JSON fields, not raw MIME: it gets the message's fields (from/subject/content) and one
personalization with the recipient; every other header rides in `headers`. SendGrid refuses its
reserved headers there (To, From, Subject, Reply-To, Cc, Bcc, Content-Type,
Content-Transfer-Encoding, Received, DKIM-Signature, x-sg-id, x-sg-eid), so those are fields or
dropped. Click and open tracking are set per request from `[send] track_clicks` / `track_opens`
(off by default, so SendGrid does not rewrite our links), and subscription tracking is always
off, so SendGrid never replaces our List-Unsubscribe with its own. Authentication is
`Authorization: Bearer <key>`.

Why no batching: a request may hold up to 1,000 personalizations, but they share one `content`;
per-recipient text can only enter through `substitutions`, limited to 10,000 bytes per
personalization — our bodies are fully personalised (greeting, manager, unsubscribe link) and
~65 KB of HTML, so they cannot be carried exactly. One request also answers with one
`X-Message-Id` and fails or succeeds as a whole, so one bad address would refuse 999 good ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.utils import parseaddr
from typing import Any

import httpx

from webzine.config import SendGridApi, Settings, secret
from webzine.i18n import _
from webzine.models import Mailbox, Message, Suppression, SuppressionReason
from webzine.providers.base import MAX_PAGES, ProviderTransport, Tracking, listed
from webzine.providers.preflight import Finding, failed, passed, warned
from webzine.providers.tags import correlation
from webzine.transports.http import BAD_ADDRESS, Delivery, accepted, excerpt, json_body, json_content, permanent

RESERVED = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)


# The suppression lists `webzine suppressions pull` reads. SendGrid "blocks" are temporary
# refusals by the receiving server and are not pulled.
SUPPRESSION_LISTS = {
    "bounces": SuppressionReason.HARD_BOUNCE,
    "invalid_emails": SuppressionReason.HARD_BOUNCE,
    "spam_reports": SuppressionReason.COMPLAINT,
    "unsubscribes": SuppressionReason.UNSUBSCRIBED,
}
SUPPRESSION_PAGE = 500  # offset/limit pages

# SendGrid's three tracking settings, with their Korean names for the pre-flight.
TRACKING_KINDS = {"click": "클릭 추적", "open": "열람 추적", "subscription": "구독 관리(자체 수신거부 링크)"}


def tracking_settings(tracking: Tracking) -> dict[str, dict[str, bool]]:
    """mail/send `tracking_settings`, over the account's: click tracking would rewrite every link
    (the in-body unsubscribe link too), open tracking adds a pixel; subscription tracking, which
    replaces our List-Unsubscribe and footer with SendGrid's, is always off."""
    return {
        "click_tracking": {"enable": tracking.clicks, "enable_text": tracking.clicks},
        "open_tracking": {"enable": tracking.opens},
        "subscription_tracking": {"enable": False},
    }


def _address(mailbox: Mailbox) -> dict[str, str]:
    return {"email": mailbox.email, "name": mailbox.name} if mailbox.name else {"email": mailbox.email}


class SendGridTransport(ProviderTransport):
    name = "sendgrid"

    def __init__(self, client: httpx.Client, *, api_key: str, key_env: str = "SENDGRID_API_KEY",
                 tracking: Tracking = Tracking()) -> None:
        super().__init__(client, secrets=(api_key,))
        self.auth = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self.key_env = key_env
        self.tracking = tracking

    @classmethod
    def options(cls, section: SendGridApi) -> dict[str, Any]:
        return {"api_key": secret(section.api_key_env, purpose=_("SendGrid API key")), "key_env": section.api_key_env}

    def payload(self, message: Message) -> dict[str, Any]:
        """The mail/send body for one fully personalised message."""
        parts = json_content(message)
        content = [
            {"type": kind, "value": value}
            for kind, value in (("text/plain", parts.text), ("text/html", parts.html))
            if value is not None
        ]
        body: dict[str, Any] = {
            # Event Webhook posts echo custom_args: events name their issue and our Message-ID.
            # In the personalization: SendGrid's OpenAPI types the message-level field as a string.
            "personalizations": [{"to": [_address(parts.to)], "custom_args": correlation(message)}],
            "from": _address(parts.sender),
            "subject": message.subject,
            "content": content,
            "tracking_settings": tracking_settings(self.tracking),
        }
        headers = {name: value for name, value in parts.headers if name.lower() not in RESERVED}
        if headers:
            body["headers"] = headers
        if parts.reply_to is not None:
            body["reply_to"] = _address(parts.reply_to)
        return body

    def transmit(self, message: Message) -> Delivery:
        content = json.dumps(self.payload(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {**self.auth, "Content-Type": "application/json"}
        return self.deliver(lambda: self.client.build_request("POST", "/v3/mail/send", content=content, headers=headers))

    def read_accepted(self, response: httpx.Response) -> Delivery:
        """202 with an empty body; the message id is the X-Message-Id response header."""
        return accepted(response.status_code, response.headers.get("x-message-id"))

    def read_refused(self, response: httpx.Response) -> Delivery:
        """400/413: `{"errors": [{"message", "field", "help"}]}`, kept in SendGrid's words."""
        body = json_body(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            errors = [e for e in errors if isinstance(e, dict)]
            words = "; ".join(f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message")) for e in errors)
            # Only the recipient's address at fault (personalizations.0.to.0.email) is a bounce.
            address = bool(errors) and all(
                str(e.get("field") or "").startswith("personalizations.") and str(e.get("field")).endswith(".email")
                for e in errors
            )
            return permanent(response.status_code, f"HTTP {response.status_code}: {words}", status=BAD_ADDRESS if address else None)
        return permanent(response.status_code, f"HTTP {response.status_code}: {excerpt(response)}")

    def suppressions(self) -> Iterator[Suppression]:
        """/v3/suppression/{bounces,invalid_emails,spam_reports,unsubscribes}, page by page."""
        for kind, reason in SUPPRESSION_LISTS.items():
            for page in range(MAX_PAGES):
                params = {"limit": str(SUPPRESSION_PAGE), "offset": str(page * SUPPRESSION_PAGE)}
                rows = self.fetch(lambda: self.get_request(f"/v3/suppression/{kind}", params))
                if not isinstance(rows, list):
                    break
                yield from listed(rows, reason, "sendgrid", f"SendGrid {kind}", email="email", since="created",
                                  words=("status", "reason"))
                if len(rows) < SUPPRESSION_PAGE:
                    break

    def preflight(self, settings: Settings) -> list[Finding]:
        """Domain authentication for the From domain (`GET /v3/whitelabel/domains`: SendGrid
        rebuilds the MIME, so its DKIM signature is the one that must align), and the account's
        click, open and subscription tracking (`GET /v3/tracking_settings/…`) beside what every
        message asks for."""
        domain = parseaddr(settings.publication.sender)[1].rpartition("@")[2].lower()
        return [self._domain_finding(domain)] + [self._tracking_finding(kind, korean)
                                                 for kind, korean in TRACKING_KINDS.items()]

    def _domain_finding(self, domain: str) -> Finding:
        rows = self.fetch(lambda: self.get_request("/v3/whitelabel/domains", {"domain": domain}), none_for=(403,))
        if rows is None:
            return warned("sendgrid_domain", "the API key may not read SendGrid's domain authentication (scope "
                          f"whitelabel.read); make sure {domain} is authenticated under Settings → Sender Authentication.",
                          "API 키에 SendGrid 도메인 인증 정보를 읽을 권한(whitelabel.read)이 없습니다. Settings → Sender "
                          f"Authentication에서 {domain} 도메인이 인증되었는지 확인하세요.")
        covering = [row for row in rows if isinstance(row, dict) and
                    (domain == str(row.get("domain", "")).lower() or domain.endswith("." + str(row.get("domain", "")).lower()))]
        if any(row.get("valid") for row in covering):
            return passed("sendgrid_domain", f"SendGrid's domain authentication covers {domain}: SendGrid signs with "
                          "DKIM for it, so DKIM aligns with From.",
                          f"SendGrid 도메인 인증이 {domain}을(를) 포함하므로 SendGrid가 이 도메인으로 DKIM 서명을 하고 "
                          "DMARC 정렬이 맞습니다.")
        state, state_ko = ("not yet valid", "DNS 확인 전") if covering else ("missing", "없음")
        return failed("sendgrid_domain", f"SendGrid domain authentication for {domain} is {state}: SendGrid then signs "
                      "as sendgrid.net and DMARC fails at Gmail, Yahoo and Naver; authenticate the domain under Settings "
                      "→ Sender Authentication and publish its CNAME records.",
                      f"SendGrid에서 {domain} 도메인 인증이 {state_ko} 상태입니다. 이러면 SendGrid가 sendgrid.net으로 "
                      "서명해 Gmail·Yahoo·네이버에서 DMARC가 실패합니다. Settings → Sender Authentication에서 도메인을 "
                      "인증하고 안내된 CNAME 레코드를 등록하세요.")

    def _tracking_finding(self, kind: str, korean: str) -> Finding:
        check = f"sendgrid_{kind}_tracking"
        account = self.fetch(lambda: self.get_request(f"/v3/tracking_settings/{kind}"), none_for=(403,))
        if account is None:
            # A key limited to mail.send is good practice: say what is unknown, and what we do.
            return warned(check, f"the API key may not read SendGrid's {kind} tracking setting (scope "
                          f"tracking_settings.read); webzine sets it in every message anyway.",
                          f"API 키에 SendGrid {korean} 설정을 읽을 권한(tracking_settings.read)이 없습니다. "
                          "webzine은 어차피 메일마다 이 설정을 지정합니다.")
        on = isinstance(account, dict) and bool(account.get("enabled"))
        state, state_ko = ("on", "켜짐") if on else ("off", "꺼짐")
        wanted = {"click": self.tracking.clicks, "open": self.tracking.opens, "subscription": False}[kind]
        if kind == "click" and wanted:
            return warned(check, "click tracking is on ([send] track_clicks = true): SendGrid rewrites every link, "
                          "the 수신거부 link too, through its own domain; set up link branding for your domain, or "
                          "set track_clicks = false.",
                          "클릭 추적이 켜져 있어([send] track_clicks = true) SendGrid가 수신거부 링크를 포함한 모든 "
                          "링크를 자기 도메인 주소로 바꿉니다. 회사 도메인으로 링크 브랜딩을 설정하거나 "
                          "track_clicks = false로 바꾸세요.")
        asked = "on" if wanted else "off"
        return passed(check, f"{kind} tracking is {state} for the SendGrid account; every message sets it {asked}.",
                      f"SendGrid 계정 설정: {korean} {state_ko}. webzine은 메일마다 "
                      f"{'켬' if wanted else '끔'}으로 지정합니다.")
