"""Reader feedback: signed 1–5 links, the page, the POST that records, and `webzine feedback report`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest

from serve_support import SECRET, SUBSCRIBERS, running_server, write_project
from webzine.web.feedback import build_report, feedback_links, feedback_token, read_segments
from webzine.unsubscribes.store import Rating, Store

ISSUE = "2026-12-year-end"


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", SECRET)
    settings = write_project(tmp_path, '[unsubscribe]\nbase_url = "https://news.example.co.kr/u"\n[serve]\nnotify = false\n')
    (tmp_path / "lists" / "managers.csv").write_text(
        "id,name,email,phone\nm1,김영업,sales1@example.co.kr,010-0000-0001\nm2,박담당,sales2@example.co.kr,010-0000-0002\n",
        encoding="utf-8",
    )
    (tmp_path / "issues").mkdir()
    (tmp_path / "issues" / f"{ISSUE}.md").write_text(
        "---\ntitle: 한 해를 돌아보며\nsubject: 12월 소식\ndate: 2026-12-01\n---\n본문\n", encoding="utf-8"
    )
    return settings


@pytest.fixture()
def store(settings):
    opened = Store.from_settings(settings)
    yield opened
    opened.close()


@pytest.fixture()
def client(settings, store):
    with running_server(settings, store) as url, httpx.Client(base_url=url, follow_redirects=False) as http:
        yield http


def path_of(link: str) -> str:
    return urlsplit(link).path


def test_links_are_per_recipient_per_score(settings):
    links = feedback_links(settings, SECRET, ISSUE, "hong@example.com")
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert links[5].startswith(f"https://news.example.co.kr/f/{ISSUE}/5/")
    assert "hong" not in "".join(links.values())
    assert links != feedback_links(settings, SECRET, ISSUE, "kim@example.org")
    assert links != feedback_links(settings, SECRET, "2027-01-new-year", "hong@example.com")


def test_a_click_shows_the_question_and_records_nothing(client, store, settings):
    link = feedback_links(settings, SECRET, ISSUE, "hong@example.com")[4]
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert "이번 호는 어떠셨나요?" in page.text and "한 해를 돌아보며" in page.text
    assert re.search(r'value="4" checked', page.text)
    assert page.headers["cache-control"] == "no-store"
    assert store.ratings(ISSUE) == []


def test_sending_the_form_records_score_and_comment(client, store, settings):
    link = path_of(feedback_links(settings, SECRET, ISSUE, "hong@example.com")[4])
    sent = client.post(link, data={"score": "5", "comment": "  새해 일정이\n 유용했어요  "})
    assert sent.status_code == 200 and "소중한 의견 감사합니다" in sent.text
    again = client.post(link, files={"score": (None, "3")})  # multipart works too; an empty comment keeps the old one
    assert again.status_code == 200
    [rating] = store.ratings(ISSUE)
    assert (rating.address, rating.score, rating.comment) == ("hong@example.com", 3, "새해 일정이 유용했어요")


def test_bad_links_and_bad_scores(client, store, settings):
    good = path_of(feedback_links(settings, SECRET, ISSUE, "hong@example.com")[2])
    _, _, issue, score, token = good.split("/")
    bad = {
        "other score": f"/f/{issue}/3/{token}",
        "other issue": f"/f/2027-01-new-year/{score}/{token}",
        "forged": f"/f/{issue}/{score}/{feedback_token('guess', issue, 'hong@example.com', 2)}",
        "truncated": f"/f/{issue}/{score}/{token[:-1]}",
        "stranger": f"/f/{issue}/{score}/{feedback_token(SECRET, issue, 'stranger@example.com', 2)}",
        "score out of range": f"/f/{issue}/9/{token}",
    }
    bodies = set()
    for name, path in bad.items():
        for response in (client.get(path), client.post(path, data={"score": "5"})):
            assert response.status_code == 404, name
            bodies.add(response.text)
    assert len(bodies) == 1
    assert client.post(good, data={"score": "6"}).status_code == 400
    assert client.post(good, data={"score": "five"}).status_code == 400
    assert store.ratings(ISSUE) == []


def test_report_per_segment_and_manager(settings):
    ratings = [
        Rating(ISSUE, SUBSCRIBERS[0], 5, "좋아요", "2026-12-02T00:00:00+00:00"),  # retail, m2
        Rating(ISSUE, SUBSCRIBERS[1], 3, "", "2026-12-02T00:01:00+00:00"),  # vip, m1
        Rating(ISSUE, SUBSCRIBERS[3], 4, "", "2026-12-02T00:02:00+00:00"),  # vip, m1
        Rating(ISSUE, "gone@example.com", 1, "그만 받을게요", "2026-12-02T00:03:00+00:00"),
    ]
    segments = read_segments(settings.path(settings.lists.subscribers))
    report = build_report(ISSUE, ratings, segments, {"m1": "김영업", "m2": "박담당"})
    data = report.as_dict()
    assert data["overall"] == {"responses": 4, "mean": 3.25, "distribution": {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1}}
    assert {k: v["responses"] for k, v in data["segments"].items()} == {"(목록에 없음)": 1, "retail": 1, "vip": 2}
    assert data["segments"]["vip"]["mean"] == 3.5
    assert {k: v["mean"] for k, v in data["managers"].items()} == {"(담당자 없음)": 1.0, "김영업": 3.5, "박담당": 5.0}
    assert data["comments"] == [{"score": 5, "comment": "좋아요"}, {"score": 1, "comment": "그만 받을게요"}]


def run_cli(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from webzine.cli import main; main()", "--config", str(settings.root / "webzine.toml"), *args],
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.slow
def test_feedback_report_command(client, settings, store):
    for address, score in (("hong@example.com", 5), ("kim@example.org", 2)):
        client.post(path_of(feedback_links(settings, SECRET, ISSUE, address)[score]), data={"score": str(score)})
    result = run_cli(settings, "feedback", "report", ISSUE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"이번 호는 어떠셨나요? — {ISSUE}"
    assert re.match(r"전체\s+2\s+3\.50\s+0\s+1\s+0\s+0\s+1$", lines[3])
    assert any(re.match(r"\s+김영업\s+1\s+2\.00", line) for line in lines)
    assert any(re.match(r"\s+retail\s+1\s+5\.00", line) for line in lines)
    as_json = run_cli(settings, "feedback", "report", ISSUE, "--json")
    assert json.loads(as_json.stdout)["overall"]["responses"] == 2


@pytest.mark.slow
def test_feedback_report_with_no_answers_yet(settings):
    result = run_cli(settings, "feedback", "report", "2027-01-new-year")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "아직 응답이 없습니다."


HOSTILE = "좋아요 👍\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[H\x9b31m\u202e끝"


@pytest.mark.slow
def test_feedback_report_does_not_pass_escape_sequences_to_the_terminal(client, settings, store):
    """A comment (and names from the lists) cannot retitle the window, write the clipboard or
    clear the screen; --json still carries the comment exactly as the reader wrote it."""
    managers = settings.path(settings.lists.managers)
    managers.write_text(managers.read_text(encoding="utf-8").replace("김영업", "김영업\x1b[8m"), encoding="utf-8")
    link = feedback_links(settings, SECRET, ISSUE, "kim@example.org")[2]
    assert client.post(path_of(link), data={"score": "2", "comment": HOSTILE}).status_code < 400
    result = run_cli(settings, "feedback", "report", ISSUE)
    assert result.returncode == 0, result.stderr
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", result.stdout)
    assert "  [2점] 좋아요 👍끝" in result.stdout.splitlines()
    assert any(re.match(r"\s+김영업\s+1\s+2\.00", line) for line in result.stdout.splitlines())
    as_json = run_cli(settings, "feedback", "report", ISSUE, "--json")
    assert json.loads(as_json.stdout)["comments"] == [{"score": 2, "comment": HOSTILE}]
