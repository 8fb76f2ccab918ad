"""Reading a report's MIME structure without trusting it.

Bounces are written by hundreds of MTAs, some of them decades old: wrong charsets, base64
delivery-status parts, missing boundaries, truncated attachments. These helpers never raise on
bad input; they return what can be read, so one broken report cannot stop an import.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

ORIGINAL_TYPES = {"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
                  "text/rfc822-header", "message/partial"}
STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}
FEEDBACK_TYPES = {"message/feedback-report"}
_TAG_RE = re.compile(r"<[^>]+>")
_ENTITY_RE = re.compile(r"&(nbsp|amp|lt|gt|quot|#\d+);")


@dataclass
class Parts:
    """The pieces of a report that the parser needs, in reading order."""

    notice: list[str] = field(default_factory=list)  # human-readable text written by the reporter
    status_blocks: list[str] = field(default_factory=list)  # raw message/delivery-status bodies
    feedback_blocks: list[str] = field(default_factory=list)  # raw message/feedback-report bodies
    original: Message | None = None  # headers (and maybe body) of the message that bounced
    original_raw: bytes | None = None  # its bytes, when the fast reader kept them (forwarded bounces)


def parse_bytes(raw: bytes) -> Message:
    """compat32 is several times faster than the default policy and never raises on bad headers."""
    return email.message_from_bytes(raw, policy=compat32)


def parse_headers(text: str) -> Message:
    """Only the header block of a quoted original message: its body is never needed."""
    return HeaderParser(policy=compat32).parsestr(text, headersonly=True)


def header_map(msg: Message | None) -> dict[str, str]:
    """Lowercased name → raw value (the first occurrence), built once per message:
    `Message.get` scans every header on every call, which dominated the parse."""
    if msg is None:
        return {}
    found: dict[str, str] = {}
    for name, value in msg.raw_items():  # raw: items() sanitises every header, read or not
        found.setdefault(name.lower(), str(value))
    return found


def header(heads: dict[str, str], name: str) -> str:
    """A header decoded to text (RFC 2047 words included), '' when absent or undecodable."""
    value = heads.get(name.lower())
    if value is None:
        return ""
    if value.isascii() and "=?" not in value:
        return " ".join(value.split())
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return str(make_header(decode_header(str(value)))).strip()
    except (LookupError, UnicodeError, ValueError, email.errors.MessageError):
        return str(value).strip()


def payload_text(part: Message) -> str:
    """A leaf part's body as text, decoding transfer encoding and charset leniently."""
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        if isinstance(inner, list):
            return "\n\n".join(sub.as_string() for sub in inner if isinstance(sub, Message))
        return str(inner or "")
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "cp949", "latin-1"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return payload.decode("latin-1")


def _structured_text(part: Message) -> str:
    """message/delivery-status and feedback-report bodies: compat32 parses them as header blocks,
    or leaves them as a string when they are base64 or quoted-printable encoded."""
    inner = part.get_payload()
    if isinstance(inner, list):
        blocks = []
        for sub in inner:
            if isinstance(sub, Message):
                blocks.append("\n".join(f"{k}: {v}" for k, v in sub.items()) + "\n" + str(sub.get_payload() or ""))
        return "\n\n".join(blocks)
    return payload_text(part)


def html_to_text(html: str) -> str:
    text = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</li>|</h\d>", "\n", text)
    text = _TAG_RE.sub(" ", text)
    return _ENTITY_RE.sub(lambda m: {"nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": '"'}.get(
        m.group(1), " "), text)


def split_parts(msg: Message) -> Parts:
    """Walk the report once, never descending into the returned original message."""
    parts = Parts()
    html: list[str] = []
    _walk(msg, parts, html, depth=0)
    if not parts.notice and html:
        parts.notice.extend(html_to_text(h) for h in html)
    return parts


def _walk(part: Message, parts: Parts, html: list[str], depth: int) -> None:
    if depth > 20:
        return
    ctype = part.get_content_type()
    if ctype in STATUS_TYPES:
        parts.status_blocks.append(_structured_text(part))
    elif ctype in FEEDBACK_TYPES:
        parts.feedback_blocks.append(_structured_text(part))
    elif ctype in ORIGINAL_TYPES:
        if parts.original is None:
            parts.original = _original_of(part)
    elif part.is_multipart():
        for sub in part.get_payload() or []:
            if isinstance(sub, Message):
                _walk(sub, parts, html, depth + 1)
    elif ctype == "text/html":
        html.append(payload_text(part))
    elif part.get_content_maintype() in {"text", "multipart"} or ctype == "application/octet-stream" and depth == 0:
        parts.notice.append(payload_text(part))


def _original_of(part: Message) -> Message | None:
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        return inner[0]
    text = payload_text(part)
    return parse_bytes(text.encode("utf-8", "replace")) if text.strip() else None


RECIPIENT_FIELDS = {"final-recipient", "action", "status", "diagnostic-code"}


def field_blocks(text: str) -> list[dict[str, str]]:
    """`Name: value` blocks separated by blank lines (RFC 3464 §2.1, RFC 5965 §3), with folded
    continuation lines joined; names lowercased. Repeated fields are joined with '\\n', except
    that a repeated per-recipient DSN field starts a new block (some MTAs omit the blank line)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
            continue
        if line[:1] in " \t" and last:
            current[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if colon and name.strip() and " " not in name.strip():
            last = name.strip().lower()
            value = value.strip()
            if last in current and last in RECIPIENT_FIELDS:
                blocks.append(current)
                current = {}
            current[last] = current[last] + "\n" + value if last in current else value
        else:
            last = None
    if current:
        blocks.append(current)
    return blocks
