"""Send: the inputs read once, one plan, messages dispatched, every outcome in the ledger.

The files, in pipeline order:
- `inputs.py`        everything one send needs, read once and checked (issue, list, suppressions, gates)
- `plan.py`          who will be mailed, who is done, unknown or suppressed, and why
- `dispatch.py`      recipients in, messages out through a transport (worker pool, pacing, retries)
- `outcomes.py`      a transport's answer → the recipient's ledger state and what the run does next
- `pacing.py`        the token bucket (the outbox unpaced unless asked), retry backoff and the watch on the clock
- `progress.py`      progress as a line now and then, for a send whose output is not a terminal (CI)
- `ledger.py`        send state in SQLite (`ledger_codec.py`: its compact encoding; `ledger_pg.py`: PostgreSQL;
                     `ledger_records.py`: the states, claims, outcomes, rows and counts both speak)
- `lock.py`          one send per issue and ledger at a time
- `settle.py`        who, of the recipients a stopped run left unknown, actually got it
- `due.py`           which issue the monthly run sends
"""
