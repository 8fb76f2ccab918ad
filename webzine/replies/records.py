"""`Reply`: one stored message from a customer (a reply to an issue, or a counted auto-reply).

Records are facts about a message; whether it has been answered is the one field that changes,
when a manager's answer to it is imported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True, slots=True)
class Reply:
    message_id: str  # the dedupe key (or "sha256:…" for a message without one)
    kind: str  # human_reply | auto_reply (bounces.kinds.MessageKind values)
    sender: str  # lowercased address
    received_at: str = ""  # ISO 8601 from the Date header, "" when unreadable
    sender_name: str = ""
    subject: str = ""
    excerpt: str = ""  # the reply's own first lines, without the quoted issue
    issue: str | None = None  # from the ledger: the Message-ID it answers, or the last issue sent to the sender
    customer: str = ""  # name on the subscriber list
    company: str = ""
    manager: str = ""  # manager id from managers.csv ("" when the customer has none)
    matched_by: str = ""  # message_id | subscriber
    source: str = ""  # where it was read: "imaps://u@h:993/INBOX;UID=7", "mbox:/x#3"
    answered_at: str = ""  # ISO date of the manager's answer, when one was imported
    answered_by: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> "Reply":
        data = json.loads(line)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
