"""Recipient lists: every encoding and shape editors export, every way an address is mistyped,
and the identity that matters — rows read = kept + rejected + duplicates, for any input."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webzine.recipients import parse as rowparse
from webzine.recipients.addresses import _FAST, BadAddress, Normaliser
from webzine.errors import ListError
from webzine.i18n import activate
from webzine.recipients.tables import read_table
from webzine.models import Suppression, SuppressionReason
from webzine.recipients.clean import RejectReason, clean_list, load_managers
from webzine.recipients.mx import undeliverable_domains

TODAY = date(2026, 11, 23)
HEADER = "email,name,adjective,company,manager,consent_at,tags,grade"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def clean(source, **options):
    options.setdefault("advertising", False)
    options.setdefault("today", TODAY)
    result = clean_list(source, **options)
    assert result.rows_read == result.kept + len(result.rejects) + len(result.duplicates)
    return result


def emails(result) -> list[str]:
    return [r.email for r in result.recipients]


KOREAN_ROWS = (
    "이메일,이름,회사명,담당자,수신동의일,등급\r\n"
    "kim@naver.com,김갑수,한빛테크,m1,2026-01-05,gold\r\n"
    "lee@daum.net,이을녀,푸른상사,m2,2025.12.01.,silver\r\n"
)


# -- encodings and shapes -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp949", "cp949"), ("euc-kr", "cp949"),
])
def test_reads_every_korean_csv_encoding(tmp_path, encoding, expected):
    path = write(tmp_path / "list.csv", KOREAN_ROWS, encoding)
    result = clean(path)
    assert result.encoding == expected
    assert emails(result) == ["kim@naver.com", "lee@daum.net"]
    first = result.recipients[0]
    assert (first.name, first.company, first.manager, first.consent_at) == ("김갑수", "한빛테크", "m1", date(2026, 1, 5))
    assert first.fields == {"등급": "gold"}
    assert result.recipients[1].consent_at == date(2025, 12, 1)


def test_reads_excel_unicode_text_utf16_with_tabs(tmp_path):
    text = KOREAN_ROWS.replace(",", "\t")
    path = tmp_path / "list.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    result = clean(path)
    assert (result.encoding, result.delimiter) == ("utf-16", "\t")
    assert emails(result) == ["kim@naver.com", "lee@daum.net"]
    assert result.recipients[1].name == "이을녀"


def test_reads_utf16_without_bom(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(KOREAN_ROWS.replace(",", "\t").encode("utf-16-le"))
    assert emails(clean(path)) == ["kim@naver.com", "lee@daum.net"]


def test_semicolon_delimited_crm_export(tmp_path):
    path = write(tmp_path / "crm.csv", "E-Mail;Name;Company\nkim@naver.com;김갑수;\"한빛; 테크\"\n")
    result = clean(path)
    assert result.delimiter == ";"
    assert result.recipients[0].company == "한빛; 테크"


def test_reads_xlsx_first_sheet_and_named_sheet(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "고객"
    sheet.append(["이메일", "성명", "수신동의일", "포인트"])
    sheet.append(["kim@naver.com", "김갑수", date(2026, 1, 5), 1200.0])
    other = book.create_sheet("VIP")
    other.append(["email", "name"])
    other.append(["vip@gmail.com", "최우수"])
    path = tmp_path / "list.xlsx"
    book.save(path)
    result = clean(path)
    assert emails(result) == ["kim@naver.com"]
    assert result.recipients[0].consent_at == date(2026, 1, 5)
    assert result.recipients[0].fields == {"포인트": "1200"}
    assert emails(clean(path, sheet="VIP")) == ["vip@gmail.com"]
    with pytest.raises(ListError, match="no sheet named 'Nope'"):
        clean(path, sheet="Nope")


def test_headers_match_case_and_space_insensitively_and_can_be_mapped(tmp_path):
    path = write(tmp_path / "a.csv", " E-MAIL , Full Name ,Consent_At\nkim@naver.com,김갑수,2026-01-01\n")
    result = clean(path)
    assert result.recipients[0].name == "김갑수"
    assert result.recipients[0].consent_at == date(2026, 1, 1)
    custom = write(tmp_path / "b.csv", "연락처메일,고객\nkim@naver.com,김갑수\n")
    result = clean(custom, columns={"email": "연락처메일", "name": "고객"})
    assert (result.recipients[0].email, result.recipients[0].name) == ("kim@naver.com", "김갑수")


def test_two_columns_meaning_email_is_an_error(tmp_path):
    path = write(tmp_path / "a.csv", "email,이메일\na@naver.com,b@naver.com\n")
    with pytest.raises(ListError, match="columns 'email' and '이메일' both mean email"):
        clean(path)


# -- bad input: one sentence, file and row --------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ListError, match=r"nope\.csv: no such file\."):
        clean(tmp_path / "nope.csv")


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(ListError, match="empty"):
        clean(path)


def test_no_email_column_lists_the_columns_found(tmp_path):
    path = write(tmp_path / "a.csv", "이름,회사\n김갑수,한빛\n", "cp949")
    with pytest.raises(ListError) as error:
        clean(path)
    assert str(error.value) == f"{path}: no email column (columns found: '이름', '회사')."
    assert "--column email=" in error.value.hint


def test_undecodable_bytes_say_where_and_what_was_tried(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes("email,name\r\nkim@naver.com,김\r\n".encode("cp949") + b"lee@naver.com,\xff\xfe\r\n")
    with pytest.raises(ListError) as error:
        clean(path)
    assert str(error.value).startswith(f"{path} line 3: undecodable bytes (byte 0xff")
    assert "tried utf-8, cp949" in str(error.value)
    assert "--encoding" in error.value.hint


def test_explicit_encoding_is_checked(tmp_path):
    path = write(tmp_path / "a.csv", KOREAN_ROWS, "cp949")
    with pytest.raises(ListError, match=r"a.csv line 1: not valid utf-8 \(byte 0xc0 at offset 0\)"):
        clean(path, encoding="utf-8")
    assert clean(path, encoding="EUC-KR").encoding == "cp949"
    with pytest.raises(ListError, match="unknown encoding"):
        clean(path, encoding="klingon")


def test_rows_with_the_wrong_number_of_fields_are_reported_not_fatal(tmp_path):
    path = write(tmp_path / "a.csv", "email,name,company\n"
                                     "kim@naver.com,김,한빛\n"
                                     "lee@naver.com,이,한빛,테크\n"  # unquoted comma: data shifted
                                     "park@naver.com,박\n"  # short: padded, warned
                                     "choi@naver.com,최,,,\n"  # trailing empties: fine
                                     ",,\n"  # blank
                                     "\n")
    result = clean(path)
    assert emails(result) == ["kim@naver.com", "park@naver.com", "choi@naver.com"]
    (reject,) = result.rejects
    assert (reject.row, reject.reason, reject.value) == (3, RejectReason.WRONG_FIELD_COUNT, "lee@naver.com")
    assert "expected 3 fields, found 4" in reject.detail
    assert [(n.row, n.kind) for n in result.warnings] == [(4, "short_row")]
    assert (result.rows_read, result.blank_rows) == (4, 2)


def test_row_numbers_follow_records_not_lines(tmp_path):
    path = write(tmp_path / "a.csv", 'email,memo\nkim@naver.com,"two\nlines"\nbad,x\n')
    result = clean(path)
    assert result.recipients[0].fields == {"memo": "two\nlines"}
    assert [(r.row, r.reason) for r in result.rejects] == [(3, RejectReason.INVALID_SYNTAX)]


# -- addresses ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell, expected, name", [
    ("kim＠naver.com", "kim@naver.com", ""),
    ("ｋｉｍ＠ｎａｖｅｒ．ｃｏｍ", "kim@naver.com", ""),
    ("\u200bkim@naver.com\u200b", "kim@naver.com", ""),
    ("kim@nav\u200ber.com", "kim@naver.com", ""),
    ("\ufeffkim@naver.com\x00", "kim@naver.com", ""),
    ("  kim@naver.com\t", "kim@naver.com", ""),
    ("김갑수 <kim@naver.com>", "kim@naver.com", "김갑수"),
    ('"김갑수" <kim@naver.com>;', "kim@naver.com", "김갑수"),
    ("mailto:kim@naver.com?subject=hi", "kim@naver.com", ""),
    ("MAILTO:Kim@Naver.COM", "Kim@naver.com", ""),
    ("kim @ naver.com", "kim@naver.com", ""),
    ("kim@naver.com.", "kim@naver.com", ""),
    ("Kim.GapSu@NAVER.com", "Kim.GapSu@naver.com", ""),
    ("INFO@Example.co.kr", "info@example.co.kr", ""),
    ("kim@한국.kr", "kim@xn--3e0b707e.kr", ""),
    ("kim@부산대학교.한국", "kim@xn--9d0bw1in6jjjdvu9a.xn--3e0b707e", ""),
])
def test_normalises_what_people_type(cell, expected, name):
    email, key, display = Normaliser().parse(cell)
    assert (email, key, display) == (expected, expected.lower(), name)
    result = clean([{"email": cell, "name": ""}])
    assert emails(result) == [expected]
    assert result.recipients[0].name == name


@pytest.mark.parametrize("cell, reason", [
    ("", "missing_email"),
    ("kim", "invalid_syntax"),
    ("kim@", "invalid_syntax"),
    ("kim@@naver.com", "invalid_syntax"),
    ("kim@localhost", "invalid_syntax"),
    ("kim@naver..com", "invalid_syntax"),
    ("홍길동@naver.com", "invalid_syntax"),
    ("a@naver.com; b@daum.net", "multiple_addresses"),
    ("kim@naver.con", "typo_domain"),
    ("kim@gmial.com", "typo_domain"),
    ("kim@hanbit.co.kt", "typo_domain"),
])
def test_rejects_with_a_reason(cell, reason):
    result = clean([{"email": cell, "name": "김"}])
    (reject,) = result.rejects
    assert (reject.reason.value, reject.value, reject.row) == (reason, cell, 2)


def test_typo_domains_are_suggested_and_fixed_only_when_asked():
    rows = [{"email": "kim@naver.con"}, {"email": "lee@hanmial.net"}, {"email": "park@duam.net"}]
    result = clean(rows)
    assert [(r.value, r.suggestion) for r in result.rejects] == [
        ("kim@naver.con", "kim@naver.com"), ("lee@hanmial.net", "lee@hanmail.net"),
        ("park@duam.net", "park@daum.net")]
    fixed = clean(rows, fix_typos=True)
    assert emails(fixed) == ["kim@naver.com", "lee@hanmail.net", "park@daum.net"]
    assert [(n.row, n.kind, n.detail) for n in fixed.fixes] == [
        (2, "fixed_typo", "naver.con → naver.com"), (3, "fixed_typo", "hanmial.net → hanmail.net"),
        (4, "fixed_typo", "duam.net → daum.net")]


def test_rare_domains_one_letter_from_the_lists_common_ones_are_flagged():
    rows = [{"email": f"user{i}@hanbit.co.kr"} for i in range(10)]
    rows += [{"email": "kim@hanbt.co.kr"}, {"email": "user3@hanbti.co.kr"}, {"email": "a@naverr.com"}]
    result = clean(rows)
    assert result.kept == 13
    flagged = {(n.email, n.suggestion) for n in result.warnings if n.kind == "suspect_domain"}
    assert flagged == {("kim@hanbt.co.kr", "kim@hanbit.co.kr"), ("user3@hanbti.co.kr", "user3@hanbit.co.kr"),
                       ("a@naverr.com", "a@naver.com")}
    fixed = clean(rows, fix_typos=True)
    # user3@hanbti.co.kr becomes row 5's address: a duplicate, reported with both rows.
    assert [(d.row, d.email, d.first_row) for d in fixed.duplicates] == [(13, "user3@hanbit.co.kr", 5)]
    assert "kim@hanbit.co.kr" in emails(fixed)
    assert len(fixed.fixes) == 3


def test_duplicates_differing_only_in_case_first_row_wins():
    rows = [{"email": "Kim@Naver.com", "name": "첫째"}, {"email": "lee@daum.net"},
            {"email": "kim@naver.com", "name": "둘째"}, {"email": " KIM＠NAVER.COM "}]
    result = clean(rows)
    assert [(r.email, r.name) for r in result.recipients] == [("Kim@naver.com", "첫째"), ("lee@daum.net", "")]
    assert [(d.row, d.value, d.first_row) for d in result.duplicates] == [
        (4, "kim@naver.com", 2), (5, " KIM＠NAVER.COM ", 2)]


def test_role_addresses_are_kept_with_a_warning():
    result = clean([{"email": "info@hanbit.co.kr"}, {"email": "webmaster@hanbit.co.kr"}, {"email": "kim@hanbit.co.kr"}])
    assert result.kept == 3
    assert [(n.row, n.kind) for n in result.warnings] == [(2, "role_address"), (3, "role_address")]


# -- suppressions and consent ---------------------------------------------------------------------


def test_suppressions_apply_with_their_reason():
    suppressions = [Suppression("KIM@naver.com", SuppressionReason.UNSUBSCRIBED, date(2026, 5, 1), "webform"),
                    Suppression("lee@daum.net", SuppressionReason.HARD_BOUNCE)]
    rows = [{"email": "kim@naver.com"}, {"email": "Lee@Daum.net"}, {"email": "park@nate.com"}]
    result = clean(rows, suppressions=suppressions)
    assert emails(result) == ["park@nate.com"]
    assert [(r.row, r.reason.value, r.detail) for r in result.rejects] == [
        (2, "unsubscribed", "since 2026-05-01 (webform)"), (3, "hard_bounce", "since unknown date")]


@pytest.mark.parametrize("written, expected", [
    ("2026-01-05", date(2026, 1, 5)), ("2026/1/5", date(2026, 1, 5)), ("2026.01.05.", date(2026, 1, 5)),
    ("2026. 1. 5.", date(2026, 1, 5)), ("2026년 1월 5일", date(2026, 1, 5)), ("20260105", date(2026, 1, 5)),
    ("2026-01-05 14:03:00", date(2026, 1, 5)), ("46027", date(2026, 1, 5)), ("", None),
])
def test_consent_dates_as_editors_write_them(written, expected):
    assert clean([{"email": "a@naver.com", "consent_at": written}]).recipients[0].consent_at == expected


def test_consent_rules_for_advertising_and_informational_issues():
    rows = [{"email": "fresh@naver.com", "consent_at": "2026-01-01"},
            {"email": "edge@naver.com", "consent_at": "2024-11-23"},  # exactly 730 days: still valid
            {"email": "old@naver.com", "consent_at": "2024-11-22"},
            {"email": "none@naver.com", "consent_at": ""},
            {"email": "junk@naver.com", "consent_at": "작년 봄"},
            {"email": "gone@naver.com", "consent_at": ""}]
    gone = [Suppression("gone@naver.com", SuppressionReason.COMPLAINT)]
    ads = clean(rows, advertising=True, suppressions=gone)
    assert emails(ads) == ["fresh@naver.com", "edge@naver.com"]
    assert [(r.email, r.reason.value) for r in ads.rejects] == [
        ("old@naver.com", "consent_expired"), ("none@naver.com", "consent_missing"),
        ("junk@naver.com", "consent_missing"), ("gone@naver.com", "complaint")]
    assert [(c.recipient.email, c.status) for c in ads.consent_reconfirm] == [
        ("old@naver.com", "expired"), ("none@naver.com", "missing"), ("junk@naver.com", "missing")]
    assert [(n.email, n.kind) for n in ads.warnings] == [("junk@naver.com", "bad_consent_date")]
    info = clean(rows, advertising=False, suppressions=gone)
    assert emails(info) == ["fresh@naver.com", "edge@naver.com", "old@naver.com", "none@naver.com", "junk@naver.com"]
    assert len(info.consent_reconfirm) == 3
    assert clean(rows[2:3], advertising=True, consent_max_age_days=3650).kept == 1


def test_the_consent_rule_is_one_function_of_the_date():
    from webzine.recipients.clean import consent_problem

    cutoff = date(2024, 11, 23)
    assert consent_problem(cutoff, cutoff) is None and consent_problem(date(2026, 1, 1), cutoff) is None
    assert consent_problem(None, cutoff) == ("missing", RejectReason.CONSENT_MISSING, "no consent date")
    assert consent_problem(date(2024, 11, 22), cutoff) == (
        "expired", RejectReason.CONSENT_EXPIRED, "consent given 2024-11-22")


def test_check_dns_results_reject_undeliverable_domains():
    asked = []

    def lookup(domain: str) -> str:
        asked.append(domain)
        return "the domain accepts no mail (null MX)" if domain == "dead.example.com" else ""

    def check(domains):
        return undeliverable_domains(domains, lookup=lookup)

    rows = [{"email": "a@naver.com"}, {"email": "b@dead.example.com"}, {"email": "c@hanbit.co.kr"}]
    result = clean(rows, check_domains=check)
    assert emails(result) == ["a@naver.com", "c@hanbit.co.kr"]
    assert [(r.reason.value, r.detail) for r in result.rejects] == [
        ("undeliverable_domain", "the domain accepts no mail (null MX)")]
    assert sorted(asked) == ["dead.example.com", "hanbit.co.kr"]  # naver.com is known; once per domain


# -- the fast path is no looser than email-validator ----------------------------------------------

_ASCII_ADDRESSISH = st.text(alphabet="abcXYZ019._+-@'%!#", min_size=1, max_size=30)
_DOMAINISH = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9.\-]{0,20}\.[a-zA-Z]{2,5}", fullmatch=True)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.one_of(_ASCII_ADDRESSISH, st.tuples(st.from_regex(r"[A-Za-z0-9_.+\-]{1,70}", fullmatch=True),
                                               _DOMAINISH).map("@".join)))
def test_fast_path_accepts_only_what_email_validator_accepts(cell):
    if _FAST(cell) is None:
        return
    try:
        fast = Normaliser().parse(cell)
    except BadAddress:
        return
    try:
        valid = validate_email(cell, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        pytest.fail(f"fast path accepted {cell!r}, email-validator says {exc}")
    assert fast[0] == f"{valid.ascii_local_part}@{valid.ascii_domain}"


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_ASCII_ADDRESSISH, st.text(max_size=20), st.sampled_from([
    "kim@naver.com", " KIM@NAVER.COM ", "kim@naver.con", "info@hanbit.co.kr", "김 <kim@naver.com>",
    "a@b.c", "x@xn--3e0b707e.kr", "a--b@ab--cd.com", "a@a-.com", "a@" + "b" * 64 + ".com", ""])),
    min_size=1, max_size=25))
def test_chunked_fast_path_agrees_with_parsing_each_cell(cells):
    rows = [{"email": cell, "name": "x"} for cell in cells]
    result = clean(rows)
    by_row = {r.row: r for r in result.recipients}
    duplicates = {d.row for d in result.duplicates}
    rejected = {r.row for r in result.rejects}
    normaliser = Normaliser()
    for number, cell in enumerate(cells, start=2):
        try:
            email = normaliser.parse(cell)[0]
        except BadAddress:
            assert number in rejected or not cell.strip(), cell
            continue
        assert number in duplicates or by_row[number].email == email, cell


# -- nothing lost ---------------------------------------------------------------------------------

_CELL = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10),
    st.sampled_from(["kim@naver.com", "KIM@naver.com", "lee@daum.net", "x@naver.con", '"q,uote"', "\r\n",
                     "\x00", "\u200b", "info@x.co.kr", "2026-01-01", "김 <kim@naver.com>", ";", "\t"]),
    st.text(min_size=2000, max_size=3000, alphabet="ab,\"\n"),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_CELL, min_size=0, max_size=6), max_size=30),
       advertising=st.booleans(), fix=st.booleans())
def test_nothing_is_lost_for_any_input(tmp_path_factory, rows, advertising, fix):
    path = tmp_path_factory.mktemp("prop") / "list.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "name", "consent_at", "memo"])
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    records = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))[1:]
    result = clean(path, advertising=advertising, fix_typos=fix,
                   suppressions=[Suppression("lee@daum.net", SuppressionReason.MANUAL)])
    blank = sum(1 for record in records if not any(cell.strip() for cell in record))
    assert result.rows_read == len(records) - blank
    assert result.blank_rows == blank
    rows_seen = [r.row for r in result.recipients] + [r.row for r in result.rejects] + [d.row for d in result.duplicates]
    assert len(rows_seen) == len(set(rows_seen)) == result.rows_read
    assert all(reject.reason and reject.row >= 2 for reject in result.rejects)


def test_chunk_boundaries_do_not_matter():
    rows = [{"email": f"user{i % 7}@naver.com" if i % 3 else f"bad{i}", "name": str(i)} for i in range(40)]
    whole = clean(rows)
    chunked = clean(rows, chunk_size=3)
    assert emails(chunked) == emails(whole)
    assert [(d.row, d.first_row) for d in chunked.duplicates] == [(d.row, d.first_row) for d in whole.duplicates]
    assert [(r.row, r.reason) for r in chunked.rejects] == [(r.row, r.reason) for r in whole.rejects]


# -- managers -------------------------------------------------------------------------------------


def test_load_managers_with_korean_headers_in_cp949(tmp_path):
    path = write(tmp_path / "managers.csv", "아이디,이름,이메일,연락처,직함\r\n"
                                            "m1,김영업,Sales1@Example.co.kr,010-1111-2222,과장\r\n"
                                            ",,,,\r\n", "cp949")
    managers = load_managers(path)
    assert list(managers) == ["m1"]
    manager = managers["m1"]
    assert (manager.name, manager.email, manager.phone, manager.title) == (
        "김영업", "Sales1@example.co.kr", "010-1111-2222", "과장")
    assert load_managers(tmp_path / "absent.csv") == {}


@pytest.mark.parametrize("rows, message", [
    ("m1,김,a@example.com\nm1,이,b@example.com\n", "row 3: manager id 'm1' is used twice"),
    ("m1,김,a@example\n", "row 2: manager 'm1' has an unusable address 'a@example'"),
    (",김,a@example.com\n", "row 2: the manager has no id"),
])
def test_load_managers_errors_name_the_row(tmp_path, rows, message):
    path = write(tmp_path / "managers.csv", "id,name,email\n" + rows)
    with pytest.raises(ListError, match=message):
        load_managers(path)


def test_read_table_streams_rows_as_cells(tmp_path):
    path = write(tmp_path / "a.csv", KOREAN_ROWS, "cp949")
    table = read_table(path)
    assert table.columns["email"] == 0 and table.columns["consent_at"] == 4
    assert [cells[0] for cells in table.rows] == ["kim@naver.com", "lee@daum.net"]


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.sampled_from(["a", "b,c", 'say "hi"', "two\nlines", "", "x\r\ny", "김"]),
                              min_size=1, max_size=4), max_size=40),
       block=st.integers(min_value=1, max_value=64), crlf=st.booleans())
def test_block_reader_gives_the_csv_modules_rows(tmp_path, rows, block, crlf):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n" if crlf else "\n").writerows([["email", "memo"], *rows])
    path = tmp_path / "blocks.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    expected = [row or [""] for row in csv.reader(io.StringIO(buffer.getvalue(), newline=""))][1:]
    got = [row or [""] for chunk in read_table(path, block_size=block).chunks() for row in chunk]
    assert got == expected


# -- the fast paths agree with the careful ones ----------------------------------------------------


def _bad_late(tmp_path, header="email,name", encoding="cp949"):
    rows = "".join(f"user{i}@naver.com,김{i}\r\n" for i in range(3000))
    path = tmp_path / "late.csv"
    path.write_bytes(f"{header}\r\n{rows}".encode(encoding) + b"lee@naver.com,\xff\xfe\r\n")
    return path


def test_a_bad_byte_found_while_reading_gives_the_up_front_error(tmp_path):
    path = _bad_late(tmp_path)
    with pytest.raises(ListError) as up_front:
        read_table(path, block_size=4096)
    with pytest.raises(ListError) as while_reading:
        clean(path, block_size=4096)  # many blocks: the bad byte is met late
    assert str(while_reading.value) == str(up_front.value)
    assert str(up_front.value).startswith(f"{path} line 3002: undecodable bytes (byte 0xff")
    assert while_reading.value.hint == up_front.value.hint


def test_a_bad_byte_with_a_requested_encoding_or_a_bad_header_is_still_reported_first(tmp_path):
    path = _bad_late(tmp_path)
    with pytest.raises(ListError, match=r"late.csv line 3002: not valid cp949 \(byte 0xff"):
        clean(path, encoding="cp949")
    no_email = _bad_late(tmp_path, header="이름,회사")
    with pytest.raises(ListError, match="undecodable bytes"):
        clean(no_email)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.sampled_from(["a", "b", "", " x ", "김", "y@z.com"]), min_size=1, max_size=4),
                     max_size=40),
       block=st.integers(min_value=1, max_value=64), ends=st.sampled_from(["\r\n", "\n", "mixed"]))
def test_column_blocks_hold_the_csv_modules_rows(tmp_path, rows, block, ends):
    """Quote-free blocks whose rows all have the header's width come as Columns; the rows they
    hold are the csv module's, whatever the block size, line ends, and however ragged the
    other rows."""
    from webzine.recipients import tables as listio

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([["email", "memo", "x"], *rows])
    lines = buffer.getvalue().split("\n")
    ending = ["\n" if ends == "\n" or (ends == "mixed" and i % 2) else "\r\n" for i in range(len(lines) - 1)]
    text = "".join(line + end for line, end in zip(lines, ending))
    path = tmp_path / "columns.csv"
    path.write_text(text, encoding="utf-8", newline="")
    buffer = io.StringIO(text)
    expected = [row or [""] for row in csv.reader(io.StringIO(buffer.getvalue(), newline=""))][1:]
    got, lists = [], 0
    for chunk in read_table(path, block_size=block).chunks(as_columns=True):
        if isinstance(chunk, listio.Columns):
            assert len(chunk.cells) == 3 and all(len(cells) == len(chunk) for cells in chunk.cells)
            chunk = [list(row) for row in zip(*chunk.cells)]
        else:
            lists += 1
        got.extend(chunk)
    assert got == expected
    if all(len(row) == 3 for row in rows):
        assert lists == 0  # a tidy file comes as Columns only


def test_recipients_built_by_columns_equal_the_constructors():
    from webzine.models import Recipient

    columns = (["a@x.com", "b@y.com"], ["김", ""], ["", "소중한"], ["한빛", ""], ["m1", ""],
               [date(2026, 1, 1), None], [("vip",), ()], [{"grade": "A"}, {}], [2, 3])
    built = rowparse.new_recipients(*columns)
    assert built == [Recipient(*fields) for fields in zip(*columns)]
    assert all(type(recipient) is Recipient for recipient in built)
    with pytest.raises(ValueError):
        rowparse.new_recipients(*columns[:-1], [2])


def test_consent_rejects_and_reconfirms_are_the_named_tuples_one_would_build(tmp_path):
    from webzine.recipients.records import Reconfirm, Reject

    path = write(tmp_path / "c.csv", "email,name,company,manager,consent_at\n"
                                     "kim@naver.com,김,한빛,m1,2020-01-01\n"
                                     "lee@daum.net,이,,m2,\n"
                                     "Park@Naver.com,박,,,2026-01-01\n")
    result = clean(path, advertising=True)
    assert result.rejects == [
        Reject(2, "kim@naver.com", RejectReason.CONSENT_EXPIRED, "", "consent given 2020-01-01",
               "kim@naver.com", "김", "한빛", "m1"),
        Reject(3, "lee@daum.net", RejectReason.CONSENT_MISSING, "", "no consent date", "lee@daum.net", "이", "", "m2"),
    ]
    assert all(type(reject) is Reject for reject in result.rejects)
    assert [(type(r), r.recipient.row, r.status) for r in result.consent_reconfirm] == [
        (Reconfirm, 2, "expired"), (Reconfirm, 3, "missing")]
    assert [r.email for r in result.recipients] == ["Park@naver.com"]


def test_the_collector_is_back_on_after_cleaning_and_a_frozen_heap_stays_frozen(tmp_path, monkeypatch):
    import gc

    path = write(tmp_path / "a.csv", KOREAN_ROWS, "cp949")
    assert gc.isenabled()
    clean(path)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    kept = [[] for _ in range(10)]
    # Whether the cleaner unfroze the heap is asked of gc.unfreeze itself: the freeze count also
    # drops when a frozen object dies meanwhile (an evicted regex cache entry), which is not a thaw.
    unfreeze, thawed = gc.unfreeze, []
    gc.freeze()
    try:
        monkeypatch.setattr(gc, "unfreeze", lambda: thawed.append(gc.get_freeze_count()) or unfreeze())
        clean(path)
        assert gc.isenabled() and gc.get_freeze_count() > 0
        assert thawed == []  # not handed back to the collector
    finally:
        monkeypatch.undo()
        gc.unfreeze()
    assert kept


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_clean_text_drops_exactly_the_control_and_format_characters(text):
    import unicodedata

    from webzine.recipients.addresses import clean_text

    normal = unicodedata.normalize("NFKC", text)
    assert clean_text(text) == "".join(ch for ch in normal if unicodedata.category(ch) not in ("Cc", "Cf")
                                       or ch in "\t\n")


def test_warnings_come_in_row_order_whatever_the_chunk_boundaries(tmp_path):
    lines = ["email,name,consent_at,memo"]
    for i in range(400):
        lines.append(f"info@company{i}.co.kr,x,2026-01-01,m" if i % 3 == 0 else
                     f"user{i}@naver.com,y,not a date,m" if i % 3 == 1 else f"user{i}@daum.net,z")
    path = write(tmp_path / "w.csv", "\n".join(lines) + "\n")
    whole = clean(path)
    chunked = clean(path, block_size=512)
    assert {w.kind for w in whole.warnings} == {"role_address", "bad_consent_date", "short_row"}
    assert chunked.warnings == whole.warnings
    assert [w.row for w in whole.warnings] == sorted(w.row for w in whole.warnings)


def test_a_list_in_korean_names_its_rows_problems_in_korean(tmp_path):
    activate("ko")
    path = tmp_path / "list.csv"
    path.write_text("email,name,company\n"
                    "info@naver.com,김,한빛\n"
                    "lee@naver.com,이,한빛,테크\n"
                    "park@naver.com,박\n"
                    ",최,한빛\n", encoding="utf-8")
    result = clean(path)
    assert [(r.row, r.detail) for r in result.rejects] == [
        (3, "필드가 3개여야 하는데 4개입니다. 셀 안의 쉼표나 탭은 따옴표로 감싸야 합니다"),
        (5, "이메일 칸이 비어 있습니다")]
    assert [(n.row, n.detail) for n in result.warnings] == [
        (2, "공용 메일함(info@, admin@ 등)입니다. 읽지 않거나 필터링되는 경우가 많습니다"),
        (4, "필드가 3개여야 하는데 2개입니다")]


def test_a_missing_column_in_korean_keeps_the_file_and_the_option(tmp_path):
    activate("ko")
    path = tmp_path / "managers.csv"
    path.write_text("이름,이메일\n정다솔,jung@example.com\n", encoding="utf-8")
    with pytest.raises(ListError) as info:
        load_managers(path)
    assert (info.value.message, info.value.hint) == (
        f"{path}: id 열이 없습니다(있는 열: '이름', '이메일').",
        "열 이름을 바꾸거나 --column id=\"<머리글>\"을 지정하세요.")
