"""Who the customers are, as one frame (polars): the subscriber list and the key-customer file,
by lowercased normalised address, with why a row cannot have been mailed.

A million-row list is read once, column-wise (`recipients.frames`): addresses of the common shape
are normalised by polars, every other distinct cell by `Normaliser.parse`; the consent rule runs
once per distinct consent cell. The first row of an address counts, as in the cleaner. The list
is read, not cleaned: the ledger already says who was mailed.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from webzine.audit.audit import read_key_customers
from webzine.config import Settings
from webzine.models import Manager
from webzine.recipients.addresses import BadAddress, Normaliser
from webzine.recipients.clean import consent_problem
from webzine.recipients.frames import plain_addresses, table_frames
from webzine.recipients.list_managers import ManagerColumn, table_columns
from webzine.recipients.parse import parse_date
from webzine.recipients.records import RejectReason
from webzine.recipients.suppressions import normalise
from webzine.recipients.tables import read_table

SEGMENT_COLUMN = "segment"  # a subscriber-list column; `webzine customers score`'s result wins over it
PEOPLE_SCHEMA = {"key": pl.String, "email": pl.String, "name": pl.String, "company": pl.String,
                 "manager": pl.String, "key_customer": pl.Boolean, "segment": pl.String, "not_mailed": pl.String}
PERSON_COLUMNS = ("email", "name", "company", "manager", "key_customer", "segment")  # `facts.Person`'s fields
NOT_MAILED = {
    RejectReason.MISSING_EMAIL: "주소가 비어 있음", RejectReason.INVALID_SYNTAX: "주소 형식 오류",
    RejectReason.MULTIPLE_ADDRESSES: "주소가 여러 개 적힘", RejectReason.TYPO_DOMAIN: "주소 오타",
    RejectReason.UNDELIVERABLE_DOMAIN: "메일을 받을 수 없는 도메인", RejectReason.WRONG_FIELD_COUNT: "목록의 줄이 깨짐",
    RejectReason.CONSENT_EXPIRED: "수신 동의 기간 만료", RejectReason.CONSENT_MISSING: "수신 동의 기록 없음",
}  # fmt: skip
_TEXT = ("name", "company", "manager", "consent_at", SEGMENT_COLUMN)
_MANAGER_ADDRESS = "manager address"  # the list's manager address column, while rows are linked to managers


def read_people(settings: Settings, today: date) -> pl.DataFrame:
    """Everyone on the subscriber list and every key customer (`PEOPLE_SCHEMA`, in list order,
    key customers not on the list after); `not_mailed` says why a row cannot have been mailed (an
    address that does not parse, consent missing, unreadable or older than [lists]
    consent_max_age_days: the cleaner's rule), null when it could."""
    return read_people_and_managers(settings, today)[0]


def read_people_and_managers(settings: Settings, today: date) -> tuple[pl.DataFrame, dict[str, Manager]]:
    """`read_people`, and the managers the list names by address (`[lists.columns]
    manager_email`, see `recipients.list_managers`), whom its `manager` column then holds."""
    from webzine.customers import segments_for

    scores = {key: score.segment for key, score in segments_for(settings).items()}
    path = settings.path(settings.lists.subscribers)
    people, managers = _listed(settings, today, scores) if path.exists() else (pl.DataFrame(schema=PEOPLE_SCHEMA), {})
    key_file = settings.path(settings.lists.key_customers)
    return (_with_key_customers(people, key_file, scores) if key_file.exists() else people), managers


def _listed(settings: Settings, today: date, scores: dict[str, str]) -> tuple[pl.DataFrame, dict[str, Manager]]:
    lists = settings.lists
    table = read_table(settings.path(lists.subscribers), wanted=("email", *_TEXT), overrides=table_columns(lists.columns))
    columns = {"email": table.require("email")}
    extras = dict(table.extras)
    for name in _TEXT:
        index = table.columns.get(name, extras.get(name, -1) if name == SEGMENT_COLUMN else -1)
        if index >= 0:
            columns[name] = index
    named = ManagerColumn.find(lists.columns, extras, table.source)
    if named is not None:
        columns[_MANAGER_ADDRESS] = extras[named.key]
    batches = [frame for _, frame in table_frames(table, columns)]
    cells = pl.concat(batches) if batches else pl.DataFrame(schema={name: pl.String for name in columns})
    cells = cells.with_columns([pl.col(name).str.strip_chars() for name in columns if name != "email"]
                               + [pl.lit("").alias(name) for name in _TEXT if name not in columns])
    if named is not None:
        cells = _linked(cells, named)
    normaliser = Normaliser()
    cells = cells.with_columns(plain=plain_addresses(cells["email"], normaliser))
    odd = _odd_addresses(cells.filter(pl.col("plain").is_null())["email"].unique().to_list(), normaliser)
    cells = cells.join(odd, on="email", how="left", maintain_order="left").with_columns(
        key=pl.coalesce(pl.col("plain").str.to_lowercase(), "odd_key"),
        email=pl.coalesce("plain", "odd_email"))
    cells = cells.filter(pl.col("key").is_not_null() & pl.col("key").is_first_distinct())
    cutoff = today - timedelta(days=settings.lists.consent_max_age_days)
    consents = cells.filter(pl.col("bad").is_null())["consent_at"].unique().to_list()
    problems = {text: NOT_MAILED[problem.reason] for text in consents
                if (problem := consent_problem(parse_date(text), cutoff)) is not None}
    scored = pl.col("key").replace_strict(scores, default=pl.col(SEGMENT_COLUMN)) if scores else pl.col(SEGMENT_COLUMN)
    good = pl.col("bad").is_null()
    people = cells.select(
        "key", "email", "name", "company", "manager", key_customer=pl.lit(False),
        segment=pl.when(good).then(scored).otherwise(pl.lit("")),
        not_mailed=pl.when(good).then(pl.col("consent_at").replace_strict(problems, default=None,
                                                                           return_dtype=pl.String)).otherwise(pl.col("bad")),
    )  # fmt: skip
    return people, named.managers if named is not None else {}


def _linked(cells: pl.DataFrame, column: ManagerColumn) -> pl.DataFrame:
    """Each row's manager as the list's manager address column names it (the cleaner's rule),
    worked out once per distinct (name, address) pair, in row order."""
    pair = ["manager", _MANAGER_ADDRESS]
    cells = cells.with_columns(pl.col(*pair).fill_null(""))
    pairs = cells.with_row_index("row", offset=2).unique(pair, keep="first", maintain_order=True)
    ids = [column.link(name, written, row) for row, name, written in pairs.select("row", *pair).iter_rows()]
    linked = pairs.select(pair).with_columns(linked=pl.Series(ids, dtype=pl.String))
    return cells.join(linked, on=pair, how="left", maintain_order="left").with_columns(
        manager=pl.col("linked")).drop("linked", _MANAGER_ADDRESS)


def _odd_addresses(cells: list[str], normaliser: Normaliser) -> pl.DataFrame:
    """Cells the column-wise fast path left: each through the normaliser (its answer, or the
    address it found and why it is unusable; null key when it found none)."""
    found = []
    for cell in cells:
        try:
            email, key, _ = normaliser.parse(cell)
            found.append((cell, email, key, None))
        except BadAddress as bad:
            why = NOT_MAILED.get(RejectReason(bad.reason), "주소 형식 오류")
            found.append((cell, bad.email or None, bad.email.lower() if bad.email else None, why))
    return pl.DataFrame(found, schema={"email": pl.String, "odd_email": pl.String, "odd_key": pl.String,
                                       "bad": pl.String}, orient="row")


def _with_key_customers(people: pl.DataFrame, key_file: Path, scores: dict[str, str]) -> pl.DataFrame:
    """The key-customer file folded in row by row: the file's manager wins, the list's name and
    company win; someone not on the list is added after everyone else."""
    normaliser = Normaliser()  # one for the file: its domain cache makes each row cheap
    rows = [(email, cells) for _, cells in read_key_customers(key_file)
            if (email := normalise(cells["email"], normaliser))]
    wanted = sorted({email.lower() for email, _ in rows})
    known = {row[0]: row[1:] for row in people.filter(pl.col("key").is_in(wanted)).select(
        "key", *PERSON_COLUMNS).iter_rows()}
    merged: dict[str, tuple] = {}
    for email, cells in rows:
        key = email.lower()
        before = merged.get(key) or known.get(key) or (email, "", "", "", False, scores.get(key, ""))
        merged[key] = (before[0], before[1] or cells.get("name", ""), before[2] or cells.get("company", ""),
                       cells.get("manager", "") or before[3], True, before[5])
    update = pl.DataFrame([(key, *person) for key, person in merged.items()],
                          schema={name: PEOPLE_SCHEMA[name] for name in ("key", *PERSON_COLUMNS)}, orient="row")
    kept = people.join(update, on="key", how="left", maintain_order="left", suffix="_key").select(
        "key", *(pl.coalesce(f"{name}_key", name).alias(name) for name in PERSON_COLUMNS), "not_mailed")
    added = update.join(people, on="key", how="anti", maintain_order="left").with_columns(
        not_mailed=pl.lit(None, pl.String))
    return pl.concat([kept, added])
