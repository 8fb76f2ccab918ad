"""`webzine customers score` on a generated order export with an answer key: CP949 CSV and .xlsx,
Korean headers, cancellations, refunds, partial returns, multi-line orders, one customer under
differently written addresses, two exports that overlap; the scores, the segments, the
proposals; and one-line errors for what editors' exports get wrong."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from click.testing import CliRunner
from conftest import CONFIG as TOML

from webzine.cli import cli, main
from webzine.customers import segments_for
from webzine.customers.orders import read_orders
from webzine.segment_rules import DEFAULT_SEGMENTS, parse_rule
from webzine.customers.scoring import quintiles, score_customers, scores_of
from webzine.customers.totals import ReadSummary
from webzine.customers.values import is_cancelled, parse_amount, parse_date
from webzine.config import load_settings
from webzine.errors import ListError
from webzine.i18n import activate

TODAY = date(2026, 12, 1)
HEADER = ["주문번호", "주문일시", "주문자명", "주문자 이메일", "거래처", "상품명", "결제금액", "주문상태", "담당자"]
# (order, date as the export writes it, name, address as written, company, product, amount, status, manager)
LINES = [
    # alice: one order of two lines, the address written two other ways → 1 order, 65,000, 11 days
    ["A-1", "2026-11-20 14:22", "앨리스", "ALICE@Example.COM", "", "우전", "40,000", "배송완료", "m1"],
    ["A-1", "2026-11-20 14:22", "앨리스", "앨리스 <alice＠example.com>", "", "세작", "25,000원", "배송완료", "m1"],
    # bob: three orders; a later cancelled one and a returned line do not count → 3 orders, 90,000, 183 days
    ["B-1", "2026.06.01", "밥", "bob@example.com", "밥상회", "녹차", "30,000", "구매확정", "m2"],
    ["B-1", "2026.06.01", "밥", "bob@example.com", "밥상회", "반품된 녹차", "99,000", "반품완료", "m2"],
    ["B-2", "2026.03.02", "밥", "bob@example.com", "밥상회", "녹차", "30000", "구매확정", "m2"],
    ["B-3", "2026.01.05", "밥", "bob@example.com", "밥상회", "녹차", "￦30,000", "구매확정", "m2"],
    ["B-4", "2026-11-28 09:00", "밥", "bob@example.com", "밥상회", "말차", "300,000", "취소완료", "m2"],
    # carol: two orders long ago, Korean date formats → 2 orders, 7,000, 690 days
    ["C-1", "2025.01.10", "캐롤", "carol@example.com", "", "보리차", "3,000", "구매확정", ""],
    ["C-2", "2024년 12월 20일", "캐롤", "carol@example.com", "", "보리차", "4,000", "구매확정", ""],
    # dave: four orders; a 반품철회 (return withdrawn) order counts → 4 orders, 200,000, 28 days
    ["D-1", "2026-11-03 14:22", "데이브", "dave@example.com", "데이브 카페", "우전", "50,000", "반품철회", "m1"],
    ["D-2", "2026-10-03", "데이브", "dave@example.com", "데이브 카페", "우전", "50,000", "구매확정", "m1"],
    ["D-3", "2026-09-03", "데이브", "dave@example.com", "데이브 카페", "우전", "50,000", "구매확정", "m1"],
    ["D-4", "2026-08-03", "데이브", "dave@example.com", "데이브 카페", "우전", "50,000", "구매확정", "m1"],
    # erin: five orders, one refunded → 5 orders, 500,000, 2 days
    ["E-1", "2026-11-29 10:00", "에린", "erin@example.com", "에린 상사", "선물 세트", "100,000", "배송중", "m1"],
    ["E-2", "2026-10-29", "에린", "erin@example.com", "에린 상사", "선물 세트", "100,000", "구매확정", "m1"],
    ["E-3", "2026-09-29", "에린", "erin@example.com", "에린 상사", "선물 세트", "100,000", "구매확정", "m1"],
    ["E-4", "2026-08-29", "에린", "erin@example.com", "에린 상사", "선물 세트", "60,000", "구매확정", "m1"],
    ["E-4", "2026-08-29", "에린", "erin@example.com", "에린 상사", "찻잔", "40,000", "구매확정", "m1"],
    ["E-5", "2026-07-29", "에린", "erin@example.com", "에린 상사", "선물 세트", "100,000", "구매확정", "m1"],
    ["E-6", "2026-07-01", "에린", "erin@example.com", "에린 상사", "선물 세트", "100,000", "환불완료", "m1"],
    # left out: no address (a guest order), dated after today
    ["G-1", "2026-11-01", "비회원", "", "", "국화차", "18,000", "구매확정", ""],
    ["F-1", "2026-12-24", "앨리스", "alice@example.com", "", "예약", "10,000", "결제완료", "m1"],
]
# The answer key: (address, days since the last order, orders, won, R, F, M, segment).
ANSWERS = {
    "alice@example.com": (11, 1, 65_000, 4, 1, 2, "신규 고객"),
    "bob@example.com": (183, 3, 90_000, 2, 3, 3, "이탈 위험"),
    "carol@example.com": (690, 2, 7_000, 1, 2, 1, "휴면 고객"),
    "dave@example.com": (28, 4, 200_000, 3, 4, 4, "충성 고객"),
    "erin@example.com": (2, 5, 500_000, 5, 5, 5, "핵심 고객"),
}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "cp949", header: list[str] = HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        cells: list[object] = list(row)
        if len(row[1]) == 10 and row[1][4] == "-":  # a real Excel date cell, as exports carry them
            cells[1] = date.fromisoformat(row[1])
        if row[6].replace(",", "").isdigit():
            cells[6] = int(row[6].replace(",", ""))  # a number cell
        sheet.append(cells)
    book.save(path)
    return path


def check_answers(scores: pl.DataFrame) -> None:
    found = {key: values for key, *values in scores.select("key", "days", "orders", "value", "r", "f", "m",
                                                           "segment").iter_rows()}
    assert found == {key: list(values) for key, values in ANSWERS.items()}


def score(paths: list[Path]) -> tuple[pl.DataFrame, ReadSummary]:
    totals, summary = read_orders(paths, today=TODAY, period_days=730)
    rules = [(name, parse_rule(rule)) for name, rule in DEFAULT_SEGMENTS]
    return score_customers(totals, rules, TODAY), summary


def test_a_cp949_export_scores_as_the_answer_key(tmp_path: Path) -> None:
    scores, summary = score([write_csv(tmp_path / "orders.csv", LINES)])
    check_answers(scores)
    assert (summary.lines, summary.cancelled, summary.no_address, summary.future) == (len(LINES), 3, 1, 1)
    alice = scores_of(scores)["alice@example.com"]
    assert (alice.email, alice.name, alice.manager, alice.last_order) == ("ALICE@example.com", "앨리스", "m1",
                                                                          date(2026, 11, 20))
    assert alice.rule == "r >= 4 and orders <= 1 (r=4, orders=1)"


def test_an_xlsx_export_scores_the_same(tmp_path: Path) -> None:
    scores, _ = score([write_xlsx(tmp_path / "orders.xlsx", LINES)])
    check_answers(scores)


def test_overlapping_exports_count_each_order_once(tmp_path: Path) -> None:
    first = write_csv(tmp_path / "october.csv", LINES[:14], "utf-8-sig")
    second = write_xlsx(tmp_path / "november.xlsx", LINES[9:])  # D-1 … D-4 and E-1 are in both
    scores, summary = score([first, second])
    check_answers(scores)
    assert summary.repeated == 5 and "november.xlsx order D-" in summary.notes()[-1]


def test_the_command_writes_scores_proposals_and_the_report(tmp_path: Path) -> None:
    (tmp_path / "webzine.toml").write_text(TOML, encoding="utf-8")
    write_csv(tmp_path / "lists" / "orders.csv", LINES)
    write_csv(tmp_path / "lists" / "key-customers.csv", [
        ["Bob@Example.com", "밥", "밥상회", "m2", ""], ["carol@example.com", "캐롤", "", "m3", ""],
        ["dave@example.com", "데이브", "데이브 카페", "m1", ""]], "utf-8",
        header=["email", "name", "company", "manager", "excused"])
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "webzine.toml"), "customers", "score",
                                      "--today", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert "5 customers from 17 of 22 order lines" in result.output
    assert "핵심 고객          1" in result.output
    folder = tmp_path / "build" / "customers"
    rows = list(csv.DictReader((folder / "scores.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["email"], r["r"], r["f"], r["m"], r["segment"]) for r in rows][-1] == (
        "erin@example.com", "5", "5", "5", "핵심 고객")
    proposed = list(csv.DictReader((folder / "proposed-key-customers.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert [(p["email"], p["manager"]) for p in proposed] == [("erin@example.com", "m1")]
    assert "핵심 고객 명단(key-customers)에 없습니다" in proposed[0]["reason"]
    slipping = list(csv.DictReader((folder / "slipping-key-customers.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert [(p["email"], p["segment"], p["manager"]) for p in slipping] == [
        ("bob@example.com", "이탈 위험", "m2"), ("carol@example.com", "휴면 고객", "m3")]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "최근성(R) × 빈도(F)" in page
    settings = load_settings(tmp_path / "webzine.toml")
    assert segments_for(settings)["erin@example.com"].segment == "핵심 고객"


@pytest.mark.parametrize(("header", "rows", "message"), [
    (["주문번호", "주문일", "이메일", "상태"], [["1", "2026-11-03", "a@example.com", ""]],
     "orders.csv: no 금액 (amount) column (columns found: '주문번호', '주문일', '이메일', '상태')."),
    (HEADER, [LINES[0], LINES[2], ["X-1", "2026-11-03", "", "x@example.com", "", "", "12,000원정", "", ""]],
     "orders.csv row 4, column amount: '12,000원정' is not an amount (write it as 12000 or 12,000원)."),
    (HEADER, [LINES[0], ["X-1", "2026/13/45", "", "x@example.com", "", "", "1", "", ""]],
     "orders.csv row 3, column ordered_at: '2026/13/45' is not a real date (month must be in 1..12)."),
    (HEADER, [["X-1", "어제", "", "x@example.com", "", "", "1", "", ""]],
     "orders.csv row 2, column ordered_at: '어제' is not a date (expected one of 2026-11-03, 2026.11.03, 2026/11/03, "
     "2026-11-03 14:22, 2026년 11월 3일, 20261103)."),
])
def test_one_line_errors_name_the_file_row_and_column(tmp_path: Path, header: list[str], rows: list[list[str]],
                                                       message: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "webzine.toml").write_text(TOML, encoding="utf-8")
    path = write_csv(tmp_path / "orders.csv", rows, header=header)
    with pytest.raises(ListError) as caught:
        read_orders([path], today=TODAY, period_days=730)
    assert caught.value.message == f"{tmp_path}/{message}"
    with pytest.raises(SystemExit) as stopped:
        main(["--config", str(tmp_path / "webzine.toml"), "customers", "score", str(path), "--today", "2026-12-01"])
    error = capsys.readouterr().err
    assert stopped.value.code == 2 and error.startswith(f"Error: {tmp_path}/{message}\n") and "Traceback" not in error


def test_column_names_the_amount_column_an_export_calls_otherwise(tmp_path: Path) -> None:
    header = ["주문번호", "주문일", "이메일", "최종 금액(원)"]
    path = write_csv(tmp_path / "orders.csv", [["1", "2026-11-03", "a@example.com", "5,000"]], header=header)
    with pytest.raises(ListError, match="no 금액"):
        read_orders([path], today=TODAY, period_days=730)
    totals, _ = read_orders([path], today=TODAY, period_days=730, overrides={"금액": "최종 금액(원)"})
    assert totals.select("key", "orders", "value").rows() == [("a@example.com", 1, 5000)]


def test_the_preferred_amount_column_wins_when_an_export_has_several(tmp_path: Path) -> None:
    header = ["주문번호", "주문일", "이메일", "주문금액", "실결제금액"]
    path = write_csv(tmp_path / "orders.csv", [["1", "2026-11-03", "a@example.com", "9,000", "7,500"]], header=header)
    totals, _ = read_orders([path], today=TODAY, period_days=730)
    assert totals["value"].to_list() == [7500]


def test_cell_rules() -> None:
    assert parse_date("2026.11.03") == parse_date("2026-11-03 14:22") == parse_date("2026년 11월 3일") == date(2026, 11, 3)
    assert parse_date("2026/11/3 (화)") == parse_date("20261103") == parse_date("2026-11-03T14:22:00") == date(2026, 11, 3)
    assert [parse_amount(text) for text in ("12,000", "12000원", "₩12,000", "-3,000", "12000.0", "", "KRW 5,000")] == [
        12000, 12000, 12000, -3000, 12000, 0, 5000]
    assert [is_cancelled(s) for s in ("취소완료", "반품 요청", "환불완료", "반품철회", "구매확정", "Cancelled", "")] == [
        True, True, True, False, False, True, False]


def test_quintiles_share_scores_on_ties_and_stay_in_the_middle_for_small_lists() -> None:
    assert quintiles([7]) == [3]
    assert quintiles([1, 2]) == [2, 4]
    assert quintiles([5, 5, 5]) == [3, 3, 3]
    assert quintiles([10, 20, 30, 40, 50]) == [1, 2, 3, 4, 5]
    assert quintiles([1] * 6 + [2, 3, 4, 5]) == [2] * 6 + [4, 4, 5, 5]


def test_a_misspelt_segment_rule_is_a_config_error(tmp_path: Path) -> None:
    from webzine.errors import ConfigError

    (tmp_path / "webzine.toml").write_text(TOML + '[customers]\npropose = ["VIP"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'VIP' is not one of the segments"):
        load_settings(tmp_path / "webzine.toml")
    (tmp_path / "webzine.toml").write_text(
        TOML + '[[customers.segments]]\nname = "VIP"\nwhen = "rr >= 4"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown measure 'rr'"):
        load_settings(tmp_path / "webzine.toml")


def test_the_audit_shows_proposals_and_slipping_key_customers_as_notes_not_gaps(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "webzine.toml").write_text(TOML, encoding="utf-8")
    write_csv(tmp_path / "lists" / "orders.csv", LINES)
    write_csv(tmp_path / "lists" / "key-customers.csv", [["bob@example.com", "밥", "밥상회", "m2", ""]], "utf-8",
              header=["email", "name", "company", "manager", "excused"])
    write_csv(tmp_path / "lists" / "subscribers.csv", [["BOB@example.com", "밥", "2026-11-01"]], "utf-8",
              header=["email", "name", "consent_at"])
    config = ["--config", str(tmp_path / "webzine.toml")]
    with pytest.raises(SystemExit) as stopped:
        main([*config, "audit", "--informational"])
    assert stopped.value.code == 0 and "scored" not in capsys.readouterr().out  # nothing scored yet
    with pytest.raises(SystemExit):
        main([*config, "customers", "score", "--today", "2026-12-01"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main([*config, "audit", "--informational"])
    out = capsys.readouterr().out
    assert stopped.value.code == 0, out
    assert ("customers (scored 2026-12-01): 1 customer(s) of 핵심 고객 are not key customers: erin@example.com "
            "(핵심 고객, manager m1) — proposed in build/customers/proposed-key-customers.csv") in out
    assert "1 key customer(s) slipped to 이탈 위험: bob@example.com (이탈 위험, manager m2)" in out


def test_addresses_normalised_in_columns_match_the_normaliser() -> None:
    """The column fast path (common shape, plain domain) gives what `Normaliser.parse` gives;
    everything else still goes through the normaliser."""
    from webzine.customers.totals import OrderTotals
    from webzine.recipients.addresses import BadAddress, Normaliser

    cells = ["ALICE@Example.COM", " bob@example.com ", "Postmaster@Example.com", "kim@naver.con", "kim@naver.com",
             "앨리스 <alice＠example.com>", "mailto:carol@example.com", "a..b@example.com", "x@localhost",
             "x@test.invalid", "", "not an address", "dave@exa--mple.com", "e" * 65 + "@example.com",
             "first.last+tag@sub.example.co.kr", "IDN@Bücher.example", "x@-bad.com", "x@example.c"]
    frame = pl.DataFrame({"email": [cell.strip() for cell in cells], "row": list(range(2, 2 + len(cells)))})
    found = OrderTotals(TODAY, TODAY, ReadSummary())._addresses(frame, "orders.csv").to_list()

    def expected(cell: str) -> str:
        try:
            return Normaliser().parse(cell)[0]
        except BadAddress:
            return ""

    assert found == [expected(cell) for cell in cells]


def test_an_order_file_error_and_the_left_out_lines_in_korean(tmp_path: Path) -> None:
    activate("ko")
    bad = write_csv(tmp_path / "bad.csv", [LINES[0], ["X-1", "2026-11-03", "", "x@example.com", "", "", "12,000원정", "", ""]],
                    header=HEADER)
    with pytest.raises(ListError) as caught:
        read_orders([bad], today=TODAY, period_days=730)
    assert caught.value.message == (
        f"{bad} row 3, column amount: '12,000원정'은(는) 금액이 아닙니다(12000이나 12,000원처럼 쓰세요).")
    summary = ReadSummary(cancelled=2, future=1, first_rows={"cancelled": "orders.csv row 4", "future": "orders.csv row 9"})
    assert summary.notes() == ["취소·반품·환불된 2줄을 뺐습니다(처음: orders.csv row 4)",
                               "오늘 이후 날짜인 1줄을 뺐습니다(처음: orders.csv row 9)"]


def test_a_column_mapping_without_an_equals_sign_is_refused_with_an_order_example(tmp_path: Path) -> None:
    (tmp_path / "webzine.toml").write_text(TOML, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "webzine.toml"), "customers", "score",
                                      "--column", "금액", "--today", "2026-12-01"])
    assert result.exit_code == 2
    assert "'금액': write it as FIELD=HEADER, e.g. 금액=실결제액." in result.output
