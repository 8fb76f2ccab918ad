"""Our finished RFC 5322 message, taken apart for the JSON APIs that cannot take raw MIME.

SendGrid's mail/send and Postmark's email endpoints want the sender, recipient, subject and the
two bodies as fields, and everything else as a list of extra headers; they then build the MIME
message themselves. `split_message` reads the bytes `message.py` built (so nothing is rendered
twice) and returns those fields: names, subject and bodies decoded to text (the provider encodes
them again), the extra headers as written. Headers the provider writes itself (Date, MIME
structure, our DKIM signature, which would no longer verify) are dropped; the rest is carried.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

from webzine.errors import MessageUnsupported
from webzine.models import OutgoingMessage

# Set from fields of the JSON request, or written by the provider / invalid after re-encoding.
FIELD_HEADERS = frozenset({"from", "to", "cc", "bcc", "subject", "reply-to"})
PROVIDER_HEADERS = frozenset(
    {
        "date",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "dkim-signature",
        "return-path",
        "received",
        "sender",
    }
)

_PARSER = BytesParser(policy=policy.default)
_PART_PARSER = BytesParser(policy=policy.compat32)  # headers only: ASCII with encoded words, 10x faster
_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass(frozen=True, slots=True)
class Mailbox:
    email: str
    name: str = ""

    def formatted(self) -> str:
        """`이름 <addr>` as the JSON APIs accept it (they encode the name themselves)."""
        return str(Address(display_name=self.name, addr_spec=self.email)) if self.name else self.email


@dataclass(frozen=True, slots=True)
class MessageParts:
    sender: Mailbox
    recipient: Mailbox
    subject: str
    text: str | None
    html: str | None
    reply_to: Mailbox | None
    # Every other header in order, unfolded but still encoded as we wrote it (RFC 2047 words stay
    # words): SendGrid documents that header values must arrive already encoded.
    headers: tuple[tuple[str, str], ...]


def _words(value: str) -> str:
    """RFC 2047 encoded words → text (compat32's decoder: ten times cheaper than the
    header registry, and our headers are plain encoded words)."""
    if "=?" not in value:
        return value
    return str(make_header(decode_header(value)))


def _mailbox(message: Message, name: str) -> Mailbox | None:
    value = message.get(name)
    if value is None:
        return None
    addresses = [(display, address) for display, address in getaddresses([_unfold(str(value))]) if address]
    if not addresses:
        return None
    display, address = addresses[0]
    return Mailbox(email=address, name=_words(display))


def _decode(payload: bytes, encoding: str | None, charset: str) -> str:
    encoding = (encoding or "7bit").strip().lower()
    if encoding == "base64":
        payload = binascii.a2b_base64(payload)  # skips the line breaks
    elif encoding == "quoted-printable":
        payload = binascii.a2b_qp(payload)
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _part(head: bytes, payload: bytes) -> tuple[str, str] | None:
    """(subtype, text) of a single text part, or None when it is anything else."""
    headers = _PART_PARSER.parsebytes(head + b"\r\n\r\n", headersonly=True)
    if headers.get_content_maintype() != "text" or headers.get_content_subtype() not in ("plain", "html"):
        return None
    if headers.get_content_disposition() == "attachment":
        return None
    text = _decode(payload, headers.get("Content-Transfer-Encoding"), headers.get_content_charset("utf-8"))
    return headers.get_content_subtype(), text


def _alternatives(boundary: str, body: bytes) -> dict[str, str] | None:
    """The text/plain and text/html parts of a flat multipart/alternative body, or None."""
    found: dict[str, str] = {}
    for chunk in body.split(b"--" + boundary.encode("ascii"))[1:]:
        if chunk.startswith(b"--"):
            return found
        chunk = chunk[chunk.find(b"\n") + 1 :]  # the rest of the delimiter line
        head, separator, payload = chunk.partition(b"\r\n\r\n")
        if not separator:
            return None
        part = _part(head, payload.removesuffix(b"\r\n"))
        if part is None or part[0] in found:
            return None
        found[part[0]] = part[1]
    return None


def _bodies(headers: Message, body: bytes, data: bytes) -> tuple[str | None, str | None]:
    """Plain and HTML bodies. Our messages are a flat multipart/alternative with base64 parts,
    read here directly (under a millisecond for 120 KB); anything else goes through the `email`
    package (about 20 ms), which handles every structure."""
    kind = headers.get_content_type()
    found: dict[str, str] | None = None
    if kind == "multipart/alternative" and headers.get_boundary():
        found = _alternatives(str(headers.get_boundary()), body)
    elif kind in ("text/plain", "text/html"):
        found = {headers.get_content_subtype(): _decode(body, headers.get("Content-Transfer-Encoding"), headers.get_content_charset("utf-8"))}
    if found is None:
        found = _with_email_package(data)
    return found.get("plain"), found.get("html")


def _with_email_package(data: bytes) -> dict[str, str]:
    """Any other structure; refuses attachments and inline images, which the JSON fields we
    fill cannot carry (dropping them silently would send a different message)."""
    full = _PARSER.parsebytes(data)
    found: dict[str, str] = {}
    for subtype in ("plain", "html"):
        part = full.get_body(preferencelist=(subtype,))
        if part is not None and part.get_content_subtype() == subtype:
            found[subtype] = part.get_content()
    leaves = sum(1 for part in full.walk() if not part.is_multipart())
    if leaves > len(found):
        raise MessageUnsupported(
            f"message {full.get('Message-ID', '')} has attachments or inline parts, which this JSON API "
            "transport cannot carry; send it with mailgun or ses (raw MIME) or smtp."
        )
    return found


def _unfold(value: str) -> str:
    """RFC 5322 unfolding: a line break followed by white space is removed, nothing else."""
    return _FOLD.sub("", value).strip()


def split_message(message: OutgoingMessage) -> MessageParts:
    """Fields for a JSON mail API; the envelope recipient wins over the To header's address."""
    head, _, body = message.data.partition(b"\r\n\r\n")
    parsed = _PART_PARSER.parsebytes(head + b"\r\n\r\n", headersonly=True)
    sender = _mailbox(parsed, "From")
    if sender is None:
        raise MessageUnsupported(f"message {message.message_id} has no From header; this is a bug in webzine.")
    to = _mailbox(parsed, "To")
    recipient = Mailbox(email=message.rcpt_to, name=to.name if to else "")
    headers = tuple(
        (name, _unfold(value))
        for name, value in parsed.raw_items()
        if name.lower() not in FIELD_HEADERS and name.lower() not in PROVIDER_HEADERS
    )
    text, html = _bodies(parsed, body, message.data)
    return MessageParts(
        sender=sender,
        recipient=recipient,
        subject=_words(_unfold(str(parsed.get("Subject", "")))),
        text=text,
        html=html,
        reply_to=_mailbox(parsed, "Reply-To"),
        headers=headers,
    )
