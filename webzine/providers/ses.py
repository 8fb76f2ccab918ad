"""Amazon SES API v2 `SendEmail` with `Content.Raw`: our own MIME bytes, signed with SigV4.

`POST /v2/email/outbound-emails` with the message base64-encoded in `Content.Raw.Data` and the
envelope recipient in `Destination.ToAddresses`. Our headers reach SES as written, but SES
documents two replacements: it overwrites `Message-ID` with its own (`<MessageId@…amazonses.com>`)
and `Date` with the time it accepted the message. The SES `MessageId` from the answer is recorded
as `provider_id`; bounce and complaint notifications name it, so events still find the ledger row.
SES sets the envelope sender (Return-Path) itself, so our VERP address is not used.

Why no batching: SES's `SendBulkEmail` sends only stored templates with per-destination
replacement data, never raw MIME, so our fully built messages go one per request.

Errors come as `{"message": ...}` with the type in the `x-amzn-ErrorType` header: account-level
types stop the run, throttling is temporary, `MessageRejected` / `BadRequestException` refuse the
one message.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import httpx

from webzine.config import SesApi, secret
from webzine.errors import ConfigError, SenderProblem
from webzine.models import OutgoingMessage, Suppression, SuppressionReason
from webzine.providers.base import MAX_PAGES, ProviderTransport, suppression
from webzine.providers.sigv4 import Credentials, query_string, sign
from webzine.providers.tags import ses_tags
from webzine.transports.http import BAD_ADDRESS, Delivery, accepted, excerpt, json_body, permanent, temporary
from webzine.transports.http import wait_hint

SERVICE = "ses"
STOP_TYPES = {
    "AccountSuspendedException": "the account's sending is permanently restricted",
    "SendingPausedException": "sending is paused for the account or configuration set",
    "MailFromDomainNotVerifiedException": "the MAIL FROM domain is not verified",
    "NotFoundException": "a named resource (configuration set) does not exist",
}
THROTTLE_TYPES = {"TooManyRequestsException", "LimitExceededException", "ThrottlingException", "Throttling"}
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
    ) -> None:
        super().__init__(client, secrets=(credentials.secret_key, credentials.session_token))
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
            raise ConfigError('[ses] region is empty in webzine.toml; set it, for example region = "ap-northeast-2".')
        credentials = Credentials(
            access_key=secret(section.api_key_env, purpose="AWS access key id for SES"),
            secret_key=secret(section.secret_key_env, purpose="AWS secret access key for SES"),
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

    def transmit(self, message: OutgoingMessage) -> Delivery:
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
            reason = STOP_TYPES.get(kind, "the account is in the SES sandbox and the address is not verified")
            raise SenderProblem(
                f"Amazon SES refused the message ({reason}): {text}",
                hint=f"fix it in the SES console for region {self.region}; then re-run the same command to resume.",
            )
        if kind in THROTTLE_TYPES:
            return temporary(response.status_code, text, retry_after=wait_hint(response))
        address = kind == "MessageRejected" and "address" in words.lower()  # "Illegal address"
        return permanent(response.status_code, text, status=BAD_ADDRESS if address else None)

    def suppressions(self) -> Iterator[Suppression]:
        """The account-level suppression list, `NextToken` page by page."""
        token = ""
        for _ in range(MAX_PAGES):
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
