"""Replies to an issue: kept for the account manager who should answer them.

The newsletter's reply and return addresses receive customers' answers next to the bounces.
`webzine bounces import` takes the bounces and delays; `webzine replies import` takes the rest:

    reader.py     one message → `Incoming` (its kind from bounces.kinds, sender, references, excerpt)
    records.py    `Reply`: a customer's reply (or a counted auto-reply) with customer and manager
    store.py      the reply store (`state/replies.jsonl`): one line per message, deduplicated by
                  Message-ID, replaced atomically under a lock
    importer.py   sources → matched replies → store; a manager's answer marks a reply answered
    report.py     replies per manager, oldest unanswered first ("이번 호에 답장한 고객")

A human reply is kept when its In-Reply-To/References names one of our Message-IDs (the send
ledger) or its sender is on the subscriber list. Auto-replies are counted, never listed and never
suppress anyone.
"""
