"""The subscriber list, cleaned: every row read is kept, rejected with a reason, or a duplicate.

`clean_list` is the one function both `webzine lists clean` and the send path use:
1. parse (`parse.py`): read the table, normalise and validate each address;
2. look at the list as a whole: rare domains one letter away from common ones (suspected typos),
   and optionally which domains accept no mail (`--check-dns`, see `mx`);
3. in row order: dedupe (first row wins), suppressions, deliverability, consent.
Nothing is dropped silently: `rows_read == kept + len(rejects) + len(duplicates)` for any input,
and blank rows (no cell filled) are counted apart.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from itertools import compress, repeat
from operator import attrgetter, not_
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from webzine.i18n import _
from webzine.recipients.addresses import PROVIDERS, BadAddress, Normaliser, close_domain
from webzine.errors import ListError, where
from webzine.recipients.cells import DEFAULT_LIMITS, ReadLimits
from webzine.recipients.tables import BLOCK_SIZE, Table, read_table, table_from_rows
from webzine.recipients.list_managers import ManagerColumn, derive_managers, table_columns
from webzine.recipients.records import CleanList, Duplicate, Note, Reconfirm, Reject, RejectReason
from webzine.models import Manager, Recipient, Suppression
from webzine.recipients.parse import CHUNK_SIZE, Parsed, parse_rows

if TYPE_CHECKING:
    from webzine.config import Settings

__all__ = ["CleanList", "ConsentProblem", "Duplicate", "Note", "Reconfirm", "Reject", "RejectReason", "clean_list",
           "consent_problem", "load_clean_list", "load_managers"]

RECIPIENT_COLUMNS = ("email", "name", "adjective", "company", "manager", "consent_at", "tags")
DEFAULT_CONSENT_MAX_AGE_DAYS = 730  # 정보통신망법: re-confirm marketing consent every two years
_row_of = attrgetter("row")
_consent_of = attrgetter("consent_at")
_email_of, _name_of, _company_of, _manager_of = (attrgetter(name) for name in ("email", "name", "company", "manager"))
_status_of, _reason_of, _detail_of = (attrgetter(name) for name in ("status", "reason", "detail"))
_T = TypeVar("_T", bound=tuple)  # type: ignore[type-arg]


def clean_list(
    source: str | Path | Table | Iterable[Mapping[str, object]],
    *,
    suppressions: Mapping[str, Suppression] | Iterable[Suppression] | None = None,
    advertising: bool,
    today: date,
    consent_max_age_days: int = DEFAULT_CONSENT_MAX_AGE_DAYS,
    fix_typos: bool = False,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    check_domains: Callable[[set[str]], Mapping[str, str]] | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    chunk_size: int = CHUNK_SIZE,
    block_size: int = BLOCK_SIZE,
) -> CleanList:
    """Read, normalise, validate, dedupe, suppress and consent-check a subscriber list.

    `source` is a path (CSV/TSV/xlsx), an opened `Table`, or mappings with header keys.
    `columns` is `[lists.columns]`: with a `manager_email` column, each recipient points at the
    manager it names (`list_managers`), and `CleanList.managers` holds them.
    `suppressions` is `load_suppressions()`'s result (or Suppression records). `check_domains`
    (for `--check-dns`, see `webzine.recipients.mx`) gets the list's distinct domains once and returns the
    undeliverable ones with the reason. `limits` bound what a file may hold (see
    `tables.ReadLimits`). Rows are parsed `chunk_size` at a time, a CSV file `block_size`
    characters at a time; the result does not depend on either."""
    table = _open(source, columns=table_columns(columns or {}), encoding=encoding, sheet=sheet, limits=limits,
                  block_size=block_size)
    result = CleanList(table.source, encoding=table.encoding, delimiter=table.delimiter,
                       header=list(table.header), extras=[name for name, _ in table.extras],
                       advertising=advertising)
    managers = ManagerColumn.find(columns, result.extras, table.source)
    with no_cyclic_gc():
        parsed = _parse(table, Normaliser(fix_typos=fix_typos), result, chunk_size)
        if managers is not None:
            parsed.recipients = derive_managers(parsed.recipients, managers)
            result.managers = managers.managers
        suspects = suspect_domains(result.domains, len(parsed.recipients))
        if suspects:
            _apply_suspects(result, parsed, suspects, fix_typos)
        undeliverable = check_domains(set(result.domains)) if check_domains is not None else None
        unique, keys = _dedupe(result, parsed)
        list_checks(result, parsed, unique, keys, _suppression_index(suppressions), undeliverable,
                     today - timedelta(days=consent_max_age_days), advertising)
    result.rejects.sort(key=_row_of)
    result.warnings.sort(key=_row_of)  # row order, whatever the chunk boundaries
    return result


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a million acyclic records are created: its
    repeated full scans of the growing heap cost a fifth of the run and free nothing.

    Everything made meanwhile sits in the youngest generation, so the first collection after
    would walk all of it (half a second for a million rows). The records live as long as the
    list, as if they had survived collections: `freeze` then `unfreeze` moves them straight to
    the oldest generation by relinking two lists, without the walk. Skipped when the process
    froze objects itself (unfreezing would hand those back to the collector)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _parse(table: Table, normaliser: Normaliser, result: CleanList, chunk_size: int) -> Parsed:
    """parse_rows, with a bad byte anywhere in the file reported before any other problem, as
    when the encoding is checked before the table is opened."""
    try:
        return parse_rows(table, normaliser, result, chunk_size=chunk_size)
    except ListError:
        error = table.encoding_error() if table.encoding_error is not None else None
        if error is not None:
            raise error from None
        raise


def _open(source: str | Path | Table | Iterable[Mapping[str, object]], *, columns: Mapping[str, str] | None,
          encoding: str | None, sheet: str | None, limits: ReadLimits, block_size: int) -> Table:
    if isinstance(source, Table):
        return source
    if isinstance(source, (str, Path)):
        # Every row is read before any is used, so the encoding is checked by reading them.
        return read_table(source, encoding=encoding, sheet=sheet, overrides=columns, check_encoding_first=False,
                          limits=limits, block_size=block_size)
    return table_from_rows(source, overrides=columns)


def suspect_domains(counts: Counter[str], total: int) -> dict[str, str]:
    """Rare domains one edit away from a common one (a major provider, or a domain many rows of
    this list use): probably typos, but maybe real, so they are flagged rather than rejected."""
    popular_floor = max(3, total // 1000)
    targets = sorted(set(PROVIDERS) | {d for d, n in counts.items() if n >= popular_floor},
                     key=lambda d: -counts.get(d, 0))
    suspects: dict[str, str] = {}
    for domain, count in counts.items():
        if domain in PROVIDERS or count >= popular_floor:
            continue
        target = close_domain(domain, targets)
        if target and (target in PROVIDERS or counts.get(target, 0) >= 5 * count):
            suspects[domain] = target
    return suspects


def _apply_suspects(result: CleanList, parsed: Parsed, suspects: dict[str, str], fix_typos: bool) -> None:
    """Warn about (or, with --fix-typos, correct and log) addresses at suspected typo domains."""
    for index, recipient in enumerate(parsed.recipients):
        local, _at, domain = recipient.email.rpartition("@")
        target = suspects.get(domain)
        if target is None:
            continue
        corrected = f"{local}@{target}"
        if not fix_typos:
            result.warnings.append(Note(recipient.row, recipient.email, "suspect_domain",
                                        _("'{domain}' is one letter away from '{target}'").format(
                                            domain=domain, target=target), corrected))
            continue
        result.fixes.append(Note(recipient.row, corrected, "fixed_typo", f"{domain} → {target}", corrected))
        parsed.recipients[index] = replace(recipient, email=corrected)
        parsed.keys[index] = corrected.lower()
        parsed.written.setdefault(recipient.row, recipient.email)


def _dedupe(result: CleanList, parsed: Parsed) -> tuple[list[Recipient], list[str]]:
    """First row wins; later rows with the same key become Duplicates. The dict is built in C
    from the reversed rows, so the earliest row is the one left standing. The later rows are the
    row numbers it did not keep: a set difference of small integers, not a million look-ups of
    the keys again."""
    recipients, keys = parsed.recipients, parsed.keys
    rows = list(map(_row_of, recipients))
    first = dict(zip(reversed(keys), reversed(rows)))
    result.keys = first
    if len(first) == len(keys):
        return recipients, keys
    dropped = set(rows)
    dropped.difference_update(first.values())
    later = list(map(dropped.__contains__, rows))
    for index in compress(range(len(keys)), later):
        recipient = recipients[index]
        result.duplicates.append(Duplicate(recipient.row, parsed.written.get(recipient.row, recipient.email),
                                           recipient.email, first[keys[index]]))
    keep = list(map(not_, later))
    return list(compress(recipients, keep)), list(compress(keys, keep))


def _suppression_index(
    suppressions: Mapping[str, Suppression] | Iterable[Suppression] | None,
) -> Mapping[str, Suppression]:
    if suppressions is None:
        return {}
    if isinstance(suppressions, Mapping):
        return suppressions
    return {s.key: s for s in suppressions}


class ConsentProblem(NamedTuple):
    """Why a recipient's marketing consent must be asked for again."""

    status: str  # Reconfirm.status: "missing" | "expired"
    reason: RejectReason  # the reject, for an advertising issue
    detail: str


def consent_problem(consent: date | None, cutoff: date) -> ConsentProblem | None:
    """The consent rule (정보통신망법): a consent date missing, or before `cutoff`, must be
    re-confirmed, and an advertising issue may not be sent on it. It depends on the date alone,
    so the cleaner asks it once per distinct date."""
    if consent is None:
        return ConsentProblem("missing", RejectReason.CONSENT_MISSING, _("no consent date"))
    if consent < cutoff:
        return ConsentProblem("expired", RejectReason.CONSENT_EXPIRED, _("consent given {consent}").format(
            consent=consent.isoformat()))
    return None


def list_checks(result: CleanList, parsed: Parsed, unique: list[Recipient], keys: list[str],
                 suppressions: Mapping[str, Suppression], undeliverable: Mapping[str, str] | None,
                 cutoff: date, advertising: bool) -> None:
    """Suppression, then deliverability, then consent: the first reason wins, and people who are
    suppressed are not asked to re-confirm consent. Rows that are suppressed or at an
    undeliverable domain (few) are looked at one by one; the consent rule is worked out once per
    distinct date and applied to the rest in C."""
    consents = list(map(_consent_of, unique))
    problems = {consent: consent_problem(consent, cutoff) for consent in set(consents)}
    look = list(map(bool, map(problems.__getitem__, consents)))
    hit = None
    if suppressions:
        # Ten thousand suppressions against a million keys: ask the (small) suppression list.
        first = result.keys
        rows = {first[key] for key in suppressions if key in first}
        if rows:
            hit = list(map(rows.__contains__, map(_row_of, unique)))
    if undeliverable:
        hit = [bool(flag or undeliverable.get(recipient.email.rpartition("@")[2]))
               for flag, recipient in zip(hit or repeat(False), unique)]
    drop = [False] * len(unique)
    written = parsed.written
    if hit is not None:
        for index in compress(range(len(unique)), hit):
            recipient = unique[index]
            reject = _blocked(recipient, keys[index], written.get(recipient.row, recipient.email),
                              suppressions, undeliverable)
            if reject is not None:
                result.rejects.append(reject)
                drop[index] = True
                look[index] = False
    if any(look):
        _consent_rule(result, unique, look, drop, written, advertising, problems)
    result.recipients = list(compress(unique, map(not_, drop))) if any(drop) else unique


def _consent_rule(result: CleanList, unique: list[Recipient], stale: list[bool], drop: list[bool],
                  written: Mapping[int, str], advertising: bool,
                  problems: Mapping[date | None, ConsentProblem | None]) -> None:
    """The rows in `stale` must re-confirm (`problems` says why, by consent date); for an
    advertising issue they are also rejected."""
    indexes = list(compress(range(len(unique)), stale))
    recipients = list(map(unique.__getitem__, indexes))
    found = list(map(problems.__getitem__, map(_consent_of, recipients)))
    result.consent_reconfirm.extend(_records(Reconfirm, recipients, map(_status_of, found)))
    if not advertising:
        return
    rows, emails = list(map(_row_of, recipients)), list(map(_email_of, recipients))
    result.rejects.extend(_records(Reject, rows, map(written.get, rows, emails), map(_reason_of, found),
                                   repeat(""), map(_detail_of, found), emails, map(_name_of, recipients),
                                   map(_company_of, recipients), map(_manager_of, recipients)))
    for index in indexes:
        drop[index] = True


def _records(kind: type[_T], *columns: Iterable[object]) -> Iterator[_T]:
    """Named tuples from columns of field values, made in C: `tuple.__new__` is all a named
    tuple's own `__new__` calls, after a Python frame per record that a hundred thousand
    rejects would pay for."""
    return map(tuple.__new__, repeat(kind), zip(*columns))


def _blocked(recipient: Recipient, key: str, value: str, suppressions: Mapping[str, Suppression],
             undeliverable: Mapping[str, str] | None) -> Reject | None:
    """The reject for a suppressed address or an undeliverable domain (in that order), or None."""
    suppression = suppressions.get(key)
    if suppression is not None:
        since = suppression.since.isoformat() if suppression.since else _("unknown date")
        detail = (_("since {since} ({source})") if suppression.source else _("since {since}")).format(
            since=since, source=suppression.source)
        return _reject(recipient, value, RejectReason(suppression.reason.value), detail)
    why = undeliverable.get(recipient.email.rpartition("@")[2]) if undeliverable else None
    if why:
        return _reject(recipient, value, RejectReason.UNDELIVERABLE_DOMAIN, why)
    return None


def _reject(recipient: Recipient, value: str, reason: RejectReason, detail: str) -> Reject:
    return Reject(recipient.row, value, reason, "", detail, recipient.email, recipient.name, recipient.company,
                  recipient.manager)


def load_clean_list(settings: Settings, *, advertising: bool, today: date, suppressions: Mapping[str, Suppression],
                    path: str | Path | None = None, fix_typos: bool = False,
                    columns: Mapping[str, str] | None = None, encoding: str | None = None,
                    sheet: str | None = None, check_dns: bool | None = None) -> CleanList:
    """The subscriber list from webzine.toml (or `path`), cleaned against `suppressions` (the
    caller's one suppression source) as of `today`. The customers' segments are joined by the
    callers that merge them (`webzine.customers.with_segments`)."""
    lists = settings.lists
    source = Path(path) if path is not None else settings.path(lists.subscribers)
    check = None
    if lists.check_dns if check_dns is None else check_dns:
        from webzine.recipients.mx import undeliverable_domains

        check = undeliverable_domains
    return clean_list(source, suppressions=suppressions, advertising=advertising, today=today,
                       consent_max_age_days=lists.consent_max_age_days, fix_typos=fix_typos,
                       columns={**lists.columns, **(columns or {})}, encoding=encoding, sheet=sheet,
                       check_domains=check)


def load_managers(path: str | Path, *, encoding: str | None = None) -> dict[str, Manager]:
    """managers.csv (`id,name,email,phone[,title]`, any encoding, Korean headers) by id.

    A missing file means no managers (replies go to the publication's reply_to). A duplicate id
    or an unusable address is an error: the manager's address becomes a Reply-To."""
    path = Path(path)
    if not path.exists():
        return {}
    table = read_table(path, encoding=encoding, wanted=("id", "name", "email", "phone", "title"))
    id_at, email_at = table.require("id"), table.require("email")
    picks = [table.columns.get(name, -1) for name in ("name", "phone", "title")]
    normaliser = Normaliser()
    managers: dict[str, Manager] = {}
    for number, cells in table.numbered():
        cells = cells + [""] * (len(table.header) - len(cells))
        if not any(cell.strip() for cell in cells):
            continue
        manager_id = cells[id_at].strip()
        if not manager_id:
            raise ListError(_("{where}: the manager has no id; fill in the id column.").format(
                where=where(path, row=number)))
        if manager_id in managers:
            raise ListError(_("{where}: manager id {manager_id!r} is used twice; ids must be unique.").format(
                where=where(path, row=number), manager_id=manager_id))
        try:
            email, _key, display = normaliser.parse(cells[email_at])
        except BadAddress as bad:
            raise ListError(_("{where}: manager {manager_id!r} has an unusable address {address!r} ({detail}); "
                              "correct it.").format(
                where=where(path, row=number), manager_id=manager_id, address=cells[email_at],
                detail=bad.detail)) from None
        name, phone, title = (cells[i].strip() if i >= 0 else "" for i in picks)
        managers[manager_id] = Manager(manager_id, name or display, email, phone, title)
    return managers
