"""Local stand-ins for the SendGrid, Mailgun, Postmark and Amazon SES sending APIs.

Each follows its provider's documented request and response shapes closely enough to catch a
wrong request: the auth header (SES: a full SigV4 check, written here independently of
`webzine.providers.ses`), the JSON or multipart body, batch results, error bodies and
rate-limit headers. Faults are injected per request: `429`, `500`, `503`, `drop` (the connection
closes before the request is processed — nothing accepted), `slow` (answers after
`slow_seconds`, accepted), `drop_after` (accepted, then the connection closes with no answer).

Run as a process (`python tests/api_servers.py postmark`): it prints `PORT <n>` and serves on
127.0.0.1 until terminated. `ApiServer` starts one, talks to its control endpoints
(`/_webzine/config`, `/_webzine/received`) and stops it by PID. Every message the server
accepted is counted by Message-ID and recipient, so tests can prove nothing was sent twice.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx

DEFAULTS: dict[str, Any] = {
    "token": "test-token",  # Postmark server token, SendGrid key, Mailgun key
    "domain": "mg.example.co.kr",  # Mailgun sending domain
    "access_key": "AKIDEXAMPLE",  # SES
    "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "region": "ap-northeast-2",
    "streams": ["outbound", "broadcast"],  # Postmark message streams
    "unsubscribe_handling": "Custom",  # Postmark: the broadcast stream's UnsubscribeHandlingType
    "inactive": [],  # Postmark: recipients marked inactive (ErrorCode 406)
    "reject": [],  # recipients the provider refuses as invalid (400/422)
    "verified_senders": [],  # SendGrid: when set, other From addresses get 403
    "sending_paused": False,  # SES: SendingPausedException
    "suppressions": [],  # [{"email", "reason", "at", "detail"}] for the suppression endpoints
    # Account settings the pre-flight reads (GET only), each in its provider's documented shape:
    "tracking": {"click": True, "open": True, "subscription": False, "unsubscribe": False},  # SendGrid, Mailgun
    "domain_state": "active",  # Mailgun: the sending domain's state
    "tracking_readable": True,  # SendGrid: False answers 403, as to a key limited to mail.send
    "authenticated_domains": [{"id": 1, "user_id": 7, "subdomain": "em123", "domain": "example.co.kr",
                               "username": "webzine", "ips": [], "custom_spf": False, "default": True,
                               "legacy": False, "automatic_security": True, "valid": True}],  # SendGrid
    "webhooks": [{"ID": 1, "Url": "https://news.example.co.kr/webhooks/postmark", "MessageStream": "broadcast",
                  "HttpAuth": {"Username": "wz", "Password": ""}, "HttpHeaders": [],
                  "Triggers": {"Open": {"Enabled": False, "PostFirstOpenOnly": False}, "Click": {"Enabled": False},
                               "Delivery": {"Enabled": True}, "Bounce": {"Enabled": True, "IncludeContent": False},
                               "SpamComplaint": {"Enabled": True, "IncludeContent": False},
                               "SubscriptionChange": {"Enabled": True}}}],  # Postmark
    "identities": {},  # SES: identity → GetEmailIdentity answer; others are NotFoundException
    "configuration_sets": {},  # SES: name → its EventDestinations
    "delay": 0.0,  # seconds before every answer (the bench uses 0.02)
    "slow_seconds": 2.0,
    "retry_after": 1,
    "faults": [],  # scripted, one per request, before random ones
    "random_faults": {},  # {"429": 0.2, "drop": 0.1, ...}
    "seed": 0,
    "record_bodies": True,
}
# SES answers for the pre-flight tests, in botocore's GetEmailIdentity and
# GetConfigurationSetEventDestinations output shapes (checked in tests/test_api_schemas.py).
SES_IDENTITY = {
    "IdentityType": "DOMAIN", "FeedbackForwardingStatus": True, "VerifiedForSendingStatus": True,
    "VerificationStatus": "SUCCESS",
    "DkimAttributes": {"SigningEnabled": True, "Status": "SUCCESS", "SigningAttributesOrigin": "AWS_SES",
                       "Tokens": ["abc", "def", "ghi"], "CurrentSigningKeyLength": "RSA_2048_BIT"},
    "MailFromAttributes": {"MailFromDomain": "bounce.example.co.kr", "MailFromDomainStatus": "SUCCESS",
                           "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"},
    "Policies": {}, "Tags": [], "ConfigurationSetName": "newsletter",
}
SES_DESTINATIONS = [{"Name": "to-sns", "Enabled": True, "MatchingEventTypes": ["BOUNCE", "COMPLAINT", "CLICK"],
                     "SnsDestination": {"TopicArn": "arn:aws:sns:ap-northeast-2:123456789012:webzine"}}]
_HEADERS = BytesParser(policy=policy.compat32)


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.config: dict[str, Any] = dict(DEFAULTS)
        self.messages: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.stream_checks: list[str] = []  # Postmark stream look-ups, kept apart from the sends
        self.rng = random.Random(0)
        self.generation = 0  # a request that began before the last reset must not count after it
        self.current = threading.local()

    def reset(self, changes: dict[str, Any]) -> None:
        with self.lock:
            self.config = {**DEFAULTS, **changes}
            self.config["faults"] = list(self.config["faults"])
            self.messages.clear()
            self.requests.clear()
            self.stream_checks.clear()
            self.rng = random.Random(self.config["seed"])
            self.generation += 1

    def next_fault(self) -> str:
        with self.lock:
            if self.config["faults"]:
                return self.config["faults"].pop(0)
            draw = self.rng.random()
            for fault, probability in self.config["random_faults"].items():
                if draw < probability:
                    return fault
                draw -= probability
            return "ok"

    def accept(self, message_id: str | None, recipient: str, provider_id: str, **extra: Any) -> None:
        with self.lock:
            if getattr(self.current, "generation", self.generation) != self.generation:
                return
            self.messages.append({"message_id": message_id, "recipient": recipient.lower(), "provider_id": provider_id, **extra})


Answer = tuple[int, dict[str, str], bytes]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


def _head(raw: bytes) -> Any:
    """Only the header block: the stand-ins need the Message-ID, not a 120 KB parse."""
    return _HEADERS.parsebytes(raw.partition(b"\r\n\r\n")[0] + b"\r\n\r\n", headersonly=True)


def _message_id(value: str | None) -> str | None:
    return value.strip().strip("<>") if value else None


# --- providers ------------------------------------------------------------------------------


class Postmark:
    """https://postmarkapp.com/developer/api/email-api and /suppressions-api."""

    def __init__(self, state: State) -> None:
        self.state = state

    def auth(self, request: "Handler") -> Answer | None:
        if request.headers.get("X-Postmark-Server-Token") != self.state.config["token"]:
            return _json(401, {"ErrorCode": 10, "Message": "The Server Token you provided in the X-Postmark-Server-Token request header was invalid."})
        if request.command == "POST" and request.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return _json(415, {"ErrorCode": 409, "Message": "JSON data required: check Accept and Content-Type headers."})
        return None

    def stream(self, request: "Handler") -> Answer | None:
        """`GET /message-streams/{id}`, shaped as the official SDKs' MessageStream model. Answered
        before the fault script and kept out of `requests`, so send tests count only sends."""
        path = urlsplit(request.path).path
        if request.command != "GET" or not re.fullmatch(r"/message-streams/[^/]+", path):
            return None
        refused = self.auth(request)
        if refused:
            return refused
        stream = path.rsplit("/", 1)[1]
        with self.state.lock:
            self.state.stream_checks.append(stream)
        if stream not in self.state.config["streams"]:
            return _json(404, {"ErrorCode": 1226, "Message": f"The message stream '{stream}' was not found."})
        kind = "Transactional" if stream == "outbound" else "Broadcasts"
        handling = self.state.config["unsubscribe_handling"] if kind == "Broadcasts" else "None"
        return _json(200, {"ID": stream, "ServerID": 123456, "Name": stream.title(), "Description": None,
                           "MessageStreamType": kind, "CreatedAt": "2026-01-05T09:00:00+09:00", "UpdatedAt": None,
                           "ArchivedAt": None, "ExpectedPurgeDate": None,
                           "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": handling}})

    def rate_limited(self) -> Answer:
        return _json(429, {"ErrorCode": 429, "Message": "Rate limit exceeded."}, {"Retry-After": str(self.state.config["retry_after"])})

    def handle(self, request: "Handler", body: bytes) -> Answer:
        path = urlsplit(request.path).path
        if request.command == "GET" and path.startswith("/message-streams/") and path.endswith("/suppressions/dump"):
            return self.dump()
        if request.command == "GET" and path == "/messages/outbound":
            return self.search(dict(parse_qsl(urlsplit(request.path).query)))
        if request.command == "GET" and path in ("/webhooks", "/webhooks/"):
            stream = dict(parse_qsl(urlsplit(request.path).query)).get("MessageStream")
            hooks = [hook for hook in self.state.config["webhooks"] if stream in (None, hook["MessageStream"])]
            return _json(200, {"Webhooks": hooks})
        try:
            data = json.loads(body)
        except ValueError:
            return _json(422, {"ErrorCode": 402, "Message": "Received invalid JSON input."})
        if path == "/email" and isinstance(data, dict):
            item = self.one(data)
            return _json(200 if item["ErrorCode"] == 0 else 422, item)
        if path == "/email/batch" and isinstance(data, list):
            if len(data) > 500:
                return _json(422, {"ErrorCode": 410, "Message": "Too many batch messages."})
            return _json(200, [self.one(item) for item in data])
        return _json(404, {"ErrorCode": 404, "Message": "Not found."})

    def one(self, data: dict[str, Any]) -> dict[str, Any]:
        config = self.state.config
        recipients = [addr for _, addr in getaddresses([str(data.get("To", ""))]) if addr]
        if not data.get("From") or not recipients or not (data.get("TextBody") or data.get("HtmlBody")):
            return {"ErrorCode": 300, "Message": "Invalid email request: From, To and a TextBody or HtmlBody are required."}
        if data.get("TrackLinks", "None") not in ("None", "HtmlAndText", "HtmlOnly", "TextOnly") or not isinstance(data.get("TrackOpens", False), bool):
            return {"ErrorCode": 300, "Message": "Invalid email request: TrackLinks must be None, HtmlAndText, HtmlOnly or TextOnly; TrackOpens a boolean."}
        if data.get("MessageStream", "outbound") not in config["streams"]:
            return {"ErrorCode": 1235, "Message": f"The message stream '{data.get('MessageStream')}' was not found."}
        inactive = [r for r in recipients if r.lower() in config["inactive"]]
        if inactive:
            return {"ErrorCode": 406, "Message": f"You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: {', '.join(inactive)}. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."}
        if any(r.lower() in config["reject"] for r in recipients):
            return {"ErrorCode": 300, "Message": f"Invalid 'To' address: '{data['To']}'."}
        headers = {h.get("Name", ""): h.get("Value", "") for h in data.get("Headers") or []}
        provider_id = str(uuid.uuid4())
        self.state.accept(_message_id(headers.get("Message-ID")), recipients[0], provider_id, fields=data if config["record_bodies"] else None)
        return {"To": data["To"], "SubmittedAt": time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime()), "MessageID": provider_id, "ErrorCode": 0, "Message": "OK"}

    def search(self, query: dict[str, str]) -> Answer:
        """Outbound message search (https://postmarkapp.com/developer/api/messages-api): the
        accepted messages to `recipient`, newest first, in the documented summary shape."""
        if "count" not in query or "offset" not in query:
            return _json(422, {"ErrorCode": 300, "Message": "The 'count' and 'offset' parameters are required."})
        with self.state.lock:
            found = [m for m in reversed(self.state.messages)
                     if m["recipient"] == query.get("recipient", m["recipient"]).lower() and m.get("fields")]
        page = found[int(query["offset"]) : int(query["offset"]) + int(query["count"])]
        summaries = [{"MessageID": m["provider_id"], "MessageStream": m["fields"].get("MessageStream"),
                      "To": [{"Email": m["recipient"], "Name": None}], "Recipients": [m["recipient"]],
                      "Subject": m["fields"].get("Subject"), "From": m["fields"].get("From"), "Status": "Sent",
                      "Tag": "", "ReceivedAt": "2026-12-01T09:00:00-05:00", "Attachments": [],
                      "TrackOpens": False, "TrackLinks": "None", "Sandboxed": False,
                      "Metadata": m["fields"].get("Metadata") or {}} for m in page]
        return _json(200, {"TotalCount": len(found), "Messages": summaries})

    def dump(self) -> Answer:
        reasons = {"hard_bounce": "HardBounce", "complaint": "SpamComplaint", "manual": "ManualSuppression"}
        rows = [
            {"EmailAddress": s["email"], "SuppressionReason": reasons[s["reason"]], "Origin": s.get("origin", "Recipient"), "CreatedAt": s["at"]}
            for s in self.state.config["suppressions"]
            if s["reason"] in reasons
        ]
        return _json(200, {"Suppressions": rows})


class SendGrid:
    """https://www.twilio.com/docs/sendgrid/api-reference/mail-send and the suppression APIs."""

    RESERVED = {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc"}
    KINDS = {"bounces": "hard_bounce", "spam_reports": "complaint", "unsubscribes": "unsubscribed", "invalid_emails": "invalid"}

    def __init__(self, state: State) -> None:
        self.state = state

    @staticmethod
    def errors(status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None) -> Answer:
        return _json(status, {"errors": [{"message": message, "field": field, "help": None}]}, headers)

    def auth(self, request: "Handler") -> Answer | None:
        if request.headers.get("Authorization") != f"Bearer {self.state.config['token']}":
            return self.errors(401, "The provided authorization grant is invalid, expired, or revoked")
        return None

    def rate_limited(self) -> Answer:
        reset = int(time.time()) + int(self.state.config["retry_after"])
        return self.errors(429, "too many requests", headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})

    def handle(self, request: "Handler", body: bytes) -> Answer:
        url = urlsplit(request.path)
        if request.command == "GET" and url.path.startswith("/v3/suppression/"):
            return self.suppressions(url.path.rsplit("/", 1)[-1], dict(parse_qsl(url.query)))
        if request.command == "GET" and url.path == "/v3/whitelabel/domains":
            if not self.state.config["tracking_readable"]:
                return self.errors(403, "access forbidden")
            wanted = dict(parse_qsl(url.query)).get("domain")
            return _json(200, [row for row in self.state.config["authenticated_domains"]
                               if wanted in (None, row["domain"])])
        if request.command == "GET" and url.path.startswith("/v3/tracking_settings/"):
            return self.tracking_setting(url.path.rsplit("/", 1)[-1])
        if url.path != "/v3/mail/send":
            return self.errors(404, "not found")
        try:
            data = json.loads(body)
        except ValueError:
            return self.errors(400, "Bad Request", None)
        problem = self.validate(data)
        if problem:
            return problem
        recipient = data["personalizations"][0]["to"][0]["email"]
        provider_id = secrets.token_urlsafe(16)
        headers = data.get("headers") or {}
        self.state.accept(_message_id(headers.get("Message-ID")), recipient, provider_id, fields=data if self.state.config["record_bodies"] else None)
        return 202, {"X-Message-Id": provider_id, "Content-Length": "0"}, b""

    def validate(self, data: Any) -> Answer | None:
        config = self.state.config
        personalizations = data.get("personalizations") if isinstance(data, dict) else None
        if not personalizations:
            return self.errors(400, "The personalizations field is required and must have at least one personalization.", "personalizations")
        if len(personalizations) > 1000:
            return self.errors(400, "The personalization block is limited to 1000 personalizations per API request.", "personalizations")
        for index, item in enumerate(personalizations):
            for number, to in enumerate(item.get("to") or []):
                if to.get("email", "").lower() in config["reject"]:
                    return self.errors(400, "Does not contain a valid address.", f"personalizations.{index}.to.{number}.email")
        sender = (data.get("from") or {}).get("email")
        if not sender:
            return self.errors(400, "The from object must be provided for every email send.", "from")
        if config["verified_senders"] and sender not in config["verified_senders"]:
            return self.errors(403, "The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved.", "from")
        content = data.get("content") or []
        if not content or (len(content) > 1 and content[0].get("type") != "text/plain"):
            return self.errors(400, "The content value must be an array of objects; text/plain must come first.", "content")
        reserved = [name for name in data.get("headers") or {} if name.lower() in self.RESERVED]
        if reserved:
            return self.errors(400, f"The '{reserved[0]}' header is reserved and cannot be set in headers.", "headers")
        return None

    def tracking_setting(self, kind: str) -> Answer:
        """GET /v3/tracking_settings/{click,open,subscription}, shaped as SendGrid's OpenAPI documents them."""
        if not self.state.config["tracking_readable"]:
            return self.errors(403, "access forbidden")
        enabled = self.state.config["tracking"].get(kind)
        if enabled is None:
            return self.errors(404, "not found")
        extra = {"click": {"enable_text": False}, "open": {},
                 "subscription": {"html_content": "", "landing": "", "plain_content": "", "replace": "", "url": ""}}[kind]
        return _json(200, {"enabled": bool(enabled), **extra})

    def suppressions(self, kind: str, query: dict[str, str]) -> Answer:
        reason = self.KINDS.get(kind)
        rows = [s for s in self.state.config["suppressions"] if s["reason"] == reason]
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 500))
        page = rows[offset : offset + limit]
        return _json(200, [{"email": s["email"], "created": int(s.get("epoch", 1_700_000_000)), "reason": s.get("detail", ""), "status": "5.1.1"} for s in page])


class Mailgun:
    """https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages and suppressions."""

    KINDS = {"bounces": "hard_bounce", "complaints": "complaint", "unsubscribes": "unsubscribed"}

    def __init__(self, state: State) -> None:
        self.state = state

    def auth(self, request: "Handler") -> Answer | None:
        expected = "Basic " + base64.b64encode(f"api:{self.state.config['token']}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return 401, {"Content-Type": "text/plain"}, b"Forbidden"
        return None

    def rate_limited(self) -> Answer:
        return _json(429, {"message": "Too many requests"}, {"Retry-After": str(self.state.config["retry_after"])})

    def handle(self, request: "Handler", body: bytes) -> Answer:
        url = urlsplit(request.path)
        parts = url.path.strip("/").split("/")
        if request.command == "GET" and parts[:2] == ["v3", "domains"] and len(parts) in (3, 4):
            return self.domain(parts[2], parts[3:])
        if len(parts) != 3 or parts[0] != "v3":
            return _json(404, {"message": "Not Found"})
        if parts[1] != self.state.config["domain"]:
            return _json(404, {"message": f"Domain not found: {parts[1]}"})
        if request.command == "GET" and parts[2] in self.KINDS:
            return self.suppressions(request, parts[2], dict(parse_qsl(url.query)))
        if request.command == "GET" and parts[2] == "events":
            return self.events(dict(parse_qsl(url.query)))
        if parts[2] != "messages.mime":
            return _json(404, {"message": "Not Found"})
        fields = self.form(request.headers.get("Content-Type", ""), body)
        if "to" not in fields or "message" not in fields:
            return _json(400, {"message": "'to' and 'message' parameters are required"})
        recipient = fields["to"].decode()
        if recipient.lower() in self.state.config["reject"]:
            return _json(400, {"message": "'to' parameter is not a valid address. please check documentation"})
        mime = _head(fields["message"])
        message_id = _message_id(mime["Message-ID"]) or f"{uuid.uuid4().hex}@{self.state.config['domain']}"
        # Send options (o:) and user-variables (v:) ride next to the MIME, as documented for messages.mime.
        options = {name: value.decode() for name, value in fields.items() if name[:2] in ("o:", "v:")}
        self.state.accept(_message_id(mime["Message-ID"]), recipient, message_id, options=options, raw=fields["message"].decode("ascii", "replace") if self.state.config["record_bodies"] else None)
        return _json(200, {"id": f"<{message_id}>", "message": "Queued. Thank you."})

    def domain(self, name: str, rest: list[str]) -> Answer:
        """GET /v3/domains/{domain} and /v3/domains/{domain}/tracking, as Mailgun's Domains API documents them."""
        config = self.state.config
        if name != config["domain"] or rest not in ([], ["tracking"]):
            return _json(404, {"message": "Domain not found"})
        if rest:
            tracking = config["tracking"]
            return _json(200, {"tracking": {"click": {"active": tracking["click"]}, "open": {"active": tracking["open"]},
                                            "unsubscribe": {"active": tracking["unsubscribe"], "html_footer": "",
                                                            "text_footer": ""}}})
        return _json(200, {"domain": {"name": name, "state": config["domain_state"], "type": "custom",
                                      "spam_action": "disabled", "wildcard": False},
                           "receiving_dns_records": [], "sending_dns_records": []})

    def events(self, query: dict[str, str]) -> Answer:
        """The events API (https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/events):
        an `accepted` event per message taken, filtered by `message-id` and `recipient`."""
        with self.state.lock:
            taken = [m for m in self.state.messages
                     if m["provider_id"] == query.get("message-id", m["provider_id"])
                     and m["recipient"] == query.get("recipient", m["recipient"]).lower()]
        items = [{"event": "accepted", "id": f"ev-{index}", "timestamp": 1764547200.0 + index, "recipient": m["recipient"],
                  "log-level": "info", "message": {"headers": {"message-id": m["provider_id"]}},
                  "user-variables": {k[2:]: v for k, v in (m.get("options") or {}).items() if k.startswith("v:")}}
                 for index, m in enumerate(taken)]
        return _json(200, {"items": items, "paging": {"next": "", "previous": "", "first": "", "last": ""}})

    @staticmethod
    def form(content_type: str, body: bytes) -> dict[str, bytes]:
        """multipart/form-data fields, byte for byte (RFC 7578), split on the boundary."""
        found = re.search(r'boundary="?([^";]+)"?', content_type)
        if not content_type.startswith("multipart/form-data") or not found:
            return {}
        fields: dict[str, bytes] = {}
        for chunk in body.split(b"--" + found.group(1).encode())[1:]:
            if chunk.startswith(b"--"):
                break
            head, _, value = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
            name = re.search(rb'name="([^"]*)"', head)
            if name:
                fields[name.group(1).decode()] = value.removesuffix(b"\r\n")
        return fields

    def suppressions(self, request: "Handler", kind: str, query: dict[str, str]) -> Answer:
        reason = self.KINDS[kind]
        rows = [s for s in self.state.config["suppressions"] if s["reason"] == reason]
        limit = int(query.get("limit", 100))
        start = 0
        if query.get("page") == "next" and query.get("address"):
            start = next((i + 1 for i, s in enumerate(rows) if s["email"] == query["address"]), len(rows))
        page = rows[start : start + limit]
        base = f"http://{request.headers.get('Host')}/v3/{self.state.config['domain']}/{kind}"
        last = page[-1]["email"] if page else query.get("address", "")
        items = [{"address": s["email"], "code": "550", "error": s.get("detail", ""), "created_at": s.get("rfc822", "Mon, 02 Nov 2026 10:00:00 UTC")} for s in page]
        paging = {"first": f"{base}?limit={limit}", "next": f"{base}?page=next&address={quote(last)}&limit={limit}", "previous": f"{base}?page=previous&limit={limit}", "last": f"{base}?page=last&limit={limit}"}
        return _json(200, {"items": items, "paging": paging})


def sigv4_signature(secret_key: str, date: str, region: str, service: str, string_to_sign: str) -> str:
    """AWS SigV4 signing-key chain, as the AWS General Reference describes it."""
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class Ses:
    """https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html, SigV4-checked."""

    def __init__(self, state: State) -> None:
        self.state = state

    @staticmethod
    def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Answer:
        return _json(status, {"message": message}, {"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazonaws.sesv2/", **(headers or {})})

    def auth(self, request: "Handler") -> Answer | None:
        header = request.headers.get("Authorization", "")
        fields = dict(item.strip().split("=", 1) for item in header.removeprefix("AWS4-HMAC-SHA256 ").split(",") if "=" in item)
        credential = fields.get("Credential", "").split("/")
        if not header.startswith("AWS4-HMAC-SHA256 ") or len(credential) != 5:
            return self.error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        access_key, date, region, service, _ = credential
        if access_key != self.state.config["access_key"]:
            return self.error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        signed = fields.get("SignedHeaders", "").split(";")
        url = urlsplit(request.path)
        pairs = [item.partition("=")[::2] for item in url.query.split("&") if item]
        query = "&".join(f"{k}={v}" for k, v in sorted((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")) for k, v in pairs))
        canonical = "\n".join(
            [request.command, quote(url.path, safe="/-_.~"), query]
            + [f"{name}:{' '.join(request.headers.get(name, '').split())}" for name in signed]
            + ["", ";".join(signed), hashlib.sha256(request.body).hexdigest()]
        )
        amz_date = request.headers.get("x-amz-date", "")
        scope = f"{date}/{region}/{service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        expected = sigv4_signature(self.state.config["secret_key"], date, region, service, to_sign)
        if "host" not in signed or service != "ses" or region != self.state.config["region"] or not hmac.compare_digest(expected, fields.get("Signature", "")):
            return self.error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
        return None

    def rate_limited(self) -> Answer:
        return self.error(429, "TooManyRequestsException", "Too Many Requests", {"Retry-After": str(self.state.config["retry_after"])})

    def handle(self, request: "Handler", body: bytes) -> Answer:
        url = urlsplit(request.path)
        if request.command == "GET" and url.path == "/v2/email/suppression/addresses":
            return self.suppressions(dict(parse_qsl(url.query)))
        found = re.fullmatch(r"/v2/email/(identities|configuration-sets)/([^/]+)(/event-destinations)?", url.path)
        if request.command == "GET" and found:
            return self.account(found.group(1), unquote(found.group(2)), bool(found.group(3)))
        if url.path != "/v2/email/outbound-emails":
            return self.error(404, "NotFoundException", "Not Found")
        try:
            data = json.loads(body)
            raw = base64.b64decode(data["Content"]["Raw"]["Data"], validate=True)
            recipients = data.get("Destination", {}).get("ToAddresses") or []
        except (ValueError, KeyError, TypeError):
            return self.error(400, "BadRequestException", "Invalid request body: Content.Raw.Data must be base64.")
        if self.state.config["sending_paused"]:
            return self.error(400, "SendingPausedException", "Sending is paused for this account.")
        if not recipients or any(r.lower() in self.state.config["reject"] for r in recipients):
            return self.error(400, "MessageRejected", "Illegal address")
        tags = {tag.get("Name"): tag.get("Value") for tag in data.get("EmailTags") or []}
        if any(not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(part)) for pair in tags.items() for part in pair):
            return self.error(400, "BadRequestException", "Tag names and values may contain only ASCII letters, numbers, underscores and dashes.")
        mime = _head(raw)
        provider_id = f"0100{secrets.token_hex(8)}-{uuid.uuid4()}-000000"
        self.state.accept(_message_id(mime["Message-ID"]), recipients[0], provider_id, raw=raw.decode("ascii", "replace") if self.state.config["record_bodies"] else None, configuration_set=data.get("ConfigurationSetName"), tags=tags)
        return _json(200, {"MessageId": provider_id})

    def account(self, kind: str, name: str, destinations: bool) -> Answer:
        """GetEmailIdentity and GetConfigurationSetEventDestinations (SES API v2 reference)."""
        if kind == "identities" and not destinations and name in self.state.config["identities"]:
            return _json(200, self.state.config["identities"][name])
        if kind == "configuration-sets" and destinations and name in self.state.config["configuration_sets"]:
            return _json(200, {"EventDestinations": self.state.config["configuration_sets"][name]})
        return self.error(404, "NotFoundException", f"{name} does not exist.")

    def suppressions(self, query: dict[str, str]) -> Answer:
        reasons = {"hard_bounce": "BOUNCE", "complaint": "COMPLAINT"}
        rows = [s for s in self.state.config["suppressions"] if s["reason"] in reasons]
        start, size = int(query.get("NextToken", 0)), int(query.get("PageSize", 1000))
        page = rows[start : start + size]
        body: dict[str, Any] = {"SuppressedDestinationSummaries": [{"EmailAddress": s["email"], "Reason": reasons[s["reason"]], "LastUpdateTime": s.get("epoch", 1_700_000_000)} for s in page]}
        if start + size < len(rows):
            body["NextToken"] = str(start + size)
        return _json(200, body)


PROVIDERS = {"postmark": Postmark, "sendgrid": SendGrid, "mailgun": Mailgun, "ses": Ses}


# --- the HTTP server ------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
    disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms delayed-ACK stall
    state: State
    provider: Any
    body: bytes = b""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet: the tests read /_webzine/received instead of a log."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self.dispatch()

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.connection.close()

    def dispatch(self) -> None:
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/_webzine/"):
            self.control()
            return
        config = self.state.config
        looked_up = getattr(self.provider, "stream", lambda request: None)(self)
        if looked_up is not None:
            self.answer(*looked_up)
            return
        self.state.current.generation = self.state.generation
        with self.state.lock:
            self.state.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": self.body.decode("utf-8", "replace") if config["record_bodies"] else None})
        fault = self.state.next_fault()
        if config["delay"]:
            time.sleep(config["delay"])
        if fault == "drop":
            self.drop()
            return
        refused = self.provider.auth(self)
        if refused:
            self.answer(*refused)
            return
        if fault == "429":
            self.answer(*self.provider.rate_limited())
            return
        if fault in ("500", "503"):
            self.answer(*_json(int(fault), {"message": "Internal error, please retry", "ErrorCode": int(fault)}))
            return
        if fault == "slow":
            time.sleep(config["slow_seconds"])
        result = self.provider.handle(self, self.body)
        if fault == "drop_after":
            self.drop()
            return
        self.answer(*result)

    def control(self) -> None:
        if self.path == "/_webzine/config":
            self.state.reset(json.loads(self.body or b"{}"))
            self.answer(*_json(200, {"ok": True}))
        elif self.path == "/_webzine/received":
            with self.state.lock:
                self.answer(*_json(200, {"messages": self.state.messages, "requests": self.state.requests,
                                         "stream_checks": self.state.stream_checks}))
        else:
            self.answer(*_json(404, {"message": "unknown control path"}))


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout tests) breaks the pipe: expected, not worth a trace."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(provider: str, port: int) -> None:
    state = State()
    handler = type("BoundHandler", (Handler,), {"state": state, "provider": PROVIDERS[provider](state)})
    server = QuietServer(("127.0.0.1", port), handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


# --- the test-side handle ---------------------------------------------------------------------


class ApiServer:
    """One provider stand-in in its own process, on a free port, stopped by its PID."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.process = subprocess.Popen(
            [sys.executable, __file__, provider], stdout=subprocess.PIPE, text=True
        )
        line = self._first_line(timeout=15)
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"{provider} test server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        self.control = httpx.Client(base_url=self.url, timeout=10)

    def _first_line(self, timeout: float) -> str:
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        return box[0] if box else ""

    def configure(self, **changes: Any) -> None:
        """Reset the server: forget what it received, then apply `changes` over the defaults."""
        self.control.post("/_webzine/config", json=changes).raise_for_status()

    def received(self) -> dict[str, Any]:
        return self.control.get("/_webzine/received").json()

    def messages(self) -> list[dict[str, Any]]:
        return self.received()["messages"]

    def stop(self) -> None:
        if hasattr(self, "control"):
            self.control.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve a stand-in email API on 127.0.0.1.")
    parser.add_argument("provider", choices=sorted(PROVIDERS))
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    serve(arguments.provider, arguments.port)
