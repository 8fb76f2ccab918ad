"""For a key customer who is not on the list: the list address that is probably them.

Rules, most certain first; the first that finds an address wins:
1. `typo_domain` — the same local part at a misspelt domain (kim@naver.con for kim@naver.com):
   known misspellings, wrong endings, and every domain one edit away.
2. `local_typo` — the same domain, the local part one edit away (a letter dropped, doubled,
   swapped or mistyped: kimgapsu / kimgapsoo is two, gapsu.kim / gapsu.kin is one).
3. `same_name_company` — the same name at the same company under another address.
4. `same_local_part` — the same (distinctive) local part at another domain: moved jobs or
   providers (kim.gapsu@hanbit.co.kr → kim.gapsu@gmail.com).

Rules 1–2 generate the few hundred strings one edit away from the customer's address and look
each up in the list's address set — exact, and independent of the list's size, so ten thousand key
customers never mean ten thousand scans of a million rows. Rules 3–4 need an index over the list;
it is built once, in one pass, and only for the customers still without a suggestion. When a rule
finds several addresses, rapidfuzz picks the one closest to the customer's address.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import and_, attrgetter, itemgetter

from rapidfuzz import fuzz

from webzine.recipients.addresses import KNOWN_TYPOS, ROLE_LOCALS, SUFFIX_TYPOS, edits1
from webzine.recipients.records import CleanList

LOCAL_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789._-+"
DOMAIN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.-"
_TYPOS_OF: dict[str, list[str]] = {}
for _typo, _right in KNOWN_TYPOS.items():
    _TYPOS_OF.setdefault(_right, []).append(_typo)
_CORPORATE = ("주식회사", "(주)", "(유)", "유한회사", "co.,ltd.", "co.,ltd", "co., ltd.", "ltd.", "ltd", "inc.",
              "inc", "corp.", "corporation")


@dataclass(frozen=True, slots=True)
class Suggestion:
    address: str
    rule: str  # typo_domain | local_typo | same_name_company | same_local_part


def normalise_name(text: str) -> str:
    """Names and company names compared loosely: NFKC, case-folded, without spaces, punctuation
    and the corporate-form words (주식회사, (주), ㈜, Co., Ltd., Inc.) people add or leave out."""
    if text.isalnum() and unicodedata.is_normalized("NFKC", text):
        return text.casefold()  # most Korean names already are; skip the slow path
    text = unicodedata.normalize("NFKC", text).casefold()
    for word in _CORPORATE:
        text = text.replace(word, "")
    return "".join(ch for ch in text if ch.isalnum())


class _Names(dict[str, str]):
    """Cached normalise_name: list columns repeat their values."""

    def __missing__(self, text: str) -> str:
        value = self[text] = normalise_name(text)
        return value


_email, _name, _company = attrgetter("email"), attrgetter("name"), attrgetter("company")


class Suggester:
    """Suggestions against one cleaned list: every address it read, kept or not."""

    def __init__(self, clean: CleanList) -> None:
        self.clean = clean
        self.keys = clean.keys  # every parsed address (kept, suppressed, consent …) → first row
        # Addresses rejected before they had a key (typo domains): the likeliest suggestions of all.
        rejected = clean.rejects_by_key()
        self.unparsed = {key: rejected[key].email for key in rejected.keys() - clean.keys.keys() if "@" in key}

    def _on_list(self, candidates: set[str]) -> list[str]:
        """The candidates that are list addresses, sorted (set operations in C: a few hundred
        look-ups per customer)."""
        found = (self.keys.keys() & candidates) | (self.unparsed.keys() & candidates)
        return sorted(self.unparsed.get(c, c) for c in found)

    def suggest_many(self, queries: Sequence[tuple[str, str, str]]) -> list[Suggestion | None]:
        """For each (key, name, company): the best suggestion, or None."""
        found: list[Suggestion | None] = [self._by_edits(key) for key, _, _ in queries]
        rest = [i for i, suggestion in enumerate(found) if suggestion is None]
        if rest:
            by_person = self._by_person([queries[i] for i in rest])
            by_local = self._by_local([queries[i][0] for i in rest])
            for i, person, local in zip(rest, by_person, by_local):
                found[i] = person or local
        return found

    def _by_edits(self, key: str) -> Suggestion | None:
        local, _, domain = key.rpartition("@")
        known = list(_TYPOS_OF.get(domain, ()))
        known += [domain[: -len(good)] + wrong for wrong, good in SUFFIX_TYPOS.items() if domain.endswith(good)]
        for candidates in (known, edits1(domain, DOMAIN_ALPHABET) - {domain}):
            hits = self._on_list({f"{local}@{candidate}" for candidate in candidates})
            if hits:
                return Suggestion(_closest(key, hits), "typo_domain")
        hits = self._on_list({f"{near}@{domain}" for near in edits1(local, LOCAL_ALPHABET) - {local} if near})
        if hits:
            return Suggestion(_closest(key, hits), "local_typo")
        return None

    def _people(self) -> tuple[list[str], list[str], list[str]]:
        """Addresses, names and companies of every list row that has an address (built in C)."""
        rows = self.clean.recipients + [r for r in self.clean.rejects if r.email and "@" in r.email]
        return list(map(_email, rows)), list(map(_name, rows)), list(map(_company, rows))

    def _by_person(self, queries: Sequence[tuple[str, str, str]]) -> list[Suggestion | None]:
        names = _Names()
        wanted = {(names[name], names[company]) for _, name, company in queries if name and company}
        wanted.discard(("", ""))
        if not wanted:
            return [None] * len(queries)
        wanted_names = {name for name, _ in wanted}
        wanted_companies = {company for _, company in wanted}
        index: dict[tuple[str, str], list[str]] = {}
        addresses, people, companies = self._people()
        hits = map(and_, map(wanted_names.__contains__, map(names.__getitem__, people)),
                   map(wanted_companies.__contains__, map(names.__getitem__, companies)))
        for address, name, company in compress(zip(addresses, people, companies), hits):
            person = (names[name], names[company])
            if person in wanted:
                index.setdefault(person, []).append(address)
        results: list[Suggestion | None] = []
        for key, name, company in queries:
            hits = [a for a in index.get((names[name], names[company]), []) if a.lower() != key] if name and company else []
            results.append(Suggestion(_closest(key, hits), "same_name_company") if hits else None)
        return results

    def _by_local(self, keys: Sequence[str]) -> list[Suggestion | None]:
        wanted = {key.rpartition("@")[0] for key in keys}
        wanted = {local for local in wanted if _distinctive(local)}
        if not wanted:
            return [None] * len(keys)
        addresses = [*self.keys, *self.unparsed]  # lowercase already
        locals_ = map(itemgetter(0), map(str.rpartition, addresses, repeat("@")))
        index: dict[str, list[str]] = {}
        for address in compress(addresses, map(wanted.__contains__, locals_)):
            index.setdefault(address.rpartition("@")[0], []).append(self.unparsed.get(address, address))
        results: list[Suggestion | None] = []
        for key in keys:
            local = key.rpartition("@")[0]
            hits = [a for a in index.get(local, []) if a.lower() != key]
            results.append(Suggestion(_closest(key, hits), "same_local_part") if hits else None)
        return results


def _distinctive(local: str) -> bool:
    """A local part that identifies a person, not a shared or generic mailbox."""
    return len(local) >= 4 and local not in ROLE_LOCALS and not local.isdigit()


def _closest(key: str, candidates: Sequence[str]) -> str:
    """The candidate most like the key (rapidfuzz ratio); the first listed on a tie."""
    if len(candidates) == 1:
        return candidates[0]
    return max(candidates, key=lambda candidate: fuzz.ratio(key, candidate.lower()))
