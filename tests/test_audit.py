"""Key-customer audit: one outcome per key customer, every gap reason, every way an address can be
written differently and still be present, suggestions, excused gaps, and a realistic end-to-end
run against an answer key."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import TODAY, write_config

from webzine.audit.audit import SCHEMA_FIELDS, Outcome, audit, reconcile, run_audit
from webzine.send.inputs import load_audience, load_key_customers
from webzine.config import load_settings
from webzine.errors import ListError
from webzine.i18n import activate
from webzine.models import Suppression, SuppressionReason
from webzine.recipients.clean import clean_list

TODAY = date(2026, 11, 23)
FRESH = "2026-06-01"
STALE = "2023-01-01"


def csv_file(path: Path, header: str, rows: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
    return path


def run(tmp_path: Path, subscribers: list[str], keys: list[str], *, suppressions=(), advertising=True,
        key_encoding="utf-8-sig"):
    subs = csv_file(tmp_path / "subscribers.csv", "email,name,company,manager,consent_at", subscribers, "cp949")
    key_file = csv_file(tmp_path / "key-customers.csv", "email,name,company,manager,excused", keys, key_encoding)
    suppressed = {s.key: s for s in suppressions}
    clean = clean_list(subs, suppressions=suppressed, advertising=advertising, today=TODAY)
    report = audit(key_file, clean, suppressed, issue="2026-12")
    assert report.key_customers == len(report.outcomes) == report.present + len(report.gaps)
    return report


def outcome_of(report, email: str):
    (found,) = [o for o in report.outcomes if o.email == email]
    return found


def test_every_reason(tmp_path):
    suppressions = [Suppression(f"{reason.value}@naver.com", reason, date(2026, 3, 1), "bounce", "550 5.1.1")
                    for reason in SuppressionReason]
    subscribers = [f"{reason.value}@naver.com,{reason.value},회사,m1,{FRESH}" for reason in SuppressionReason]
    subscribers += [f"here@naver.com,여기,회사,m1,{FRESH}", f"stale@naver.com,오래,회사,m1,{STALE}",
                    "noconsent@naver.com,무동의,회사,m1,"]
    keys = [f"{reason.value}@naver.com,{reason.value},회사,m1," for reason in SuppressionReason]
    keys += ["here@naver.com,여기,회사,m1,", "stale@naver.com,오래,회사,m1,", "noconsent@naver.com,무동의,회사,m1,",
             "absent@naver.com,없음,회사,m2,", "broken@,깨짐,회사,m2,", ",주소없음,회사,m2,",
             "typo@naver.con,오타,회사,m2,"]
    report = run(tmp_path, subscribers, keys, suppressions=suppressions)
    got = {o.email: o.outcome.value for o in report.outcomes}
    assert got == {
        "unsubscribed@naver.com": "unsubscribed", "hard_bounce@naver.com": "hard_bounce",
        "soft_bounce_limit@naver.com": "soft_bounce_limit", "complaint@naver.com": "complaint",
        "manual@naver.com": "manual", "here@naver.com": "present", "stale@naver.com": "consent_expired",
        "noconsent@naver.com": "consent_expired", "absent@naver.com": "not_on_list",
        "broken@": "invalid_address", "": "invalid_address", "typo@naver.con": "invalid_address",
    }
    assert outcome_of(report, "hard_bounce@naver.com").detail == "suppressed since 2026-03-01 by bounce: 550 5.1.1"
    assert outcome_of(report, "stale@naver.com").detail == (
        "subscriber list row 8: consent given 2023-01-01, older than the limit; ask for consent again")
    assert outcome_of(report, "noconsent@naver.com").detail == (
        "subscriber list row 9: no consent date; ask for consent again")
    typo = outcome_of(report, "typo@naver.con")
    assert (typo.suggestion, typo.suggestion_rule) == ("typo@naver.com", "typo_domain")
    assert report.ok is False and report.present == 1 and report.excused == 0


def test_informational_issues_reach_old_consent(tmp_path):
    report = run(tmp_path, [f"stale@naver.com,오래,회사,m1,{STALE}"], ["stale@naver.com,오래,회사,m1,"],
                 advertising=False)
    assert report.ok and report.outcomes[0].outcome is Outcome.PRESENT


def test_suppressed_customers_are_gaps_even_when_not_on_the_list(tmp_path):
    gone = [Suppression("left@naver.com", SuppressionReason.UNSUBSCRIBED, date(2026, 10, 1), "serve")]
    report = run(tmp_path, [f"other@naver.com,x,y,m1,{FRESH}"], ["Left@Naver.com,떠남,회사,m1,"], suppressions=gone)
    (gap,) = report.gaps
    assert (gap.email, gap.reason.value, gap.detail) == ("Left@Naver.com", "unsubscribed",
                                                          "suppressed since 2026-10-01 by serve")


@pytest.mark.parametrize("on_list, in_key_file", [
    ("kim@naver.com", "KIM@NAVER.COM"),
    ("Kim.GapSu@Naver.com", "kim.gapsu@naver.com"),
    ("kim@naver.com", "  kim@naver.com  "),
    ("kim@naver.com", "kim＠naver.com"),
    ("kim＠ｎａｖｅｒ.com", "kim@naver.com"),
    ("kim@naver.com", "\u200bkim@naver.com\u200b"),
    ("kim@naver.com", "김갑수 <kim@naver.com>"),
    ("\"김갑수\" <Kim@naver.com>", "mailto:kim@naver.com"),
    ("kim@한국.kr", "kim@xn--3e0b707e.kr"),
])
def test_written_differently_is_present(tmp_path, on_list, in_key_file):
    report = run(tmp_path, [f"{on_list},김갑수,한빛,m1,{FRESH}"], [f"{in_key_file},김갑수,한빛,m1,"])
    assert report.ok and report.present == 1 and report.gaps == []


def test_listed_twice_in_either_file_is_one_present_customer(tmp_path):
    report = run(tmp_path, [f"kim@naver.com,김,한빛,m1,{FRESH}", f"KIM@naver.com,김,한빛,m1,{FRESH}"],
                 ["kim@naver.com,김갑수,한빛,m1,", "Kim@Naver.com,김갑수,한빛,m1,", "lee@daum.net,이,푸른,m2,"])
    assert (report.key_customers, report.present, len(report.gaps)) == (2, 1, 1)
    assert report.duplicate_rows == [3]
    assert report.notes == [f"{tmp_path / 'key-customers.csv'} rows 3 repeat an earlier key customer"]


def test_excused_gaps_stay_visible_but_do_not_fail(tmp_path):
    report = run(tmp_path, [f"kim@naver.com,김,한빛,m1,{FRESH}"],
                 ["kim@naver.com,김,한빛,m1,담당 변경 — 필요 없음", "gone@naver.com,떠남,폐업,m2,11월 폐업 확인 (2026-11-20)"])
    assert report.ok is True
    assert (report.present, report.excused) == (1, 1)
    (gap,) = report.gaps
    assert (gap.email, gap.reason.value, gap.excused) == ("gone@naver.com", "not_on_list", "11월 폐업 확인 (2026-11-20)")
    assert report.unexcused == []


@pytest.mark.parametrize("on_list, key, rule", [
    ("kim@naver.con", "kim@naver.com", "typo_domain"),
    ("kim@navr.com", "kim@naver.com", "typo_domain"),
    ("kim@hanmail.net", "kim@hanmial.net", None),  # the key file's own typo: invalid_address
    ("gapsu.kin@naver.com", "gapsu.kim@naver.com", "local_typo"),
    ("gapsuk.im@naver.com", "gapsu.kim@naver.com", "local_typo"),
    ("kimgapsu@naver.com", "kimgapsoo@naver.com", None),  # two edits: not a local typo
    ("gs.kim@hanbit.co.kr", "kim.gapsu@gmail.com", "same_name_company"),
    ("kim.gapsu@newjob.co.kr", "kim.gapsu@hanbit.co.kr", "same_local_part"),
])
def test_suggestions(tmp_path, on_list, key, rule):
    company = "(주)한빛테크" if rule == "same_name_company" else "다른회사"
    report = run(tmp_path, [f"{on_list},김갑수,{company},m1,{FRESH}", f"filler@daum.net,채움,x,m1,{FRESH}"],
                 [f"{key},김갑수,한빛테크 주식회사,m1,"])
    (gap,) = report.gaps
    if rule is None and gap.reason is Outcome.NOT_ON_LIST:
        assert gap.suggestion is None
        return
    if gap.reason is Outcome.INVALID_ADDRESS:
        assert (gap.suggestion, gap.suggestion_rule) == ("kim@hanmail.net", "typo_domain")
        assert "kim@hanmail.net is on the list at row 2" in gap.detail
        return
    assert (gap.suggestion, gap.suggestion_rule) == (on_list, rule)
    assert f"probably {on_list} (on the list at row 2" in gap.detail


def test_short_or_role_local_parts_are_not_suggested_across_domains(tmp_path):
    report = run(tmp_path, [f"info@other.co.kr,x,y,m1,{FRESH}", f"kim@other.co.kr,x,y,m1,{FRESH}"],
                 ["info@hanbit.co.kr,대표메일,한빛,m1,", "kim@hanbit.co.kr,김,한빛,m1,"])
    assert [gap.suggestion for gap in report.gaps] == [None, None]


def test_schema_is_exactly_the_documented_one(tmp_path):
    report = run(tmp_path, [f"kim@naver.con,김갑수,한빛테크,m2,{FRESH}"], ["kim@naver.com,김갑수,한빛테크,m2,"])
    document = report.schema()
    assert list(document) == ["ok", "issue", "key_customers", "present", "excused", "gaps"]
    assert set(document) == SCHEMA_FIELDS
    (gap,) = document["gaps"]
    assert list(gap) == ["email", "name", "company", "manager", "reason", "detail", "suggestion",
                         "suggestion_rule", "excused"]
    assert {k: gap[k] for k in ("email", "name", "company", "manager", "reason", "suggestion",
                                "suggestion_rule", "excused")} == {
        "email": "kim@naver.com", "name": "김갑수", "company": "한빛테크", "manager": "m2",
        "reason": "not_on_list", "suggestion": "kim@naver.con", "suggestion_rule": "typo_domain", "excused": None}
    assert document["ok"] is False and document["issue"] == "2026-12"


def test_manager_falls_back_to_the_subscriber_list(tmp_path):
    report = run(tmp_path, [f"kim@naver.com,김,한빛,m7,{STALE}"], ["kim@naver.com,김,한빛,,"])
    assert report.gaps[0].manager == "m7"


# -- the send gate --------------------------------------------------------------------------------




def project(tmp_path: Path, keys: list[str] | None) -> Path:
    write_config(tmp_path)
    (tmp_path / "lists").mkdir()
    csv_file(tmp_path / "lists" / "subscribers.csv", "email,name,company,manager,consent_at",
             [f"kim@naver.com,김,한빛,m1,{(TODAY - timedelta(days=10)).isoformat()}",
              f"old@naver.com,오래,한빛,m1,{STALE}"], "cp949")
    (tmp_path / "lists" / "managers.csv").write_text("id,name,email\nm1,박영업,young@example.co.kr\n", encoding="utf-8")
    if keys is not None:
        csv_file(tmp_path / "lists" / "key-customers.csv", "email,name,company,manager,excused", keys)
    return tmp_path


def test_the_send_audit_uses_the_issues_advertising_flag(tmp_path):
    settings = load_settings(project(tmp_path, ["kim@naver.com,김,한빛,m1,", "old@naver.com,오래,한빛,m1,"])
                             / "webzine.toml")
    keys = load_key_customers(settings)
    for advertising, slug, expected in ((True, "2026-12-sale", ["consent_expired"]), (False, "2026-12-news", [])):
        issue = SimpleNamespace(advertising=advertising, slug=slug, source=f"issues/{slug}.md")
        audience = load_audience(settings, issue, today=TODAY)
        report = reconcile(keys.rows, keys.source, audience.clean, audience.suppressions, issue=slug)
        assert (report.ok, report.issue, [g.reason.value for g in report.gaps]) == (not expected, slug, expected)


def test_reconcile_reads_no_file(tmp_path):
    root = project(tmp_path, ["kim@naver.com,김,한빛,m1,"])
    settings = load_settings(root / "webzine.toml")
    keys = load_key_customers(settings)
    clean = clean_list(root / "lists" / "subscribers.csv", advertising=True, today=TODAY)
    for name in ("subscribers.csv", "key-customers.csv"):
        (root / "lists" / name).unlink()  # proves neither is read again
    report = reconcile(keys.rows, keys.source, clean, {}, issue="x")
    assert report.ok and report.present == 1


def test_a_missing_key_customer_file_fails_closed(tmp_path):
    settings = load_settings(project(tmp_path, None) / "webzine.toml")
    with pytest.raises(ListError, match=r"key-customers\.csv: the key-customer file named in webzine.toml does not exist"):
        load_key_customers(settings)


def test_a_key_customer_file_with_no_rows_fails_closed(tmp_path):
    settings = load_settings(project(tmp_path, []) / "webzine.toml")
    with pytest.raises(ListError, match="lists nobody"):
        load_key_customers(settings)


def test_no_key_customers_is_an_explicit_choice(tmp_path):
    root = project(tmp_path, None)
    write_config(root, '[lists]\nkey_customers = ""')
    keys = load_key_customers(load_settings(root / "webzine.toml"))
    assert keys.none_by_choice and "key_customers = \"\"" in keys.note


def test_run_audit_needs_its_files(tmp_path):
    with pytest.raises(ListError, match="no key-customers file"):
        run_audit(None, advertising=True, subscribers=tmp_path / "s.csv", suppressed={}, today=TODAY)
    with pytest.raises(ListError, match="no such file"):
        run_audit(None, advertising=True, subscribers=tmp_path / "s.csv", key_customers=tmp_path / "k.csv",
                  suppressed={}, today=TODAY)


# -- end to end: 5,000 subscribers in CP949, a UTF-8-BOM key list with seeded gaps ----------------


def test_realistic_audit_against_an_answer_key(tmp_path):
    rng = random.Random(20261201)
    surnames, given = "김이박최정강조윤장임한오서신권황안송류전", "민서준지현우도하윤수예은주원진아연성호영"
    domains = ["naver.com", "gmail.com", "daum.net", "hanmail.net", "nate.com", "hanbit.co.kr"]
    subscribers, people = [], []
    for i in range(5000):
        name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
        company = f"{rng.choice(['한빛', '푸른', '새솔', '다온'])}{rng.choice(['테크', '상사', '식품'])}"
        email = f"user{i:04d}.{rng.choice(['kim', 'lee', 'park'])}@{rng.choice(domains)}"
        consent = (TODAY - timedelta(days=rng.randrange(0, 700))).isoformat()
        people.append((email, name, company, f"m{i % 5 + 1}"))
        subscribers.append([email, name, company, f"m{i % 5 + 1}", consent])
    answer: dict[str, tuple[str, str | None]] = {}
    keys: list[str] = []

    def key_row(email: str, person, excused: str = "") -> None:
        keys.append(f"{email},{person[1]},{person[2]},{person[3]},{excused}")

    # 40 present, written the way a CRM export writes them
    for n, i in enumerate(range(0, 400, 10)):
        person = people[i]
        forms = [person[0].upper(), f" {person[0]} ", person[0].replace("@", "＠"), f"{person[1]} <{person[0]}>",
                 "\u200b" + person[0]]
        key_row(forms[n % len(forms)], person)
        answer[forms[n % len(forms)].strip()] = ("present", None)
    seeded = {
        "unsubscribed": people[1000], "hard_bounce": people[1001], "soft_bounce_limit": people[1002],
        "complaint": people[1003], "manual": people[1004],
    }
    suppressions = {}
    for reason, person in seeded.items():
        suppressions[person[0]] = Suppression(person[0], SuppressionReason(reason), date(2026, 5, 5), "test")
        key_row(person[0], person)
        answer[person[0]] = (reason, None)
    # consent expired on the list
    subscribers[1100][4] = "2022-02-02"
    key_row(people[1100][0], people[1100])
    answer[people[1100][0]] = ("consent_expired", None)
    # typo domain on the list (the list has .con), the key file has it right
    local, _, domain = people[1200][0].partition("@")
    subscribers[1200][0] = f"{local}@{domain.replace('.com', '.con').replace('.net', '.nte').replace('.co.kr', '.co.kt')}"
    key_row(people[1200][0], people[1200])
    answer[people[1200][0]] = ("not_on_list", "typo_domain")
    # moved jobs: same name and company, another address
    subscribers[1300][0] = f"new.{people[1300][0]}"
    key_row(people[1300][0].replace("@", ".old@"), people[1300])
    answer[people[1300][0].replace("@", ".old@")] = ("not_on_list", "same_name_company")
    # invalid in the key file, nobody at all, and an excused gap
    keys.append("no-at-sign.example.com,무명,회사,m1,")
    answer["no-at-sign.example.com"] = ("invalid_address", None)
    keys.append("stranger@nowhere.co.kr,낯선이,없는회사,m2,")
    answer["stranger@nowhere.co.kr"] = ("not_on_list", None)
    keys.append("retired@nowhere.co.kr,은퇴,없는회사,m2,2026-10 은퇴 확인")
    answer["retired@nowhere.co.kr"] = ("not_on_list", None)
    rng.shuffle(keys)

    subs = csv_file(tmp_path / "subscribers.csv", "이메일,이름,회사명,담당자,수신동의일", [",".join(r) for r in subscribers],
                    "cp949")
    key_file = csv_file(tmp_path / "key-customers.csv", "이메일,이름,회사,담당자,예외사유", keys, "utf-8-sig")
    assert key_file.read_bytes().startswith(b"\xef\xbb\xbf") and subs.read_bytes().decode("cp949")
    clean = clean_list(subs, suppressions=suppressions, advertising=True, today=TODAY)
    report = audit(key_file, clean, suppressions, issue="2026-12-year-end")
    got = {o.email.strip(): (o.outcome.value, o.suggestion_rule) for o in report.outcomes}
    assert got == answer
    assert report.key_customers == len(answer) and report.present == 40
    assert report.excused == 1 and report.ok is False


def test_gap_details_in_korean(tmp_path):
    activate("ko")
    report = run(tmp_path, [f"kim.gapsu@hanbit.co.kr,김갑수,한빛,m1,{FRESH}", f"stale@naver.com,오래,회사,m1,{STALE}",
                            f"left@naver.com,떠남,회사,m1,{FRESH}"],
                 ["kim.gapsu@newjob.co.kr,김갑수,새회사,m1,", "stale@naver.com,오래,회사,m1,", "left@naver.com,떠남,회사,m1,"],
                 suppressions=[Suppression("left@naver.com", SuppressionReason.UNSUBSCRIBED, date(2026, 3, 1), "webform")])
    assert [gap.detail for gap in report.gaps] == [
        "구독자 목록에 없습니다. kim.gapsu@hanbit.co.kr일 가능성이 높습니다(목록 2행에 있음)",
        "구독자 목록 3행: 2023-01-01에 수신 동의함, 유효 기간이 지났습니다. 수신 동의를 다시 받으세요",
        "2026-03-01부터 발송 제외(webform)"]
