"""Heuristics for bounces that carry no RFC 3464 delivery-status part.

Half of real bounces are plain text written by qmail, Exim, Sendmail, Exchange, Lotus Notes,
Japanese carriers and others. They differ in words but share a shape: a notice that names the
failed address on a line of its own (or in a fixed phrase), the remote server's reply near it,
and then a copy of the original message. So instead of one parser per MTA we keep small tables:
the phrases that end the notice, the line shapes that name a recipient, and the lines that are
boilerplate; each MTA family is a few rows here, not a module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ADDRESS_RE = re.compile(
    r"(?<![\w.+=-])([\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+)"
)

# Lines that start the copy of the original message (or its headers): the notice ends there.
ORIGINAL_MARKERS = re.compile(
    r"^[\s\->=*_#|]*(?:"
    r"(?:this is a )?copy of (?:the|your) (?:original )?message|below this line is a copy"
    r"|original message (?:follows|headers?|is attached)|\(?original message\)?\s*[-=]*$|undelivered message"
    r"|original message:|returned message|unsent message below|message headers follow|headers? of (?:the )?(?:original|returned)"
    r"|text of (?:the )?(?:original )?message follows|the header of the original message"
    r"|included (?:original )?message|original mail|the original message (?:was (?:attached|included)|headers|follows)"
    r"|content-type: message/rfc822|forwarded message|message text follows|start of returned message"
    r"|----- the following is the message"
    r")",
    re.IGNORECASE,
)
HEADER_START = re.compile(r"^(?:Return-Path|Received|Message-I[Dd]|From|To|Subject|Date|X-[\w-]+|DKIM-Signature"
                          r"|MIME-Version|Content-Type):\s", re.IGNORECASE)

# Line shapes that name a failed recipient, most certain first. The first STRONG_SHAPES shapes
# list recipients one per line (every address they name failed); the others only hint, and only
# the best of them is used when no strong shape matched.
RECIPIENT_LINES = [
    re.compile(r"^\s*(?:>+|-+>|-{{1,2}}|\*+|#|•|·)?\s*<?{a}>?\s*(?:\.\.\.|:|,|;)?\s*$"),  # alone, or on a bullet (Mimecast "-- a@b")
    re.compile(r"^[\s>]*<?{a}>?\s+(?:on\s|\[|\()"),  # Exchange "a@b on <date>", "a@b [User unknown]"
    re.compile(r"^\s*<{a}>:"),  # qmail, Postfix text: "<a@b>: 550 …" / "<a@b>:"
    re.compile(r"^\s*{a}:\s"),  # "a@b: 550 …"
    re.compile(r"^\s*<?{a}>?\s*\.\.\.\s"),  # Sendmail: "a@b... User unknown"
    re.compile(r"^\s*(?:<<<\s*)?[245]\d\d[ -]<?{a}>?(?:\.\.\.|:)"),  # Sendmail transcript: "554 <a@b>... reason"
    re.compile(r"^\s*<?{a}>?\s+-\s+\w"),  # MDaemon: "a@b - no such user here."
    re.compile(r"^\s*\(?(?:generated (?:from|by)|expanded from:?)\s+<?{a}>?\)?\s*$", re.IGNORECASE),  # Exim, Sendmail aliases
    re.compile(r"^\s*>>>\s*{a}"),
    re.compile(r"(?:rcpt to|recipient|recipients?|addressee|mailbox|delivered to|deliver(?:y)? to|sent to"
               r"|to the following|message to|not delivered to|failed to|destination|address)\s*(?:address)?"
               r"\s*[:=]?\s*[\"'(<\[]*{a}", re.IGNORECASE),
    re.compile(r"[(<\[\"']\s*{a}\s*[)>\]\"']"),
    re.compile(r":\s*<?{a}>?\s*$"),  # "Delivery failed 20 attempts: a@b"
]
STRONG_SHAPES = 8
TRANSCRIPT_SHAPE = 5
ALIAS_SHAPE = 7  # the address a forward or alias was made from: the recipient only when no other line names one
_ADDR = r"(?P<a>[\w.!#$%&'*+/=?^`{{|}}~-]+@[\w.-]+\.[A-Za-z0-9-]+)"
RECIPIENT_LINES = [re.compile(p.pattern.format(a=_ADDR), p.flags) for p in RECIPIENT_LINES]

# Addresses on these lines are contacts or senders, never the failed recipient.
NOT_RECIPIENT_LINE = re.compile(
    r"postmaster\b.*(?:contact|send|mail to|write|assistance)|(?:contact|please (?:send|write)|questions?"
    r"|help|send mail to|assistance)\b.*@|^[\s>]*(?:from|sender|reply-to|return-path|envelope-from|x-sender"
    r"|message-id|in-reply-to|references)\s*:|^\s*>+\s*(?:to|cc)\s*:|(?<!generated )(?<!expanded )\bfrom\s+<?[\w.+-]+@|mail from|envelope-from|\bid\s+<",
    re.IGNORECASE,
)


# An X.400 address with an SMTP domain-defined attribute, as old Exchange (IMS) writes the
# recipient: "c=US;a= ;p=NDC;o=ORANGE;dda:SMTP=user@example.com; on Thu, 19 Sep…" → "user@example.com on…".
X400_ADDRESS = re.compile(r"(?:\b[a-z]{1,3}=[^;=\n]*;\s*)*dda:smtp=([^;\s]+@[^;\s]+);?", re.IGNORECASE)
# MailEnable writes the recipient as "Recipient: [SMTP:user@example.com]".
TYPED_ADDRESS = re.compile(r"\[SMTP:([^\]\s]+@[^\]\s]+)\]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TextFinding:
    email: str
    diagnostic: str  # the lines about this recipient: the remote reply, the MTA's explanation


def split_notice(text: str) -> tuple[str, str]:
    """(notice, rest): the rest is the quoted original message, kept for its headers."""
    lines = text.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if index > 0 and ORIGINAL_MARKERS.search(line):
            return "\n".join(lines[:index]), "\n".join(lines[index + 1:])
        if index > 2 and HEADER_START.match(line) and not lines[index - 1].strip() and _looks_like_headers(
                lines[index:index + 4]):
            return "\n".join(lines[:index]), "\n".join(lines[index:])
    return text, ""


def _looks_like_headers(lines: list[str]) -> bool:
    return sum(1 for line in lines if HEADER_START.match(line) or line[:1] in " \t") >= 3


def addresses(text: str) -> list[str]:
    return [m.group(1).strip(".") for m in ADDRESS_RE.finditer(text)]


def scan(notice: str, *, exclude: set[str], strong_only: bool = False) -> list[TextFinding]:
    """The failed recipients a plain-text notice names, each with the lines that explain it;
    addresses in `exclude` (the sender's own) are never taken. `strong_only` ignores the
    line shapes that merely mention an address."""
    if "=" in notice:
        notice = X400_ADDRESS.sub(r"\1", notice)
    if "[SMTP:" in notice or "[smtp:" in notice:
        notice = TYPED_ADDRESS.sub(r"<\1>", notice)
    lines = notice.split("\n")
    hits: dict[str, tuple[int, int]] = {}  # address → (rank of the line shape, line index)
    for index, line in enumerate(lines):
        if "@" not in line or NOT_RECIPIENT_LINE.search(line):
            continue
        for rank, shape in enumerate(RECIPIENT_LINES[:STRONG_SHAPES] if strong_only else RECIPIENT_LINES):
            for match in shape.finditer(line):
                address = match.group("a").strip(".").lower()
                if _excluded(address, exclude):
                    continue
                if address not in hits or hits[address][0] > rank:
                    hits[address] = (rank, index)
    hits = _without_aliases(hits)
    if not hits:
        return []
    best = min(rank for rank, __ in hits.values())
    chosen = sorted((index, address, rank) for address, (rank, index) in hits.items()
                    if rank < STRONG_SHAPES or rank == best)
    starts = [index for index, __, __ in chosen]
    findings = []
    for position, (index, address, rank) in enumerate(chosen):
        end = starts[position + 1] if position + 1 < len(starts) and starts[position + 1] > index else None
        start = index
        if rank == TRANSCRIPT_SHAPE:
            # A transcript gives each recipient one result line, after the exchange that led to it
            # (">>> RCPT To:<a@b>", "<<< 550 …"); the next line is someone else's.
            end = index + 1
            while start > 0 and index - start < 3 and lines[start - 1].lstrip().startswith((">>>", "<<<")):
                start -= 1
        findings.append(TextFinding(address, _explanation(lines, start, end)))
    return findings


def _without_aliases(hits: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """An "(expanded from: a@b)" or "generated from a@b" line right below a recipient line names
    the address the failed one was made from, not a second failure."""
    named = [index for rank, index in hits.values() if rank < STRONG_SHAPES and rank != ALIAS_SHAPE]
    return {address: (rank, index) for address, (rank, index) in hits.items()
            if rank != ALIAS_SHAPE or not any(0 < index - other <= 3 for other in named)}


def _explanation(lines: list[str], start: int, end: int | None) -> str:
    """The recipient's line and what follows it, up to the next recipient or a blank gap."""
    stop = min(end if end is not None else len(lines), start + 12)
    block: list[str] = []
    blank = 0
    for line in lines[start:stop]:
        if not line.strip():
            blank += 1
            if blank > 1 and len(block) > 1:
                break
            continue
        blank = 0
        block.append(line.strip())
    return " ".join(block)


def _excluded(address: str, exclude: set[str]) -> bool:
    local = address.partition("@")[0]
    return address in exclude or local in {"mailer-daemon", "postmaster-daemon"} or address.endswith(".invalid")


def smtp_lines(notice: str) -> str:
    """Lines that quote a remote server (`550 5.1.1 …`, `Diagnostic-Code:`, `Remote host said:`)."""
    keep = [
        line.strip() for line in notice.split("\n")
        if re.match(r"^\s*(?:[<>]{3}\s*)?(?:[245]\d\d[\s-]|[245]\.\d{1,3}\.\d{1,3}|diagnostic|remote (?:host|server)"
                    r"|reason:|\(reason:|status:)", line, re.IGNORECASE)
    ]
    return " ".join(keep)
