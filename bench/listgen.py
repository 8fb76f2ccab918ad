"""Realistic Korean subscriber and key-customer lists for the list and audit benches.

Deterministic (seeded): Korean names and companies, the provider mix of a Korean B2B list, a few
percent of the mess real exports carry (upper case, spaces, full-width ＠, `이름 <addr>`, typo
domains, duplicates, blanks, invalid cells, missing consent)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
GIVEN = "민서준지현우도하윤수예은주원진아연성호영재시유건혜승동정태희경상규나"
COMPANY_HEADS = ["한빛", "푸른", "새솔", "다온", "미래", "동방", "대한", "서울", "세종", "한결", "누리", "가온",
                 "초록", "바른", "온누리", "하늘", "별빛", "대성", "우리", "한울"]
COMPANY_TAILS = ["테크", "상사", "물산", "식품", "전자", "건설", "무역", "산업", "제약", "디자인", "로지스", "소프트"]
ADJECTIVES = ["소중한", "존경하는", "반가운", "고마운", ""]
PROVIDERS = [("naver.com", 40), ("gmail.com", 18), ("daum.net", 9), ("hanmail.net", 9), ("nate.com", 5),
             ("kakao.com", 3), ("hotmail.com", 1), ("outlook.com", 1)]
HEADER = ["email", "name", "adjective", "company", "manager", "consent_at", "tags", "grade"]


def person(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    company = rng.choice(COMPANY_HEADS) + rng.choice(COMPANY_TAILS)
    return name, company


def address(rng: random.Random, index: int) -> str:
    local = f"{rng.choice(['kim', 'lee', 'park', 'choi', 'jung', 'kang', 'cho', 'yoon', 'jang', 'lim'])}" \
            f"{rng.choice(['', '.', '_'])}{rng.choice(['minsu', 'jiyoung', 'hyun', 'sj', 'dh', 'yj'])}{index}"
    if rng.random() < 0.15:
        return f"{local}@{rng.choice(COMPANY_HEADS_EN)}.co.kr"
    domains, weights = zip(*PROVIDERS)
    return f"{local}@{rng.choices(domains, weights)[0]}"


COMPANY_HEADS_EN = ["hanbit", "pureun", "saesol", "daon", "mirae", "dongbang", "daehan", "seoul", "sejong",
                    "hangyeol", "nuri", "gaon", "chorok", "bareun", "onnuri", "haneul", "byeolbit"]


def messy(rng: random.Random, email: str, name: str) -> str:
    """A few percent of cells the way editors' exports really look."""
    roll = rng.random()
    if roll < 0.01:
        return email.upper()
    if roll < 0.02:
        return f" {email} "
    if roll < 0.025:
        return email.replace("@", "＠")
    if roll < 0.03:
        return f"{name} <{email}>"
    if roll < 0.033:
        return email.replace("naver.com", "naver.con")
    if roll < 0.035:
        return email.replace("@", "")
    return email


def subscriber_rows(count: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    today = date(2026, 11, 23)
    rows = []
    for index in range(count):
        name, company = person(rng)
        email = address(rng, index)
        age = rng.randrange(0, 700) if rng.random() < 0.85 else rng.randrange(700, 1500)
        consent = "" if rng.random() < 0.05 else (today - timedelta(days=age)).isoformat()
        rows.append([messy(rng, email, name), name, rng.choice(ADJECTIVES), company, f"m{rng.randrange(1, 30)}",
                     consent, rng.choice(["", "vip", "2025행사", "vip;2025행사"]), rng.choice(["A", "B", "C"])])
        if rng.random() < 0.01 and rows:
            rows.append(list(rows[rng.randrange(len(rows))]))  # a duplicate from an earlier export
    return rows[:count]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    """CSV the way Excel writes it (CRLF, quoting only when needed)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
