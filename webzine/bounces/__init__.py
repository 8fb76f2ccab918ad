"""Bounce processing: every report about a sent issue becomes one `BounceEvent`.

The package reads like its pipeline:

    sources.py    mbox, Maildir, IMAP, provider event files → raw items
    kinds.py      what a message in the bounce mailbox is: bounce, delay, auto-reply, human reply …
    mime.py       tolerant MIME reading with the email package (never raises on a broken report)
    fastmime.py   the same, several times faster, for the reports it is sure about
    dsn.py        one mailed report → findings (VERP token, RFC 3464, ARF, RFC 3834, text)
    detectors.py  the text heuristics for MTAs that send no delivery-status part
    classify.py   enhanced status code + words → hard | soft | sender_problem | unknown …
    events.py     the event vocabulary
    store.py      the append-only event store (dedupe key: Message-ID or provider event id)
    policy.py     stored events (+ ledger history) → suppressions
    importer.py   `webzine bounces import`, end to end

Provider webhook payloads are read by `webzine.providers` into the same events; bounces knows no
provider by name: the import is handed the providers' readers (`events.EventReader`).
"""

from webzine.bounces.events import BounceEvent, Kind

__all__ = ["BounceEvent", "Kind"]
