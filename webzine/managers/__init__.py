"""After an issue: what became of it, per customer, per account manager and overall.

Every source is read once, at the edge (`load.py`, `people.py`); everything else is a pure function
of values:

    facts.py     the facts one issue left behind (send ledger, bounce events, unsubscribes,
                 ratings, replies) and who the customers are, as plain frozen values
    people.py    the edge for who the customers are: the subscriber list and the key-customer file
                 read into one frame (polars)
    outcomes.py  facts × customers → every outcome as one frame (the plain deliveries, almost
                 everyone, column-wise) and, for the others, a `CustomerOutcome` with the reasons
                 an account manager should call ("전화 드려야 할 고객")
    digest.py    outcomes → one `Digest` per account manager, and its HTML, text and CSV
    mail.py      a digest as an email handed to the `Sender` under the ledger issue
                 `digest:<slug>`, so a digest is never sent twice, across a kill and a resume
    report.py    the issue report: headline numbers by month, mailbox provider and manager
    charts.py    the report's SVG charts (no JavaScript; readable in dark mode and on a phone)
    load.py      the I/O edge: ledger, bounce events, unsubscribe/feedback store, replies, lists

Customer segments come in through `Person.segment`: the loader fills it from `webzine customers
score` (or a `segment` list column), and the digest and report show it; empty means "no segment".
"""
