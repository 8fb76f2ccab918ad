"""Feedback in every issue: "이번 호는 어떠셨나요?" with signed rating links in both parts of the
message, accepted by `webzine serve` once per recipient and issue; `[feedback] enabled = false`
takes it out; lint refuses feedback links that would point nowhere."""

from __future__ import annotations

import email
import email.policy
import re
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import CONFIG, ISSUE, TODAY, write_project
from serve_support import running_server
from webzine.send.inputs import load_campaign, make_factory
from webzine.config import load_settings
from webzine.errors import TemplateError
from webzine.send.inputs import build_issue
from webzine.unsubscribes.store import Store
from webzine.tokens import FeedbackLinks

SECRET = "feedback-test-secret-0123456789"
SLUG = "2026-12-year-end"
LINK = re.compile(rf"https://news\.example\.co\.kr/f/{SLUG}/([0-5])/([A-Za-z0-9_-]{{22}})")


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    return write_project(tmp_path / "publication", config=CONFIG + "[serve]\nnotify = false\n")


def parts(data: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def built_message(project: Path, address: str) -> tuple[str, str]:
    settings = load_settings(project / "webzine.toml")
    campaign = load_campaign(settings, project / "issues" / f"{SLUG}.md", today=TODAY, gate=False)
    [recipient] = [r for r in campaign.clean.recipients if r.key == address]
    return parts(make_factory(campaign).build(recipient).data)


def test_an_issue_may_use_feedback_url_as_a_merge_field(project: Path) -> None:
    issue = ISSUE + "\n[의견 보내기]({{ feedback_url }}) · [최고예요]({{ feedback_url[5] }})\n"
    write_project(project, issue=issue, config=(project / "webzine.toml").read_text(encoding="utf-8"))
    settings = load_settings(project / "webzine.toml")
    rendered = build_issue(settings, project / "issues" / f"{SLUG}.md")
    assert f"https://news.example.co.kr/f/{SLUG}/0/" in rendered.preview_html
    assert f"https://news.example.co.kr/f/{SLUG}/5/" in rendered.preview_html


def test_both_parts_carry_the_question_and_five_signed_rating_links(project: Path) -> None:
    text, html = built_message(project, "kim@example.com")
    for part in (text, html):
        assert "이번 호는 어떠셨나요?" in part
        scores = sorted({int(score) for score, _ in LINK.findall(part)} - {0})
        assert scores == [1, 2, 3, 4, 5]
    assert set(LINK.findall(text)) == set(LINK.findall(html)), "the same links in both parts"
    other_text, _ = built_message(project, "lee@example.com")
    assert not set(LINK.findall(text)) & set(LINK.findall(other_text)), "links are per recipient"
    assert "kim" not in " ".join(token for _, token in LINK.findall(html)), "no address in the links"


@pytest.mark.slow
def test_serve_accepts_each_link_and_keeps_one_rating_per_recipient_and_issue(project: Path) -> None:
    kim_text, kim_html = built_message(project, "kim@example.com")
    lee_text, _ = built_message(project, "lee@example.com")
    settings = load_settings(project / "webzine.toml")
    store = Store.from_settings(settings)
    try:
        with running_server(settings, store) as url, httpx.Client(base_url=url) as http:
            links = {int(score): f"/f/{SLUG}/{score}/{token}" for score, token in LINK.findall(kim_html)}
            for score in (1, 2, 3, 4, 5):
                page = http.get(links[score])
                assert page.status_code == 200 and f'value="{score}" checked' in page.text
            assert http.post(links[4], data={"score": "4", "comment": "좋았어요"}).status_code == 200
            assert http.post(links[2], data={"score": "2"}).status_code == 200
            [lee_five] = [f"/f/{SLUG}/5/{t}" for s, t in LINK.findall(lee_text) if s == "5"]
            assert http.post(lee_five, data={"score": "5"}).status_code == 200
            forged = links[5][:-2] + ("AA" if not links[5].endswith("AA") else "BB")
            assert http.get(forged).status_code == 404
            page = http.get(urlsplit(str(FeedbackLinks("https://x", SECRET, SLUG, "kim@example.com"))).path)
            assert page.status_code == 200 and "checked" not in page.text  # {{ feedback_url }}: no score yet
        ratings = {(r.address, r.score, r.comment) for r in store.ratings(SLUG)}
    finally:
        store.close()
    assert ratings == {("kim@example.com", 2, "좋았어요"), ("lee@example.com", 5, "")}


def test_feedback_off_leaves_no_question_and_the_field_unknown(project: Path) -> None:
    config = CONFIG + "[feedback]\nenabled = false\n"
    write_project(project, config=config)
    text, html = built_message(project, "kim@example.com")
    assert "어떠셨나요" not in text + html and "/f/" not in text + html
    write_project(project, config=config, issue=ISSUE + "\n[의견]({{ feedback_url }})\n")
    with pytest.raises(TemplateError, match="feedback_url"):
        build_issue(load_settings(project / "webzine.toml"), project / "issues" / f"{SLUG}.md")


def test_lint_refuses_feedback_without_the_address_of_webzine_serve(tmp_path: Path) -> None:
    config = CONFIG.replace('[unsubscribe]\nbase_url = "https://news.example.co.kr/u"\n', "")
    project = write_project(tmp_path, config=config)
    rendered = build_issue(load_settings(project / "webzine.toml"), project / "issues" / f"{SLUG}.md")
    [finding] = [f for f in rendered.report.errors if f.code == "feedback-no-base-url"]
    assert "[unsubscribe] base_url" in finding.message and "[feedback] enabled = false" in finding.message
    write_project(tmp_path, config=config + textwrap.dedent("""
        [feedback]
        enabled = false
    """))
    assert build_issue(load_settings(project / "webzine.toml"), project / "issues" / f"{SLUG}.md").report.ok
