"""What every API message carries so that the provider's events find their ledger row.

The providers echo per-message metadata in each event (SendGrid `custom_args`, Mailgun
`v:` user-variables, Postmark `Metadata`, SES message tags): we send our own Message-ID and the issue slug, so an
event names its issue and recipient without guessing at the provider's id. The slug is read back
from the Message-ID that `webzine.message.factory.message_id` made (`<issue>.[t.]<32 hex>@domain`);
an id of any other shape carries no issue tag and is matched through the ledger instead.
"""

from __future__ import annotations

import re

from webzine.models import Message

MESSAGE_ID_TAG = "webzine_message_id"
ISSUE_TAG = "webzine_issue"
# SES message tag names and values: ASCII letters, digits, `_` and `-`, at most 256.
_SES_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")
# `wz` stands in for a slug that is not safe in a Message-ID: it names no issue.
_OUR_MESSAGE_ID = re.compile(r"(?P<issue>[A-Za-z0-9][A-Za-z0-9._-]{0,63}?)\.(?:t\.)?[0-9a-f]{32}@")


def issue_of(message_id: str) -> str | None:
    """The issue slug inside one of our Message-IDs, or None."""
    found = _OUR_MESSAGE_ID.match(message_id.strip("<>"))
    return found.group("issue") if found and found.group("issue") != "wz" else None


def correlation(message: Message) -> dict[str, str]:
    """`webzine_message_id` and, when the Message-ID names it, `webzine_issue`."""
    tags = {MESSAGE_ID_TAG: message.message_id}
    issue = issue_of(message.message_id)
    if issue:
        tags[ISSUE_TAG] = issue
    return tags


def ses_tags(message: Message) -> list[dict[str, str]]:
    """SES `EmailTags`: the issue, when its slug has only the characters SES allows (our
    Message-ID never does; SES events name their message by SES's own MessageId)."""
    return [{"Name": name, "Value": value} for name, value in correlation(message).items()
            if _SES_TAG.fullmatch(name) and _SES_TAG.fullmatch(value)]
