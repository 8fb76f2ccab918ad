"""An issue file (YAML front matter + Markdown body) → a validated, frozen `Issue`.

The editor's file is the source of truth for everything per issue; every error names the file and
the line the editor has to change (`issues/2026-12-x.md:4: unknown key 'subjcet'; did you mean
'subject'?`), because the editor is not a programmer and should never see a traceback.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from webzine.errors import IssueError, where
from webzine.i18n import _

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DELIMITER = re.compile(r"^---\s*$")
_CLOSER = re.compile(r"^(?:---|\.\.\.)\s*$")
_BODY_FIELDS = frozenset({"body", "body_line", "source", "lines"})


class Issue(BaseModel):
    """One issue: what the editor wrote in the front matter, the Markdown body and where it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    subject: str = Field(min_length=1)  # may hold merge fields: "{{ recipient.name }} 님께 …"
    date: date
    preheader: str = ""  # the grey line after the subject in the inbox list
    advertising: bool = False  # (광고) subject, sender details and 수신거부 text become mandatory
    draft: bool = False  # a draft is never sent by `send --due` nor published by `archive`
    template: str = "email"  # templates/<template>.html.j2 (+ .txt.j2)
    slug: str = ""  # build/<slug>/, the web-archive address; defaults to the file name
    author: str = ""
    summary: str = ""  # one or two sentences for the web archive and feed
    image: str = ""  # a representative image URL for the web archive (og:image)
    tags: tuple[str, ...] = ()
    body: str = ""
    body_line: int = 1  # the file line the body starts on, so body errors point at the file
    source: str = ""  # the path the issue was read from, as given
    lines: dict[str, int] = Field(default_factory=dict)  # front matter key → its file line


def front_matter_keys() -> tuple[str, ...]:
    """The keys an editor may write in the front matter, in documentation order."""
    return tuple(name for name in Issue.model_fields if name not in _BODY_FIELDS)


def load_issue(path: str | Path) -> Issue:
    """Read and validate an issue file. Raises `IssueError` naming file:line and the fix."""
    path = Path(path)
    text = _read(path)
    header, header_line, body, body_line = _split(text, path)
    data, lines = _parse_yaml(header, header_line, path)
    _check_keys(data, lines, path)
    data = {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}
    data.setdefault("slug", default_slug(path))
    try:
        issue = Issue(**data, body=body, body_line=body_line, source=str(path), lines=lines)
    except ValidationError as exc:
        raise _explain(exc, lines, path) from None
    for key in ("title", "subject", "preheader"):
        if any(char in getattr(issue, key) for char in "\r\n"):
            raise IssueError(_("{where}: '{key}' must be one line; join its lines.").format(
                where=where(path, lines.get(key)), key=key))
    if not _SLUG.match(issue.slug):
        raise IssueError(
            _("{where}: slug '{slug}' may only use a-z, 0-9 and single hyphens; write e.g. slug: "
              "2026-12-year-end.").format(
                where=where(path, lines.get('slug')), slug=issue.slug)
        )
    return issue


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IssueError(_("{path}: no such issue file.").format(
            path=path), hint=_("webzine new TITLE creates one.")) from None
    except OSError as exc:
        raise IssueError(_("{path}: cannot be read ({reason}).").format(path=path, reason=exc.strerror)) from None
    try:
        return raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IssueError(_("{where}: not UTF-8 text; save the file as UTF-8.").format(
            where=where(path, line))) from None


def _split(text: str, path: Path) -> tuple[str, int, str, int]:
    """(front matter, its first line, body, the body's first line)."""
    lines = text.split("\n")
    if not lines or not _DELIMITER.match(lines[0]):
        raise IssueError(
            _("{where}: no front matter; the file must start with a '---' line, then title:, subject: and date:, then "
              "another '---' line.").format(
                where=where(path, 1))
        )
    for index in range(1, len(lines)):
        if _CLOSER.match(lines[index]):
            return "\n".join(lines[1:index]), 2, "\n".join(lines[index + 1 :]), index + 2
    raise IssueError(
        _("{where}: the front matter is never closed; add a '---' line after its last key.").format(
            where=where(path, 1))
    )


def _parse_yaml(header: str, first_line: int, path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The front matter as a dict and the file line of each top-level key."""
    try:
        node = yaml.compose(header, Loader=yaml.SafeLoader)
        data = _construct(node, first_line, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        problem = getattr(exc, "problem", None) or str(exc)
        raise IssueError(
            _("{where}: the front matter is not valid YAML ({problem}); quote values that contain \":\" or start with "
              "\"{{\", e.g. subject: \"…\".").format(
                where=where(path, line), problem=problem)
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise IssueError(_("{where}: the front matter must be 'key: value' lines.").format(
            where=where(path, first_line)))
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _value_node in node.value:
            lines[str(key_node.value)] = first_line + key_node.start_mark.line
    return {str(key): value for key, value in data.items()}, lines


def _construct(node: yaml.Node | None, first_line: int, path: Path) -> Any:
    """The front matter's values. A value YAML recognises but cannot build (a date such as
    2027-02-31) is reported at its own line instead of escaping as a ValueError."""
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        if isinstance(node, yaml.MappingNode):
            for _key_node, value_node in node.value:
                try:
                    loader.construct_object(value_node, deep=True)
                except ValueError as exc:
                    line = first_line + value_node.start_mark.line
                    raise IssueError(_("{where}: {value!r} is not a valid value ({problem}); write dates as "
                                       "YYYY-MM-DD with a real day, e.g. 2027-02-28.").format(
                        where=where(path, line), value=value_node.value, problem=exc)) from None
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_keys(data: dict[str, Any], lines: dict[str, int], path: Path) -> None:
    allowed = front_matter_keys()
    for key in data:
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            message = _("{where}: unknown front matter key '{key}'; did you mean '{close}'?")
        else:
            message = _("{where}: unknown front matter key '{key}'; valid keys: {valid}.")
        raise IssueError(message.format(where=where(path, lines.get(key, 1)), key=key, close=close[0] if close else "",
                                        valid=", ".join(allowed)))


def _explain(exc: ValidationError, lines: dict[str, int], path: Path) -> IssueError:
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else "?"
    line = lines.get(key, 1)
    if error["type"] == "missing":
        return IssueError(_("{where}: the front matter needs '{key}:'; add it between the '---' lines.").format(
            where=where(path, 1), key=key))
    value = error.get("input")
    problem = error["msg"].lower()
    if value is not None and not isinstance(value, dict):
        return IssueError(_("{where}: '{key}' {problem} (got {value!r}).").format(
            where=where(path, line), key=key, problem=problem, value=value))
    return IssueError(_("{where}: '{key}' {problem}.").format(where=where(path, line), key=key, problem=problem))


def default_slug(path: Path) -> str:
    """The file name without `.md` when it is already a slug, else a romanised one."""
    stem = path.stem.lower()
    return stem if _SLUG.match(stem) else slugify(path.stem, fallback="issue")


# Revised Romanization of Korean (2000), syllable by syllable, with the one sound change that
# matters most for readable slugs: a final consonant moves onto a following silent ㅇ (돌아 → dora).
_INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h")
_MEDIALS = (
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we",
    "wi", "yu", "eu", "ui", "i",
)  # fmt: skip
_FINALS = (
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p",
    "t", "t", "ng", "t", "t", "k", "t", "p", "t",
)  # fmt: skip
# A final consonant before a silent ㅇ moves over: index → (what stays, what starts the next
# syllable); ㅎ falls silent (좋아 → joa).
_CARRIED = {
    1: ("", "g"), 2: ("", "kk"), 3: ("k", "s"), 4: ("", "n"), 5: ("n", "j"), 6: ("", "n"),
    7: ("", "d"), 8: ("", "r"), 9: ("l", "g"), 10: ("l", "m"), 11: ("l", "b"), 12: ("l", "s"),
    13: ("l", "t"), 14: ("l", "p"), 15: ("", "r"), 16: ("", "m"), 17: ("", "b"), 18: ("p", "s"),
    19: ("", "s"), 20: ("", "ss"), 22: ("", "j"), 23: ("", "ch"), 24: ("", "k"), 25: ("", "t"),
    26: ("", "p"), 27: ("", ""),
}  # fmt: skip
_SILENT_INITIAL = 11


def romanize(text: str) -> str:
    """Hangul → Revised Romanization (lowercase); other characters pass through unchanged."""
    text = unicodedata.normalize("NFC", text)
    out: list[str] = []
    carry = ""
    for index, char in enumerate(text):
        code = ord(char) - 0xAC00
        if not 0 <= code < 11172:
            out.append(char)
            continue
        initial, medial, final = code // 588, (code % 588) // 28, code % 28
        lead = carry or _INITIALS[initial]
        carry = ""
        following = ord(text[index + 1]) - 0xAC00 if index + 1 < len(text) else -1
        if final and 0 <= following < 11172 and following // 588 == _SILENT_INITIAL and final in _CARRIED:
            tail, carry = _CARRIED[final]
        else:
            tail = _FINALS[final]
        out.append(lead + _MEDIALS[medial] + tail)
    return "".join(out)


def slugify(title: str, *, fallback: str, max_length: int = 48) -> str:
    """A URL- and file-safe slug from a (Korean) title; `fallback` when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", romanize(title)).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:max_length]
    return slug or fallback
