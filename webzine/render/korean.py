"""Korean personalisation: particles (조사) after a merged name, and honorific greetings.

A particle depends on how the word before it *sounds*: 은/이/을/과/으로 follow a final consonant
(받침), 는/가/를/와/로 follow a vowel, and 으로 is the one pair where a final ㄹ behaves like a vowel
(서울로, 김하늘로). Because names come from a list at send time, the template cannot pick the
particle; these helpers do, per recipient.

How the last sound is found (the rule, in order; anything uncertain falls back):

1. Trailing closing punctuation is skipped, so `초록상회(주)` is read by its `주`.
2. A Hangul syllable: its 받침 decides (NFC-normalised first, so decomposed jamo work too).
3. Digits are read the Sino-Korean way: the last non-zero digit (일, 이, 삼 … 구) or, for trailing
   zeros, the unit they make (십, 백, 천, 만, 억, 조, 경). Thousands separators are ignored and a
   decimal number is read by its last digit (3.5 → 오).
4. An all-capital Latin run without vowel letters is an acronym read letter by letter (KT → 티,
   LG → 지, NHN → 엔). With vowels it may be a word (KIM, PARK): the letter reading is used only
   where it agrees with the word reading of rule 5 (IBM → 엠 = -m), otherwise it falls back.
5. Any other Latin word is guessed only where loanword spelling is regular: -m, -n, -ng take a
   받침 (Kim → 킴, John → 존, Young → 영), -l takes ㄹ (Paul → 폴), and -a, -i, -o, -u, -y, -r
   are read without one (Anna, Peter → 피터). Other endings (-e, -k, -t, -s …) are ambiguous
   (Jane → 제인 but Steve → 스티브; Park → 박 but Mark → 마크) and fall back.
6. Everything else (Hanja, symbols, emoji) falls back to the written-both style, which is always
   correct to read: `은(는)`, `이(가)`, `(으)로`, `(이)라`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from webzine.errors import TemplateError
from webzine.i18n import _


class Final(Enum):
    """The last sound of a word, as far as particles care."""

    VOWEL = "vowel"  # no 받침
    RIEUL = "rieul"  # 받침 ㄹ
    CONSONANT = "consonant"  # any other 받침
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Pair:
    """A particle's two forms. `rieul_takes_vowel_form` is the (으)로 rule."""

    consonant: str  # after a 받침: 은, 이, 을, 과, 으로 …
    vowel: str  # after a vowel: 는, 가, 를, 와, 로 …
    rieul_takes_vowel_form: bool = False

    @property
    def fallback(self) -> str:
        """Both forms written at once, the way Korean software shows an unknown case."""
        if self.consonant.endswith(self.vowel) and len(self.consonant) > len(self.vowel):
            return f"({self.consonant[: -len(self.vowel)]}){self.vowel}"  # (으)로, (이)라
        return f"{self.consonant}({self.vowel})"  # 은(는), 이(가), 이에요(예요)

    def choose(self, final: Final) -> str:
        if final is Final.VOWEL or (final is Final.RIEUL and self.rieul_takes_vowel_form):
            return self.vowel
        if final in (Final.CONSONANT, Final.RIEUL):
            return self.consonant
        return self.fallback


_BASE_PAIRS = (
    Pair("은", "는"),
    Pair("이", "가"),
    Pair("을", "를"),
    Pair("과", "와"),
    Pair("아", "야"),
    Pair("이여", "여"),
    Pair("이에요", "예요"),
    Pair("이었", "였"),
    Pair("이라", "라"),
    Pair("이나", "나"),
    Pair("이랑", "랑"),
    Pair("이며", "며"),
    Pair("이든", "든"),
    Pair("이든지", "든지"),
    Pair("이라고", "라고"),
    Pair("이라서", "라서"),
    Pair("이라도", "라도"),
    Pair("이라면", "라면"),
    Pair("이란", "란"),
    Pair("이야말로", "야말로"),
    Pair("으로", "로", True),
    Pair("으로서", "로서", True),
    Pair("으로써", "로써", True),
    Pair("으로부터", "로부터", True),
)

# Either form alone names its pair. "야" is the vocative 아/야; the copula is "이야/야" written out.
_BY_FORM: dict[str, Pair] = {}
for _pair in _BASE_PAIRS:
    _BY_FORM.setdefault(_pair.vowel, _pair)
    _BY_FORM.setdefault(_pair.consonant, _pair)
del _pair

KNOWN_PARTICLES = tuple(f"{p.consonant}/{p.vowel}" for p in _BASE_PAIRS)

# 이 contracts with a following vowel after a vowel-final word: 이에요 → 예요, 이었다 → 였다.
_CONTRACTIONS = {"에": "예", "었": "였", "어": "여"}

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL_INDEX = 8
_CLOSING = ")]}>'\"’”」』〉》）］｝.!?…~ "

# Sino-Korean readings: the last digit (1 일 … 9 구) and the unit made by trailing zeros.
_DIGIT_FINAL = {
    "1": Final.RIEUL, "2": Final.VOWEL, "3": Final.CONSONANT, "4": Final.VOWEL, "5": Final.VOWEL,
    "6": Final.CONSONANT, "7": Final.RIEUL, "8": Final.RIEUL, "9": Final.VOWEL,
}  # fmt: skip
_ZEROS_FINAL = (
    (1, Final.CONSONANT),  # 십
    (2, Final.CONSONANT),  # 백
    (3, Final.CONSONANT),  # 천
    (4, Final.CONSONANT),  # 만 (10⁴ … 10⁷: 만, 십만, 백만, 천만)
    (8, Final.CONSONANT),  # 억
    (12, Final.VOWEL),  # 조
    (16, Final.CONSONANT),  # 경
)

# Korean names of Latin letters (에이, 비, 씨 … 엘, 엠, 엔, 알 …), for acronyms.
_LETTER_FINAL = {letter: Final.VOWEL for letter in "ABCDEFGHIJKOPQSTUVWXYZ"}
_LETTER_FINAL.update(L=Final.RIEUL, R=Final.RIEUL, M=Final.CONSONANT, N=Final.CONSONANT)

_LATIN_RUN = re.compile(r"[A-Za-z]+$")
_NUMBER = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?$")

HONORIFIC_SUFFIXES = ("님", "씨")
# Titles that take 님 directly, without a space (대표님, 원장님); a bare name takes " 님".
_TITLES = (
    "대표", "사장", "회장", "부회장", "이사", "상무", "전무", "본부장", "부장", "차장", "과장",
    "팀장", "실장", "소장", "원장", "점장", "대리", "주임", "교수", "선생", "박사", "작가",
    "변호사", "세무사", "회계사", "노무사", "약사", "고객", "위원", "의원", "총무", "매니저",
)  # fmt: skip


@functools.lru_cache(maxsize=256)
def parse_pair(spec: str) -> Pair:
    """A particle pair from how a template writes it: "은", "는", "은/는", "은(는)", "(으)로".

    Unknown single forms are accepted when they are regular: 이+X (copula forms like 이니까),
    으로+X (으로는, 으로도). Anything else must be written as a pair, "A/B", consonant form first.
    Cached: a send asks for the same few particles once per recipient. Call it at build time to
    reject a bad particle before the first message.
    """
    text = unicodedata.normalize("NFC", str(spec)).strip()
    if not text:
        raise TemplateError(_("A particle filter needs a particle, e.g. josa('은') or josa('이/가')."))
    forms = _split_forms(text)
    if len(forms) == 2:
        first, second = forms
        for candidate in (_BY_FORM.get(first), _BY_FORM.get(second)):
            if candidate and {candidate.consonant, candidate.vowel} == {first, second}:
                return candidate
        if second.startswith(("이", "으")) and not first.startswith(("이", "으")):
            first, second = second, first  # "나/이나": the 이/으 form is the consonant form
        return Pair(first, second, first.startswith("으로"))
    (form,) = forms
    known = _BY_FORM.get(form)
    if known:
        return known
    if form.startswith("으로"):
        return Pair(form, form[1:], True)
    if form.startswith("로") and len(form) > 1:
        return Pair("으" + form, form, True)
    if form.startswith("이") and len(form) > 1:
        rest = form[1:]
        return Pair(form, _CONTRACTIONS.get(rest[0], rest[0]) + rest[1:])
    raise TemplateError(
        _("Unknown particle '{spec}'; write it as a pair such as '이나/나' (known: {known} …).").format(
            spec=spec, known=", ".join(KNOWN_PARTICLES[:9]))
    )


def _split_forms(text: str) -> tuple[str, ...]:
    if "/" in text:
        parts = tuple(part.strip() for part in text.split("/"))
        if len(parts) == 2 and all(parts):
            return parts
        raise TemplateError(_("Particle '{text}' must be one form or two forms like '은/는'.").format(text=text))
    bracketed = re.fullmatch(r"\((\w+)\)(\w+)|(\w+)\((\w+)\)", text)
    if bracketed:
        lead, rest, outer, inner = bracketed.groups()
        return (lead + rest, rest) if lead else (outer, inner)
    return (text,)


def final_sound(word: str) -> Final:
    """How `word` ends, for choosing a particle (see the module docstring for the rule)."""
    text = unicodedata.normalize("NFC", str(word)).rstrip(_CLOSING)
    if not text:
        return Final.UNKNOWN
    last = ord(text[-1])
    if _HANGUL_FIRST <= last <= _HANGUL_LAST:
        index = (last - _HANGUL_FIRST) % 28
        if index == 0:
            return Final.VOWEL
        return Final.RIEUL if index == _RIEUL_INDEX else Final.CONSONANT
    number = _NUMBER.search(text)
    if number:
        return _number_final(number.group(0))
    latin = _LATIN_RUN.search(text)
    if latin:
        return _latin_final(latin.group(0))
    return Final.UNKNOWN


def _number_final(number: str) -> Final:
    digits = number.replace(",", "")
    if "." in digits:
        return _DIGIT_FINAL.get(digits[-1], Final.CONSONANT)  # a trailing 0 after the point: 영
    stripped = digits.rstrip("0")
    if not stripped:
        return Final.CONSONANT  # 영
    zeros = len(digits) - len(stripped)
    if zeros == 0:
        return _DIGIT_FINAL[stripped[-1]]
    final = Final.CONSONANT
    for threshold, unit_final in _ZEROS_FINAL:
        if zeros >= threshold:
            final = unit_final
    return final


def _latin_final(run: str) -> Final:
    as_word = _latin_word_final(run)
    if not run.isupper():
        return as_word
    as_letters = _LETTER_FINAL[run[-1]]
    if not set(run) & set("AEIOUY"):
        return as_letters
    return as_letters if as_letters is as_word else Final.UNKNOWN


def _latin_word_final(run: str) -> Final:
    lower = run.lower()
    if lower.endswith(("m", "n", "ng")):
        return Final.CONSONANT
    if lower.endswith("l"):
        return Final.RIEUL
    if lower.endswith(("a", "i", "o", "u", "y", "r")):
        return Final.VOWEL
    return Final.UNKNOWN


def _text(value: Any) -> str:
    return "" if value is None else unicodedata.normalize("NFC", str(value)).strip()


def particle(word: Any, pair: str) -> str:
    """The particle that follows `word`: particle("김하늘", "으로") → "로". Empty word → ""."""
    text = _text(word)
    if not text:
        return ""
    return parse_pair(str(pair)).choose(final_sound(text))


def josa(word: Any, pair: str) -> str:
    """`word` followed by its particle: josa("김갑수", "은") → "김갑수는". Empty word → ""."""
    text = _text(word)
    return text + particle(text, pair) if text else ""


def _field(fields: Any, name: str) -> str:
    if isinstance(fields, Mapping):
        return _text(fields.get(name, ""))
    return _text(getattr(fields, name, ""))


def honorific_name(name: Any, suffix: str = "님", *, fallback: str = "고객님") -> str:
    """A name with its honorific: "김갑수 님", "김 대표님"; `fallback` when the name is empty.

    Never doubles an honorific a list already carries ("김갑수님", "이철 씨"), and joins 님
    straight onto a title (대표, 원장 …) the way Korean writes it.
    """
    text = " ".join(_text(name).split())
    if not text:
        return fallback
    if not suffix or text.endswith(HONORIFIC_SUFFIXES):
        return text
    if text.endswith(_TITLES) and suffix == "님":
        return text + suffix
    return f"{text} {suffix}"


def greeting(fields: Any, *, honorific: str = "님", fallback: str = "고객님") -> str:
    """How a letter addresses someone: "생각 깊은 김갑수 님", "김갑수 님", or "고객님".

    `fields` is a recipient's merge fields (a mapping or a `Recipient`), or just a name. The
    adjective is kept when the name is missing ("생각 깊은 고객님"), since it is still true.
    """
    if isinstance(fields, str) or fields is None:
        name, adjective = _text(fields), ""
    else:
        name, adjective = _field(fields, "name"), _field(fields, "adjective")
    addressed = honorific_name(name, honorific, fallback=fallback)
    adjective = " ".join(adjective.split())
    return f"{adjective} {addressed}" if adjective else addressed


def register_filters(env: Any) -> None:
    """Add `josa`, `particle`, `greeting` and `honorific` to a Jinja environment's filters."""
    env.filters.update(josa=josa, particle=particle, greeting=greeting, honorific=honorific_name)
