"""`webzine send` reads each input file once: the loader reads, the stages get values.

Traced in a real send of the sample publication to the outbox: Python's audit hooks (PEP 578) see
every `open()` of the config and the issue, and every list file must go through exactly one
`read_table` call (one read; inside it the reader opens the file for a sample, for the encoding
check and for the stream, which is one pass over the data) — except the subscriber list, which
the real send streams: one `read_table` per pass, none of them holding the list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clikit import ISSUE, copy_sample, environment, new_dkim_key
import pytest

pytestmark = pytest.mark.slow  # a traced webzine send in a subprocess

TRACE = """
import json, os, sys
from collections import Counter
opened, tables = Counter(), Counter()

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        opened[os.path.realpath(os.fsdecode(args[0]))] += 1

sys.addaudithook(hook)
import webzine.recipients.tables as listio
read_table = listio.read_table

def counted(path, *args, **kwargs):
    tables[os.path.realpath(os.fsdecode(path))] += 1
    return read_table(path, *args, **kwargs)

listio.read_table = counted  # before any stage imports it
from webzine.cli import main
try:
    main(sys.argv[2:])
except SystemExit as done:
    with open(sys.argv[1], "w") as out:
        json.dump({"exit": done.code, "opened": opened, "tables": tables}, out)
"""

FILES = ("webzine.toml", ISSUE)
LISTS = ("lists/subscribers.csv", "lists/suppressions.csv", "lists/managers.csv", "lists/key-customers.csv")


def test_a_send_reads_each_input_file_once(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "project")
    trace = tmp_path / "trace.json"
    done = subprocess.run([sys.executable, "-c", TRACE, str(trace), "send", ISSUE, "--yes"], cwd=project,
                          env=environment(new_dkim_key()), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(trace.read_text(encoding="utf-8"))
    assert result["exit"] == 0

    def count(kind: str, names: tuple[str, ...]) -> dict[str, int]:
        return {name: result[kind].get(str((project / name).resolve()), 0) for name in names}

    assert count("opened", FILES) == dict.fromkeys(FILES, 1)
    # The real send streams the subscriber list (docs/send.md, "Memory"): one read per pass — the
    # survey that finds repeated addresses, the issue's field checks, the key-customer audit, the
    # send, and the whole issue's standing afterwards. Every other list is read once.
    assert count("tables", LISTS) == {**dict.fromkeys(LISTS, 1), "lists/subscribers.csv": 5}
