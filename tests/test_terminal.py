"""`printable`: hostile terminal input removed, Korean and emoji kept, one case per row."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webzine.terminal import printable

ZWJ = "\u200d"
FAMILY = "👨\u200d👩\u200d👧"  # one emoji made of three joined by ZWJ
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"

CASES = [
    # (what, hostile input, what is printed)
    ("window title (OSC 0, BEL)", "좋아요\x1b]0;pwned\x07!", "좋아요!"),
    ("window title (OSC 2, ST)", "a\x1b]2;pwned\x1b\\b", "ab"),
    ("clipboard write (OSC 52)", "x\x1b]52;c;cm0gLXJmIH4K\x07y", "xy"),
    ("hyperlink (OSC 8)", "\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\", "click"),
    ("screen clear (CSI 2J)", "\x1b[2J\x1b[Hclean", "clean"),
    ("colour (SGR)", "\x1b[31;1mred\x1b[0m", "red"),
    ("cursor up and erase line", "ok\x1b[1A\x1b[2Kforged", "okforged"),
    ("8-bit CSI", "a\x9b2Jb", "ab"),
    ("8-bit OSC with 8-bit ST", "a\x9d0;title\x9cb", "ab"),
    ("device control string", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
    ("application program command", "a\x1b_payload\x1b\\b", "ab"),
    ("reset (ESC c)", "a\x1bcb", "ab"),
    ("charset switch (ESC ( 0)", "a\x1b(0b", "ab"),
    ("unterminated OSC: the introducer goes, the rest is plain text", "a\x1b]0;title", "a0;title"),
    ("lone ESC at the end", "a\x1b", "a"),
    ("NUL, BEL, backspace, DEL", "a\x00b\x07c\x08d\x7fe", "abcde"),
    ("C1 controls", "a\x85b\x8dc\x9fd", "abcd"),
    ("bidi override (RLO) spoofing a file name", "invoice\u202efdp.exe", "invoicefdp.exe"),
    ("bidi isolates and marks", "\u2066a\u2069\u200eb\u200f\u061c", "ab"),
    ("zero-width space and BOM", "pay\u200bpal\ufeff", "paypal"),
    ("soft hyphen", "ad\u00admin", "admin"),
    ("hidden tag text", "hi\U000e0069\U000e0067\U000e006e", "hi"),
    ("CR overwriting the line", "harmless\rEVIL", "harmless\nEVIL"),
    ("CRLF", "one\r\ntwo", "one\ntwo"),
    ("line and paragraph separators", "a\u2028b\u2029c", "a\nb\nc"),
    ("lone surrogate from undecodable bytes", "a\udcffb", "a\ufffdb"),
    ("Korean with ideographic space", "김민준\u3000님, 감사합니다.", "김민준\u3000님, 감사합니다."),
    ("emoji with variation selector and skin tone", "❤\ufe0f 👍🏽", "❤\ufe0f 👍🏽"),
    ("emoji joined by ZWJ", f"가족 {FAMILY}", f"가족 {FAMILY}"),
    ("subdivision flag", f"{SCOTLAND} 스코틀랜드", f"{SCOTLAND} 스코틀랜드"),
    ("tab and newline kept", "a\tb\nc", "a\tb\nc"),
    ("nothing to do", "plain text", "plain text"),
]


@pytest.mark.parametrize(("what", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_printable(what: str, text: str, expected: str) -> None:
    assert printable(text) == expected


def test_single_line_turns_tabs_and_line_breaks_into_spaces() -> None:
    assert printable("a\tb\r\nc\u2028d\ne", single_line=True) == "a b c d e"


def test_every_format_character_but_the_joiner_is_removed() -> None:
    """The hand-written list of format characters matches this Python's Unicode database."""
    format_characters = [
        chr(code) for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf" and chr(code) != ZWJ
    ]  # fmt: skip
    assert printable("".join(format_characters)) == ""


@given(st.text())
def test_output_holds_no_control_or_format_character(text: str) -> None:
    safe = printable(text)
    outside_flags = re.sub("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f", "", safe)
    unsafe = {"Cc", "Cf", "Cs", "Zl", "Zp"}
    assert [ch for ch in outside_flags if unicodedata.category(ch) in unsafe and ch not in "\t\n" + ZWJ] == []
    assert printable(safe) == safe


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))))
def test_visible_text_is_unchanged(text: str) -> None:
    assert printable(text) == text


@given(st.text(alphabet="\x1b\x9b\x9d\x9c\x07[]P_^X\\;()0123?@m 가"))
def test_escape_soup_leaves_no_control(text: str) -> None:
    safe = printable(text)
    assert [ch for ch in safe if unicodedata.category(ch) == "Cc"] == []
