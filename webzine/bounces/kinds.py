"""What a message in the bounce mailbox is, decided before any address in it is read.

The bounce mailbox is also the newsletter's reply address, so it receives delay warnings,
out-of-office replies, ticket acknowledgements and customers' own answers next to the bounces.
The text heuristics that find a failed recipient in a free-text notice would find "recipients"
in a reply's quoted "De:" or "Cc:" lines too, so they run only on a `bounce` or a `delay`; and a
`delay` (the server is still trying) never counts toward suppression. The decision reads the
structure (delivery-status and feedback-report parts), the RFC 3834 headers, the sender and the
subject, and for a plain-text notice a few delay phrases; never an address.
"""

from __future__ import annotations

import re
from enum import StrEnum

from webzine.bounces import mime
from webzine.bounces.detectors import addresses as addresses_in

Heads = dict[str, str]  # lowercased header name → raw value, see mime.header_map


class MessageKind(StrEnum):
    BOUNCE = "bounce"  # a delivery report (RFC 3464 or free text) that names failed recipients
    DELAY = "delay"  # a warning that delivery is still being retried: nothing has failed yet
    AUTO_REPLY = "auto_reply"  # out-of-office, vacation, ticket acknowledgement (RFC 3834 and kin)
    COMPLAINT = "complaint"  # an ARF feedback report (RFC 5965)
    UNSUBSCRIBE = "unsubscribe"  # a person asking by mail to be taken off the list
    HUMAN_REPLY = "human_reply"  # a person answering a message
    OTHER = "other"  # anything else: newsletters, spam, notices that name nobody


RECIPIENT_KINDS = frozenset({MessageKind.BOUNCE, MessageKind.DELAY})  # the kinds whose text is searched

BOUNCE_SENDER = re.compile(r"mailer-daemon|post_?master|mail delivery|mail-daemon|mailer daemon|bounce"
                           r"|mdaemon|mail administrator|postoffice|nobody@|daemon@", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (?:status|fail|notification|report|problem)|returned mail|mail delivery|failure notice"
    r"|non[- ]?deliver|could not be delivered|delivery has failed|not delivered|rejected|mail system error"
    r"|returned to sender|warning: could not send|error sending|delayed mail|delivery delayed|unzustellbar"
    r"|bounce|nondeliverable|message you sent|problem with|failed|retour|mail failure|配信|エラー|반송",
    re.IGNORECASE,
)
AUTO_REPLY_SUBJECT = re.compile(
    r"out of (?:the )?office|auto(?:matic)?[ -]?(?:reply|response|answer)|autorespons|^auto:|vacation"
    r"|away (?:until|from)|on leave|absence|abwesen|automatyczna|automatiska atbilde|atvalin"
    r"|부재|자동 ?(?:회신|응답|답장|답변)|휴가 ?중|不在|休暇|自動応答"
    # ticket systems acknowledging a message
    r"|\[?(?:ticket|case|request|incident)\s*(?:#|no\.?|id:?)\s*\w*\d|(?:request|message|inquiry|e-?mail) "
    r"(?:has been |was )?received|we (?:have |'ve )?received your|thank you for (?:your (?:e-?mail|message|inquiry)"
    r"|contacting)|문의(?:가)? ?접수|접수 ?(?:완료|되었습니다|확인)", re.IGNORECASE)
UNSUBSCRIBE_SUBJECT = re.compile(r"^\s*(?:re:\s*)?(?:unsubscribe|remove me|수신\s*거부|구독\s*(?:취소|해지|해제)"
                                 r"|수신\s*(?:중단|해지)|配信停止)", re.IGNORECASE)
COMPLAINT_SUBJECT = re.compile(r"complaint about message from|abuse report", re.IGNORECASE)
REPLY_SUBJECT = re.compile(r"^\s*(?:re|aw|sv|antw|vs|ref|답장|회신|답변|返信|回复)\s*(?:\[\d+\])?\s*[:：]", re.IGNORECASE)

# A plain-text warning that the server is still trying. Checked only on what reads like a bounce.
DELAY_SUBJECT = re.compile(r"delay|still being retried|warning: could not send|not yet delivered|지연", re.IGNORECASE)
DELAY_TEXT = re.compile(
    r"still trying|will (?:continue to |keep )?(?:be )?(?:retry|retried|retrying|trying)|will be retried"
    r"|has not yet been delivered|not (?:yet )?been delivered yet|delivery incomplete|warning message only"
    r"|(?:do not|don't) need to resend|delivery attempts will continue|(?:has been|is|was) delayed"
    r"|still being retried|still undelivered|will retry|retry (?:for|until) |아직 (?:전달|전송|배달)되지", re.IGNORECASE)
# Words that only a final failure uses: they outrank the delay phrases ("giving up" after retries).
FINAL_TEXT = re.compile(
    r"giving up|gave up|failed permanently|permanent (?:error|failure|fatal)|fatal error|could not be delivered to"
    r"|has been returned|returned to (?:the )?sender|retry time(?:out)? (?:not reached|exceeded)|will not be retried"
    r"|no (?:more|further) (?:delivery )?attempts|message expired|has been rejected|unrecoverable", re.IGNORECASE)


def decide(heads: Heads, parts: mime.Parts, notice: str, subject: str, *, has_original: bool,
           unsubscribe_addresses: frozenset[str] = frozenset()) -> MessageKind:
    """The message's kind, from its structure, headers, subject and delay wording."""
    if parts.feedback_blocks or (COMPLAINT_SUBJECT.search(subject) and has_original and not parts.status_blocks):
        return MessageKind.COMPLAINT
    embedded = _embedded_status(notice)
    actions = _actions(parts.status_blocks or ([notice] if embedded else []))
    if actions:
        return MessageKind.DELAY if actions == {"delayed"} else MessageKind.BOUNCE
    if parts.status_blocks or embedded or "notificationType" in notice:
        return _delay_or_bounce(notice, subject)
    looks_like_bounce = _looks_like_bounce(heads, subject)
    if not looks_like_bounce and (UNSUBSCRIBE_SUBJECT.search(subject) or _sent_to(heads, unsubscribe_addresses)
                                  or "sent this email to unsubscribe" in notice):
        return MessageKind.UNSUBSCRIBE
    # Exchange sends out-of-office replies with an empty Return-Path, like a bounce: the
    # subject and the RFC 3834 headers decide, unless the subject or sender reads like a bounce.
    if is_auto_reply(heads, subject) and not BOUNCE_SUBJECT.search(subject) and not BOUNCE_SENDER.search(
            mime.header(heads, "From")):
        return MessageKind.AUTO_REPLY
    if looks_like_bounce:
        return _delay_or_bounce(notice, subject)
    if mime.header(heads, "In-Reply-To") or mime.header(heads, "References") or REPLY_SUBJECT.search(subject):
        return MessageKind.HUMAN_REPLY
    return MessageKind.OTHER


def is_auto_reply(heads: Heads, subject: str) -> bool:
    """RFC 3834 §5 plus the headers vacation programs and ticket systems really send."""
    submitted = mime.header(heads, "Auto-Submitted").lower()
    return bool(
        submitted.startswith("auto-replied")
        or "x-autoreply" in heads or "x-autorespond" in heads or "x-autoresponder" in heads
        or mime.header(heads, "Precedence").lower() == "auto_reply"
        or AUTO_REPLY_SUBJECT.search(subject)
    )


def _delay_or_bounce(notice: str, subject: str) -> MessageKind:
    delayed = DELAY_SUBJECT.search(subject) or DELAY_TEXT.search(notice)
    return MessageKind.DELAY if delayed and not FINAL_TEXT.search(notice) else MessageKind.BOUNCE


def _actions(blocks: list[str]) -> set[str]:
    found = set()
    for text in blocks:
        for block in mime.field_blocks(text):
            words = block.get("action", "").split()
            if words:
                found.add(words[0].lower())
    return found


def _embedded_status(notice: str) -> bool:
    return bool(re.search(r"^\s*final-recipient\s*:", notice, re.IGNORECASE | re.MULTILINE))


def _looks_like_bounce(heads: Heads, subject: str) -> bool:
    sender = mime.header(heads, "From") + " " + mime.header(heads, "Return-Path")
    return bool(BOUNCE_SENDER.search(sender) or BOUNCE_SUBJECT.search(subject)
                or mime.header(heads, "Return-Path").strip() == "<>" or _list_manager_notice(heads))


def _list_manager_notice(heads: Heads) -> bool:
    """A mailing-list manager's own error notice (fml: "you are not a member", "loop alert")."""
    return "x-mlserver" in heads and bool(re.search(r"-admin@", mime.header(heads, "From"), re.IGNORECASE))


def _sent_to(heads: Heads, addresses: frozenset[str]) -> bool:
    if not addresses:
        return False
    to = {a.lower() for name in ("To", "Delivered-To", "X-Original-To") for a in addresses_in(heads.get(name.lower(), ""))}
    return bool(to & addresses)
