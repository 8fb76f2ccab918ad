"""Provider webhooks → the store, through the bounces vocabulary.

`POST /webhooks/{sendgrid,mailgun,postmark,ses}`: the request is authenticated first (see
`signatures.py`), then the body is mapped by `webzine.providers.events.parse_<provider>_events`
and stored with dedupe (providers retry, SNS may deliver twice). A refused request is logged with
the provider, the client address and the reason, and answered 401 (403 for an SNS topic we did
not subscribe) — the provider's retry cannot succeed, and an attacker learns nothing more. Mailgun
retries every answer but 2xx and 406 for 8 hours, so a refused or unreadable Mailgun post is
answered 406 Not Acceptable, the one code Mailgun documents as "do not retry".

A provider whose secret is not in the environment has no endpoint (404): an unauthenticated
webhook is never accepted. The SNS certificate and subscription-confirmation fetches go through an
injectable `fetch(url) -> bytes`, so tests use their own certificate without a network.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from webzine.providers.events import (
    PayloadError,
    parse_mailgun_events,
    parse_postmark_events,
    parse_sendgrid_events,
    parse_ses_events,
)
from webzine.config import Settings
from webzine.errors import ConfigError
from webzine.providers.signatures import (
    SENDGRID_RETRY_SECONDS,
    SignatureError,
    check_sendgrid_age,
    check_sns_url,
    fresh_sendgrid_events,
    load_sendgrid_key,
    sns_topic_region,
    verify_basic_auth,
    verify_mailgun,
    verify_sendgrid,
    verify_sns,
)
from webzine.unsubscribes.store import StoreBackend

log = logging.getLogger("webzine.web.webhooks")

# The answer that stops a provider's retries when a post is refused or unreadable, where the
# provider documents one; others get 401 / 400.
NO_RETRY_STATUS = {"mailgun": 406}

Fetch = Callable[[str], bytes]
MAX_CACHED_CERTIFICATES = 16


def fetch_https(url: str) -> bytes:
    """GET a URL already checked by `check_sns_url`; no redirects (they could leave SNS's host)."""
    try:
        response = httpx.get(url, timeout=10, follow_redirects=False)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise SignatureError(f"could not fetch {url}: {exc}") from exc
    return response.content


@dataclass(frozen=True)
class WebhookSecrets:
    """What each provider's endpoint needs; None disables that endpoint."""

    sendgrid_key: ec.EllipticCurvePublicKey | None = None
    mailgun_signing_key: str | None = None
    postmark_credentials: tuple[str, str] | None = None
    sns_topic_arns: frozenset[str] = frozenset()

    @classmethod
    def from_environment(cls, settings: Settings) -> "WebhookSecrets":
        serve = settings.serve
        sendgrid_text = os.environ.get(serve.sendgrid_public_key_env, "")
        try:
            sendgrid_key = load_sendgrid_key(sendgrid_text) if sendgrid_text else None
        except ValueError as exc:
            raise ConfigError(
                f"{serve.sendgrid_public_key_env}: {exc}.",
                hint="copy the verification key from SendGrid's Mail Settings → Signed Event Webhook.",
            ) from None
        user = os.environ.get(serve.postmark_username_env, "")
        password = os.environ.get(serve.postmark_password_env, "")
        return cls(
            sendgrid_key=sendgrid_key,
            mailgun_signing_key=os.environ.get(serve.mailgun_signing_key_env) or None,
            postmark_credentials=(user, password) if user and password else None,
            sns_topic_arns=frozenset(serve.sns_topic_arns),
        )

    def switched_off(self, settings: Settings) -> dict[str, str]:
        """provider → why its endpoint answers 404, for the start-up log."""
        serve = settings.serve
        off = {
            "sendgrid": None if self.sendgrid_key else f"{serve.sendgrid_public_key_env} is not set",
            "mailgun": None if self.mailgun_signing_key else f"{serve.mailgun_signing_key_env} is not set",
            "postmark": None if self.postmark_credentials
            else f"{serve.postmark_username_env} or {serve.postmark_password_env} is not set",
            "ses": None if self.sns_topic_arns else "[serve] sns_topic_arns is empty",
        }
        return {provider: why for provider, why in off.items() if why}


@dataclass
class WebhookEndpoints:
    store: StoreBackend
    secrets: WebhookSecrets
    max_age_seconds: float
    fetch: Fetch = fetch_https
    clock: Callable[[], float] = time.time
    _mailgun_tokens: dict[str, float] = field(default_factory=dict)
    _certificates: dict[str, bytes] = field(default_factory=dict)

    async def sendgrid(self, request: Request) -> Response:
        if self.secrets.sendgrid_key is None:
            return _disabled()
        body = await request.body()
        now, window = self.clock(), SENDGRID_RETRY_SECONDS + self.max_age_seconds
        timestamp = request.headers.get("x-twilio-email-event-webhook-timestamp", "")
        try:
            verify_sendgrid(
                self.secrets.sendgrid_key,
                body,
                request.headers.get("x-twilio-email-event-webhook-signature", ""),
                timestamp,
            )
            check_sendgrid_age(timestamp, now=now, max_age=window)
        except SignatureError as exc:
            return _refused("sendgrid", request, exc)
        try:
            data = json.loads(body)
        except ValueError:
            return _bad_payload("sendgrid", request, "not JSON")
        events, stale = fresh_sendgrid_events(data, now=now, max_age=window) if isinstance(data, list) else (data, 0)
        if not stale:
            return self._store("sendgrid", request, lambda: parse_sendgrid_events(events))
        log.warning("sendgrid webhook from %s: %d event(s) older than %.0f h not stored",
                    _client(request), stale, window / 3600)  # fmt: skip
        return self._store("sendgrid", request, lambda: parse_sendgrid_events(events), stale=stale)

    async def mailgun(self, request: Request) -> Response:
        if self.secrets.mailgun_signing_key is None:
            return _disabled()
        try:
            data = json.loads(await request.body())
        except ValueError:
            return _bad_payload("mailgun", request, "not JSON")
        now = self.clock()
        try:
            signature = data.get("signature") if isinstance(data, dict) else None
            token = verify_mailgun(self.secrets.mailgun_signing_key, signature, now=now, max_age=self.max_age_seconds)
            if token in self._mailgun_tokens:
                raise SignatureError("Mailgun token was already used (a replay)")
        except SignatureError as exc:
            return _refused("mailgun", request, exc)
        response = self._store("mailgun", request, lambda: parse_mailgun_events(data))
        if response.status_code == 200:
            self._remember_token(token, now)
        return response

    async def postmark(self, request: Request) -> Response:
        if self.secrets.postmark_credentials is None:
            return _disabled()
        try:
            verify_basic_auth(request.headers.get("authorization", ""), *self.secrets.postmark_credentials)
        except SignatureError as exc:
            response = _refused("postmark", request, exc)
            response.headers["WWW-Authenticate"] = 'Basic realm="webzine webhooks"'
            return response
        body = await request.body()
        return self._store("postmark", request, lambda: parse_postmark_events(body))

    async def ses(self, request: Request) -> Response:
        if not self.secrets.sns_topic_arns:
            return _disabled()
        try:
            message = json.loads(await request.body())
        except ValueError:
            return _bad_payload("ses", request, "not JSON")
        if not isinstance(message, dict):
            return _bad_payload("ses", request, "not an SNS message object")
        topic = str(message.get("TopicArn", ""))
        if topic not in self.secrets.sns_topic_arns:
            log.warning("refused ses webhook from %s: topic %r is not in [serve] sns_topic_arns", _client(request), topic)
            return JSONResponse({"error": "unknown topic"}, status_code=403)
        try:
            region = sns_topic_region(topic)
            await asyncio.to_thread(self._verify_sns, message, region)
        except SignatureError as exc:
            return _refused("ses", request, exc)
        kind = message.get("Type")
        if kind == "SubscriptionConfirmation":
            return await self._confirm_subscription(request, message, region)
        if kind == "UnsubscribeConfirmation":
            log.warning("SNS topic %s unsubscribed this endpoint", topic)
            return JSONResponse({"stored": 0})
        return self._store("ses", request, lambda: parse_ses_events(message))

    def _verify_sns(self, message: dict[str, object], region: str) -> None:
        url = str(message.get("SigningCertURL", ""))
        check_sns_url(url, region)
        certificate = self._certificates.get(url)
        if certificate is None:
            certificate = self.fetch(url)
            if len(self._certificates) >= MAX_CACHED_CERTIFICATES:
                self._certificates.clear()
            self._certificates[url] = certificate
        verify_sns(message, certificate, now=datetime.fromtimestamp(self.clock(), UTC))

    async def _confirm_subscription(self, request: Request, message: dict[str, object], region: str) -> Response:
        url = str(message.get("SubscribeURL", ""))
        try:
            check_sns_url(url, region)
            await asyncio.to_thread(self.fetch, url)
        except SignatureError as exc:
            return _refused("ses", request, exc)
        log.info("confirmed the SNS subscription to %s", message.get("TopicArn"))
        return JSONResponse({"confirmed": True})

    def _remember_token(self, token: str, now: float) -> None:
        """Mailgun's advice against replays: a token is good once. It is remembered only after
        the events were stored, so a delivery we failed to store can still be retried."""
        horizon = now - 2 * self.max_age_seconds
        if len(self._mailgun_tokens) > 10_000:
            self._mailgun_tokens = {t: seen for t, seen in self._mailgun_tokens.items() if seen > horizon}
        self._mailgun_tokens[token] = now

    def _store(self, provider: str, request: Request, parse: Callable[[], list], **counts: int) -> Response:
        try:
            events = parse()
        except PayloadError as exc:
            return _bad_payload(provider, request, str(exc))
        new = self.store.record_events(events)
        return JSONResponse({"received": len(events), "stored": new, **counts})


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _refused(provider: str, request: Request, exc: Exception) -> Response:
    log.warning("refused %s webhook from %s: %s", provider, _client(request), exc)
    return JSONResponse({"error": "signature not valid"}, status_code=NO_RETRY_STATUS.get(provider, 401))


def _bad_payload(provider: str, request: Request, reason: str) -> Response:
    log.warning("unreadable %s webhook from %s: %s", provider, _client(request), reason)
    return JSONResponse({"error": "payload not understood"}, status_code=NO_RETRY_STATUS.get(provider, 400))


def _disabled() -> Response:
    return JSONResponse({"error": "not found"}, status_code=404)
