"""Bounce processing: every report about a sent issue becomes one `BounceEvent`.

The package reads like its pipeline:

    sources.py    mbox, Maildir, IMAP, provider event files → raw items
    mime.py       tolerant MIME reading with the email package (never raises on a broken report)
    fastmime.py   the same, several times faster, for the reports it is sure about
    dsn.py        one mailed report → findings (VERP token, RFC 3464, ARF, RFC 3834, text)
    detectors.py  the text heuristics for MTAs that send no delivery-status part
    classify.py   enhanced status code + words → hard | soft | sender_problem | unknown …
    providers.py  SES (SNS), SendGrid, Mailgun, Postmark payloads → events
    events.py     the event vocabulary
    store.py      the append-only event store (dedupe key: Message-ID or provider event id)
    policy.py     stored events (+ ledger history) → suppressions
    importer.py   `webzine bounces import`, end to end

The web service handles provider webhooks with `providers.parse_<provider>_events`.
"""

from webzine.bounces.events import BounceEvent, Kind
from webzine.bounces.providers import (
    parse_mailgun_events,
    parse_postmark_events,
    parse_sendgrid_events,
    parse_ses_events,
)

__all__ = ["BounceEvent", "Kind", "parse_mailgun_events", "parse_postmark_events", "parse_sendgrid_events",
           "parse_ses_events"]
