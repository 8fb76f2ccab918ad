"""Postmark: `POST /email` for one message, `POST /email/batch` for up to 500.

Postmark takes JSON fields, not raw MIME, so it gets the message's fields (From/To/Subject/bodies) and
every other header (List-Unsubscribe, List-Unsubscribe-Post, List-Id, Feedback-ID, Message-ID) is
carried in `Headers`. Authentication is the server token in `X-Postmark-Server-Token`.

Postmark answers a batch with HTTP 200 even when single messages fail: every result in the array
(same order as the request) carries its own `ErrorCode` and is read one by one. A single send
that fails answers 422 with the same `{"ErrorCode", "Message"}` body. Error codes that concern the
account rather than the recipient stop the run (see `STOP_CODES`).

Before its first message the transport reads the stream (`GET /message-streams/{stream}`): a
broadcast stream whose `UnsubscribeHandlingType` is `Postmark` gets Postmark's own English
unsubscribe link and List-Unsubscribe, and readers who use them never reach `webzine serve`; such a
send is refused (`SenderProblem`) with the setting to change, before anything is sent. The same
reading, with the stream's webhooks, is the pre-flight `webzine check` shows.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from webzine.config import PostmarkApi, Settings, secret
from webzine.errors import SenderProblem
from webzine.i18n import N_, _
from webzine.models import Message, Outcome, Suppression, SuppressionReason
from webzine.providers.base import ProviderTransport, Tracking, suppression
from webzine.providers.preflight import Finding, failed, passed, warned
from webzine.providers.tags import MESSAGE_ID_TAG, correlation
from webzine.transports.http import SUPPRESSED_ADDRESS, Delivery, accepted, excerpt, json_body, permanent, temporary
from webzine.transports.http import json_content, wait_hint

MAX_BATCH = 500  # messages per /email/batch call (Postmark's limit)
MAX_BATCH_BYTES = 45 * 1024 * 1024  # Postmark allows 50 MB per call; keep a margin
DEFAULT_STREAM = "broadcast"  # Postmark requires newsletters on a broadcast stream
METADATA_VALUE_MAX = 80  # Postmark's limit per Metadata value
SEARCH_PAGE = 50  # a recipient's messages, newest first: this is among the latest
SUPPRESSION_REASONS = {"HardBounce": SuppressionReason.HARD_BOUNCE, "SpamComplaint": SuppressionReason.COMPLAINT}
# The webhook triggers webzine serve needs on the stream: bounces and complaints feed suppressions;
# broadcast streams report Postmark-side unsubscribes and suppressions as subscription changes.
WEBHOOK_TRIGGERS = ("Bounce", "SpamComplaint", "SubscriptionChange")

INACTIVE_RECIPIENT = 406
INVALID_REQUEST = 300
RATE_LIMITED = 429
MAINTENANCE = 100
# The account, the sender signature or our request is wrong: no recipient is to blame.
STOP_CODES = {
    10: N_("bad or missing server token"),
    400: N_("sender signature not found"),
    401: N_("sender signature not confirmed"),
    402: N_("invalid JSON"),
    403: N_("incompatible JSON"),
    405: N_("not allowed to send (account out of credits or sending disabled)"),
    409: N_("JSON required"),
    410: N_("too many batch messages"),
    412: N_("account is pending"),
    413: N_("account may not send"),
    1235: N_("message stream not found"),
}


class PostmarkTransport(ProviderTransport):
    name = "postmark"
    looks_up_messages = True

    def __init__(
        self,
        client: httpx.Client,
        *,
        token: str,
        stream: str = DEFAULT_STREAM,
        batch: bool = True,
        key_env: str = "POSTMARK_SERVER_TOKEN",
        tracking: Tracking = Tracking(),
    ) -> None:
        super().__init__(client, secrets=(token,))
        self.tracking = tracking
        self.auth = {"X-Postmark-Server-Token": token, "Accept": "application/json"}
        self.stream = stream
        self.batch_size = MAX_BATCH if batch else 1
        self.key_env = key_env
        self._stream_checked = False
        self._stream_lock = threading.Lock()

    @classmethod
    def options(cls, section: PostmarkApi) -> dict[str, Any]:
        return {"token": secret(section.api_key_env, purpose=_("Postmark server token")),
                "stream": section.message_stream or DEFAULT_STREAM, "batch": section.batch,
                "key_env": section.api_key_env}

    # --- requests ---------------------------------------------------------------------------

    def payload(self, message: Message) -> dict[str, Any]:
        """One message in Postmark's JSON shape (the same for /email and each /email/batch item)."""
        parts = json_content(message)
        body: dict[str, Any] = {
            "From": parts.sender.formatted(),
            "To": parts.to.formatted(),
            "Subject": message.subject,
            "MessageStream": self.stream,
            "Headers": [{"Name": name, "Value": value} for name, value in parts.headers],
            # Per message, over the server's defaults: a pixel and link rewriting only when asked.
            "TrackOpens": self.tracking.opens,
            "TrackLinks": "HtmlAndText" if self.tracking.clicks else "None",
        }
        if parts.text is not None:
            body["TextBody"] = parts.text
        if parts.html is not None:
            body["HtmlBody"] = parts.html
        if parts.reply_to is not None:
            body["ReplyTo"] = parts.reply_to.formatted()
        # Bounce and delivery webhooks echo Metadata, so events name their issue and ledger row.
        tags = {"webzine-message-id" if name == MESSAGE_ID_TAG else name: value
                for name, value in correlation(message).items() if len(value) <= METADATA_VALUE_MAX}
        if tags:
            body["Metadata"] = tags
        return body

    def _post(self, path: str, content: bytes) -> httpx.Request:
        headers = {**self.auth, "Content-Type": "application/json"}
        return self.client.build_request("POST", path, content=content, headers=headers)

    # --- pre-flight -------------------------------------------------------------------------

    def check_stream(self) -> Delivery | None:
        """Read the stream once, before the first message: raises `SenderProblem` when Postmark
        manages a broadcast stream's unsubscribes; returns a temporary `Delivery` when the look-up
        could not be made (the messages wait, the next attempt asks again), else None."""
        with self._stream_lock:
            if self._stream_checked:
                return None
            result = self.exchange(lambda: self.get_request(f"/message-streams/{self.stream}"))
            if isinstance(result, Delivery):
                return result
            if result.status_code in (401, 403):
                raise self.stop(result)
            if result.status_code == 429 or result.status_code >= 500:
                return temporary(result.status_code, _("Postmark stream look-up: HTTP {status}: {body}").format(
                                     status=result.status_code, body=excerpt(result)),
                                 retry_after=wait_hint(result))
            # Any other answer (an unknown stream: 404) is left to the send, in Postmark's words.
            body = json_body(result) if result.is_success else None
            if isinstance(body, dict):
                self._refuse_managed_unsubscribes(body)
            self._stream_checked = True
            return None

    def _refuse_managed_unsubscribes(self, stream: dict[str, Any]) -> None:
        if _postmark_manages_unsubscribes(stream):
            # The setting is named in the message too: a send reports only the message of a stop.
            raise SenderProblem(
                _("Postmark message stream '{stream}': UnsubscribeHandlingType is Postmark, so Postmark adds "
                  "its own unsubscribe link and List-Unsubscribe and readers who unsubscribe never reach webzine "
                  "serve; set the stream's Unsubscribe handling to \"Manage unsubscribes on your own\" (Custom). "
                  "Nothing was sent.").format(stream=self.stream),
                hint=_("in Postmark open the server → Message Streams → '{stream}' → Settings → Unsubscribe "
                       "handling and choose \"Manage unsubscribes on your own\" (UnsubscribeHandlingType Custom; if "
                       "the choice is missing, ask Postmark support to enable it); then re-run the same command.").format(
                    stream=self.stream),
            )

    def transmit(self, message: Message) -> Delivery:
        waiting = self.check_stream()
        if waiting is not None:
            return waiting
        content = _encode(self.payload(message))
        return self.deliver(lambda: self._post("/email", content))

    def transmit_batch(self, messages: Sequence[Message]) -> list[Delivery]:
        """Send in calls of at most 500 messages and 45 MB; one outcome per message, in order.

        Once a call fails as a whole (429, 5xx, network), the calls after it are not attempted:
        their messages come back temporary so the orchestration retries them later. A refusal of
        the account (401/403 or a stop code) raises only while nothing has been accepted in this
        batch; afterwards it is reported per message (`sender_problem`), so accepted results are
        never lost to an exception."""
        if len(messages) == 1 or self.batch_size == 1:
            return [self.transmit(message) for message in messages]
        waiting = self.check_stream()
        if waiting is not None:
            return [waiting] * len(messages)
        outcomes: list[Delivery] = []
        for chunk in _chunks([_encode(self.payload(m)) for m in messages]):
            failed = self._send_chunk(chunk, outcomes)
            if failed is not None:
                outcomes.extend([failed] * (len(messages) - len(outcomes)))
                break
        return outcomes

    def _send_chunk(self, chunk: list[bytes], outcomes: list[Delivery]) -> Delivery | None:
        """Post one batch call; append its per-message outcomes, or return the call's failure."""
        content = b"[" + b",".join(chunk) + b"]"
        result = self.exchange(lambda: self._post("/email/batch", content))
        if isinstance(result, Delivery):
            return result
        try:
            shared = self.common(result)
        except SenderProblem as problem:
            if not any(o.outcome is Outcome.ACCEPTED for o in outcomes):
                raise
            return temporary(result.status_code, problem.message, sender_problem=True)
        if shared is not None:
            return shared
        body = json_body(result)
        if not result.is_success:
            return self._whole_call_refused(result, body, outcomes)
        if not isinstance(body, list):
            return temporary(result.status_code, _("unreadable batch answer: {body}").format(body=excerpt(result)), ambiguous=True)
        outcomes.extend(self._item(item, in_batch=True) for item in body[: len(chunk)])
        if len(body) < len(chunk):
            return temporary(result.status_code, _("Postmark answered fewer results than messages sent"), ambiguous=True)
        return None

    def _whole_call_refused(self, response: httpx.Response, body: Any, outcomes: list[Delivery]) -> Delivery:
        """A 4xx for the call itself (bad JSON, too many messages): our request is wrong, so no
        message in it can go; the run stops rather than fail 500 recipients for our mistake."""
        item = body if isinstance(body, dict) else {}
        text = (
            _("Postmark refused the whole batch call with HTTP {status}: ErrorCode {code}: {words}").format(
                status=response.status_code, code=item.get("ErrorCode", "?"), words=item.get("Message") or excerpt(response))
        )
        if not any(o.outcome is Outcome.ACCEPTED for o in outcomes):
            raise SenderProblem(text, hint=self._hint())
        return temporary(response.status_code, text, sender_problem=True)

    # --- webzine check ---------------------------------------------------------------------

    def preflight(self, settings: Settings) -> list[Finding]:
        """The stream (`GET /message-streams/{stream}`): its type and unsubscribe handling; and
        its webhooks (`GET /webhooks?MessageStream=…`): bounces, complaints and subscription changes."""
        stream = self.fetch(lambda: self.get_request(f"/message-streams/{self.stream}"), none_for=(404,))
        if not isinstance(stream, dict):
            return [failed("postmark_stream", f"the Postmark server has no message stream '{self.stream}'; create a "
                           "Broadcasts stream and name it in [postmark] message_stream.",
                           f"Postmark 서버에 '{self.stream}' 메시지 스트림이 없습니다. Broadcasts 스트림을 만들고 "
                           "[postmark] message_stream에 그 이름을 쓰세요.")]
        return [_stream_type(self.stream, stream), _unsubscribe_handling(self.stream, stream), self._webhooks()]

    def _webhooks(self) -> Finding:
        body = self.fetch(lambda: self.get_request("/webhooks", {"MessageStream": self.stream}))
        hooks = [hook for hook in (body or {}).get("Webhooks") or [] if hook.get("MessageStream") == self.stream]
        enabled = {trigger for hook in hooks for trigger in WEBHOOK_TRIGGERS
                   if ((hook.get("Triggers") or {}).get(trigger) or {}).get("Enabled")}
        ours = [hook.get("Url", "") for hook in hooks if "/webhooks/postmark" in str(hook.get("Url", ""))]
        missing = [trigger for trigger in WEBHOOK_TRIGGERS if trigger not in enabled]
        if missing or not ours:
            names = ", ".join(missing) or "none"
            return warned("postmark_webhooks", f"the '{self.stream}' stream has no webhook to webzine serve "
                          f"(…/webhooks/postmark) with Bounce, SpamComplaint and SubscriptionChange enabled (missing: "
                          f"{names}); bounces and complaints then reach webzine only through `webzine suppressions "
                          "pull`. Add it under the stream's Webhooks tab.",
                          f"'{self.stream}' 스트림에 webzine serve(…/webhooks/postmark)로 Bounce, SpamComplaint, "
                          f"SubscriptionChange를 보내는 웹훅이 없습니다(빠진 항목: {names}). 그러면 반송과 스팸 신고는 "
                          "`webzine suppressions pull`로만 들어옵니다. 스트림의 Webhooks 탭에서 추가하세요.")
        return passed("postmark_webhooks", f"the '{self.stream}' stream posts bounces, complaints and subscription "
                      f"changes to {ours[0]}.",
                      f"'{self.stream}' 스트림이 반송, 스팸 신고, 구독 변경을 {ours[0]}(으)로 보냅니다.")

    # --- answers ----------------------------------------------------------------------------

    def read_accepted(self, response: httpx.Response) -> Delivery:
        body = json_body(response)
        return self._item(body if isinstance(body, dict) else {}, in_batch=False, status=response.status_code)

    def read_refused(self, response: httpx.Response) -> Delivery:
        body = json_body(response)
        if isinstance(body, dict) and "ErrorCode" in body:
            return self._item(body, in_batch=False, status=response.status_code)
        return permanent(response.status_code, f"HTTP {response.status_code}: {excerpt(response)}")

    def _item(self, item: dict[str, Any], *, in_batch: bool, status: int = 200) -> Delivery:
        """One result object: `{"ErrorCode": 0, "MessageID": ...}` or `{"ErrorCode": n, "Message": ...}`."""
        code = item.get("ErrorCode")
        words = str(item.get("Message", "")).strip()
        if code == 0 and item.get("MessageID"):
            return accepted(status, str(item["MessageID"]))
        if code == INACTIVE_RECIPIENT:
            return permanent(
                status,
                _("Postmark ErrorCode 406 (inactive recipient: an earlier hard bounce, spam complaint or "
                  "manual suppression): {words}").format(words=words),
                status=SUPPRESSED_ADDRESS,
            )
        if code in (RATE_LIMITED, MAINTENANCE):
            return temporary(status, f"Postmark ErrorCode {code}: {words}")
        if code in STOP_CODES:
            text = f"Postmark ErrorCode {code} ({_(STOP_CODES[code])}): {words}"
            if not in_batch:
                raise SenderProblem(_("Postmark refused the message: {text}").format(text=text), hint=self._hint())
            return temporary(status, text, sender_problem=True)
        if isinstance(code, int):
            return permanent(status, f"Postmark ErrorCode {code}: {words}")
        return temporary(status, _("unreadable Postmark answer: {body}").format(body=json.dumps(item)[:300]), ambiguous=True)

    # --- the provider's own records -------------------------------------------------------

    def suppressions(self) -> Iterator[Suppression]:
        """The stream's suppression dump. A `ManualSuppression` with origin `Recipient` is a reader
        who used Postmark's unsubscribe link; from the customer or an admin it is a manual block."""
        body = self.fetch(lambda: self.get_request(f"/message-streams/{self.stream}/suppressions/dump"))
        for item in (body or {}).get("Suppressions") or []:
            kind, origin = item.get("SuppressionReason", ""), item.get("Origin", "")
            reason = SUPPRESSION_REASONS.get(kind)
            if reason is None:
                reason = SuppressionReason.UNSUBSCRIBED if origin == "Recipient" else SuppressionReason.MANUAL
            detail = f"Postmark {self.stream} stream: {kind} (origin {origin})"
            entry = suppression(item.get("EmailAddress"), reason, item.get("CreatedAt"), "postmark", detail)
            if entry:
                yield entry

    def sent_record(self, message_id: str, recipient: str) -> str | None:
        """The outbound message search by recipient, matched on our Message-ID in `Metadata`."""
        params = {"recipient": recipient, "count": str(SEARCH_PAGE), "offset": "0"}
        body = self.fetch(lambda: self.get_request("/messages/outbound", params))
        for item in (body or {}).get("Messages") or []:
            if (item.get("Metadata") or {}).get("webzine-message-id") == message_id:
                return _("Postmark's message search ({status}, MessageID {message_id})").format(
                    status=item.get("Status", "found"), message_id=item.get("MessageID"))
        return None

    def _hint(self) -> str:
        return _("check the server token in ${variable}, the sender signature and the '{stream}' "
                 "message stream at Postmark; then re-run the same command to resume.").format(
            variable=self.key_env, stream=self.stream)


def _postmark_manages_unsubscribes(stream: dict[str, Any]) -> bool:
    handling = (stream.get("SubscriptionManagementConfiguration") or {}).get("UnsubscribeHandlingType")
    return stream.get("MessageStreamType") == "Broadcasts" and handling == "Postmark"


def _stream_type(name: str, stream: dict[str, Any]) -> Finding:
    kind = stream.get("MessageStreamType")
    if kind != "Broadcasts":
        return failed("postmark_stream", f"Postmark message stream '{name}' is {kind}, not Broadcasts: Postmark "
                      "requires newsletters on a broadcast stream; name one in [postmark] message_stream.",
                      f"Postmark 메시지 스트림 '{name}'의 종류가 Broadcasts가 아니라 {kind}입니다. Postmark는 소식지를 "
                      "broadcast 스트림으로만 보내게 하니 [postmark] message_stream에 broadcast 스트림을 쓰세요.")
    return passed("postmark_stream", f"Postmark message stream '{name}' is a Broadcasts stream.",
                  f"Postmark 메시지 스트림 '{name}'은(는) Broadcasts 스트림입니다.")


def _unsubscribe_handling(name: str, stream: dict[str, Any]) -> Finding:
    if _postmark_manages_unsubscribes(stream):
        return failed("postmark_unsubscribe", f"Postmark message stream '{name}': UnsubscribeHandlingType is Postmark, "
                      "so Postmark adds its own English unsubscribe link and List-Unsubscribe and readers who "
                      "unsubscribe never reach webzine serve; in the stream's Settings choose \"Manage unsubscribes "
                      "on your own\" (Custom; if missing, ask Postmark support to enable it).",
                      f"Postmark 메시지 스트림 '{name}'의 수신거부 처리(UnsubscribeHandlingType)가 Postmark로 되어 있어 "
                      "Postmark가 영어 수신거부 링크와 List-Unsubscribe를 직접 붙이고, 수신거부한 독자가 webzine serve에 "
                      "닿지 않습니다. 스트림 Settings에서 \"Manage unsubscribes on your own\"(Custom)을 고르세요. 항목이 "
                      "없으면 Postmark 지원팀에 활성화를 요청하세요.")
    return passed("postmark_unsubscribe", f"Postmark message stream '{name}' leaves unsubscribes to webzine.",
                  f"Postmark 메시지 스트림 '{name}'은(는) 수신거부 처리를 webzine에 맡깁니다.")


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _chunks(encoded: list[bytes]) -> list[list[bytes]]:
    """Split encoded messages into calls within Postmark's count and size limits."""
    chunks: list[list[bytes]] = [[]]
    size = 2
    for item in encoded:
        if chunks[-1] and (len(chunks[-1]) == MAX_BATCH or size + len(item) + 1 > MAX_BATCH_BYTES):
            chunks.append([])
            size = 2
        chunks[-1].append(item)
        size += len(item) + 1
    return chunks if chunks[-1] else []
