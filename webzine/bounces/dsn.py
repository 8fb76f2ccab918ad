"""One mailed report (raw bytes) → what it says about which addresses.

The ladder, most certain first: a VERP token in the address the report was sent to names the
recipient and issue exactly (resolved later against the ledger, see `resolve.py`); then the
machine-readable parts (RFC 3464 delivery-status, RFC 5965 feedback-report); then RFC 3834
auto-replies and mailed unsubscribe requests; and only then the text heuristics of
`detectors.py`. Every finding is classified by `classify.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

from webzine.bounces import detectors, fastmime, kinds, mime
from webzine.bounces.classify import classify, find_status, objection, smtp_command
from webzine.bounces.events import EventReader, Kind, PayloadError
from webzine.bounces.kinds import MessageKind
from webzine.tokens import verp_token_from

MAX_PARSE_BYTES = 512 * 1024  # the report parts come first; past this is the bounced message's body
RETURNED_PART = re.compile(rb"(?im)^content-type:[ \t]*message/(?:rfc822|global)\b")
REPORT_PART = re.compile(rb"(?im)^content-type:[ \t]*message/(?:delivery-status|global-delivery-status|feedback-report)")
RECEIVED_FOR = re.compile(r"\bfor\s+<?([^\s<>;@]+@[^\s<>;]+?)>?\s*;", re.IGNORECASE)
BLANK_LINE = re.compile(rb"\r?\n\r?\n")
Heads = kinds.Heads
FINAL_KINDS = frozenset({MessageKind.AUTO_REPLY, MessageKind.COMPLAINT, MessageKind.UNSUBSCRIBE})
FORWARDED_SENDER = re.compile(r"mailer-daemon|postmaster|mail delivery (?:system|subsystem)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Finding:
    """One address the report speaks about, before classification."""

    email: str
    kind: Kind
    reason: str
    status: str | None = None
    diagnostic: str = ""
    evidence: dict[str, str] = field(default_factory=dict)
    guessed: bool = False  # taken from the returned original's To: to be used only for our own mail


@dataclass(frozen=True, slots=True)
class Report:
    form: str  # dsn | arf | ses | auto_reply | unsubscribe | text | none
    findings: tuple[Finding, ...]  # recipients only for a bounce or delay; the complainer; the unsubscriber
    message_id: str  # the report's own Message-ID: the dedupe key
    occurred_at: datetime | None
    subject: str
    verp_token: str | None  # from the address the report was delivered to
    original_message_id: str  # Message-ID of the message that bounced, for the ledger
    original_to: tuple[str, ...]
    kind: MessageKind = MessageKind.OTHER
    sender: str = ""  # the report's From address (who auto-replied, who wrote a reply)


def parse_report(raw: bytes, *, unsubscribe_addresses: frozenset[str] = frozenset(), fast_reader: bool = True,
                 readers: Sequence[EventReader] = (), _depth: int = 0) -> Report:
    """Read one report; never raises on malformed input (it may simply find nothing). A bounce
    that someone forwarded as an attachment is read from the attachment. `fast_reader=False`
    reads with the email package only (the yardstick the tests hold the fast reader to).
    `readers`: the providers whose notifications may arrive by mail (SES through an SNS email
    subscription), as `webzine.providers` offers them; without them such a mail is read as text."""
    fast = fastmime.read_fast(raw[:MAX_PARSE_BYTES]) if fast_reader else None
    if fast is not None:
        top, parts = fast
    else:
        top = mime.parse_bytes(_without_returned_body(raw[:MAX_PARSE_BYTES]))
        parts = mime.split_parts(top)
    heads = mime.header_map(top)
    subject = mime.header(heads, "Subject")
    notice_text = "\n\n".join(parts.notice)
    notice, quoted = detectors.split_notice(notice_text)
    original = parts.original or (mime.parse_headers(quoted.lstrip()) if quoted else None)
    theirs = mime.header_map(original)
    original_to = tuple(a.lower() for a in _addresses(theirs, "To", "Cc"))
    exclude = _senders(heads, theirs)
    sender = next(iter(_addresses(heads, "From")), "")
    kind = kinds.decide(heads, parts, notice, subject, has_original=original is not None,
                        unsubscribe_addresses=unsubscribe_addresses)
    form, findings = _read(kind, parts, notice, subject, sender, exclude, theirs if original is not None else None,
                           readers)
    if form in {"text", "none"} and kind not in FINAL_KINDS and parts.original is not None and _depth == 0 and (
            _is_report(theirs)):
        inner = _forwarded(parts, unsubscribe_addresses, readers)
        if inner is not None and inner.findings:
            form, findings, kind = "forwarded " + inner.form, list(inner.findings), inner.kind
    message_id = mime.header(heads, "Message-ID").strip("<> ") or "sha256:" + hashlib.sha256(raw).hexdigest()
    return Report(
        form=form,
        findings=tuple(findings),
        message_id=message_id,
        occurred_at=_date(mime.header(heads, "Date")),
        subject=subject[:200],
        verp_token=_verp(heads),
        original_message_id=mime.header(theirs, "Message-ID").strip("<> "),
        original_to=original_to,
        kind=kind,
        sender=sender.lower(),
    )


def _is_report(heads: Heads) -> bool:
    """Is this attached message itself a bounce (forwarded), rather than the mail that bounced?"""
    return heads.get("content-type", "").lower().lstrip().startswith("multipart/report") or bool(
        FORWARDED_SENDER.search(heads.get("from", "")))


def _forwarded(parts: mime.Parts, unsubscribe_addresses: frozenset[str], readers: Sequence[EventReader]) -> Report | None:
    data = parts.original_raw
    if data is None and parts.original is not None:
        try:
            data = parts.original.as_bytes()
        except (ValueError, TypeError, LookupError, UnicodeError):
            return None
    return parse_report(data, unsubscribe_addresses=unsubscribe_addresses, readers=readers, _depth=1) if data else None


def _without_returned_body(raw: bytes) -> bytes:
    """Cut the attached original after its headers: parsing its body (often MIME itself) costs
    more than the rest of the report and tells nothing. Only after a report part, and when no
    report part follows it."""
    found = RETURNED_PART.search(raw)
    if found is None or not REPORT_PART.search(raw, 0, found.start()):
        return raw  # no report part before it: the attachment may be a forwarded bounce
    part_headers = BLANK_LINE.search(raw, found.end())
    original_headers = BLANK_LINE.search(raw, part_headers.end()) if part_headers else None
    if original_headers is None or REPORT_PART.search(raw, original_headers.end()):
        return raw
    return raw[:original_headers.end()]


def _read(kind: MessageKind, parts: mime.Parts, notice: str, subject: str, sender: str, exclude: set[str],
          original: Heads | None, readers: Sequence[EventReader]) -> tuple[str, list[Finding]]:
    """The findings the message's kind allows: recipients of a bounce or delay, the complainer,
    the person asking to unsubscribe; nothing from a reply, an auto-reply or anything else."""
    if kind is MessageKind.COMPLAINT:
        return "arf", _feedback(parts, original)
    if kind is MessageKind.UNSUBSCRIBE:
        found = [Finding(sender, Kind.UNSUBSCRIBE, "unsubscribe_request", evidence={"subject": subject[:200]})]
        return ("unsubscribe", found) if sender else ("none", [])
    if kind is MessageKind.AUTO_REPLY:
        return "auto_reply", []
    if kind not in kinds.RECIPIENT_KINDS:
        return "none", []
    form, findings = _recipients(parts, notice, subject, exclude, original, readers)
    if kind is MessageKind.DELAY:
        findings = [_delayed(f) for f in findings]
    return form, findings


def _recipients(parts: mime.Parts, notice: str, subject: str, exclude: set[str],
                original: Heads | None, readers: Sequence[EventReader]) -> tuple[str, list[Finding]]:
    if parts.status_blocks:
        findings = _delivery_status(parts.status_blocks, notice)
        if findings:
            return "dsn", findings
    if readers and "{" in notice:
        form, mailed = _mailed_notification(notice, readers)
        if mailed:
            return form, mailed
    embedded = _embedded_status(notice)
    if embedded:
        return "dsn", embedded
    return _from_text(notice, subject, exclude, original)


def _delayed(finding: Finding) -> Finding:
    """A recipient of a delay warning: the server is still trying, nothing failed yet. A sender
    problem stays one (it suppresses nobody, and the sender should hear of it early)."""
    if finding.kind in {Kind.DELIVERED, Kind.DELAYED, Kind.SENDER_PROBLEM}:
        return finding
    evidence = {**finding.evidence, "said": finding.kind.value}
    return Finding(finding.email, Kind.DELAYED, finding.reason, finding.status, finding.diagnostic, evidence)


def _delivery_status(blocks: list[str], notice: str) -> list[Finding]:
    """RFC 3464 §2.3: one per-recipient field block per address."""
    findings: list[Finding] = []
    for text in blocks:
        fields_list = mime.field_blocks(text)
        reporting = next((b.get("reporting-mta", "") for b in fields_list if "reporting-mta" in b), "")
        for block in fields_list:
            final = _address_field(block.get("final-recipient", "") or block.get("x-actual-recipient", ""))
            original_rcpt = _address_field(block.get("original-recipient", ""))
            if not (final or original_rcpt):
                continue
            findings.append(_dsn_finding(block, final or original_rcpt, original_rcpt, reporting, notice))
    if len(findings) == 1 and findings[0].kind is Kind.HARD:
        overruled = objection(notice)
        if overruled is not None:
            only = findings[0]
            evidence = {**only.evidence, "dsn_said": only.reason}
            findings = [Finding(only.email, overruled.kind, overruled.reason, only.status, only.diagnostic, evidence)]
    return findings


def _dsn_finding(block: dict[str, str], final: str, original_rcpt: str, reporting: str, notice: str) -> Finding:
    diagnostic = _strip_type(block.get("diagnostic-code", "")).replace("\n", " ")
    action = block.get("action", "").split()[0] if block.get("action", "").split() else ""
    status = find_status(block.get("status", ""))
    context = _context_for(notice, (final, original_rcpt))
    structured = bool(diagnostic)
    if not diagnostic:
        # No remote reply in the DSN: the notice's lines about this address stand in for it, and
        # the rest of the notice is the context ("The user(s) account is disabled").
        diagnostic, context = context, notice[:4000]
    verdict = classify(status, diagnostic, action=action, context=context, recipient=final, structured=structured,
                       command=smtp_command(notice))
    evidence = {"final_recipient": final, "action": action, "reporting_mta": _strip_type(reporting),
                "remote_mta": _strip_type(block.get("remote-mta", ""))}
    email = original_rcpt if original_rcpt and "@" in original_rcpt else final
    kind = Kind.DELAYED if action.lower() == "delayed" and verdict.kind is not Kind.DELIVERED else verdict.kind
    return Finding(email, kind, verdict.reason, verdict.status, (diagnostic or context)[:500],
                   {k: v for k, v in evidence.items() if v})


def _mailed_notification(notice: str, readers: Sequence[EventReader]) -> tuple[str, list[Finding]]:
    """A provider's notification delivered as email (Amazon SES through SNS): the body is the
    JSON notification, read by the provider that recognises it; the form is the provider's name.
    Sendmail breaks lines over 990 octets with "!" + newline + space; that is undone first."""
    notice = notice.replace("!\n ", "")
    try:
        data, __ = json.JSONDecoder().raw_decode(notice[notice.find("{"):])
    except ValueError:
        return "", []
    reader = next((reader for reader in readers if reader.recognises(data)), None) if isinstance(data, dict) else None
    try:
        events = reader.parse_events(data) if reader is not None else []
    except PayloadError:
        return "", []
    return (reader.name if reader else ""), [Finding(e.email, e.kind, e.reason, e.status, e.diagnostic, e.evidence)
                                            for e in events]


def _embedded_status(notice: str) -> list[Finding]:
    """Some MTAs paste the delivery-status fields into the text part (Amazon WorkMail, some
    Exchange and gateway bounces): parse them the same way."""
    if not re.search(r"^\s*final-recipient\s*:", notice, re.IGNORECASE | re.MULTILINE):
        return []
    text = re.sub(r"^[ \t]+(?=[\w-]+:)", "", notice, flags=re.MULTILINE)
    return _delivery_status([text], notice)


def _feedback(parts: mime.Parts, original: Heads | None) -> list[Finding]:
    """RFC 5965: Original-Rcpt-To names the complainer; else the reported message's To."""
    fields: dict[str, str] = {}
    for text in parts.feedback_blocks:
        for block in mime.field_blocks(text):
            fields.update(block)
    feedback_type = fields.get("feedback-type", "abuse").strip().lower()
    recipients = [a for line in fields.get("original-rcpt-to", "").split("\n") for a in detectors.addresses(line)]
    recipients += [a for a in detectors.addresses(fields.get("removal-recipient", "")) if a not in recipients]
    if not recipients and original is not None:
        recipients = detectors.addresses(original.get("x-hmxmroriginalrecipient", "")) or _addresses(
            original, "To")
    kind = Kind.UNSUBSCRIBE if feedback_type == "opt-out" else Kind.COMPLAINT
    evidence = {"feedback_type": feedback_type, "user_agent": fields.get("user-agent", ""),
                "source_ip": fields.get("source-ip", "")}
    evidence = {k: v for k, v in evidence.items() if v}
    return [Finding(address, kind, feedback_type, evidence=evidence) for address in _unique(recipients)]


def _from_text(notice: str, subject: str, exclude: set[str], original: Heads | None) -> tuple[str, list[Finding]]:
    # The sender's own addresses are skipped first; but someone who mails themselves gets their
    # own bounce, so a line that plainly lists one still counts before the envelope is guessed.
    found = (detectors.scan(notice, exclude=exclude)
             or detectors.scan(notice, exclude=set(), strong_only=True))
    guessed = not found
    found = found or _envelope_recipient(notice, exclude, original)
    if not found:
        guessed = False
        found = detectors.scan(notice, exclude=set())
    if not found:
        return "none", []
    quoted = detectors.smtp_lines(notice)
    findings = []
    for item in found:
        diagnostic = item.diagnostic if find_status(item.diagnostic) or len(found) > 1 else (
            f"{item.diagnostic} {quoted}".strip())
        # The whole notice speaks for a lone recipient only; with several, each has its own lines.
        context = notice + "\n" + subject if len(found) == 1 else subject
        verdict = classify(None, diagnostic, context=context, recipient=item.email)
        evidence = {"recipient_from": "original_to"} if guessed else {}
        findings.append(Finding(item.email, verdict.kind, verdict.reason, verdict.status,
                                " ".join(diagnostic.split())[:500], evidence, guessed))
    return "text", findings


def _envelope_recipient(notice: str, exclude: set[str], original: Heads | None) -> list[detectors.TextFinding]:
    """The bounced message's own To, or the address its last Received header says it was for,
    when the notice names none ("The following address(es) failed: kijitora"). Only when the
    original names exactly one recipient; the import uses the guess only for our own mail."""
    if not notice.strip() or not original:
        return []
    named = _unique([a.lower() for a in _addresses(original, "To", "Cc") if a.lower() not in exclude])
    received = RECEIVED_FOR.search(original.get("received", ""))
    if not named and received and received.group(1).lower() not in exclude:
        named = [received.group(1).lower()]
    return [detectors.TextFinding(named[0], "")] if len(named) == 1 else []


def _context_for(notice: str, addresses: tuple[str, ...]) -> str:
    """The lines of the human-readable notice about these addresses (a DSN's Diagnostic-Code is
    sometimes empty while the text says "user unknown")."""
    lines = notice.split("\n")
    wanted = [a.lower() for a in addresses if a]
    picked: list[str] = []
    for index, line in enumerate(lines):
        if any(a in line.lower() for a in wanted):
            picked.append(line.strip())
            for follow in lines[index + 1:index + 5]:
                if not follow.strip() or ("@" in follow and not follow[:1].isspace()):
                    break
                picked.append(follow.strip())
    return " ".join(picked)


def _verp(msg: Heads) -> str | None:
    for name in ("X-Original-To", "Delivered-To", "Envelope-To", "To"):
        for address in _addresses(msg, name):
            token = verp_token_from(address)
            if token:
                return token
    return None


def _senders(msg: Heads, original: Heads) -> set[str]:
    """Addresses that are the sender's own (the report was sent to them): never the recipient."""
    own = _addresses(msg, "To", "Return-Path", "From")
    own += _addresses(original, "From", "Return-Path", "Sender", "Reply-To")
    return {a.lower() for a in own}


def _addresses(msg: Heads | None, *names: str) -> list[str]:
    if not msg:
        return []
    # A regex over the raw values: email.utils.getaddresses costs more than the rest of the
    # parse, and display names never contain the "@" we look for.
    found: list[str] = []
    for name in names:
        value = msg.get(name.lower())
        if value is not None and "@" in value:
            found.extend(detectors.addresses(value))
    return found


def _address_field(value: str) -> str:
    """`rfc822; <a@b>` → `a@b`; the address type is optional in practice."""
    found = detectors.addresses(_strip_type(value))
    return found[0] if found else ""


def _strip_type(value: str) -> str:
    head, semi, rest = value.partition(";")
    return rest.strip() if semi and " " not in head.strip() and len(head) < 20 else value.strip()


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None


def _unique(items: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.lower(), item)
    return list(seen.values())
