"""Segments in the issue: `recipient.segment` from the last scoring run, matched by normalised
address, in the sample issue of `make demo` — the 이탈 위험 paragraph is in the preview of a
customer of that segment and absent for the others."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from conftest import TODAY
from click.testing import CliRunner

from webzine.cli import cli
from webzine.config import load_settings
from webzine.models import Recipient
from webzine.web.preview import Workspace, personalise
from webzine.render.issue import load_issue
from webzine.send.inputs import build_issue, load_audience

ROOT = Path(__file__).resolve().parent.parent
ISSUE = "issues/2026-12-year-end.md"
PARAGRAPH = "오랜만에 안부 여쭙니다"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample publication, scored as `make demo` scores it."""
    root = tmp_path_factory.mktemp("demo")
    for name in ("lists", "issues", "templates"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "webzine.toml", root / "webzine.toml")
    result = CliRunner().invoke(cli, ["--config", str(root / "webzine.toml"), "customers", "score",
                                      "--today", "2026-12-01"])
    assert result.exit_code == 0, result.output
    return root


@pytest.mark.slow
def test_the_at_risk_paragraph_reaches_only_at_risk_customers(demo: Path) -> None:
    """As `webzine preview` shows each recipient (the list cleaned as of the sample issue's date)."""
    snapshot = Workspace(demo / "webzine.toml", demo / ISSUE, today=TODAY).refresh()
    by_email = {r.key: r for r in snapshot.recipients}
    seen = {}
    for email in ("cheol.lee@example.co.kr", "kim.gapsu@example.co.kr", "sophie.martin@example.org"):
        recipient = by_email[email]
        personal = personalise(snapshot, recipient)
        seen[email] = (recipient.merge_fields()["segment"], PARAGRAPH in personal.html, PARAGRAPH in personal.text)
    assert seen == {"cheol.lee@example.co.kr": ("이탈 위험", True, True),
                    "kim.gapsu@example.co.kr": ("핵심 고객", False, False),
                    "sophie.martin@example.org": ("일반 고객", False, False)}


def test_the_send_loader_joins_the_segments(demo: Path) -> None:
    """The send reads its audience once (`load_audience`); the segments come with it."""
    settings = load_settings(demo / "webzine.toml")
    audience = load_audience(settings, load_issue(demo / ISSUE), today=TODAY)
    segments = {r.key: r.merge_fields()["segment"] for r in audience.clean.recipients}
    assert segments["cheol.lee@example.co.kr"] == "이탈 위험" and segments["kim.gapsu@example.co.kr"] == "핵심 고객"


def test_the_build_preview_shows_the_sample_recipients_segment(demo: Path) -> None:
    settings = load_settings(demo / "webzine.toml")
    assert PARAGRAPH not in build_issue(settings, demo / ISSUE).preview_html  # 김갑수, 핵심 고객
    at_risk = settings.model_copy(update={"build": settings.build.model_copy(
        update={"sample_recipient": "CHEOL.LEE@example.co.kr"})})
    assert PARAGRAPH in build_issue(at_risk, demo / ISSUE).preview_html


def test_a_subscriber_without_orders_has_an_empty_segment() -> None:
    fields = Recipient(email="new@example.com").merge_fields()
    assert (fields["segment"], fields["r_score"]) == ("", "")
    scored = replace(Recipient(email="a@example.com"), fields={"segment": "신규 고객", "r_score": "5"}).merge_fields()
    assert (scored["segment"], scored["r_score"]) == ("신규 고객", "5")
