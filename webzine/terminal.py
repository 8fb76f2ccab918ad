"""Text from outside (reader comments, names, server replies) made safe to print on a terminal.

A terminal obeys what it is sent: an escape sequence in a feedback comment can retitle the window,
write the clipboard (OSC 52), clear the screen or move the cursor to overwrite earlier lines; a
bidi override or an invisible format character can make one address look like another. Everything
webzine prints that it did not write itself goes through `printable` first. JSON output does not:
it is data, and it must stay exact.
"""

from __future__ import annotations

import re

# Whole escape sequences, so that their parameters (a window title, a clipboard payload) vanish
# with them rather than being shown as text. ECMA-48: CSI, the string commands (OSC, DCS, SOS,
# PM, APC) up to their terminator, and the short ESC forms; the 8-bit C1 forms too. A string body
# stops at any other escape or C1 character, which keeps the scan linear on hostile input.
_ESCAPE_SEQUENCE = (
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x80-\x9f]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)

# Controls and invisible format characters (Unicode category Cf) other than the zero-width joiner
# that emoji sequences need. Tab, LF and CR are handled apart; so are the tag characters.
_INVISIBLE = (
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]"
)

# A subdivision flag (🏴 + tag letters + cancel tag, e.g. the flag of Scotland) is the one
# legitimate use of tag characters; anywhere else they carry hidden text.
_TAG_FLAG = "\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"

_UNSAFE = re.compile(
    f"(?P<flag>{_TAG_FLAG})|(?P<newline>\r\n?|[\n\u2028\u2029])|(?P<tab>\t)"
    f"|(?P<surrogate>[\ud800-\udfff])|{_ESCAPE_SEQUENCE}|{_INVISIBLE}"
)


def printable(text: str, *, single_line: bool = False) -> str:
    """`text` without anything a terminal would act on rather than show.

    Removes escape sequences whole, C0/C1 controls and invisible format characters (bidi
    overrides and isolates, zero-width spaces, soft hyphens, BOM, stray tag characters). Hangul,
    emoji (with their joiners, variation selectors and flag tags) and other visible text are kept
    as they are. CR, CRLF and U+2028/U+2029 become LF; tab and LF stay, unless `single_line`, for
    a table cell or one-line message, turns them into spaces. A lone surrogate (from bytes that
    were not UTF-8) becomes U+FFFD, so printing it cannot raise.
    """
    if text.isprintable():
        return text
    line_break = " " if single_line else "\n"
    tab = " " if single_line else "\t"

    def replace(match: re.Match[str]) -> str:
        kind = match.lastgroup
        if kind == "flag":
            return match.group()
        if kind == "newline":
            return line_break
        if kind == "tab":
            return tab
        if kind == "surrogate":
            return "\ufffd"
        return ""

    return _UNSAFE.sub(replace, text)
