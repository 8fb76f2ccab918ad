"""One address as typed by a person → the address we send to, or the reason we cannot.

Normalising undoes what spreadsheets and Korean keyboards do to addresses: full-width letters
and `＠` from an IME in full-width mode (NFKC), zero-width and control characters pasted from
web pages, `이름 <addr>` and `mailto:` forms, stray spaces around `@`. The domain is lowercased and
IDNA-encoded; the local part keeps its case (it is the mailbox owner's business) but every
comparison uses `key`, the lowercased address.

Validation is email-validator's syntax check (no network). Most addresses in a real list are
plain ASCII, so a compiled pattern accepts the common shape first; it only accepts a subset of
what email-validator accepts, with the same normalised result (a property test checks this), and
everything else goes through email-validator. Per-domain work (special-use names, typos) is done
once per domain and cached.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from rapidfuzz.distance import OSA

from webzine.i18n import _

# Mail providers Korean lists are full of; their misspellings are certain typos.
PROVIDERS: dict[str, tuple[str, ...]] = {
    "naver.com": ("naver.con", "naver.co", "naver.cm", "naver.om", "naver.cmo", "naver.ocm",
                  "naver.vom", "naver.comm", "naver.net", "naver.co.kr", "navar.com", "naver.c",
                  "nvaer.com", "naevr.com", "naer.com", "navre.com", "nave.com", "never.com",
                  "navercom", "naver.xom", "naber.com", "mnaver.com"),
    "gmail.com": ("gmial.com", "gmai.com", "gmaill.com", "gamil.com", "gmali.com", "gmail.co",
                  "gmail.con", "gmail.cm", "gmail.om", "gnail.com", "gmail.cmo", "gmail.vom",
                  "gmil.com", "gmal.com", "gmail.co.kr", "gmail.net", "gmaul.com", "gmeil.com",
                  "gmail.comm", "gmail.xom", "gimail.com"),
    "hanmail.net": ("hanmial.net", "hanmali.net", "hamail.net", "hanmil.net", "hanmail.ne",
                    "hanmail.nte", "hnamail.net", "hanmai.net", "hanmaill.net", "hanmail.com",
                    "hanmail.co.kr", "hanmeil.net", "hanmail.nett", "hanamil.net", "hanmail.met"),
    "daum.net": ("duam.net", "daum.ne", "daum.nte", "dum.net", "daim.net", "daum.nett",
                 "daum.met", "dauym.net", "daun.net"),
    "nate.com": ("nate.co", "nate.con", "naet.com", "nate.cmo", "nate.cm", "nate.net", "ntae.com",
                 "nate.vom", "nate.co.kr"),
    "kakao.com": ("kakao.con", "kako.com", "kakao.co", "kakao.cm", "kakoa.com", "kakao.net"),
    "hotmail.com": ("hotmial.com", "hotmal.com", "hotmai.com", "hotmail.con", "hotmail.co",
                    "homail.com", "hotmali.com"),
    "outlook.com": ("outlok.com", "outllok.com", "outlook.con", "outlool.com", "otlook.com"),
    "yahoo.com": ("yaho.com", "yhaoo.com", "yahoo.con", "yahooo.com", "yahho.com"),
    "icloud.com": ("iclod.com", "icloud.con", "icoud.com", "icluod.com", "iclould.com"),
    "korea.com": ("korea.con", "korae.com", "koera.com"),
    "live.com": ("live.con", "liv.com"),
}
KNOWN_TYPOS: dict[str, str] = {typo: right for right, typos in PROVIDERS.items() for typo in typos}
# Misspelt endings that are not real top-level domains, on any domain.
SUFFIX_TYPOS = {".con": ".com", ".cmo": ".com", ".ocm": ".com", ".vom": ".com", ".xom": ".com",
                ".comm": ".com", ".coom": ".com", ".cpm": ".com", ".nte": ".net", ".nett": ".net",
                ".co.kt": ".co.kr", ".co.krr": ".co.kr", ".co.rk": ".co.kr", ".or.kt": ".or.kr",
                ".co,kr": ".co.kr", ".ckr": ".kr"}
ROLE_LOCALS = frozenset({*CASE_INSENSITIVE_MAILBOX_NAMES, "admin", "administrator", "root", "help",
                         "contact", "office", "noreply", "no-reply", "donotreply", "hr", "billing",
                         "mail", "master", "sales", "team", "cs", "hello", "newsletter"})

# The common shape of an address (local part, domain), written so that Rust's regex engine reads
# it the same way: customers.totals applies it to a whole column of order lines in polars.
FAST_PATTERN = (r"([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*)"
                r"@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})")
FAST_MAX_LENGTH, FAST_MAX_LOCAL = 254, 64
_FAST = re.compile(FAST_PATTERN).fullmatch
_ANGLE = re.compile(r"^(.*?)<([^<>]*)>[\s.,;]*$", re.DOTALL)
_SPACE_AROUND = re.compile(r"\s*([@.])\s*")
_SPACE = re.compile(r"\s")
_SEPARATORS = re.compile(r"[;,\s]+")
_DOMAIN_CACHE_LIMIT = 200_000


class BadAddress(Exception):
    """Why a cell cannot be an address; `reason` is a RejectReason value."""

    def __init__(self, reason: str, detail: str, *, email: str = "", suggestion: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.email = email
        self.suggestion = suggestion


@dataclass(slots=True)
class DomainInfo:
    """What we know about one domain (as IDNA ASCII, lowercased)."""

    domain: str
    error: str = ""  # non-empty: no address at this domain can be valid
    typo_of: str = ""  # a certain misspelling of this domain
    plain: bool = False  # no error and no typo: the fast path may accept addresses here
    suffix: str = ""  # "@domain", made once: the fast path appends it to each local part

    def __post_init__(self) -> None:
        self.suffix = "@" + self.domain


def typo_correction(domain: str) -> str:
    """The domain this one is a known misspelling of, or ""."""
    right = KNOWN_TYPOS.get(domain)
    if right:
        return right
    for wrong, good in SUFFIX_TYPOS.items():
        if domain.endswith(wrong):
            return domain[: -len(wrong)] + good
    return ""


_CASE_INSENSITIVE_LOCALS = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def mailbox_local(local: str) -> str:
    """The local part as we write it: RFC 2142's names (INFO, POSTMASTER …) are case-insensitive,
    so lowercased, as email-validator does; any other keeps its case (the owner's business)."""
    lower = local.lower()
    return lower if lower in _CASE_INSENSITIVE_LOCALS else local


def special_use(domain: str) -> bool:
    return any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAIN_NAMES)


def clean_text(text: str) -> str:
    """NFKC and without control or format characters (zero-width spaces, BOMs, bidi marks)."""
    text = unicodedata.normalize("NFKC", text)
    if text.isprintable():  # no control or format character (the usual case): nothing to drop
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\t\n")


class Normaliser:
    """Normalises addresses with per-domain caching; one per list load (not thread-safe).

    `parse(cell)` returns `(email, key, display_name)` or raises BadAddress; `fixed` is then the
    (wrong, right) domain pair when a typo was corrected. With `fix_typos`,
    known typo domains are corrected and reported through `fixed`; without it they are rejected
    with the correction as the suggestion."""

    def __init__(self, *, fix_typos: bool = False) -> None:
        self.fix_typos = fix_typos
        self.domains: dict[str, DomainInfo] = {}  # by normalised (lowercase IDNA) domain
        self.fixed: tuple[str, str] | None = None  # (original domain, corrected) for the last parse

    def parse(self, cell: str) -> tuple[str, str, str]:
        self.fixed = None
        text = cell.strip()
        if text.isascii():
            match = _FAST(text)
            if match is not None and len(text) <= FAST_MAX_LENGTH and len(match.group(1)) <= FAST_MAX_LOCAL:
                local, domain = match.group(1), match.group(2).lower()
                if self.domain(domain).plain:
                    email = mailbox_local(local) + "@" + domain
                    return email, email.lower(), ""
        return self._slow(cell)

    def domain(self, domain: str) -> DomainInfo:
        """What we know about a (lowercase, IDNA) domain; looked at once, then cached. A `plain`
        domain needs no more thought: no error, no typo. Label syntax is the caller's check."""
        info = self.domains.get(domain)
        if info is None:
            info = DomainInfo(domain)
            if "--" in domain or len(domain) > 253 or special_use(domain):
                info.error = "left to email-validator"
            else:
                info.typo_of = typo_correction(domain)
            info.plain = not info.error and not info.typo_of
            if len(self.domains) < _DOMAIN_CACHE_LIMIT:
                self.domains[domain] = info
        return info

    def _finish(self, local: str, domain: str, display: str) -> tuple[str, str, str]:
        """The common end of the slow path: typo handling and the normalised form."""
        typo_of = self.domain(domain).typo_of
        if typo_of:
            if not self.fix_typos:
                raise BadAddress("typo_domain", _("'{domain}' looks like a misspelling of '{typo_of}'").format(
                    domain=domain, typo_of=typo_of),
                                 email=f"{local}@{domain}", suggestion=f"{local}@{typo_of}")
            self.fixed = (domain, typo_of)
            domain = typo_of
        email = f"{mailbox_local(local)}@{domain}"
        return email, email.lower(), display

    def _slow(self, cell: str) -> tuple[str, str, str]:
        text = clean_text(cell).strip()
        display = ""
        angle = _ANGLE.match(text)
        if angle:
            display = angle.group(1).strip().strip("\"'").strip()
            text = angle.group(2).strip()
        if text[:7].lower() == "mailto:":
            text = text[7:].split("?", 1)[0].strip()
        if _SPACE.search(text):  # without any, the substitution changes nothing (and costs a call per dot)
            text = _SPACE_AROUND.sub(r"\1", text)
        text = text.strip().rstrip(".,;:")
        if not text:
            raise BadAddress("missing_email", _("the email cell is empty"))
        if text.count("@") > 1 and len(_SEPARATORS.split(text.strip(";, "))) > 1:
            first = _SEPARATORS.split(text.strip(";, "))[0]
            raise BadAddress("multiple_addresses", _("more than one address in one cell; give each its own row"),
                             suggestion=first)
        if text.isascii():  # cleaned up into the common shape: no need for email-validator
            match = _FAST(text)
            if match is not None and len(text) <= FAST_MAX_LENGTH and len(match.group(1)) <= FAST_MAX_LOCAL:
                domain = match.group(2).lower()
                if not self.domain(domain).error:
                    return self._finish(match.group(1), domain, display)
        try:
            valid = validate_email(text, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as exc:
            raise BadAddress("invalid_syntax", str(exc), email=text) from None
        local, domain = valid.ascii_local_part or valid.local_part, (valid.ascii_domain or valid.domain).lower()
        return self._finish(local, domain, display)


def edits1(word: str, alphabet: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away (Norvig)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in alphabet]
    inserts = [a + c + b for a, b in splits for c in alphabet]
    return set(deletes + transposes + replaces + inserts)


def close_domain(domain: str, targets: list[str], *, max_distance: int = 1) -> str:
    """The target domain within `max_distance` edits (a swap counts as one), or ""."""
    best, best_distance = "", max_distance + 1
    for target in targets:
        if target == domain:
            return ""
        distance = OSA.distance(domain, target, score_cutoff=max_distance)
        if distance < best_distance:
            best, best_distance = target, distance
    return best
