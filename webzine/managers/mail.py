"""A digest as an email to its account manager, sent by the same `Sender` as an issue.

The ledger keeps digests under their own issue key, `digest:<slug>`, one row per manager's
address: a digest that was accepted is never sent again, and one whose outcome a kill left
unknown is reported as unknown instead of being re-sent (`webzine digest send --resend-unknown`
after checking), exactly like an issue. Each message carries the digest as HTML and text and the
manager's customers as a CSV attachment.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from webzine.config import Settings
from webzine.message.dkim import DkimSigner
from webzine.managers.digest import Digest, digest_csv
from webzine.message.factory import KST, return_path, sender_domain
from webzine.models import Recipient
from webzine.message.compose import Attachment, compose
from webzine.models import Mailbox, Message

DIGEST_PREFIX = "digest:"


def digest_issue(slug: str) -> str:
    """The ledger's issue key for an issue's digests."""
    return f"{DIGEST_PREFIX}{slug}"


@dataclass(frozen=True)
class RenderedDigest:
    digest: Digest
    html: str
    text: str


def digest_recipients(rendered: Mapping[str, RenderedDigest]) -> list[Recipient]:
    """The managers to mail, as the `Sender` takes them (key: the manager's address)."""
    return [Recipient(email=r.digest.manager.email, name=r.digest.manager.name, manager=r.digest.manager_id)
            for r in rendered.values() if r.digest.manager is not None and r.digest.manager.email]


class DigestMessages:
    """The `Sender`'s message factory for one issue's digests."""

    def __init__(self, settings: Settings, slug: str, rendered: Mapping[str, RenderedDigest], *,
                 signer: DkimSigner | None = None, clock: Callable[[], float] = time.time) -> None:
        self.issue = digest_issue(slug)
        self._slug = slug
        self._by_manager = rendered
        display, address = parseaddr(settings.publication.sender)
        self._sender = Mailbox(address, display)
        self._return_path = return_path(settings)
        self._domain = sender_domain(settings.publication)
        self._signer = signer
        self._clock = clock

    def message_id(self, recipient: Recipient) -> str:
        digest = hashlib.sha256(f"{self.issue}\n{recipient.key}".encode()).hexdigest()[:24]
        return f"digest.{digest}@{self._domain}"

    def envelope_sender(self, recipient: Recipient) -> str:
        return self._return_path

    def build(self, recipient: Recipient, *, rcpt_to: str | None = None, mail_from: str | None = None,
              message_id: str | None = None) -> Message:
        """`mail_from` and `message_id` are passed when the send has already computed them (its claims
        need both first)."""
        rendered = self._by_manager[recipient.manager]
        to_address = rcpt_to or recipient.email
        return compose(
            key=recipient.key, mail_from=mail_from or self._return_path, rcpt_to=to_address,
            message_id=message_id or self.message_id(recipient), sender=self._sender, to=Mailbox(recipient.email, recipient.name),
            subject=rendered.digest.subject, date=datetime.fromtimestamp(int(self._clock()), KST),
            headers=[("Auto-Submitted", "auto-generated")],  # RFC 3834: no vacation replies to a report
            text=rendered.text, html=rendered.html,
            attachments=[Attachment(f"{self._slug}-{rendered.digest.file_stem}.csv", "text", "csv",
                                    digest_csv([rendered.digest]).encode("utf-8"))],
            signer=self._signer,
        )  # fmt: skip
