"""What every email-API transport shares: one httpx client, timeouts, and one reading of HTTP.

Each provider module (sendgrid, mailgun, postmark, ses) builds its request and reads its own
success and error bodies; everything that is the same for all four lives here:

- one injected `httpx.Client` per transport (HTTP/1.1 keep-alive, a pool as large as
  `[send] concurrency`, connect retries that cannot duplicate a message), so tests swap the
  transport and threads share connections;
- the meaning of a status: 2xx accepted, 429 and 5xx temporary (with the provider's wait),
  401/403 the sender's problem (the run stops), other 4xx permanent for that one message;
- httpx exceptions translated at this edge into a `Delivery`, never leaked upwards.

A temporary outcome carries `retry_after` (seconds the provider asked us to wait) and `ambiguous`
(the request may have reached the provider before the connection failed, so a retry can deliver
twice). Both are fields of every `Delivery` (transports/base.py): the orchestration waits at least
`retry_after`, and keeps an ambiguous recipient claimed (reported as unknown) instead of retrying.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from webzine.config import Settings
from webzine.errors import ConfigError, MessageUnsupported, SenderProblem
from webzine.i18n import _
from webzine.transports.base import BaseTransport
from webzine.models import Content, Delivery, Message, Outcome
from webzine.transports.redact import Redactor

USER_AGENT = "webzine/0.1 (+https://github.com/webzine)"
CONNECT_RETRIES = 2  # httpx retries only failed connects: the request was never sent
BODY_EXCERPT = 500  # characters of a provider's error body kept for the ledger and the report
# Enhanced status codes (RFC 3463) given to an API's refusal of the address itself, so that the
# send records it as a hard bounce for the suppression list, as it would an SMTP 550 5.1.x.
BAD_ADDRESS = "5.1.3"  # the provider says the address is not valid
SUPPRESSED_ADDRESS = "5.1.1"  # the provider will not deliver to it (earlier hard bounce, complaint)


def accepted(code: int, provider_id: str | None, text: str = "accepted") -> Delivery:
    return Delivery(Outcome.ACCEPTED, code=code, text=text, provider_id=provider_id)


def permanent(code: int | None, text: str, *, status: str | None = None) -> Delivery:
    return Delivery(Outcome.PERMANENT, code=code, status=status, text=text)


def temporary(
    code: int | None,
    text: str,
    *,
    retry_after: float | None = None,
    ambiguous: bool = False,
    sender_problem: bool = False,
) -> Delivery:
    if retry_after is not None:
        text = _("{text} (retry after {seconds:g} s)").format(text=text, seconds=retry_after)
    return Delivery(
        Outcome.TEMPORARY,
        code=code,
        text=text,
        retry_after=retry_after,
        ambiguous=ambiguous,
        sender_problem=sender_problem,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110 10.2.3).

    Returns None when absent or unreadable, so the orchestration falls back to its backoff."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def parse_reset_epoch(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds until a Unix reset time (SendGrid's X-RateLimit-Reset), never negative."""
    if not value or not value.strip().isdigit():
        return None
    return max(0.0, float(value) - (time.time() if now is None else now))


def wait_hint(response: httpx.Response) -> float | None:
    """The provider's requested wait: Retry-After first, else a rate-limit reset time."""
    hint = parse_retry_after(response.headers.get("retry-after"))
    if hint is None:
        hint = parse_reset_epoch(response.headers.get("x-ratelimit-reset"))
    return hint


def excerpt(response: httpx.Response) -> str:
    """The provider's body, shortened, on one line: what a person needs to act on an error."""
    text = response.text.strip().replace("\r", " ").replace("\n", " ")
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + "…"


def json_body(response: httpx.Response) -> Any:
    """The response body as JSON, or None when it is empty or not JSON."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def json_content(message: Message) -> Content:
    """The fields a JSON mail API sends for `message`; refuses attachments and inline parts, which
    those fields cannot carry (dropping them silently would send a different message)."""
    content = message.content
    if content.attachments:
        raise MessageUnsupported(
            _("message {message_id} has attachments or inline parts, which this JSON API transport cannot "
              "carry; send it with mailgun or ses (raw MIME) or smtp.").format(message_id=message.message_id)
        )
    return content


def build_client(
    base_url: str,
    *,
    timeout: float,
    connections: int,
) -> httpx.Client:
    """One pooled HTTP/1.1 client per transport, shared by the sending threads."""
    if not base_url.startswith(("https://", "http://")):
        raise ConfigError(
            _("API base_url '{base_url}' must start with https:// (or http:// for a local test server).").format(base_url=base_url)
        )
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        # TCP_NODELAY: h11 writes headers and body separately; with Nagle the body waits for the
        # server's delayed ACK of the headers (40 ms per request on Linux).
        transport=httpx.HTTPTransport(
            retries=CONNECT_RETRIES, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        ),
        headers={"User-Agent": USER_AGENT},
    )


class ApiTransport(BaseTransport):
    """Base for the email-API transports: owns the client, sends, and reads the common statuses.

    A subclass builds its request and passes a builder to `deliver`, reads a 2xx in
    `read_accepted` and a 4xx that concerns the one message in `read_refused`; `auth` holds the
    headers that authenticate, `key_env` names the credential's variable for error messages.
    The client it is given becomes its own: `close` closes it."""

    name = "api"
    key_env = ""

    def __init__(self, client: httpx.Client, *, secrets: Iterable[str] = ()) -> None:
        self.client = client
        self.redactor = Redactor(secrets)  # the credentials it was given; from_settings adds the rest
        self.auth: dict[str, str] = {}  # headers that authenticate every request

    def get_request(self, path: str, params: dict[str, str] | None = None) -> httpx.Request:
        """A GET to the provider's API (suppression lists), authenticated like the sends."""
        return self.client.build_request("GET", path, params=params, headers=self.auth)

    @staticmethod
    def connections(settings: Settings) -> int:
        return settings.send.concurrency

    def close(self) -> None:
        self.client.close()

    # --- one request ------------------------------------------------------------------------

    def exchange(self, build: Callable[[], httpx.Request]) -> httpx.Response | Delivery:
        """Send one request; a network failure comes back as a temporary `Delivery`."""
        request = build()
        try:
            return self.client.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return temporary(None, _("{name}: could not connect to {host}: {reason}").format(
                name=self.name, host=request.url.host, reason=exc or type(exc).__name__))
        except (httpx.WriteTimeout, httpx.WriteError) as exc:
            # The body was not fully written, so the provider cannot have taken the message.
            return temporary(None, _("{name}: sending the request failed: {reason}").format(
                name=self.name, reason=exc or type(exc).__name__))
        except httpx.TimeoutException as exc:
            return temporary(
                None,
                _("{name}: no answer within {seconds:g} s ({error}); the provider may have accepted the message").format(
                    name=self.name, seconds=self.client.timeout.read, error=type(exc).__name__),
                ambiguous=True,
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ConfigError(
                _("{name}: the API address {url} cannot be used: {reason}.").format(name=self.name, url=request.url, reason=exc)
            ) from exc
        except httpx.HTTPError as exc:
            return temporary(
                None,
                _("{name}: the connection failed before an answer ({error}: {reason}); "
                  "the provider may have accepted the message").format(name=self.name, error=type(exc).__name__, reason=exc),
                ambiguous=True,
            )

    def stop(self, response: httpx.Response) -> SenderProblem:
        """401/403 and account-level refusals: nothing more can be sent until the sender acts."""
        problem = SenderProblem(
            _("{name} refused the request with HTTP {status} at {url}: {body}").format(
                name=self.name, status=response.status_code, url=response.request.url,
                body=excerpt(response) or response.reason_phrase),
            hint=_("check the API key in ${variable} and the sending domain/identity at {name}; "
                   "then re-run the same command to resume.").format(variable=self.key_env, name=self.name),
        )
        self.redactor.scrub(problem)  # also raised outside `send`: reading the suppression lists
        return problem

    def common(self, response: httpx.Response) -> Delivery | None:
        """Outcomes every provider shares; None when the provider-specific reader must decide."""
        status = response.status_code
        if status in (401, 403):
            raise self.stop(response)
        if status == 404:
            raise self.redactor.scrub(SenderProblem(
                _("{name} answered HTTP 404 at {url}: {body}").format(
                    name=self.name, url=response.request.url, body=excerpt(response) or _("not found")),
                hint=_("check base_url, domain and region in the [{name}] section of webzine.toml.").format(name=self.name),
            ))
        if status == 429 or status >= 500:
            return temporary(status, f"HTTP {status}: {excerpt(response) or response.reason_phrase}", retry_after=wait_hint(response))
        return None

    def deliver(self, build: Callable[[], httpx.Request]) -> Delivery:
        """Send one message's request and read the answer into its outcome."""
        result = self.exchange(build)
        if isinstance(result, Delivery):
            return result
        shared = self.common(result)
        if shared is not None:
            return shared
        return self.read_accepted(result) if result.is_success else self.read_refused(result)

    def read_accepted(self, response: httpx.Response) -> Delivery:
        """A 2xx: the provider's message id, or a per-message verdict hidden in the body."""
        raise NotImplementedError

    def read_refused(self, response: httpx.Response) -> Delivery:
        """A 4xx other than 401/403/404/429: this message is refused for good, in the provider's words."""
        return permanent(response.status_code, f"HTTP {response.status_code}: {excerpt(response)}")
