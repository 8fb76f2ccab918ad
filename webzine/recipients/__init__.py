"""Recipients: the tables editors keep → cleaned recipients, and every other row with its reason.

The files, in pipeline order:
- `tables.py`        CSV in any Korean encoding, Excel text, `.xlsx` (`xlsx.py`) → rows of text
- `cells.py`         what both readers share: the size limits, a spreadsheet value as text
- `addresses.py`     one typed address → the address we send to, or why we cannot
- `parse.py`         rows → `Recipient`s, or `Reject`s that say why not
- `clean.py`         the whole list: dedupe, consent, suppressions → `CleanList`
- `stream.py`        the same cleaning a chunk at a time, read again per pass: a real send's list
- `records.py`       what cleaning produces: kept recipients and rejects with reasons
- `list_managers.py` managers made from the list's own manager name/address columns (a CRM export)
- `suppressions.py`  `lists/suppressions.csv`: who must never be mailed again
- `mx.py`            `--check-dns`: domains that cannot receive mail
- `frames.py`        a list as polars columns, and their addresses normalised a column at a time
"""
