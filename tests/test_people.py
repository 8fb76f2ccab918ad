"""Who the customers are (`managers.people`): the subscriber list read column-wise gives the same
people as the cleaner's per-cell rules — the common address shape by polars, every odd cell by the
normaliser — the first row of an address counting, and the key-customer file folded in (the
expected values are those of the per-row reader this replaced)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from conftest import CONFIG, write_project
from webzine.config import load_settings
from webzine.managers.load import load_people
from webzine.managers.people import read_people

TODAY = date(2026, 12, 10)
LIST = """\
email,name,company,manager,consent_at,segment
Kim@Example.com, 김갑수 ,갑수상사,m1,2026-06-01,vip
KIM@example.com,두번째,,m2,2026-06-01,
＂이을수＂ <LEE＠Example.COM>,이을수,을수상사,m1,2026-06-01,
INFO@Example.com,안내,,m2,2026-06-01,
park@naver.con,박병수,,m2,2026-06-01,
park@naver.com,박병수2,,m2,2026-06-01,
,빈칸,,m1,2026-06-01,
not an address,이상,,m1,2026-06-01,
choi@example.com,최정수,,m2,,
jung@example.com,정무수,,m2,2019-01-01,
han@example.com,한,,,2026-06-01
"""
KEYS = """\
email,name,company,manager
kim@example.com,다른이름,다른회사,m9
gone@example.com,없는고객,없는회사,m3
gone@example.com,,,m4
"""


def test_the_list_column_wise_keeps_each_cells_own_rules(tmp_path: Path) -> None:
    project = write_project(tmp_path / "publication", config=CONFIG)
    (project / "lists" / "subscribers.csv").write_text(LIST, encoding="utf-8")
    (project / "lists" / "key-customers.csv").write_text(KEYS, encoding="utf-8")
    settings = load_settings(project / "webzine.toml")

    people, not_mailed = load_people(settings, TODAY)

    assert [(k, p.email, p.name, p.manager, p.key_customer, p.segment) for k, p in people.items()] == [
        ("kim@example.com", "Kim@example.com", "김갑수", "m9", True, "vip"),  # the first row counts; the key file's manager
        ("lee@example.com", "LEE@example.com", "이을수", "m1", False, ""),  # full-width, display name: the normaliser
        ("info@example.com", "info@example.com", "안내", "m2", False, ""),  # RFC 2142 names are lowercased
        ("park@naver.con", "park@naver.con", "박병수", "m2", False, ""),  # a typo domain: kept, not mailed
        ("park@naver.com", "park@naver.com", "박병수2", "m2", False, ""),
        ("not an address", "not an address", "이상", "m1", False, ""),  # kept as written: not mailed
        ("choi@example.com", "choi@example.com", "최정수", "m2", False, ""),
        ("jung@example.com", "jung@example.com", "정무수", "m2", False, ""),
        ("han@example.com", "han@example.com", "한", "", False, ""),  # a short row
        ("gone@example.com", "gone@example.com", "없는고객", "m4", True, ""),  # not on the list: after everyone
    ]  # fmt: skip
    assert not_mailed == {"park@naver.con": "주소 오타", "not an address": "주소 형식 오류", "choi@example.com": "수신 동의 기록 없음",
                          "jung@example.com": "수신 동의 기간 만료"}
    assert read_people(settings, TODAY).columns == ["key", "email", "name", "company", "manager", "key_customer",
                                                    "segment", "not_mailed"]
