"""Key-customer reconciliation: would every 핵심 고객 receive this issue, and if not, why, and who
should act?

The key-customer file comes from sales or the CRM and is read and normalised exactly like the
subscriber list, so an address written differently in the two files (case, spaces, full-width
`＠`, zero-width characters, `이름 <addr>`) is the same customer. Each key customer gets exactly one
outcome: `present`, or a gap — `invalid_address`, a suppression reason (`unsubscribed`,
`hard_bounce`, `soft_bounce_limit`, `complaint`, `manual`), `consent_expired`, or `not_on_list`
with the list address that is probably this person (see `suggest`). A gap with an `excused`
reason stays visible but does not fail the audit. `webzine send` refuses to send while there are
unexcused gaps, unless told why (`--allow-gaps`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from webzine.i18n import N_, _
from webzine.recipients.addresses import BadAddress, Normaliser
from webzine.errors import ListError
from webzine.recipients.tables import read_table
from webzine.recipients.records import CleanList, Reject, RejectReason
from webzine.models import Manager, Suppression, SuppressionReason
from webzine.audit.suggest import Suggestion, Suggester

if TYPE_CHECKING:
    from webzine.config import Settings

KEY_FIELDS = ("email", "name", "company", "manager", "excused")
SCHEMA_FIELDS = {"ok", "issue", "key_customers", "present", "excused", "gaps"}


# What became of a key customer: on the list, missing, unusable, or not mailed for one of the
# suppression reasons (`SuppressionReason`'s members) or an expired consent (`RejectReason`'s).
Outcome = StrEnum("Outcome", [
    ("PRESENT", "present"),
    ("NOT_ON_LIST", "not_on_list"),
    ("INVALID_ADDRESS", "invalid_address"),
    *((reason.name, reason.value) for reason in SuppressionReason),
    ("CONSENT_EXPIRED", RejectReason.CONSENT_EXPIRED.value),
], module=__name__)


# The gap reasons and suggestion rules as the CSV and --json write them. People read them through
# the catalog (`_(code)`): the code itself in English, words in Korean (명단에 없음, 도메인 오타).
SHOWN_CODES = (
    N_("not_on_list"), N_("invalid_address"), N_("unsubscribed"), N_("hard_bounce"), N_("soft_bounce_limit"),
    N_("complaint"), N_("manual"), N_("consent_expired"),
    N_("typo_domain"), N_("local_typo"), N_("same_name_company"), N_("same_local_part"),
)


class Gap(BaseModel):
    """One key customer who would not receive the issue (the `--json` schema's `gaps` items)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str  # as written in the key-customer file
    name: str
    company: str
    manager: str
    reason: Outcome
    detail: str
    suggestion: str | None = None
    suggestion_rule: str | None = None
    excused: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerOutcome:
    """Every key customer's outcome, present or not (`--csv`). A dataclass, not a validated
    model: the audit makes ten thousand of them from values it checked itself."""

    row: int  # in the key-customer file
    email: str
    name: str
    company: str
    manager: str
    outcome: Outcome
    detail: str = ""
    suggestion: str | None = None
    suggestion_rule: str | None = None
    excused: str | None = None
    list_row: int | None = None  # the subscriber-list row, when the address is on the list

    def gap(self) -> Gap:
        return Gap.model_construct(email=self.email, name=self.name, company=self.company, manager=self.manager,
                                   reason=self.outcome, detail=self.detail, suggestion=self.suggestion,
                                   suggestion_rule=self.suggestion_rule, excused=self.excused)


class AuditReport(BaseModel):
    """The audit's answer. `ok`: every key customer is present or excused. `--json` prints the
    stable schema (`schema()`); `outcomes` has every customer, `duplicate_rows` the key-file rows
    that repeat an earlier customer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    issue: str | None
    key_customers: int
    present: int
    excused: int
    gaps: list[Gap]
    outcomes: list[CustomerOutcome] = []
    advertising: bool = True
    key_file: str = ""
    subscribers: str = ""
    duplicate_rows: list[int] = []
    notes: list[str] = []
    list_managers: dict[str, Manager] = {}  # the managers the list's own columns name, by id

    @property
    def unexcused(self) -> list[Gap]:
        return [gap for gap in self.gaps if not gap.excused]

    def schema(self) -> dict[str, Any]:
        """The `--json` document: exactly the documented keys, in the documented order."""
        return self.model_dump(mode="json", include=SCHEMA_FIELDS)


class _IssueLike(Protocol):
    advertising: bool
    slug: str
    source: str


def audit(key_file: str | Path, clean: CleanList, suppressions: Mapping[str, Suppression], *,
          issue: str | None = None, encoding: str | None = None) -> AuditReport:
    """Read the key-customer file and reconcile it (`reconcile`)."""
    return reconcile(read_key_customers(key_file, encoding=encoding), key_file, clean, suppressions, issue=issue)


def key_customer_keys(rows: Sequence[tuple[int, dict[str, str]]]) -> set[str]:
    """Every list address `reconcile` looks up without suggestions: each key customer's, and
    the corrected address of one that cannot be valid."""
    normaliser = Normaliser()
    keys = set()
    for __, cells in rows:
        try:
            keys.add(normaliser.parse(cells["email"])[1])
        except BadAddress as bad:
            if bad.suggestion:
                keys.add(bad.suggestion.lower())
    return keys


def reconcile(rows: Sequence[tuple[int, dict[str, str]]], key_file: str | Path, clean: CleanList,
              suppressions: Mapping[str, Suppression], *, issue: str | None = None,
              suggest: bool = True) -> AuditReport:
    """Reconcile the key customers (the file's rows) against a cleaned list (cleaned for this
    issue's advertising flag) and the suppressions. Pure: reads nothing. Without `suggest`,
    `clean` need only hold the rows of `key_customer_keys(rows)` (the streamed send's audit)."""
    view = _ListView(clean)
    normaliser = Normaliser()
    suggester = Suggester(clean)
    outcomes: list[CustomerOutcome] = []
    pending: list[tuple[int, str]] = []  # (outcome index, key) of not_on_list, for suggestions
    seen: dict[str, int] = {}
    duplicates: list[int] = []
    for row, original in rows:
        cells = dict(original)
        try:
            email, key, display = normaliser.parse(cells["email"])
        except BadAddress as bad:
            identity = "invalid:" + cells["email"].strip().lower()
            if identity in seen and cells["email"].strip():
                duplicates.append(row)
                continue
            seen[identity] = row
            outcomes.append(_invalid(row, cells, bad, view))
            continue
        if key in seen:
            duplicates.append(row)
            continue
        seen[key] = row
        if not cells["name"] and display:
            cells["name"] = display
        outcome = _outcome(row, cells, key, suppressions, view)
        if outcome.outcome is Outcome.NOT_ON_LIST:
            pending.append((len(outcomes), key))
        outcomes.append(outcome)
    if not suggest:
        pending.clear()
    for (index, key), suggestion in zip(pending, suggester.suggest_many(
            [(key, outcomes[i].name, outcomes[i].company) for i, key in pending])):
        if suggestion is not None:
            outcomes[index] = _with_suggestion(outcomes[index], suggestion, view)
    return _report(outcomes, duplicates, clean, key_file, issue)


def read_key_customers(path: str | Path, *, encoding: str | None = None) -> list[tuple[int, dict[str, str]]]:
    """The key-customer file's rows (blank ones skipped) as `(row, {field: text})`."""
    table = read_table(path, encoding=encoding, wanted=KEY_FIELDS)
    table.require("email")
    rows = []
    for number, cells in table.numbered():
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: (cells[i].strip() if (i := table.columns.get(name, -1)) >= 0 and i < len(cells) else "")
                  for name in KEY_FIELDS}
        values["email"] = cells[table.columns["email"]] if table.columns["email"] < len(cells) else ""
        rows.append((number, values))
    return rows


class _ListView:
    """What the audit needs to know about the cleaned list, by key."""

    def __init__(self, clean: CleanList) -> None:
        self.clean = clean
        self.first_row = clean.keys
        self.rejected = clean.rejects_by_key()
        self._managers: dict[int, str] | None = None

    def manager_at(self, row: int) -> str:
        """The account manager the subscriber list gives for a row (when the key file has none);
        the row → manager map is built on first use, in one pass."""
        if self._managers is None:
            recipients = self.clean.recipients
            self._managers = dict(zip(map(attrgetter("row"), recipients), map(attrgetter("manager"), recipients)))
            self._managers.update((reject.row, reject.manager) for reject in self.clean.rejects)
        return self._managers.get(row, "")

    def status(self, key: str) -> str:
        """How an address stands on the list: for suggestion details."""
        row = self.first_row.get(key)
        reject = self.rejected.get(key)
        if reject is not None:
            return _("on the list at row {row}, rejected: {reason}").format(row=reject.row, reason=reject.reason.value)
        if row is not None:
            return _("on the list at row {row}").format(row=row)
        return _("on the list")


_SUPPRESSED = {reason.value for reason in SuppressionReason}


def _outcome(row: int, cells: dict[str, str], key: str, suppressions: Mapping[str, Suppression],
             view: _ListView) -> CustomerOutcome:
    common = dict(row=row, email=cells["email"].strip(), name=cells["name"], company=cells["company"],
                  manager=cells["manager"], excused=cells["excused"] or None)
    list_row = view.first_row.get(key)
    if list_row is not None and not common["manager"]:
        common["manager"] = view.manager_at(list_row)
    elif not common["manager"] and key in view.rejected:
        common["manager"] = view.rejected[key].manager
    suppression = suppressions.get(key)
    if suppression is not None:
        return CustomerOutcome(**common, outcome=Outcome(suppression.reason.value),
                                               detail=_suppression_detail(suppression), list_row=list_row)
    reject = view.rejected.get(key)
    if reject is not None:
        return CustomerOutcome(**common, outcome=_reject_outcome(reject),
                                               detail=_reject_detail(reject), list_row=reject.row)
    if list_row is not None:
        return CustomerOutcome(**common, outcome=Outcome.PRESENT, list_row=list_row)
    return CustomerOutcome(**common, outcome=Outcome.NOT_ON_LIST,
                                           detail=_("not on the subscriber list"))


def _invalid(row: int, cells: dict[str, str], bad: BadAddress, view: _ListView) -> CustomerOutcome:
    detail = _("the key-customer file's address cannot be valid: {problem}").format(problem=bad.detail)
    suggestion, rule = (bad.suggestion or None), ("typo_domain" if bad.suggestion else None)
    if suggestion and suggestion.lower() in view.first_row:
        detail = _("the key-customer file's address cannot be valid: {problem}; {suggestion} is {status}").format(
            problem=bad.detail, suggestion=suggestion, status=view.status(suggestion.lower()))
    return CustomerOutcome(
        row=row, email=cells["email"].strip(), name=cells["name"], company=cells["company"], manager=cells["manager"],
        outcome=Outcome.INVALID_ADDRESS, detail=detail, suggestion=suggestion, suggestion_rule=rule,
        excused=cells["excused"] or None, list_row=None)


def _reject_outcome(reject: Reject) -> Outcome:
    if reject.reason.value in _SUPPRESSED:
        return Outcome(reject.reason.value)
    if reject.reason in (RejectReason.CONSENT_EXPIRED, RejectReason.CONSENT_MISSING):
        return Outcome.CONSENT_EXPIRED
    return Outcome.INVALID_ADDRESS  # undeliverable domain (--check-dns)


def _reject_detail(reject: Reject) -> str:
    if reject.reason is RejectReason.CONSENT_MISSING:
        return _("subscriber list row {row}: no consent date; ask for consent again").format(row=reject.row)
    if reject.reason is RejectReason.CONSENT_EXPIRED:
        return _("subscriber list row {row}: {detail}, older than the limit; ask for consent again").format(
            row=reject.row, detail=reject.detail)
    return _("subscriber list row {row}: {reason} ({detail})").format(
        row=reject.row, reason=reject.reason.value, detail=reject.detail)


def _suppression_detail(suppression: Suppression) -> str:
    since = suppression.since.isoformat() if suppression.since else _("an unknown date")
    if suppression.source:
        detail = _("suppressed since {since} by {source}").format(since=since, source=suppression.source)
    else:
        detail = _("suppressed since {since}").format(since=since)
    if suppression.detail:
        detail += f": {suppression.detail}"
    return detail


def _with_suggestion(outcome: CustomerOutcome, suggestion: Suggestion, view: _ListView) -> CustomerOutcome:
    detail = _("{detail}; probably {address} ({status})").format(
        detail=outcome.detail, address=suggestion.address, status=view.status(suggestion.address.lower()))
    return replace(outcome, suggestion=suggestion.address, suggestion_rule=suggestion.rule, detail=detail)


def _report(outcomes: list[CustomerOutcome], duplicates: list[int], clean: CleanList, key_file: str | Path,
            issue: str | None) -> AuditReport:
    gaps = [outcome.gap() for outcome in outcomes if outcome.outcome is not Outcome.PRESENT]
    excused = sum(1 for gap in gaps if gap.excused)
    notes = [_("{path} rows {rows} repeat an earlier key customer").format(
        path=key_file, rows=", ".join(map(str, duplicates)))] if duplicates else []
    return AuditReport.model_construct(ok=excused == len(gaps), issue=issue, key_customers=len(outcomes),
                       present=len(outcomes) - len(gaps), excused=excused, gaps=gaps, outcomes=outcomes,
                       advertising=clean.advertising, key_file=str(key_file), subscribers=clean.source,
                       duplicate_rows=duplicates, notes=notes, list_managers=clean.managers)


def run_audit(settings: Settings | None = None, *, advertising: bool, today: date,
              suppressed: Mapping[str, Suppression], issue: str | None = None,
              subscribers: str | Path | None = None, key_customers: str | Path | None = None) -> AuditReport:
    """`webzine audit` with explicit files: read the key-customer file and the subscriber list
    (from webzine.toml, explicit paths overriding), clean it against `suppressed`, audit."""
    from webzine.recipients.clean import DEFAULT_CONSENT_MAX_AGE_DAYS, clean_list

    def pick(explicit: str | Path | None, configured: str | None, what: str) -> Path:
        if explicit is not None:
            return Path(explicit)
        if settings is None or configured is None:
            raise ListError(_("no {what} file: pass --{what} PATH or run in a folder with webzine.toml.").format(
                what=what))
        return settings.path(configured)

    lists = settings.lists if settings is not None else None
    key_path = pick(key_customers, lists.key_customers if lists else None, "key-customers")
    clean = clean_list(pick(subscribers, lists.subscribers if lists else None, "subscribers"),
                       suppressions=suppressed, advertising=advertising, today=today,
                       consent_max_age_days=lists.consent_max_age_days if lists else DEFAULT_CONSENT_MAX_AGE_DAYS,
                       columns=lists.columns if lists else None)
    return audit(key_path, clean, suppressed, issue=issue)


def issue_name(issue: _IssueLike) -> str:
    return issue.slug or Path(issue.source).stem
