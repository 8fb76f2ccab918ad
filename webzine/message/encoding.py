"""The encodings a message is made of, written for speed and for safety.

Headers: RFC 2047 B-encoded words of at most 75 characters, each decoding to whole UTF-8
characters, folded so that no header line passes 78 characters; any control character in a value
raises `UnsafeHeader` instead of being encoded, so data can never add or split a header.

Bodies: base64 of a merge template, where the static text is UTF-8 encoded and base64 encoded
once per issue. Base64 of concatenated pieces only equals the concatenation of their encodings at
3-byte boundaries, so each long static segment is pre-encoded three times, once for each number of
bytes (0, 1, 2) the previous piece leaves over; per recipient only the filled slots and the one or
two boundary bytes are encoded. RFC 2045 caps base64 lines at 76 characters but allows shorter
ones, which is what the short lines at slot boundaries are.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from webzine.i18n import _
from webzine.render.slots import MergeTemplate, Slot

CRLF = b"\r\n"
MAX_LINE = 78  # RFC 5322 SHOULD; the MUST is 998
_WORD_OVERHEAD = len("=?UTF-8?B??=")
_MAX_WORD = 75  # RFC 2047 §2
_LINE_CHARS = 76  # RFC 2045's limit: 57 bytes of data
_PRECODE_MIN = 192  # shorter static text just joins the per-recipient buffer

# C0, DEL, C1, the Unicode line/paragraph separators some clients treat as line breaks, and lone
# surrogates (undecodable bytes smuggled through a lenient CSV reader).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
_ADDR_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u00a0-\U0010ffff]+")
_ADDR_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


class UnsafeHeader(ValueError):
    """A value that cannot go into a header as written; `reason` says which and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_header_text(what: str, value: str) -> None:
    """Refuse control characters (CR, LF, NUL, …): encoding them would hide, not remove, them."""
    found = _CONTROL.search(value)
    if found:
        raise UnsafeHeader(_("{what} contains the control character U+{code}").format(what=what, code=f"{ord(found.group()):04X}"))


def _encoded_words(text: str, first_budget: int) -> list[str]:
    """Split `text` into B-encoded words that each hold whole characters and fit their line.

    Cuts are made on the UTF-8 bytes, stepping back over continuation bytes (10xxxxxx), so a
    word never ends inside a character."""
    data = text.encode("utf-8")
    words: list[str] = []
    start, budget = 0, first_budget
    while True:
        limit = max(6, ((min(budget, _MAX_WORD) - _WORD_OVERHEAD) // 4) * 3)
        end = start + limit
        if end >= len(data):
            words.append(_b_word(data[start:]))
            return words
        while data[end] & 0xC0 == 0x80:
            end -= 1
        words.append(_b_word(data[start:end]))
        start, budget = end, MAX_LINE - 1


def _b_word(data: bytes) -> str:
    return "=?UTF-8?B?" + base64.b64encode(data).decode("ascii") + "?="


def fold(name: str, tokens: list[str]) -> bytes:
    """`Name: t1 t2 …` with CRLF+space inserted before a token that would pass 78 characters.

    Tokens never contain spaces that matter for folding (encoded words, an `<address>`, or the
    words of plain ASCII text), so unfolding gives back exactly the tokens joined by spaces."""
    lines: list[str] = []
    line = f"{name}:"
    for token in tokens:
        if len(line) + 1 + len(token) > MAX_LINE and line.strip() and not line.endswith(":"):
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines).encode("utf-8") + CRLF


def _plain_ascii(value: str) -> bool:
    """ASCII that a reader decodes exactly as written: no `=?` that could look like a word, no
    runs or edges of spaces that unfolding and parsers would change."""
    return (
        value.isascii()
        and "=?" not in value
        and "  " not in value
        and value == value.strip()
        and all(len(word) <= MAX_LINE - 2 for word in value.split(" "))
    )


def text_header(name: str, value: str) -> bytes:
    """An unstructured header (Subject, Feedback-ID, …), encoded only when it has to be."""
    check_header_text(name, value)
    if _plain_ascii(value):
        return fold(name, value.split(" ") if value else [])
    return fold(name, _encoded_words(value, MAX_LINE - len(name) - 2))


def phrase_tokens(display: str, first_budget: int) -> list[str]:
    if not display:
        return []
    if _plain_ascii(display) and _ATEXT_PHRASE.fullmatch(display):
        return display.split(" ")
    if _plain_ascii(display) and len(display) < MAX_LINE - 4:
        return ['"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return _encoded_words(display, first_budget)


def check_address(what: str, address: str) -> None:
    """An addr-spec we can write without quoting: dot-atom local part and a (punycode) domain."""
    check_header_text(what, address)
    local, at, domain = address.rpartition("@")
    if not at or not _ADDR_LOCAL.fullmatch(local) or not _ADDR_DOMAIN.fullmatch(domain):
        raise UnsafeHeader(_("{what} {address} is not an address that can be written in a header").format(
            what=what, address=repr(address)))
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise UnsafeHeader(_("{what} {address} has a misplaced dot in its local part").format(what=what, address=repr(address)))


def address_header(name: str, display: str, address: str) -> bytes:
    """`To: 이름 <addr>` with the display name encoded as needed; the address is checked, never
    encoded (a non-ASCII local part is written as UTF-8 for SMTPUTF8 servers)."""
    check_header_text(f"{name} name", display)
    check_address(f"{name} address", address)
    phrase = phrase_tokens(display, MAX_LINE - len(name) - 2)
    return fold(name, [*phrase, f"<{address}>"] if phrase else [address])


def list_id_header(description: str, list_id: str) -> bytes:
    """RFC 2919 `List-Id: 초록상회 소식지 <example.co.kr>`."""
    check_header_text("List-Id", description + list_id)
    if not _ADDR_DOMAIN.fullmatch(list_id):
        raise UnsafeHeader(_("List-Id {list_id} must be a dot-atom such as news.example.co.kr").format(list_id=repr(list_id)))
    return fold("List-Id", [*phrase_tokens(description, MAX_LINE - 9), f"<{list_id}>"])


def raw_header(name: str, value: str) -> bytes:
    """A header whose value we built ourselves from checked parts (Message-ID, Date, URLs)."""
    check_header_text(name, value)
    return f"{name}: {value}".encode("ascii") + CRLF


def base64_lines(data: bytes | bytearray) -> bytes:
    """Base64 in CRLF-terminated lines of at most 76 characters (57 bytes each, so encoding
    once and cutting the text every 76 characters gives the same lines)."""
    encoded = binascii.b2a_base64(data, newline=False)
    if len(encoded) <= _LINE_CHARS:  # the common case per recipient: a slot and its boundary bytes
        return encoded + CRLF
    return CRLF.join([encoded[start : start + _LINE_CHARS] for start in range(0, len(encoded), _LINE_CHARS)]) + CRLF


@dataclass(frozen=True, slots=True)
class _Precoded:
    """A long static segment, pre-encoded for each carry-in of 0, 1 or 2 bytes:
    (bytes that complete the carried group, base64 lines of the whole groups, bytes left over)."""

    variants: tuple[tuple[bytes, bytes, bytes], ...]


def _precode(data: bytes) -> _Precoded:
    variants = []
    for carry in range(3):
        need = (3 - carry) % 3
        head, rest = data[:need], data[need:]
        whole = len(rest) - len(rest) % 3
        variants.append((head, base64_lines(rest[:whole]), rest[whole:]))
    return _Precoded(tuple(variants))


_Variants = tuple[tuple[bytes, bytes, bytes], ...]
_Gap = int | bytes | tuple[bytes | int, ...]  # one slot number, static bytes, or a mix


def _gap(parts: list[bytes | int]) -> _Gap:
    if len(parts) == 1:
        return parts[0]
    return tuple(parts) if parts else b""


class Base64Body:
    """A merge template ready to be filled and emitted as base64 lines, per recipient.

    The template is kept as runs: a gap (short static bytes and slot numbers) followed by a long
    pre-encoded static segment; the last run has no segment. Per recipient a run costs one join
    of the gap, one short base64 line, and a reference to the segment's pre-encoded lines."""

    __slots__ = ("_runs",)

    def __init__(self, template: MergeTemplate, slot_number: Callable[[Slot], int]) -> None:
        runs: list[tuple[_Gap, _Variants | None]] = []
        gap: list[bytes | int] = []
        for segment in template.segments:
            if isinstance(segment, Slot):
                gap.append(slot_number(segment))
                continue
            data = segment.encode("utf-8")
            if len(data) >= _PRECODE_MIN:
                runs.append((_gap(gap), _precode(data).variants))
                gap = []
            elif gap and isinstance(gap[-1], bytes):
                gap[-1] += data
            else:
                gap.append(data)
        runs.append((_gap(gap), None))
        self._runs = tuple(runs)

    def encode_into(self, values: Sequence[bytes], out: list[bytes]) -> None:
        """Append the body's base64 lines for one recipient to `out`; `values[n]` is slot n
        filled in and UTF-8 encoded."""
        carry = b""
        for gap, variants in self._runs:
            kind = gap.__class__
            if kind is int:  # the usual gap: one slot between two long static segments
                buffer = carry + values[gap]  # type: ignore[index]
            elif kind is bytes:
                buffer = carry + gap  # type: ignore[operator]
            else:
                buffer = carry + b"".join([values[p] if p.__class__ is int else p for p in gap])  # type: ignore[union-attr]
            if variants is None:
                if buffer:
                    out.append(base64_lines(buffer))
                return
            head, middle, carry = variants[len(buffer) % 3]
            buffer += head
            if buffer:
                out.append(base64_lines(buffer))
            out.append(middle)
