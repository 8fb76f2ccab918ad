"""Settling the unknowns: who, of the recipients a stopped run left `claimed`, actually got it.

A crash or a lost connection leaves some recipients *unknown*: their message may or may not have
left. Re-sending them all duplicates the ones that did (7.9 % of unknowns in the fault trials),
never re-sending them skips the others. So each unknown is settled from evidence, in order:

1. records the project already holds: a bounce or complaint report imported for the recipient of
   this issue (by VERP or Message-ID: the receiving side took the message); for a rehearsal, the
   outbox file carrying its Message-ID;
2. the mail server's own log, given as a file (`--delivered FILE`): every line that names an
   unknown recipient's address or Message-ID marks it delivered;
3. an explicit decision for the rest (`--resend`): they are sent again by the next `webzine send`.

Every decision is recorded in the ledger with the evidence, and only rows still `claimed` change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from webzine.i18n import _
from webzine.send.ledger import Row

_MESSAGE_ID = re.compile(r"<?([^<>\s\"']+@[^<>\s\"',;]+)>?")
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True, slots=True)
class Settlement:
    key: str
    email: str
    delivered: bool  # False: to be sent again
    evidence: str


def evidence_lines(lines: Iterable[str], source: str) -> dict[str, str]:
    """Every address and Message-ID a log names (lowercased) → where: `FILE line N`."""
    found: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        for token in (*_ADDRESS.findall(line), *_MESSAGE_ID.findall(line)):
            found.setdefault(token.strip("<>").lower(), _("{file} line {number}").format(file=source, number=number))
    return found


def settle(unknown: Iterable[Row], *, seen: Mapping[str, str], resend: bool,
           rehearsed: Mapping[str, str] | None = None) -> list[Settlement]:
    """Decide each unknown row: delivered when the evidence (address or Message-ID → where) names
    it — `seen` for rows of a real transport, `rehearsed` (the outbox) for a rehearsal's rows —,
    else sent again when `resend`, else left unknown (not in the result)."""
    decisions = []
    for row in unknown:
        evidence = (rehearsed or {}) if row.rehearsal else seen
        proof = evidence.get(row.message_id.lower()) or (None if row.rehearsal else evidence.get(row.key))
        if proof:
            decisions.append(Settlement(row.key, row.email, True, _("delivered per {proof}").format(proof=proof)))
        elif resend:
            decisions.append(Settlement(row.key, row.email, False, _("no evidence of delivery; sent again by decision")))
    return decisions


def outbox_evidence(folder: Path) -> dict[str, str]:
    """Message-IDs in the local outbox (Maildir, .eml or mbox): a file that exists was written."""
    found: dict[str, str] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            head = handle.read(1 << 16) if path.name != "outbox.mbox" else handle.read()
        for match in re.finditer(rb"^Message-ID:\s*<([^>\r\n]+)>", head, re.IGNORECASE | re.MULTILINE):
            found.setdefault(match.group(1).decode("ascii", "replace").lower(), _("the outbox file {path}").format(path=path))
    return found
