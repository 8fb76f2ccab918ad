"""A one-off message from its fields: the unsubscribe notice, a manager's digest.

These are a handful per run, so the `email` package writes them (the issue's messages go through
`factory.py`, which is built for a million). The fields a JSON mail API sends are the ones given;
the header values it carries are folded by the same policy that writes the bytes, so both say the
same; the bytes are written when a raw-MIME transport first asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from webzine.message.factory import Signer
from webzine.models import Content, Mailbox, Message

# Headers a JSON API sets from its own fields or writes itself.
_NOT_CARRIED = frozenset({"from", "to", "subject", "reply-to", "date", "mime-version", "content-type",
                          "content-transfer-encoding"})
_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    data: bytes


def compose(
    *, key: str, mail_from: str, rcpt_to: str, message_id: str, sender: Mailbox, to: Mailbox, subject: str,
    date: datetime, text: str, html: str | None = None, reply_to: Mailbox | None = None,
    headers: Sequence[tuple[str, str]] = (), attachments: Sequence[Attachment] = (), signer: Signer | None = None,
) -> Message:
    """The message: From, To, Subject, Date, Message-ID, Reply-To, then `headers` in order; the
    text body, the HTML alternative and attachments, each base64."""
    email = EmailMessage(policy=SMTP)
    email["From"] = _address(sender)
    email["To"] = _address(to)
    email["Subject"] = subject
    email["Date"] = format_datetime(date)
    email["Message-ID"] = f"<{message_id}>"
    if reply_to is not None:
        email["Reply-To"] = _address(reply_to)
    for name, value in headers:
        email[name] = value
    carried = tuple((name, _FOLD.sub("", SMTP.fold(name, value)).partition(":")[2].strip())
                    for name, value in email.items() if name.lower() not in _NOT_CARRIED)
    email.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    if html is not None:
        email.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    for attachment in attachments:
        email.add_attachment(attachment.data, maintype=attachment.maintype, subtype=attachment.subtype,
                             filename=attachment.filename)

    def encode() -> bytes:
        data = email.as_bytes()
        return data if signer is None else signer.sign(data) + data

    return Message(
        key=key, mail_from=mail_from, rcpt_to=rcpt_to, message_id=message_id, subject=subject,
        content=Content(sender=sender, to=to, reply_to=reply_to, headers=carried, text=text, html=html,
                        attachments=len(attachments)),
        data=encode, needs_smtputf8=not rcpt_to.isascii(),
    )  # fmt: skip


def _address(mailbox: Mailbox) -> Address | str:
    return Address(display_name=mailbox.name, addr_spec=mailbox.email) if mailbox.name else mailbox.email
