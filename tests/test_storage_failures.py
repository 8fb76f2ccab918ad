"""A full disk while a command writes its state (issue 15, failure 6): one `Error:` line, exit 3,
nothing half-written. The fault is real: the command runs with a file-size limit (RLIMIT_FSIZE,
SIGXFSZ ignored), so the kernel refuses the write with EFBIG as it would a full disk with ENOSPC."""

from __future__ import annotations

import mailbox
import resource
import signal
import subprocess
from pathlib import Path

from clikit import WEBZINE, copy_sample, environment
import pytest

pytestmark = pytest.mark.slow  # fills real file systems

ROOT = Path(__file__).resolve().parent
BOUNCES = [ROOT / "fixtures" / "bounces" / "eml" / name for name in ("lhost-gmail-01.eml", "lhost-office365-01.eml")]


def limited(size: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


def test_a_full_disk_during_a_bounce_import_is_one_line_and_exit_3(tmp_path: Path) -> None:
    project = copy_sample(tmp_path / "project")
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for path in BOUNCES:
        box.add(path.read_bytes())
    box.close()
    before = {path.name: path.read_bytes() for path in (project / "lists").iterdir()}
    done = subprocess.run([*WEBZINE, "bounces", "import", str(tmp_path / "bounces.mbox")], cwd=project,
                          env=environment(), capture_output=True, text=True, timeout=120, preexec_fn=limited(512))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("Error: ")
    assert "nothing was half-written" in done.stderr.splitlines()[0] and len(done.stderr.splitlines()) == 1
    assert {path.name: path.read_bytes() for path in (project / "lists").iterdir()} == before
    again = subprocess.run([*WEBZINE, "bounces", "import", str(tmp_path / "bounces.mbox")], cwd=project,
                           env=environment(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
