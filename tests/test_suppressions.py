"""The suppression list: read in any encoding, merged (never overwritten) under a lock, replaced
atomically, with the strongest reason kept and the earlier one kept as evidence."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date
from pathlib import Path

import pytest

from webzine.errors import ListError
from webzine.i18n import activate
from webzine.models import Suppression, SuppressionReason as Reason
from webzine.recipients.suppressions import MergeCounts, load_suppressions, merge_suppressions, write_suppressions


def test_missing_file_means_nobody_is_suppressed(tmp_path):
    assert load_suppressions(tmp_path / "suppressions.csv") == {}


def test_loads_any_encoding_and_normalises_addresses(tmp_path):
    path = tmp_path / "suppressions.csv"
    path.write_bytes(("email,reason,since,source,detail\r\n"
                      " Kim＠NAVER.com ,unsubscribed,2026-03-01,webform,수신거부 버튼\r\n"
                      "lee@daum.net,수신거부,,,\r\n"
                      "park@nate.com,Hard-Bounce,2026-04-01T10:00:00,bounce,550 5.1.1\r\n"
                      "not an address,manual,,,\r\n"
                      ",,,,\r\n").encode("cp949"))
    found = load_suppressions(path)
    assert list(found) == ["kim@naver.com", "lee@daum.net", "park@nate.com", "not an address"]
    kim = found["kim@naver.com"]
    assert (kim.email, kim.reason, kim.since, kim.source, kim.detail) == (
        "Kim@naver.com", Reason.UNSUBSCRIBED, date(2026, 3, 1), "webform", "수신거부 버튼")
    assert found["lee@daum.net"].reason is Reason.UNSUBSCRIBED
    assert found["park@nate.com"].since == date(2026, 4, 1)


@pytest.mark.parametrize("row, message", [
    ("kim@naver.com,gone,,,", "row 2: unknown suppression reason 'gone'; use one of unsubscribed, hard_bounce,"),
    ("kim@naver.com,manual,last spring,,", "row 2: cannot read the date 'last spring'; write it as YYYY-MM-DD."),
    (",manual,,,", "row 2: the suppression has no email"),
])
def test_bad_rows_are_errors_naming_the_row(tmp_path, row, message):
    path = tmp_path / "suppressions.csv"
    path.write_text("email,reason,since,source,detail\n" + row + "\n", encoding="utf-8")
    with pytest.raises(ListError, match=message):
        load_suppressions(path)


def test_the_same_address_twice_keeps_the_strongest_reason(tmp_path):
    path = tmp_path / "suppressions.csv"
    path.write_text("email,reason,since\nkim@naver.com,hard_bounce,2026-01-01\nKIM@naver.com,complaint,2026-02-01\n"
                    "kim@naver.com,soft_bounce_limit,2026-03-01\n", encoding="utf-8")
    (entry,) = load_suppressions(path).values()
    assert (entry.reason, entry.since) == (Reason.COMPLAINT, date(2026, 2, 1))
    assert entry.detail == "earlier: hard_bounce since 2026-01-01"


def test_merge_creates_adds_upgrades_and_keeps_evidence(tmp_path):
    path = tmp_path / "lists" / "suppressions.csv"
    counts = merge_suppressions(path, [Suppression("Kim@Naver.com ", Reason.HARD_BOUNCE, date(2026, 1, 1),
                                                   "bounce", "550 5.1.1 user unknown")])
    assert counts == MergeCounts(added=1)
    counts = merge_suppressions(path, [
        Suppression("kim@naver.com", Reason.UNSUBSCRIBED, date(2026, 2, 1), "serve", "List-Unsubscribe-Post"),
        Suppression("kim@naver.com", Reason.SOFT_BOUNCE_LIMIT, date(2026, 3, 1), "bounce"),
        Suppression("lee@daum.net", Reason.MANUAL, None, "editor"),
    ])
    assert counts == MergeCounts(added=1, upgraded=1, unchanged=1)
    assert counts.total == 3
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel shows the Korean text correctly
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines == [
        "email,reason,since,source,detail",
        "Kim@naver.com,unsubscribed,2026-02-01,serve,"
        "List-Unsubscribe-Post; earlier: hard_bounce since 2026-01-01 (bounce)",
        "lee@daum.net,manual,,editor,",
    ]
    assert sorted(p.name for p in path.parent.iterdir()) == [".suppressions.csv.lock", "suppressions.csv"]


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "suppressions.csv"
    write_suppressions(path, [Suppression("a@naver.com", Reason.MANUAL)])
    before = os.stat(path).st_ino
    write_suppressions(path, [Suppression("b@naver.com", Reason.MANUAL)])
    assert os.stat(path).st_ino != before  # replaced by rename, never rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["suppressions.csv"]
    assert list(load_suppressions(path)) == ["b@naver.com"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "suppressions.csv"
    write_suppressions(path, [Suppression("a@naver.com", Reason.MANUAL)])

    def broken():
        yield Suppression("b@naver.com", Reason.MANUAL)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_suppressions(path, broken())
    assert list(load_suppressions(path)) == ["a@naver.com"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["suppressions.csv"]


def _merge_many(path: str, worker: int) -> None:
    for i in range(25):
        merge_suppressions(Path(path), [Suppression(f"w{worker}.{i}@naver.com", Reason.HARD_BOUNCE)])


def test_concurrent_merges_lose_nothing(tmp_path):
    path = tmp_path / "suppressions.csv"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_merge_many, args=(str(path), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(load_suppressions(path)) == 100


def test_a_bad_row_in_korean_keeps_the_file_and_row(tmp_path):
    activate("ko")
    path = tmp_path / "suppressions.csv"
    path.write_text("email,reason,since,source,detail\nkim@naver.com,gone,,,\n", encoding="utf-8")
    with pytest.raises(ListError) as info:
        load_suppressions(path)
    assert info.value.message == (
        f"{path} row 2: 알 수 없는 수신 거부 사유 'gone'입니다. "
        "unsubscribed, hard_bounce, soft_bounce_limit, complaint, manual 중 하나를 쓰세요.")
