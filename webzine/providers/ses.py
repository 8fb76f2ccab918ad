"""Amazon SES API v2 `SendEmail` with `Content.Raw`: our own MIME bytes, signed with SigV4.

`POST /v2/email/outbound-emails` with the message base64-encoded in `Content.Raw.Data` and the
envelope recipient in `Destination.ToAddresses`. Our headers reach SES as written, but SES
documents two replacements: it overwrites `Message-ID` with its own (`<MessageId@…amazonses.com>`)
and `Date` with the time it accepted the message. The SES `MessageId` from the answer is recorded
as `provider_id`; bounce and complaint notifications name it, so events still find the ledger row.
SES sets the envelope sender (Return-Path) itself, so our VERP address is not used.

Why no batching: SES's `SendBulkEmail` sends only stored templates with per-destination
replacement data, never raw MIME, so our fully built messages go one per request.

Tracking: SES has no per-message switch; it tracks opens and rewrites links only for messages
sent with a configuration set whose event destinations match OPEN or CLICK. The pre-flight
compares that with `[send] track_opens` / `track_clicks`, and checks that SES signs for the From
domain (Easy DKIM) or that webzine's own signature, which leaves out the two headers SES
rewrites, carries DMARC.

Errors come as `{"message": ...}` with the type in the `x-amzn-ErrorType` header: account-level
types stop the run, throttling is temporary, `MessageRejected` / `BadRequestException` refuse the
one message.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from email.utils import parseaddr
from urllib.parse import quote
from typing import Any

import httpx

from webzine.config import SesApi, Settings, secret
from webzine.errors import ConfigError, SenderProblem
from webzine.i18n import N_, _
from webzine.models import Message, Suppression, SuppressionReason
from webzine.providers.base import MAX_PAGES, ProviderTransport, Tracking, suppression
from webzine.providers.preflight import Finding, failed, passed, warned
from webzine.providers.sigv4 import Credentials, query_string, sign
from webzine.providers.tags import ses_tags
from webzine.transports.http import BAD_ADDRESS, Delivery, accepted, excerpt, json_body, permanent, temporary
from webzine.transports.http import wait_hint

SERVICE = "ses"
STOP_TYPES = {
    "AccountSuspendedException": N_("the account's sending is permanently restricted"),
    "SendingPausedException": N_("sending is paused for the account or configuration set"),
    "MailFromDomainNotVerifiedException": N_("the MAIL FROM domain is not verified"),
    "NotFoundException": N_("a named resource (configuration set) does not exist"),
}
THROTTLE_TYPES = {"TooManyRequestsException", "LimitExceededException", "ThrottlingException", "Throttling"}
SANDBOXED = N_("the account is in the SES sandbox and the address is not verified")
SANDBOX_WORDS = "not verified"  # MessageRejected in the SES sandbox: every unverified recipient fails
SUPPRESSION_REASONS = {"BOUNCE": SuppressionReason.HARD_BOUNCE, "COMPLAINT": SuppressionReason.COMPLAINT}


def error_type(response: httpx.Response, body: object) -> str:
    """`x-amzn-ErrorType: MessageRejected:http://…` or a `__type`/`code` field in the body."""
    kind = response.headers.get("x-amzn-errortype", "")
    if not kind and isinstance(body, dict):
        kind = str(body.get("__type") or body.get("code") or body.get("Code") or "")
    return kind.split(":", 1)[0].rsplit("#", 1)[-1]


class SesTransport(ProviderTransport):
    name = "ses"

    def __init__(
        self,
        client: httpx.Client,
        *,
        credentials: Credentials,
        region: str,
        configuration_set: str = "",
        key_env: str = "AWS_ACCESS_KEY_ID",
        tracking: Tracking = Tracking(),
    ) -> None:
        super().__init__(client, secrets=(credentials.secret_key, credentials.session_token))
        self.tracking = tracking
        self.credentials = credentials
        self.region = region
        self.configuration_set = configuration_set
        self.key_env = key_env

    @staticmethod
    def endpoint(region: str) -> str:
        return f"https://email.{region}.amazonaws.com"

    @classmethod
    def options(cls, section: SesApi) -> dict[str, Any]:
        if not section.region:
            raise ConfigError(_('[ses] region is empty in webzine.toml; set it, for example region = "ap-northeast-2".'))
        credentials = Credentials(
            access_key=secret(section.api_key_env, purpose=_("AWS access key id for SES")),
            secret_key=secret(section.secret_key_env, purpose=_("AWS secret access key for SES")),
            session_token=os.environ.get(section.session_token_env, "") if section.session_token_env else "",
        )
        return {"credentials": credentials, "region": section.region, "configuration_set": section.configuration_set,
                "key_env": section.api_key_env}

    @classmethod
    def base_url(cls, section: SesApi) -> str:
        return section.base_url or cls.endpoint(section.region)

    def signed(self, method: str, path: str, *, content: bytes = b"", params: dict[str, str] | None = None) -> httpx.Request:
        headers = {"Content-Type": "application/json"} if content else {}
        if params:
            path = f"{path}?{query_string(params)}"
        request = self.client.build_request(method, path, content=content or None, headers=headers)
        sign(request, self.credentials, self.region, SERVICE)
        return request

    def get_request(self, path: str, params: dict[str, str] | None = None) -> httpx.Request:
        return self.signed("GET", path, params=params)

    def transmit(self, message: Message) -> Delivery:
        body: dict[str, object] = {
            "Content": {"Raw": {"Data": base64.b64encode(message.data).decode("ascii")}},
            "Destination": {"ToAddresses": [message.rcpt_to]},
        }
        tags = ses_tags(message)
        if tags:
            body["EmailTags"] = tags  # echoed in events as mail.tags: they name the issue
        if self.configuration_set:
            body["ConfigurationSetName"] = self.configuration_set
        content = json.dumps(body, separators=(",", ":")).encode("ascii")
        # Signed inside the builder: a retried request gets a fresh X-Amz-Date.
        return self.deliver(lambda: self.signed("POST", "/v2/email/outbound-emails", content=content))

    def read_accepted(self, response: httpx.Response) -> Delivery:
        """200 `{"MessageId": "0100…"}`."""
        body = json_body(response)
        provider_id = body.get("MessageId") if isinstance(body, dict) else None
        return accepted(response.status_code, str(provider_id) if provider_id else None)

    def read_refused(self, response: httpx.Response) -> Delivery:
        body = json_body(response)
        kind = error_type(response, body)
        words = str(body.get("message") or body.get("Message") or "") if isinstance(body, dict) else excerpt(response)
        text = f"HTTP {response.status_code} {kind}: {words}".replace(" :", ":")
        if kind in STOP_TYPES or (kind == "MessageRejected" and SANDBOX_WORDS in words):
            reason = _(STOP_TYPES.get(kind, SANDBOXED))
            raise SenderProblem(
                _("Amazon SES refused the message ({reason}): {text}").format(reason=reason, text=text),
                hint=_("fix it in the SES console for region {region}; then re-run the same command to resume.").format(
                    region=self.region),
            )
        if kind in THROTTLE_TYPES:
            return temporary(response.status_code, text, retry_after=wait_hint(response))
        address = kind == "MessageRejected" and "address" in words.lower()  # "Illegal address"
        return permanent(response.status_code, text, status=BAD_ADDRESS if address else None)

    def suppressions(self) -> Iterator[Suppression]:
        """The account-level suppression list, `NextToken` page by page."""
        token = ""
        for __ in range(MAX_PAGES):
            params = {"PageSize": "1000", **({"NextToken": token} if token else {})}
            body = self.fetch(lambda: self.get_request("/v2/email/suppression/addresses", params))
            for item in (body or {}).get("SuppressedDestinationSummaries") or []:
                reason = SUPPRESSION_REASONS.get(item.get("Reason", ""), SuppressionReason.HARD_BOUNCE)
                detail = f"SES account suppression list ({self.region}): {item.get('Reason', '')}"
                entry = suppression(item.get("EmailAddress"), reason, item.get("LastUpdateTime"), "ses", detail)
                if entry:
                    yield entry
            token = (body or {}).get("NextToken") or ""
            if not token:
                break

    # --- webzine check ---------------------------------------------------------------------

    def preflight(self, settings: Settings) -> list[Finding]:
        """The From identity (`GetEmailIdentity`: verified, Easy DKIM) and the configuration set's
        open/click tracking (`GetConfigurationSetEventDestinations`)."""
        address = parseaddr(settings.publication.sender)[1]
        domain = address.rpartition("@")[2].lower()
        identity = self._identity(domain)
        findings = [self._dkim(domain, address, identity, settings)]
        configuration_set = self.configuration_set or str((identity or {}).get("ConfigurationSetName") or "")
        findings.append(self._tracking(configuration_set))
        return findings

    def _identity(self, name: str) -> dict | None:
        path = f"/v2/email/identities/{quote(name, safe='@')}"
        body = self.fetch(lambda: self.get_request(path), none_for=(404,))
        return body if isinstance(body, dict) else None

    def _dkim(self, domain: str, address: str, identity: dict | None, settings: Settings) -> Finding:
        dkim = (identity or {}).get("DkimAttributes") or {}
        if identity and identity.get("VerifiedForSendingStatus") and dkim.get("SigningEnabled") and dkim.get("Status") == "SUCCESS":
            return passed("ses_identity", f"SES identity {domain} is verified and SES signs it with DKIM "
                          f"({dkim.get('SigningAttributesOrigin', 'AWS_SES')}), so DKIM aligns with From.",
                          f"SES에서 {domain} 도메인이 인증되었고 SES가 이 도메인으로 DKIM 서명을 하므로 DMARC 정렬이 맞습니다.")
        own = settings.dkim.domain and settings.dkim.selector and (
            domain == settings.dkim.domain.lower() or domain.endswith("." + settings.dkim.domain.lower()))
        verified = bool(identity and identity.get("VerifiedForSendingStatus")) or bool(
            (self._identity(address) or {}).get("VerifiedForSendingStatus"))
        if not verified:
            return failed("ses_identity", f"neither {domain} nor {address} is a verified SES identity in {self.region}; "
                          "SES refuses the send. Verify the domain (with Easy DKIM) under SES → Identities.",
                          f"{self.region} 리전 SES에 {domain} 도메인도 {address} 주소도 인증되어 있지 않아 SES가 발송을 "
                          "거부합니다. SES → Identities에서 도메인을 인증하고 Easy DKIM을 켜세요.")
        if own:
            return warned("ses_identity", f"SES does not sign for {domain} (Easy DKIM {dkim.get('Status') or 'not set up'}); "
                          f"webzine's own DKIM signature (d={settings.dkim.domain}, without Message-ID and Date, which "
                          "SES rewrites) carries DMARC. Easy DKIM on the domain adds a second aligned signature.",
                          f"SES가 {domain}으로 서명하지 않습니다(Easy DKIM: {dkim.get('Status') or '미설정'}). webzine의 "
                          f"DKIM 서명(d={settings.dkim.domain}, SES가 바꾸는 Message-ID와 Date는 제외)이 DMARC를 "
                          "통과시킵니다. 도메인에 Easy DKIM을 켜면 정렬된 서명이 하나 더 붙습니다.")
        return failed("ses_identity", f"SES does not sign for {domain} (Easy DKIM {dkim.get('Status') or 'not set up'}) "
                      "and webzine does not sign for it either: DMARC fails at Gmail, Yahoo and Naver. Turn on Easy "
                      "DKIM for the domain under SES → Identities, or set [dkim].",
                      f"SES도 webzine도 {domain}으로 DKIM 서명을 하지 않아 Gmail·Yahoo·네이버에서 DMARC가 실패합니다"
                      f"(Easy DKIM: {dkim.get('Status') or '미설정'}). SES → Identities에서 Easy DKIM을 켜거나 [dkim]을 "
                      "설정하세요.")

    def _tracking(self, configuration_set: str) -> Finding:
        tracked: set[str] = set()
        if configuration_set:
            path = f"/v2/email/configuration-sets/{quote(configuration_set, safe='')}/event-destinations"
            body = self.fetch(lambda: self.get_request(path), none_for=(404,))
            if body is None:
                return failed("ses_tracking", f"SES has no configuration set '{configuration_set}' in {self.region}; "
                              "create it or change [ses] configuration_set.",
                              f"{self.region} 리전 SES에 구성 세트 '{configuration_set}'이(가) 없습니다. 만들거나 "
                              "[ses] configuration_set을 고치세요.")
            tracked = {kind for destination in body.get("EventDestinations") or [] if destination.get("Enabled")
                       for kind in destination.get("MatchingEventTypes") or [] if kind in ("OPEN", "CLICK")}
        if "CLICK" in tracked and not self.tracking.clicks:
            return failed("ses_tracking", f"SES configuration set '{configuration_set}' tracks clicks, so SES rewrites "
                          "every link, the 수신거부 link too, while [send] track_clicks is false; remove CLICK from its "
                          "event destinations, or set track_clicks = true.",
                          f"SES 구성 세트 '{configuration_set}'이(가) 클릭을 추적해 수신거부 링크를 포함한 모든 링크를 "
                          "바꿉니다. [send] track_clicks는 false이니 이벤트 대상에서 CLICK을 빼거나 track_clicks = true로 "
                          "바꾸세요.")
        wanted = {kind for kind, on in (("OPEN", self.tracking.opens), ("CLICK", self.tracking.clicks)) if on}
        if tracked != wanted:
            return warned("ses_tracking", f"SES tracks {', '.join(sorted(tracked)) or 'nothing'} (configuration set "
                          f"'{configuration_set or 'none'}') but [send] asks for {', '.join(sorted(wanted)) or 'nothing'}; "
                          "SES tracks only through a configuration set's OPEN and CLICK event destinations.",
                          f"SES 추적 대상은 {', '.join(sorted(tracked)) or '없음'}(구성 세트 '{configuration_set or '없음'}')"
                          f"인데 [send] 설정은 {', '.join(sorted(wanted)) or '없음'}입니다. SES는 구성 세트의 OPEN·CLICK "
                          "이벤트 대상으로만 추적합니다.")
        return passed("ses_tracking", f"SES tracks {', '.join(sorted(tracked)) or 'neither opens nor clicks'}, as [send] asks.",
                      f"SES 추적 대상({', '.join(sorted(tracked)) or '없음'})이 [send] 설정과 같습니다.")
