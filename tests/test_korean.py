"""Particles and greetings over a table of real-looking names, one test per row."""

from __future__ import annotations

import unicodedata

import jinja2
import pytest

from webzine.errors import TemplateError
from webzine.render.korean import (
    Final,
    final_sound,
    greeting,
    honorific_name,
    josa,
    parse_pair,
    particle,
    register_filters,
)
from webzine.models import Recipient

# name, 은/는, 이/가, 을/를, 과/와, 으로/로, 이라/라, 아/야
PARTICLE_TABLE = [
    # Hangul, no 받침
    ("김갑수", "는", "가", "를", "와", "로", "라", "야"),
    ("이수", "는", "가", "를", "와", "로", "라", "야"),
    ("박지혜", "는", "가", "를", "와", "로", "라", "야"),
    ("남궁민서", "는", "가", "를", "와", "로", "라", "야"),
    ("초록상회", "는", "가", "를", "와", "로", "라", "야"),
    # Hangul, 받침 other than ㄹ
    ("김민준", "은", "이", "을", "과", "으로", "이라", "아"),
    ("정수빈", "은", "이", "을", "과", "으로", "이라", "아"),
    ("황보영", "은", "이", "을", "과", "으로", "이라", "아"),
    ("선우혁", "은", "이", "을", "과", "으로", "이라", "아"),
    ("박", "은", "이", "을", "과", "으로", "이라", "아"),
    ("독고솔잎", "은", "이", "을", "과", "으로", "이라", "아"),
    # ㄹ 받침: 으로 becomes 로, everything else takes the consonant form
    ("김하늘", "은", "이", "을", "과", "로", "이라", "아"),
    ("이철", "은", "이", "을", "과", "로", "이라", "아"),
    ("서울", "은", "이", "을", "과", "로", "이라", "아"),
    ("최다솔", "은", "이", "을", "과", "로", "이라", "아"),
    # closing punctuation is skipped
    ("초록상회(주)", "는", "가", "를", "와", "로", "라", "야"),
    ("「한빛」", "은", "이", "을", "과", "으로", "이라", "아"),
    ("김민준.", "은", "이", "을", "과", "으로", "이라", "아"),
    # digits, read Sino-Korean
    ("1", "은", "이", "을", "과", "로", "이라", "아"),  # 일
    ("2", "는", "가", "를", "와", "로", "라", "야"),  # 이
    ("3", "은", "이", "을", "과", "으로", "이라", "아"),  # 삼
    ("6", "은", "이", "을", "과", "으로", "이라", "아"),  # 육
    ("7", "은", "이", "을", "과", "로", "이라", "아"),  # 칠
    ("8", "은", "이", "을", "과", "로", "이라", "아"),  # 팔
    ("9", "는", "가", "를", "와", "로", "라", "야"),  # 구
    ("0", "은", "이", "을", "과", "으로", "이라", "아"),  # 영
    ("10", "은", "이", "을", "과", "으로", "이라", "아"),  # 십
    ("2026", "은", "이", "을", "과", "으로", "이라", "아"),  # 육
    ("1,000", "은", "이", "을", "과", "으로", "이라", "아"),  # 천
    ("10000", "은", "이", "을", "과", "으로", "이라", "아"),  # 만
    ("1000000000000", "는", "가", "를", "와", "로", "라", "야"),  # 조
    ("3.5", "는", "가", "를", "와", "로", "라", "야"),  # 오
    ("제11", "은", "이", "을", "과", "로", "이라", "아"),  # 일
    # Latin words with regular loanword endings
    ("Kim", "은", "이", "을", "과", "으로", "이라", "아"),
    ("John", "은", "이", "을", "과", "으로", "이라", "아"),
    ("Young", "은", "이", "을", "과", "으로", "이라", "아"),
    ("Paul", "은", "이", "을", "과", "로", "이라", "아"),
    ("Anna", "는", "가", "를", "와", "로", "라", "야"),
    ("Peter", "는", "가", "를", "와", "로", "라", "야"),
    ("Emily", "는", "가", "를", "와", "로", "라", "야"),
    # acronyms
    ("KT", "는", "가", "를", "와", "로", "라", "야"),
    ("LG", "는", "가", "를", "와", "로", "라", "야"),
    ("BMW", "는", "가", "를", "와", "로", "라", "야"),  # 더블유
    ("NHN", "은", "이", "을", "과", "으로", "이라", "아"),  # 엔
    ("IBM", "은", "이", "을", "과", "으로", "이라", "아"),
    ("HTML", "은", "이", "을", "과", "로", "이라", "아"),
    # uncertain: written-both fallback
    ("Jane", "은(는)", "이(가)", "을(를)", "과(와)", "(으)로", "(이)라", "아(야)"),
    ("Park", "은(는)", "이(가)", "을(를)", "과(와)", "(으)로", "(이)라", "아(야)"),
    ("PARK", "은(는)", "이(가)", "을(를)", "과(와)", "(으)로", "(이)라", "아(야)"),
    ("金甲洙", "은(는)", "이(가)", "을(를)", "과(와)", "(으)로", "(이)라", "아(야)"),
    ("🍵", "은(는)", "이(가)", "을(를)", "과(와)", "(으)로", "(이)라", "아(야)"),
    ("$", "은(는)", "이(가)", "을(를)", "과(와)", "(으)로", "(이)라", "아(야)"),
]
PAIRS = ("은/는", "이/가", "을/를", "과/와", "으로/로", "이라/라", "아/야")


@pytest.mark.parametrize("row", PARTICLE_TABLE, ids=[row[0] for row in PARTICLE_TABLE])
def test_particle_table(row: tuple[str, ...]) -> None:
    name, *expected = row
    got = [particle(name, pair) for pair in PAIRS]
    assert got == expected
    assert [josa(name, pair) for pair in PAIRS] == [name + form for form in expected]


@pytest.mark.parametrize(
    ("spec", "after_vowel", "after_consonant", "after_rieul"),
    [
        ("은", "는", "은", "은"),
        ("는", "는", "은", "은"),
        ("은/는", "는", "은", "은"),
        ("는/은", "는", "은", "은"),
        ("은(는)", "는", "은", "은"),
        ("와/과", "와", "과", "과"),
        ("(으)로", "로", "으로", "로"),
        ("로", "로", "으로", "로"),
        ("으로서", "로서", "으로서", "로서"),
        ("로부터", "로부터", "으로부터", "로부터"),
        ("으로는", "로는", "으로는", "로는"),
        ("(이)라", "라", "이라", "이라"),
        ("이에요", "예요", "이에요", "이에요"),
        ("예요", "예요", "이에요", "이에요"),
        ("이었", "였", "이었", "이었"),
        ("이었습니다", "였습니다", "이었습니다", "이었습니다"),
        ("이어서", "여서", "이어서", "이어서"),
        ("이니까", "니까", "이니까", "이니까"),
        ("나", "나", "이나", "이나"),
        ("야", "야", "아", "아"),
        ("이야/야", "야", "이야", "이야"),
        ("여", "여", "이여", "이여"),
        (" 을 ", "를", "을", "을"),
        ("이나마/나마", "나마", "이나마", "이나마"),
        ("나마/이나마", "나마", "이나마", "이나마"),
        ("으로야/로야", "로야", "으로야", "로야"),
    ],
)
def test_pair_forms(spec: str, after_vowel: str, after_consonant: str, after_rieul: str) -> None:
    assert (particle("지수", spec), particle("지민", spec), particle("하늘", spec)) == (
        after_vowel,
        after_consonant,
        after_rieul,
    )


@pytest.mark.parametrize("spec", ["", "   ", "가나/다/라", "/는", "xyz"])
def test_bad_particle_is_an_actionable_error(spec: str) -> None:
    with pytest.raises(TemplateError, match="article"):
        parse_pair(spec)


def test_fallback_styles() -> None:
    assert parse_pair("으로").fallback == "(으)로"
    assert parse_pair("이라고").fallback == "(이)라고"
    assert parse_pair("이에요").fallback == "이에요(예요)"
    assert parse_pair("은").fallback == "은(는)"


def test_decomposed_hangul_is_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "김하늘")
    assert len(decomposed) > 3
    assert final_sound(decomposed) is Final.RIEUL
    assert josa(decomposed, "으로") == "김하늘로"


@pytest.mark.parametrize(
    ("word", "pair", "expected"),
    [
        ("김갑수", "은", "김갑수는"),
        ("김민준", "이/가", "김민준이"),
        ("김하늘", "으로", "김하늘로"),
        ("  김하늘 ", "과", "김하늘과"),
        ("", "은", ""),
        (None, "은", ""),
        ("   ", "이/가", ""),
        ("Jane", "을", "Jane을(를)"),
        ("2027", "을", "2027을"),
        ("010-1234-5678", "으로", "010-1234-5678로"),
    ],
)
def test_josa(word: object, pair: str, expected: str) -> None:
    assert josa(word, pair) == expected


def test_particle_of_empty_word_is_empty() -> None:
    assert particle("", "은") == ""
    assert particle(None, "으로") == ""


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "김갑수", "adjective": "생각 깊은"}, "생각 깊은 김갑수 님"),
        ({"name": "김갑수", "adjective": ""}, "김갑수 님"),
        ({"name": " 김갑수 ", "adjective": "  생각   깊은 "}, "생각 깊은 김갑수 님"),
        ({"name": "", "adjective": ""}, "고객님"),
        ({"name": "   ", "adjective": ""}, "고객님"),
        ({"adjective": ""}, "고객님"),
        ({"name": "", "adjective": "늘 고마운"}, "늘 고마운 고객님"),
        ({"name": "김갑수님", "adjective": ""}, "김갑수님"),
        ({"name": "김갑수 님", "adjective": ""}, "김갑수 님"),
        ({"name": "이철 씨", "adjective": ""}, "이철 씨"),
        ({"name": "김 대표", "adjective": ""}, "김 대표님"),
        ({"name": "박지혜 원장", "adjective": "든든한"}, "든든한 박지혜 원장님"),
        ({"name": "Jane Doe", "adjective": ""}, "Jane Doe 님"),
        ({"name": "남궁  민서", "adjective": ""}, "남궁 민서 님"),
        ("김하늘", "김하늘 님"),
        ("", "고객님"),
        (None, "고객님"),
    ],
)
def test_greeting(fields: object, expected: str) -> None:
    assert greeting(fields) == expected


def test_greeting_accepts_a_recipient_and_options() -> None:
    recipient = Recipient(email="a@example.co.kr", name="정수빈", adjective="한결같은")
    assert greeting(recipient) == "한결같은 정수빈 님"
    assert greeting(recipient.merge_fields()) == "한결같은 정수빈 님"
    assert greeting({"name": "정수빈"}, honorific="씨") == "정수빈 씨"
    assert greeting({"name": ""}, fallback="회원님") == "회원님"
    assert greeting({"name": "정수빈"}, honorific="") == "정수빈"


def test_honorific_name() -> None:
    assert honorific_name("김갑수") == "김갑수 님"
    assert honorific_name("") == "고객님"
    assert honorific_name("김 선생") == "김 선생님"
    assert honorific_name("김갑수", "귀하") == "김갑수 귀하"


def test_filters_in_jinja_with_strict_undefined_and_autoescape() -> None:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)
    register_filters(env)
    template = env.from_string(
        "{{ recipient|greeting }}, {{ recipient.name|josa('은') }} "
        "{{ recipient.company }}{{ recipient.company|particle('으로/로') }} "
        "{{ recipient.name|honorific }}"
    )
    rendered = template.render(recipient={"name": "김하늘", "adjective": "", "company": "서울"})
    assert rendered == "김하늘 님, 김하늘은 서울로 김하늘 님"
    rendered = template.render(recipient={"name": "", "adjective": "", "company": "<b>"})
    assert rendered == "고객님,  &lt;b&gt;(으)로 고객님"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ recipient.nmae|josa('은') }}").render(recipient={"name": "x"})
