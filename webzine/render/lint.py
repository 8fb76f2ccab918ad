"""Checks on a rendered issue, before anyone receives it: size, links, images, compliance.

`lint` is pure: it takes the HTML and text a recipient would get (the preview), the issue and the
publication, and returns findings. Errors make `webzine build` exit 1; warnings are shown.

Why each limit:
- Gmail clips an HTML part above about 102 KB ("[메시지 잘림]") and hides what follows, which is
  exactly the footer with the opt-out link. The limit applies to the part as sent: ours goes out
  base64 in 76-character lines, a third larger than the UTF-8 it carries (Korean text is three
  bytes a syllable, so a 79 KB issue is 107 KB on the wire). The encoded size is checked: above
  100 KB is an error (2 KB left for what a mail server adds), above 90 KB a warning.
- Gmail drops a whole `<style>` block above 16 KB, taking the media queries with it.
- Korean law (정보통신망법 제50조, 시행령 제61조) requires advertising email to start its subject with
  "(광고)" written exactly so, and to show the sender's name, contact details and how to opt
  out, free of charge; spam filters of Korean portals check the exact form.
- A header field is one line of visible characters (RFC 5322 §2.2, RFC 6532): CR, LF, NUL, other
  controls and the Unicode line and paragraph separators cannot be in a subject, and the message
  builder refuses them for every recipient. The subject, preheader and title are checked as the
  sample recipient gets them, after Jinja, so an issue with one fails here and not at send time.
- Outlook for Windows sizes an image by its width attribute only (Word ignores CSS width), so an
  image wider than the content cell overflows it there; a class the stylesheet does not define
  (`{: .buton }`) renders as nothing at all.
- Feedback links ("이번 호는 어떠셨나요?") are answered by `webzine serve`; without its address
  ([unsubscribe] base_url) every rating link would lead nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email.utils import parseaddr
from typing import Literal

import lxml.html
from pydantic import BaseModel, ConfigDict

from webzine.i18n import N_, _
from webzine.render.compat_data import FEATURES as CANIEMAIL
from webzine.config import Publication
from webzine.render.issue import Issue

GMAIL_CLIP_BYTES = 102 * 1024  # hteumeuleu/email-bugs#41: Gmail clips the HTML part near 102 KB as sent
HTML_ERROR_BYTES = 100 * 1024  # encoded, as sent
HTML_WARNING_BYTES = 90 * 1024  # encoded, as sent
STYLE_WARNING_BYTES = 16 * 1024
AD_PREFIX = "(광고)"
_AD_LOOKALIKE = re.compile(r"^\s*[\[\(<{【〔（［]?\s*광\s*고\s*[\]\)>}】〕）］]?")
_REMOTE = re.compile(r"^(?:https?:|cid:|data:image/)", re.IGNORECASE)
_UNSUBSCRIBE_WORDS = ("수신거부", "수신 거부", "구독 해지", "구독해지", "구독 취소", "unsubscribe")
_OPT_OUT_INSTRUCTION = re.compile(r"수신\s*거부|수신을?\s*원(?:하지|치)\s*않")
# C0 controls but tab (folding whitespace), DEL, C1 controls, and U+2028/U+2029.
_NOT_IN_HEADERS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_NAMES = {"\x00": "NUL", "\n": "line feed", "\r": "carriage return", "\x1b": "escape",
                  "\x7f": "delete", "\x85": "next line", "\u2028": "line separator", "\u2029": "paragraph separator"}
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|max-height\s*:\s*0(?:px)?\s*(?:;|$)|font-size\s*:\s*0(?:px)?\s*(?:;|$)",
    re.IGNORECASE,
)


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: Literal["error", "warning"]
    code: str
    message: str
    line: int | None = None  # the issue file's line, where the problem can be traced back


class ClientSupport(BaseModel):
    """One feature the email uses and the major clients that lack it or support it partly
    (caniemail.com data, webzine/render/compat_data.py): "no", or "partial" with caniemail's note."""

    model_config = ConfigDict(frozen=True)

    feature: str
    title: str
    clients: dict[str, str]


class LintReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: tuple[Finding, ...] = ()
    compatibility: tuple[ClientSupport, ...] = ()
    html_bytes: int = 0
    html_encoded_bytes: int = 0  # the HTML part as sent: base64 in CRLF-ended 76-character lines
    text_bytes: int = 0
    style_bytes: int = 0

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors


def lint(
    html: str, text: str, issue: Issue, publication: Publication, *, headers: Mapping[str, str] | None = None,
    serve_url: str | None = None, css_classes: frozenset[str] | None = None, content_width: int | None = None,
) -> LintReport:
    """All checks on one recipient's HTML and text (the sample recipient's preview); `headers`
    are that recipient's subject, preheader and title after Jinja (the issue's own when None);
    `serve_url` is [unsubscribe] base_url when feedback is on, None when it is off;
    `css_classes` the classes the layout's stylesheet defines and `content_width` the content
    cell's width in pixels (those checks are skipped when None)."""
    document = lxml.html.document_fromstring(html)
    style_bytes = sum(len((s.text or "").encode("utf-8")) for s in document.iter("style"))
    encoded = html.encode("utf-8")
    html_bytes, encoded_bytes = len(encoded), encoded_size(len(encoded))
    findings = [
        *_sizes(encoded_bytes, style_bytes),
        *_images(document, issue, content_width),
        *_unknown_classes(document, issue, css_classes),
        *_links(document, issue),
        *_hidden(document),
        *_header_characters(headers if headers is not None else _fields(issue), issue),
    ]
    if issue.advertising:
        findings += _advertising(document, text, issue, publication)
    if serve_url is not None and not serve_url.strip():
        findings.append(Finding(level="error", code="feedback-no-base-url",
                                message=_("the feedback links (이번 호는 어떠셨나요?) need the address of webzine serve; set "
                                          "[unsubscribe] base_url (e.g. https://news.example.co.kr/u), or turn "
                                          "feedback off with [feedback] enabled = false")))  # fmt: skip
    return LintReport(
        findings=tuple(findings), compatibility=compatibility(document), html_bytes=html_bytes, html_encoded_bytes=encoded_bytes, text_bytes=len(text.encode("utf-8")), style_bytes=style_bytes
    )


_PADDED_CELLS = ("td", "th")
_SUPPORT_WORDS = {"n": "no", "a": "partial", "u": "unknown"}


def _features_used(document: lxml.html.HtmlElement) -> set[str]:
    """caniemail feature names the document uses, from its <style> text and style attributes."""
    sheet = " ".join(s.text or "" for s in document.iter("style"))
    inline = [(e.tag, e.get("style", "")) for e in document.iter() if isinstance(e.tag, str) and e.get("style")]
    used = {"html-style"} if document.find(".//style") is not None else set()
    used |= {name for name, found in (("css-at-media", "@media" in sheet),
                                      ("css-at-media-prefers-color-scheme", "prefers-color-scheme" in sheet),
                                      ("css-selector-attribute", re.search(r"\[[a-z-]+", sheet) is not None)) if found}
    for feature, pattern in (("css-border-radius", r"border-radius\s*:"), ("css-display", r"(?<![-\w])display\s*:"),
                             ("css-max-width", r"max-width\s*:"), ("css-margin", r"(?<![-\w])margin(?:-\w+)?\s*:"),
                             ("css-background-color", r"background-color\s*:")):
        if any(re.search(pattern, style) for _, style in inline):
            used.add(feature)
    padding = re.compile(r"(?<![-\w])padding(?:-\w+)?\s*:\s*(?!0(?:px)?\s*(?:;|$))")
    if any(tag not in _PADDED_CELLS and padding.search(style) for tag, style in inline):
        used.add("css-padding")
    return used


def compatibility(document: lxml.html.HtmlElement) -> tuple[ClientSupport, ...]:
    """Features the email uses that a major client lacks or supports partly, per caniemail."""
    used = _features_used(document)
    notes = []
    for feature, data in CANIEMAIL.items():
        lacking = {client: _support_text(value, data["notes"]) for client, value in data["support"].items()
                   if not value.startswith("y")}
        if feature in used and lacking:
            notes.append(ClientSupport(feature=feature, title=data["title"], clients=lacking))
    return tuple(notes)


def _support_text(value: str, notes: dict[str, str]) -> str:
    """caniemail's "a #1 #2" as "partial: <note 1> <note 2>"."""
    level, *numbers = value.split()
    text = " ".join(notes[n.lstrip("#")] for n in numbers if n.lstrip("#") in notes)
    return f"{_SUPPORT_WORDS[level]}: {text}" if text else _SUPPORT_WORDS[level]


def encoded_size(length: int) -> int:
    """Bytes that `length` bytes of data take in the message: base64 (4 characters for every 3
    bytes, the last group padded) in CRLF-ended lines of at most 76 characters (RFC 2045 §6.8),
    as `webzine.message.encoding.base64_lines` writes them."""
    characters = -(-length // 3) * 4
    return characters + 2 * max(1, -(-characters // 76))


def _sizes(encoded_bytes: int, style_bytes: int) -> Iterable[Finding]:
    kb = encoded_bytes / 1024
    if encoded_bytes > HTML_ERROR_BYTES:
        yield Finding(level="error", code="html-too-large",
                      message=_("the HTML part is {kb:.1f} KB as sent (base64); Gmail clips above about {limit} KB "
                                "and hides the opt-out footer — shorten the issue or move content to the web "
                                "page").format(
                          kb=kb, limit=GMAIL_CLIP_BYTES // 1024))  # fmt: skip
    elif encoded_bytes > HTML_WARNING_BYTES:
        yield Finding(level="warning", code="html-large",
                      message=_("the HTML part is {kb:.1f} KB as sent (base64), close to Gmail's clipping limit "
                                "(about {limit} KB)").format(
                          kb=kb, limit=GMAIL_CLIP_BYTES // 1024))  # fmt: skip
    if style_bytes > STYLE_WARNING_BYTES:
        yield Finding(level="warning", code="style-too-large",
                      message=_("the <style> block is {size:.1f} KB; Gmail ignores it above 16 KB, losing the mobile "
                                "and dark-mode rules").format(
                          size=style_bytes / 1024))  # fmt: skip


def _line_of(issue: Issue, needle: str) -> int | None:
    """The issue file line that contains `needle` in its body, if any."""
    if not needle:
        return None
    for offset, line in enumerate(issue.body.split("\n")):
        if needle in line:
            return issue.body_line + offset
    return None


def _fields(issue: Issue) -> dict[str, str]:
    return {"subject": issue.subject, "preheader": issue.preheader, "title": issue.title}


def _header_characters(headers: Mapping[str, str], issue: Issue) -> Iterable[Finding]:
    for field, value in headers.items():
        found = _NOT_IN_HEADERS.search(value)
        if found is None:
            continue
        character = found.group()
        name = _CONTROL_NAMES.get(character, "a control character")
        yield Finding(level="error", code="header-character", line=issue.lines.get(field),
                      message=_("the {field} contains U+{code:04X} ({name}) at character {position}, which no mail "
                                "header may carry; remove it from the front matter or from what its {{{{ … }}}} "
                                "produces").format(
                          field=field, code=ord(character), name=name, position=found.start() + 1))  # fmt: skip


def _images(document: lxml.html.HtmlElement, issue: Issue, content_width: int | None) -> Iterable[Finding]:
    for image in document.iter("img"):
        source = image.get("src", "")
        line = _line_of(issue, source)
        if not _REMOTE.match(source):
            yield Finding(level="error", code="img-not-absolute", line=line,
                          message=_("image {source!r} is not an https:// address, so mail clients cannot load it")
                          .format(source=source))  # fmt: skip
        if image.get("alt") is None:
            yield Finding(level="error", code="img-no-alt", line=line,
                          message=_("image {source!r} has no alt text; write ![설명](…) so readers with images off or "
                                    "screen readers know what it shows").format(
                              source=source))  # fmt: skip
        elif not image.get("alt").strip():
            yield Finding(level="warning", code="img-empty-alt", line=line,
                          message=_("image {source!r} has an empty alt text, which is right only for decoration; "
                                    "describe it in ![설명](…) otherwise").format(
                              source=source))  # fmt: skip
        if image.get("width") is None:
            yield Finding(level="warning", code="img-no-width", line=line,
                          message=_("image {source!r} has no width; Outlook shows it at full size — add "
                                    "{{width={width}}} after it").format(
                              source=source, width=content_width or 536))  # fmt: skip
        elif content_width and (width := image.get("width", "").removesuffix("px")).isdigit() \
                and int(width) > content_width:
            yield Finding(level="warning", code="img-too-wide", line=line,
                          message=_("image {source!r} is {width} px wide but the content cell is {content_width} px; "
                                    "Outlook for Windows draws it past the cell — write width=\"{content_width}\" or "
                                    "less").format(
                              source=source, width=width, content_width=content_width))  # fmt: skip


def _unknown_classes(document: lxml.html.HtmlElement, issue: Issue, defined: frozenset[str] | None) -> Iterable[Finding]:
    """A class in the body that no rule of the stylesheet selects is most likely a typo."""
    if defined is None:
        return
    reported: set[str] = set()
    for cell in document.find_class("content"):
        for element in cell.iter():
            for name in (element.get("class") or "").split() if isinstance(element.tag, str) else ():
                if name not in defined and name not in reported:
                    reported.add(name)
                    yield Finding(level="warning", code="unknown-class", line=_line_of(issue, f".{name}"),
                                  message=_("class {name!r} is not defined by the email's stylesheet, so it changes "
                                            "nothing; check the spelling ({{: .button }} makes a button)").format(
                                      name=name))  # fmt: skip


def _links(document: lxml.html.HtmlElement, issue: Issue) -> Iterable[Finding]:
    unsubscribe = False
    for anchor in document.iter("a"):
        href = (anchor.get("href") or "").strip()
        label = " ".join(anchor.text_content().split())
        if any(word in label.lower() or word in href.lower() for word in _UNSUBSCRIBE_WORDS):
            unsubscribe = unsubscribe or bool(href) and href != "#"
        line = _line_of(issue, href) if href else _line_of(issue, label)
        if not href or href == "#":
            yield Finding(level="error", code="link-no-href", line=line,
                          message=_("link {label!r} goes nowhere; give it an address").format(label=label))  # fmt: skip
        elif href.lower().startswith("javascript:"):
            yield Finding(level="error", code="link-javascript", line=line,
                          message=_("link {label!r} uses javascript:, which mail clients block").format(
                              label=label))  # fmt: skip
        elif href.lower().startswith("http:"):
            yield Finding(level="warning", code="link-http", line=line,
                          message=_("link {href!r} is not HTTPS; clients warn and trackers can read it").format(
                              href=href))  # fmt: skip
    if not unsubscribe:
        yield Finding(level="error", code="no-unsubscribe",
                      message=_("no 수신거부 (unsubscribe) link; the template must link to "
                                "{{ unsubscribe_url }}"))  # fmt: skip


def _is_hidden(element: lxml.html.HtmlElement) -> bool:
    style = element.get("style", "")
    return bool(style and _HIDDEN_STYLE.search(style))


def _hidden(document: lxml.html.HtmlElement) -> Iterable[Finding]:
    """Hidden text besides the preheader reads as a spam trick to filters."""
    preheader_seen = False
    for element in document.iter():
        if not isinstance(element.tag, str) or element.tag in ("style", "head", "title", "meta") or not _is_hidden(element):
            continue
        if any(_is_hidden(parent) for parent in element.iterancestors()):
            continue
        words = " ".join(element.text_content().split()).strip("\u034f\u200c\u00a0 ")
        if not words:
            continue
        if "preheader" in element.get("class", "") and not preheader_seen:
            preheader_seen = True
            continue
        yield Finding(level="warning", code="hidden-text",
                      message=_("hidden text {text!r}; spam filters penalise text readers cannot see").format(
                          text=words[:40]))  # fmt: skip


def _advertising(document: lxml.html.HtmlElement, text: str, issue: Issue, publication: Publication) -> Iterable[Finding]:
    subject = issue.subject
    line = issue.lines.get("subject")
    if not subject.startswith(AD_PREFIX):
        lookalike = _AD_LOOKALIKE.match(subject)
        if lookalike and "광" in lookalike.group(0):
            message = _("an advertising issue's subject must start with exactly '(광고)' and it starts with {start!r}; "
                        "write subject: \"(광고) …\"").format(start=lookalike.group(0).strip())
        else:
            message = _("an advertising issue's subject must start with exactly '(광고)' and it does not; "
                        "write subject: \"(광고) …\"")
        yield Finding(level="error", code="ad-subject", line=line, message=message)
    html_text = " ".join((document.body.text_content() if document.body is not None else "").split())
    plain = " ".join(text.split())
    sender = parseaddr(publication.sender)[0] or publication.name
    required = {
        N_("sender name"): sender,
        N_("phone"): publication.phone,
        N_("email"): publication.contact_email,
        N_("postal address"): publication.postal_address,
    }
    for part, content in (("HTML", html_text), (N_("text"), plain)):
        for label, value in required.items():
            if value and not _contains(content, value):
                yield Finding(level="error", code="ad-sender-info",
                              message=_("the {part} part lacks the sender's {label} ({value!r}), which advertising "
                                        "email must show").format(part=_(part), label=_(label), value=value))
        if not _OPT_OUT_INSTRUCTION.search(content):
            yield Finding(level="error", code="ad-opt-out-text",
                          message=_("the {part} part lacks Korean opt-out instructions (수신거부 방법), which "
                                    "advertising email must show").format(part=_(part)))


def _contains(content: str, value: str) -> bool:
    """Whitespace-insensitive containment; phone numbers also match by their digits."""
    squeezed = " ".join(value.split())
    if squeezed in content:
        return True
    digits = re.sub(r"\D", "", value)
    return len(digits) >= 7 and digits in re.sub(r"\D", "", content)
