#!/usr/bin/env python3
"""Turn the audit and send JSON reports of a CI run into the Markdown job summary.

Usage: summary.py REPORTS_DIR  (reads audit*.json, send.json and report.json there; prints Markdown).
Only counts, addresses of gaps and failures and the servers' words are shown: the reports never
carry secrets, and this script adds nothing from the environment.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _cell(value: object) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def audit_section(name: str, audit: dict) -> list[str]:
    verdict = "✅ every key customer will receive it" if audit.get("ok") else "❌ key customers are missing"
    title = f"### Audit {name}".rstrip()
    lines = [f"{title}: {verdict}", ""]
    lines += _table(
        ["key customers", "present", "excused", "gaps"],
        [[audit.get("key_customers"), audit.get("present"), audit.get("excused"), len(audit.get("gaps", []))]],
    )
    gaps = audit.get("gaps", [])
    if gaps:
        lines += ["", *_table(
            ["manager", "email", "name", "company", "reason", "suggestion", "excused"],
            [[g.get("manager"), g.get("email"), g.get("name"), g.get("company"), g.get("reason"),
              g.get("suggestion"), g.get("excused")] for g in gaps],
        )]  # fmt: skip
    return lines + [""]


def send_section(send: dict) -> list[str]:
    lines = [f"### Send {send.get('issue', '')} via {send.get('transport', '')}", ""]
    keys = ["accepted", "failed", "hard_bounces", "rejected", "deferred", "unknown", "already_accepted", "rate"]
    lines += _table(keys, [[send.get(k) for k in keys]])
    if send.get("stopped"):
        lines += ["", f"**Stopped:** {_cell(send['stopped'])} — re-run the workflow to resume."]
    failures = send.get("failures", []) + send.get("rejects", [])
    if failures:
        lines += ["", *_table(["email", "code", "status", "text"],
                              [[p.get("email"), p.get("code"), p.get("status"), p.get("text")] for p in failures])]
    return lines + [""]


def report_section(report: dict) -> list[str]:
    """The issue report's headline numbers; the page itself is report.html in the run's artifact."""
    issue = report.get("issue") or {}
    lines = [f"### Report {issue.get('issue', '')}", ""]
    keys = ["list_size", "reached", "rehearsed", "hard_bounces", "soft_bounces", "complaints", "unsubscribed",
            "ratings", "mean_rating", "replies", "key_customers_reached", "key_customers"]
    lines += _table(keys, [[issue.get(k) for k in keys]])
    name = Path(str(report.get("report", "report.html")))
    lines += ["", f"Charts by month, mailbox provider and account manager: `{name.parent.name}/{name.name}` "
                  "in this run's artifact (webzine-send-…)."]
    return lines + [""]


def summary(reports: Path) -> str:
    lines = ["## webzine", ""]
    for path in sorted(reports.glob("audit*.json")):
        lines += audit_section(path.stem.removeprefix("audit").strip("-"), _load(path))
    send_path = reports / "send.json"
    if send_path.exists():
        lines += send_section(_load(send_path))
    report_path = reports / "report.json"
    if report_path.exists():
        lines += report_section(_load(report_path))
    return "\n".join(lines)


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except json.JSONDecodeError:
        return {"stopped": f"{path.name} is not valid JSON"}


if __name__ == "__main__":
    print(summary(Path(sys.argv[1] if len(sys.argv) > 1 else "build/reports")))
