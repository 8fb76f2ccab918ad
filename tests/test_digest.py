"""The account manager's digest: after a send (outbox), with a seeded bounce, unsubscribe, rating
and reply, each customer is under the right manager with the right outcome and the right reason
to call; the HTML, text and CSV say so in Korean; `webzine digest write` writes the files."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

import managerkit
from conftest import write_config
from webzine.config import load_settings
from webzine.errors import IssueError
from webzine.i18n import activate
from webzine.render.issue import load_issue
from webzine.send.ledger import Ledger
from webzine.managers.digest import Digest, build_digests, digest_csv, render_digest
from webzine.managers.facts import Bounce, IssueFacts, Person
from webzine.managers.load import find_issue, load_facts, load_people
from webzine.managers.outcomes import Status, customer_outcomes, outcome
from webzine.recipients.clean import load_managers

SLUG = "2026-12-year-end"
TODAY = date(2026, 12, 10)


@pytest.fixture()
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WEBZINE_UNSUBSCRIBE_SECRET", managerkit.SECRET)
    return managerkit.sent_and_answered(tmp_path / "publication")


def digests_of(project: Path) -> dict[str, Digest]:
    settings = load_settings(project / "webzine.toml")
    people, not_mailed = load_people(settings, TODAY)
    with Ledger.open(settings.path(settings.send.ledger)) as ledger:
        facts = load_facts(settings, load_issue(project / "issues" / f"{SLUG}.md"), ledger, not_mailed=not_mailed)
    built = build_digests(customer_outcomes(people, facts), load_managers(settings.path(settings.lists.managers)), facts)
    return {d.manager_id: d for d in built}


def test_each_customer_is_under_their_manager_with_the_right_outcome(sent: Path) -> None:
    digests = digests_of(sent)
    assert list(digests) == ["m1", "m2", ""]
    outcomes = {m: {o.person.email: o for o in d.customers} for m, d in digests.items()}
    assert set(outcomes["m1"]) == {"kim@example.com", "lee@example.com"}
    assert set(outcomes["m2"]) == {"park@example.com", "choi@example.com", "jung@example.com"}
    assert set(outcomes[""]) == {"han@example.com"}

    kim, lee = outcomes["m1"]["kim@example.com"], outcomes["m1"]["lee@example.com"]
    assert kim.status is Status.REHEARSED and kim.rating is not None and kim.rating.score == 2
    assert kim.calls == ("이번 호에 2점(조금 아쉬웠어요)을 주셨습니다: “배송 일정이 늦었어요”",)
    assert lee.reply is not None and lee.calls == ("12월 2일에 답장을 보내셨는데 아직 답하지 않았습니다 「Re: 12월 소식」",)

    park, choi, jung = (outcomes["m2"][a] for a in ("park@example.com", "choi@example.com", "jung@example.com"))
    assert park.status is Status.HARD and park.detail == "없는 주소"
    assert park.calls == ("핵심 고객인데 메일이 돌아왔습니다(없는 주소) — 맞는 주소를 여쭤 보세요",)
    assert choi.status is Status.REHEARSED and not choi.calls
    assert choi.unsubscribed is not None and choi.notes == ("12월 3일에 수신거부하셨습니다(수신거부 목록)",)
    assert jung.status is Status.NOT_SENT and jung.calls == ("핵심 고객인데 이번 호를 받지 못하셨습니다(발송 목록에 없음)",)

    han = outcomes[""]["han@example.com"]
    assert han.rating is not None and han.rating.score == 5 and not han.calls and not han.notes
    # key customers first, then the most pressing reason
    assert [o.person.email for o in digests["m2"].calls] == ["park@example.com", "jung@example.com"]
    assert digests["m1"].counts["unanswered"] == 1 and digests["m2"].counts["bounced"] == 1


def test_the_digest_reads_as_one_screen_in_korean(sent: Path) -> None:
    digest = digests_of(sent)["m2"]
    html, text = render_digest(digest, publication="초록상회 소식지")
    assert digest.subject == "[한 해를 돌아보며] 최담당 님 담당 고객 현황 — 전화 드려야 할 고객 2명"
    for part in (html, text):
        assert "최담당 님, 이번 호 담당 고객 현황입니다" in part
        assert "전화 드려야 할 고객 2명" in part and "살펴볼 고객 1명" in part
        assert part.index("박보검") < part.index("정하늘") < part.index("최민수")
        assert "핵심 고객은 2명 중 0명에게 보냈습니다." in part  # an outbox send is a rehearsal
        assert "연습 발송(outbox)이라 1명에게 실제로는 보내지 않았습니다" in part
    assert "<script" not in html and "prefers-color-scheme: dark" in html


def test_csv_has_every_customer_and_defuses_formulas(sent: Path) -> None:
    digests = digests_of(sent)
    rows = list(csv.reader(io.StringIO(digest_csv(digests.values()).lstrip("\ufeff"))))
    assert rows[0][:4] == ["담당자", "고객", "회사", "이메일"]
    assert sorted(r[3] for r in rows[1:]) == sorted(
        ["kim@example.com", "lee@example.com", "park@example.com", "choi@example.com", "jung@example.com", "han@example.com"])
    facts = IssueFacts(SLUG, "제목", date(2026, 12, 1), bounces={"x@example.com": Bounce("hard", "user_unknown")})
    evil = outcome(Person("x@example.com", name="=HYPERLINK(\"http://evil\")", manager="m1"), facts)
    [row] = list(csv.reader(io.StringIO(digest_csv([Digest(SLUG, "제목", "", "m1", None, [evil], [], [])]).lstrip("\ufeff"))))[1:]
    assert row[1].startswith("'=")


def test_a_bounce_suggests_the_probable_right_address() -> None:
    facts = IssueFacts(SLUG, "제목", date(2026, 12, 1), bounces={
        "kim@naver.con": Bounce("hard", "host_unknown"),
        "lee@example.com": Bounce("hard", "has_moved", diagnostic="551 5.1.6 user has moved to lee.new@example.org"),
    })
    assert outcome(Person("kim@naver.con", key_customer=True), facts).suggestion == "kim@naver.com"
    moved = outcome(Person("lee@example.com", key_customer=True), facts)
    assert moved.suggestion == "lee.new@example.org"
    assert moved.calls == ("핵심 고객인데 메일이 돌아왔습니다(주소가 바뀜) — 혹시 lee.new@example.org인지 여쭤 보세요",)


def test_digest_write_puts_html_and_csv_per_manager(sent: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert managerkit.run(sent, "digest", "write", SLUG, "--today", "2026-12-10") == 0
    folder = sent / "build" / "digests" / SLUG
    assert sorted(p.name for p in folder.iterdir()) == ["all.csv", "m1.csv", "m1.html", "m2.csv", "m2.html",
                                                         "no-manager.csv", "no-manager.html"]
    assert "박영업 님, 이번 호 담당 고객 현황입니다" in (folder / "m1.html").read_text(encoding="utf-8")
    assert str(folder) in capsys.readouterr().out


def test_who_was_not_mailed_for_consent_is_who_the_cleaner_rejected(project: Path) -> None:
    """One consent rule: dates the cleaner reads in any editor's format, a date it cannot read
    counts as missing — the digest says so for the same people the cleaner kept out."""
    from webzine.managers.load import _NOT_MAILED
    from webzine.recipients.clean import clean_list
    from webzine.recipients.records import RejectReason

    (project / "lists" / "subscribers.csv").write_text(
        "email,name,consent_at\n"
        "kim@example.com,김갑수,2020.01.05\n"  # too old, in a format other than ISO
        "lee@example.com,이을순,작년 봄\n"  # not a date: missing
        "park@example.com,박,2026년 1월 2일\n", encoding="utf-8")  # recent
    settings = load_settings(project / "webzine.toml")
    _, not_mailed = load_people(settings, TODAY)
    cleaned = clean_list(settings.path(settings.lists.subscribers), advertising=True, today=TODAY)
    assert {r.email: r.reason for r in cleaned.rejects} == {
        "kim@example.com": RejectReason.CONSENT_EXPIRED, "lee@example.com": RejectReason.CONSENT_MISSING}
    assert not_mailed == {"kim@example.com": _NOT_MAILED[RejectReason.CONSENT_EXPIRED],
                          "lee@example.com": _NOT_MAILED[RejectReason.CONSENT_MISSING]}


def test_an_unknown_issue_in_korean(tmp_path: Path) -> None:
    activate("ko")
    settings = load_settings(write_config(tmp_path))
    with pytest.raises(IssueError) as info:
        find_issue(settings, "2027-01")
    assert (info.value.message, info.value.hint) == (
        f"{tmp_path.resolve() / 'issues'}에 slug가 '2027-01'인 호가 없습니다.", "issues/*.md 파일이나 호의 slug를 지정하세요.")
