"""One message → `Incoming`: its kind (decided as for bounces), who wrote it, what it answers,
and the first lines the writer typed (the quoted issue below them is cut off)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import parseaddr

from webzine.bounces import mime
from webzine.bounces.dsn import MAX_PARSE_BYTES, parse_report
from webzine.bounces.kinds import MessageKind

MESSAGE_ID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
EXCERPT_CHARS = 300
# Where a reply's own text ends and the quoted message begins (Outlook, Gmail, Naver, Apple Mail…).
QUOTE_START = re.compile(
    r"^\s*(?:>|-{2,}\s*(?:original message|원본 메시지|forwarded message)|_{5,}|on .{4,200} wrote:|.{2,80}님이 작성"
    r"|(?:from|de|von|보낸 사람|보낸사람|발신|envoyé|sent|date)\s*:)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Incoming:
    message_id: str
    kind: MessageKind
    sender: str  # lowercased address from From
    sender_name: str
    subject: str
    received_at: str  # ISO 8601, "" when the Date header is unreadable
    references: tuple[str, ...]  # Message-IDs from In-Reply-To and References, without brackets
    excerpt: str


def read_message(raw: bytes) -> Incoming:
    """Never raises on a malformed message (it may simply come out as `other` with no sender)."""
    report = parse_report(raw)
    message = mime.parse_bytes(raw[:MAX_PARSE_BYTES])
    heads = mime.header_map(message)
    name, address = parseaddr(mime.header(heads, "From"))
    references = MESSAGE_ID.findall(heads.get("in-reply-to", "") + " " + heads.get("references", ""))
    return Incoming(
        message_id=report.message_id,
        kind=report.kind,
        sender=address.strip().lower() if "@" in address else "",
        sender_name=name.strip(),
        subject=report.subject,
        received_at=report.occurred_at.isoformat() if report.occurred_at else "",
        references=tuple(dict.fromkeys(references)),
        excerpt=own_text(_body(message)),
    )


def own_text(body: str) -> str:
    """The lines the writer typed above the quoted message, joined, at most EXCERPT_CHARS long."""
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if QUOTE_START.match(line):
            break
        if line.strip():
            kept.append(line.strip())
    text = " ".join(kept)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1] + "…"


def _body(message: Message) -> str:
    plain = html = None
    for part in message.walk() if message.is_multipart() else [message]:
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None and not part.is_multipart():
            plain = mime.payload_text(part)
        elif ctype == "text/html" and html is None:
            html = mime.payload_text(part)
    if plain is not None:
        return plain
    return mime.html_to_text(html) if html else ""
