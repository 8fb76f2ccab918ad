"""The plain-text alternative, rendered from the issue's Markdown tree (not scraped from HTML).

python-markdown builds an `xml.etree` tree before serialising it; `TextCapture` keeps a copy of
that finished tree and of the raw-HTML stash, and `markdown_to_text` turns it into text a reader
can use in a plain-text client:

- headings: `=` under level 1, `-` under level 2 (as wide as the heading is on screen), `■ ` before
  levels 3–6;
- paragraphs wrapped by display width (Hangul and other wide characters take two columns) at
  spaces only, the way Korean is set with `word-break: keep-all`; a word is split only when it is
  wider than a whole line, and never inside an ASCII run, so URLs and merge tokens stay intact;
- lists with hanging indents (nested lists indent under their parent's text), block quotes with
  `> `, code blocks verbatim (indented four spaces), tables as columns aligned by display width
  or, when too wide, as `header: value` records;
- links inline as `text (url)`: the URL stays next to the words that introduce it, per-recipient
  URLs (merge slots) stay where the template put them, and numbering cannot collide with footnote
  numbers; images as `[이미지: alt]`; footnotes as `[1]` with the notes at the end.

Raw HTML in the Markdown is stashed by python-markdown behind placeholders; block-level HTML is
parsed and rendered like Markdown, inline tags are dropped (`<br>` becomes a line break) and
entities decoded. Jinja tags (`{{ … }}`, `{% … %}`) and ASCII merge sentinels pass through intact.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from xml.etree.ElementTree import Element, SubElement

import markdown
import wcwidth
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

DEFAULT_EXTENSIONS = ("tables", "attr_list", "fenced_code", "sane_lists", "footnotes")
IMAGE_LABEL = "이미지"

_STASH = re.compile("\x02wzxhzdk:(\\d+)\x03")
_ESCAPED = re.compile("\x02(\\d+)\x03")
_OTHER_PLACEHOLDER = re.compile("\x02[^\x02\x03]*\x03")
# python-markdown writes an entity it generated (an obfuscated autolinked email) as AMP + "#104;".
_AMP_ENTITY = re.compile("\x02amp\x03(#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)?")
_SOFT_SPACE = re.compile(r"[ \t\r\f\v\n]+")
# A token is a run of non-space text in which Jinja tags count as one piece, spaces and all.
_TOKEN = re.compile(r"(?:\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|[^ \t\n\r\f\v{]|\{)+", re.DOTALL)
_UNBREAKABLE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|[\x21-\x7e]+", re.DOTALL)
_LONE_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^<>]*>")
_URLISH = re.compile(r"^[a-z][a-z0-9+.-]*:|^www\.", re.IGNORECASE)

_BLOCKS = frozenset(
    "p h1 h2 h3 h4 h5 h6 ul ol li dl dt dd blockquote pre table hr div section article header "
    "footer main nav aside figure figcaption center address details summary form fieldset".split()
)
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SKIPPED = frozenset("script style head title template".split())
_MIN_WIDTH = 8


# --- display width and wrapping ---------------------------------------------------------------


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal or monospace client: wide (Hangul, CJK, emoji) = 2,
    combining marks and zero-width characters = 0. East Asian ambiguous characters count as 1.
    Control characters count 0 rather than poisoning the sum."""
    width = wcwidth.wcswidth(text)
    if width >= 0:
        return width
    return sum(max(wcwidth.wcwidth(char), 0) for char in text)


def _graphemes(text: str) -> list[str]:
    """Characters with their combining marks, variation selectors and ZWJ partners attached."""
    clusters: list[str] = []
    join_next = False
    for char in text:
        if clusters and (join_next or wcwidth.wcwidth(char) == 0):
            clusters[-1] += char
        else:
            clusters.append(char)
        join_next = char == "\u200d"
    return clusters


def _atoms(token: str) -> list[str]:
    """The pieces a too-wide token may be split between: Jinja tags and ASCII runs (URLs,
    numbers, merge sentinels) stay whole, everything else splits between grapheme clusters."""
    atoms: list[str] = []
    position = 0
    for match in _UNBREAKABLE.finditer(token):
        if atoms and match.start() == position and position:
            atoms[-1] += match.group(0)  # a tag glued to ASCII (`{{ x }},`) is one piece
        else:
            atoms.extend(_graphemes(token[position : match.start()]))
            atoms.append(match.group(0))
        position = match.end()
    atoms.extend(_graphemes(token[position:]))
    return atoms


def _split_token(token: str, room: int) -> list[str]:
    if _URLISH.match(token):
        return [token]
    pieces = [""]
    for atom in _atoms(token):
        if pieces[-1] and display_width(pieces[-1] + atom) > room:
            pieces.append("")
        pieces[-1] += atom
    return pieces


def wrap(text: str, width: int, *, indent: str = "", subsequent_indent: str = "") -> list[str]:
    """Wrap `text` into lines at most `width` columns wide, measured by `display_width`.

    Like `textwrap.wrap`, any run of whitespace is one break opportunity. Lines break only at
    spaces (Korean puts spaces between words); a word wider than a line is split between
    characters, except URLs and ASCII runs, which overflow rather than break.
    """
    lines: list[str] = []
    line, prefix = "", indent
    for token in _TOKEN.findall(text):
        candidate = f"{line} {token}" if line else token
        if display_width(prefix + candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(prefix + line)
            prefix = subsequent_indent
        room = max(width - max(display_width(prefix), display_width(subsequent_indent)), 1)
        *full, line = _split_token(token, room) if display_width(token) > room else [token]
        for piece in full:
            lines.append(prefix + piece)
            prefix = subsequent_indent
    if line:
        lines.append(prefix + line)
    return lines


def fill(text: str, width: int, **indents: str) -> str:
    """`wrap` joined into one string."""
    return "\n".join(wrap(text, width, **indents))


# --- raw HTML from python-markdown's stash ------------------------------------------------------


class _FragmentBuilder(HTMLParser):
    """A forgiving HTML fragment → `xml.etree` builder: void tags close themselves, a stray end
    tag is ignored, an end tag closes whatever it left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("div")
        self.stack = [self.root]
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
            return
        element = SubElement(self.stack[-1], tag, {k: v or "" for k, v in attrs})
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:
            SubElement(self.stack[-1], tag, {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
            return
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        parent = self.stack[-1]
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + data
        else:
            parent.text = (parent.text or "") + data


def parse_html_fragment(fragment: str) -> Element:
    """Parse an HTML fragment into a `div` element."""
    builder = _FragmentBuilder()
    builder.feed(fragment)
    builder.close()
    return builder.root


def _inline_html_text(fragment: str) -> str:
    """Text of an inline HTML fragment: tags dropped, entities decoded, and a line break for
    `<br>` or a block tag. python-markdown stashes inline HTML one tag at a time (`<span>`, then
    `</span>`), so a lone tag is the common case."""
    lone = _LONE_TAG.fullmatch(fragment.strip())
    if lone:
        return "\n" if lone.group(1).lower() in _BLOCKS | {"br"} else ""
    return _inline_text(parse_html_fragment(fragment), ())


# --- the renderer --------------------------------------------------------------------------------

Block = list[str]


def _join(blocks: Iterable[Block], *, gap: bool = True) -> Block:
    lines: Block = []
    for block in blocks:
        if not block:
            continue
        if lines and gap:
            lines.append("")
        lines.extend(block)
    return lines


def _classes(element: Element) -> set[str]:
    return set(element.get("class", "").split())


def _clean(text: str | None, stash: Sequence[str | Element]) -> str:
    """Tree text with soft line breaks as spaces and python-markdown placeholders resolved."""
    if not text:
        return ""
    text = _SOFT_SPACE.sub(" ", text)

    def stashed(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(stash):
            return ""
        item = stash[index]
        return _inline_html_text(item) if isinstance(item, str) else _inline_text(item, stash)

    text = _STASH.sub(stashed, text)
    return _decode_placeholders(text)


def _decode_placeholders(text: str) -> str:
    """Backslash escapes and generated entities back to characters; other placeholders gone."""
    text = _ESCAPED.sub(lambda match: chr(int(match.group(1))), text)
    text = _AMP_ENTITY.sub(lambda match: html.unescape("&" + (match.group(1) or "amp;")), text)
    return _OTHER_PLACEHOLDER.sub("", text)


def _inline_text(element: Element, stash: Sequence[str | Element]) -> str:
    """An element's content as one line of text; `\\n` marks a hard line break."""
    parts = [_clean(element.text, stash)]
    for child in element:
        parts.append(_inline_element(child, stash))
        parts.append(_clean(child.tail, stash))
    return "".join(parts)


def _inline_element(element: Element, stash: Sequence[str | Element]) -> str:
    tag = element.tag
    if tag in _SKIPPED:
        return ""
    if tag == "br":
        return "\n"
    if tag == "img":
        alt = " ".join(element.get("alt", "").split())
        return f"[{IMAGE_LABEL}: {alt}]" if alt else f"[{IMAGE_LABEL}]"
    if tag == "a":
        return _link(element, stash)
    if tag == "code":
        return _SOFT_SPACE.sub(" ", "".join(element.itertext()))
    if tag in _BLOCKS:  # block HTML met inside a line (a stashed `<p>`): keep it on its own line
        return f"\n{_inline_text(element, stash)}\n"
    return _inline_text(element, stash)


def _link(anchor: Element, stash: Sequence[str | Element]) -> str:
    classes = _classes(anchor)
    text = _collapse(_inline_text(anchor, stash))
    if "footnote-backref" in classes:
        return ""
    if "footnote-ref" in classes:
        return f"[{text}]"
    href = _decode_placeholders(anchor.get("href", "")).strip()
    if not href or href.startswith("#") or href.lower().startswith("javascript:"):
        return text
    shown = re.sub(r"^(mailto|tel):", "", href, flags=re.IGNORECASE)
    if not text or text in (href, shown):
        return text or shown
    return f"{text} ({shown})"


def _collapse(text: str) -> str:
    return " ".join(text.split())


class _Renderer:
    def __init__(self, stash: Sequence[str | Element]) -> None:
        self.stash = stash

    def children(self, element: Element, width: int) -> list[Block]:
        """Blocks for an element's content, grouping loose inline content into paragraphs."""
        blocks: list[Block] = []
        inline: list[str] = [_clean(element.text, self.stash)]

        def flush() -> None:
            text = "".join(inline)
            inline.clear()
            if text.strip():
                blocks.append(self.paragraph(text, width))

        for child in element:
            if child.tag in _BLOCKS:
                flush()
                blocks.extend(self.block(child, width))
            else:
                inline.append(_inline_element(child, self.stash))
            inline.append(_clean(child.tail, self.stash))
        flush()
        return blocks

    def paragraph(self, text: str, width: int) -> Block:
        lines: Block = []
        for line in text.split("\n"):
            lines.extend(wrap(line, width) or ([""] if lines else []))
        while lines and not lines[-1]:
            lines.pop()
        return lines

    def block(self, element: Element, width: int) -> list[Block]:
        tag = element.tag
        if tag in _SKIPPED:
            return []
        stashed = self._stashed_block(element) if tag == "p" else None
        if stashed is not None:
            return self.children(stashed, width)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return [self.heading(element, int(tag[1]), width)]
        if tag in ("ul", "ol"):
            return [self.listing(element, width)]
        if tag == "blockquote":
            inner = _join(self.children(element, max(width - 2, _MIN_WIDTH)))
            return [[f"> {line}" if line else ">" for line in inner]]
        if tag == "pre":
            code = "".join(element.itertext()).expandtabs(4).rstrip("\n")
            return [[f"    {line}".rstrip() for line in code.split("\n")]]
        if tag == "table":
            return [self.table(element, width)]
        if tag == "hr":
            return [["-" * width]]
        if tag == "dd":
            inner = _join(self.children(element, max(width - 4, _MIN_WIDTH)))
            return [[f"    {line}" if line else "" for line in inner]]
        if tag == "div" and "footnote" in _classes(element):
            return self.footnotes(element, width)
        return self.children(element, width)

    def _stashed_block(self, paragraph: Element) -> Element | None:
        """The raw HTML block a paragraph stands for, when it holds only a stash placeholder."""
        match = _STASH.fullmatch((paragraph.text or "").strip())
        if not match or len(paragraph) or int(match.group(1)) >= len(self.stash):
            return None
        item = self.stash[int(match.group(1))]
        return parse_html_fragment(item) if isinstance(item, str) else item

    def heading(self, element: Element, level: int, width: int) -> Block:
        text = _collapse(_inline_text(element, self.stash))
        if level >= 3:
            return wrap(text, width, indent="■ ", subsequent_indent="  ")
        lines = wrap(text, width)
        underline = "=" if level == 1 else "-"
        return [*lines, underline * min(max(map(display_width, lines), default=0), width)]

    def listing(self, element: Element, width: int, *, markers: Sequence[str] | None = None) -> Block:
        items = [child for child in element if child.tag == "li"]
        if markers is None and element.tag == "ol":
            start_text = element.get("start", "").strip()
            start = int(start_text) if start_text.isdigit() else 1
            markers = [f"{start + n}." for n in range(len(items))]
        elif markers is None:
            markers = ["-"] * len(items)
        marker_width = max((display_width(m) for m in markers), default=1) + 1
        loose = any(child.tag == "p" for item in items for child in item)
        lines: Block = []
        for marker, item in zip(markers, items, strict=True):
            body = _join(self.children(item, max(width - marker_width, _MIN_WIDTH)), gap=loose) or [""]
            if loose and lines:
                lines.append("")
            first = " " * (marker_width - 1 - display_width(marker)) + marker + " "
            lines.append(first + body[0])
            lines.extend(" " * marker_width + line if line else "" for line in body[1:])
        return [line.rstrip() for line in lines]

    def footnotes(self, element: Element, width: int) -> list[Block]:
        blocks: list[Block] = [["-" * min(width, 20)]]
        for notes in element.iter("ol"):
            count = sum(1 for child in notes if child.tag == "li")
            blocks.append(self.listing(notes, width, markers=[f"[{n}]" for n in range(1, count + 1)]))
        return blocks

    def table(self, element: Element, width: int) -> Block:
        header, rows, aligns = _table_cells(element, self.stash)
        columns = max(len(row) for row in [header, *rows]) if rows or header else 0
        if not columns:
            return []
        rows = [row + [""] * (columns - len(row)) for row in rows]
        header = header + [""] * (columns - len(header)) if header else []
        aligns = aligns + ["left"] * (columns - len(aligns))
        every_row = [header, *rows] if header else rows
        widths = [max(display_width(row[c]) for row in every_row) for c in range(columns)]
        if sum(widths) + 2 * (columns - 1) > width:
            return _table_records(header, rows, width)
        lines = []
        if header:
            lines.append(_table_row(header, widths, aligns))
            lines.append("  ".join("-" * w for w in widths))
        lines.extend(_table_row(row, widths, aligns) for row in rows)
        return lines


def _align(cell: str, width: int, align: str) -> str:
    pad = width - display_width(cell)
    if align == "right":
        return " " * pad + cell
    if align == "center":
        return " " * (pad // 2) + cell + " " * (pad - pad // 2)
    return cell + " " * pad


def _table_row(cells: list[str], widths: list[int], aligns: list[str]) -> str:
    return "  ".join(_align(c, w, a) for c, w, a in zip(cells, widths, aligns, strict=True)).rstrip()


def _cell_align(cell: Element) -> str:
    style = re.search(r"text-align\s*:\s*(\w+)", cell.get("style", ""))
    return (style.group(1) if style else cell.get("align", "left")).lower()


def _table_cells(
    table: Element, stash: Sequence[str | Element]
) -> tuple[list[str], list[list[str]], list[str]]:
    """(header, body rows, column alignments) as single-line cell texts."""
    header: list[str] = []
    rows: list[list[str]] = []
    aligns: list[str] = []
    head_rows = {id(tr) for section in table.iter("thead") for tr in section.iter("tr")}
    for tr in table.iter("tr"):
        cells = [cell for cell in tr if cell.tag in ("th", "td")]
        texts = [_collapse(_inline_text(cell, stash)) for cell in cells]
        all_th = bool(cells) and all(cell.tag == "th" for cell in cells)
        if not header and not rows and (id(tr) in head_rows or all_th):
            header = texts
        else:
            rows.append(texts)
        if not aligns:
            aligns = [_cell_align(cell) for cell in cells]
    return header, rows, aligns


def _table_records(header: list[str], rows: list[list[str]], width: int) -> Block:
    """A table too wide for the text: one record per row, `header: value` per line."""
    blocks = []
    for row in rows:
        if header:
            lines = [
                line
                for key, value in zip(header, row, strict=True)
                if value
                for line in wrap(f"{key}: {value}" if key else value, width, subsequent_indent="  ")
            ]
        else:
            lines = wrap(" / ".join(cell for cell in row if cell), width, subsequent_indent="  ")
        blocks.append(lines)
    return _join(blocks)


# --- entry points ---------------------------------------------------------------------------------


def _decode_code(root: Element) -> None:
    """python-markdown stores code text HTML-escaped (`a &lt; b`); the text wants it plain."""
    for code in root.iter("code"):
        if code.text:
            code.text = html.unescape(code.text)


def markdown_to_text(root: Element, *, width: int = 72, html_blocks: Sequence[str | Element] = ()) -> str:
    """Plain text for a python-markdown tree (`root`, as a Treeprocessor sees it at the end of
    the pipeline). Pass `md.htmlStash.rawHtmlBlocks` as `html_blocks` so raw HTML and entities
    come out as text; without it their placeholders are dropped. `root` is not modified."""
    tree = copy.deepcopy(root)
    _decode_code(tree)
    blocks = _Renderer(tuple(html_blocks)).children(tree, max(width, _MIN_WIDTH))
    lines = [line.rstrip() for line in _join(blocks)]
    return "\n".join(lines) + "\n" if lines else ""


class TextCapture(Treeprocessor):
    """Keeps a copy of the finished tree and the raw-HTML stash for `markdown_to_text`."""

    root: Element | None = None
    html_blocks: tuple[str | Element, ...] = ()

    def run(self, root: Element) -> None:
        self.root = copy.deepcopy(root)
        self.html_blocks = tuple(self.md.htmlStash.rawHtmlBlocks)

    def text(self, *, width: int = 72) -> str:
        """The plain text; "" when no tree was built (python-markdown skips blank documents)."""
        if self.root is None:
            return ""
        return markdown_to_text(self.root, width=width, html_blocks=self.html_blocks)


class TextExtension(Extension):
    """Registers a `TextCapture` last among the tree processors (after unescaping)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.capture: TextCapture | None = None

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (python-markdown API)
        self.capture = TextCapture(md)
        md.treeprocessors.register(self.capture, "webzine_text", -100)


def render_text(
    markdown_source: str, extensions: Iterable[str | Extension] = DEFAULT_EXTENSIONS, width: int = 72
) -> str:
    """Markdown source → plain text, with the extensions the issue renderer uses."""
    capture = TextExtension()
    md = markdown.Markdown(extensions=[*extensions, capture])
    md.convert(markdown_source)
    return capture.capture.text(width=width) if capture.capture else ""
