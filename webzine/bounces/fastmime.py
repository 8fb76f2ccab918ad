"""A fast reader for the MIME structure of a report, with the email package as its fallback.

The email package's feed parser reads every line in Python and was half the cost of an import.
Reports are simple trees, so `read_fast` splits them at their boundary lines with bytes methods
and reads only header blocks; anything it is unsure about (no boundary, a non-ASCII boundary,
uuencode, deep nesting) returns None and the caller uses the email package instead. The tests
hold it to the email package: the same findings on every fixture, and no exception on any bytes.
"""

from __future__ import annotations

import binascii
import re
from email.message import Message

from webzine.bounces.mime import FEEDBACK_TYPES, ORIGINAL_TYPES, STATUS_TYPES, Parts, html_to_text

_BLANK = re.compile(rb"\r?\n\r?\n")


def read_fast(raw: bytes) -> tuple[Message, Parts] | None:
    """(top-level headers, parts), or None when the full parser should read this message."""
    head, body = _split_head(raw)
    top = _headers(head)
    parts = Parts()
    html: list[str] = []
    if not _fast_walk(top, body, parts, html, 0):
        return None
    if not parts.notice and html:
        parts.notice.extend(html_to_text(h) for h in html)
    return top, parts


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    if raw.startswith((b"\r\n", b"\n")):
        return b"", raw.lstrip(b"\r\n")
    found = _BLANK.search(raw)
    return (raw[:found.start()], raw[found.end():]) if found else (raw, b"")


def _fast_walk(headers: Message, body: bytes, parts: Parts, html: list[str], depth: int) -> bool:
    ctype = headers.get_content_type()
    if depth > 8 or "uuencode" in str(headers.get("content-transfer-encoding", "")).lower():
        return False
    if ctype in STATUS_TYPES:
        parts.status_blocks.append(_text(headers, body))
    elif ctype in FEEDBACK_TYPES:
        parts.feedback_blocks.append(_text(headers, body))
    elif ctype in ORIGINAL_TYPES:
        if parts.original is None:
            content = _decode(headers, body)
            parts.original = _headers(_split_head(content)[0])
            parts.original_raw = content
    elif headers.get_content_maintype() == "multipart":
        boundary = headers.get_boundary()
        if not boundary or not boundary.isascii():
            return False
        pieces = _split_multipart(body, boundary.encode("ascii"))
        if pieces is None:
            return False
        for piece in pieces:
            head, inner = _split_head(piece)
            if not _fast_walk(_headers(head), inner, parts, html, depth + 1):
                return False
    elif ctype == "text/html":
        html.append(_text(headers, body))
    elif headers.get_content_maintype() == "text" or ctype == "application/octet-stream" and depth == 0:
        parts.notice.append(_text(headers, body))
    return True


def _split_multipart(body: bytes, boundary: bytes) -> list[bytes] | None:
    """RFC 2046 §5.1.1: the parts between `--boundary` lines, up to `--boundary--` (or the end,
    when a truncated report never closes). None when the boundary never appears."""
    marker = b"--" + boundary
    pieces: list[bytes] = []
    start: int | None = None
    index = body.find(marker)
    while index >= 0:
        after = index + len(marker)
        closing = body.startswith(b"--", after)
        end = body.find(b"\n", after)
        tail = body[after + 2 * closing:end if end >= 0 else len(body)]
        if (index == 0 or body[index - 1:index] == b"\n") and not tail.strip(b" \t\r"):
            if start is not None:
                cut = index - 1 if index > 0 else 0
                pieces.append(body[start:cut - 1 if body[cut - 1:cut] == b"\r" else cut])
            if closing:
                return pieces
            start = end + 1 if end >= 0 else len(body)
        index = body.find(marker, after)
    if start is None:
        return None
    pieces.append(body[start:])
    return pieces


def _headers(block: bytes) -> Message:
    """A header block → Message, unfolding continuation lines; lines that are not headers are
    dropped (the email package records them as defects and drops them too)."""
    message = Message()
    name: str | None = None
    lines: list[str] = []
    for line in block.decode("ascii", "surrogateescape").splitlines():
        if line[:1] in {" ", "\t"} and name is not None:
            lines.append(line)
            continue
        if name is not None:
            message.set_raw(name, "\n".join(lines))
        name, colon, rest = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name:
            name = None
            continue
        lines = [rest.lstrip(" \t")]
    if name is not None:
        message.set_raw(name, "\n".join(lines))
    return message


def _decode(headers: Message, body: bytes) -> bytes:
    encoding = str(headers.get("content-transfer-encoding", "")).strip().lower()
    try:
        if encoding == "base64":
            try:
                return binascii.a2b_base64(body)
            except binascii.Error:  # a truncated report: the last quantum lost its padding
                return binascii.a2b_base64(body.rstrip() + b"==")
        if encoding == "quoted-printable":
            return binascii.a2b_qp(body)
    except (binascii.Error, ValueError):
        return body
    return body


def _text(headers: Message, body: bytes) -> str:
    payload = _decode(headers, body)
    charset = headers.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "cp949", "latin-1"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return payload.decode("latin-1")
