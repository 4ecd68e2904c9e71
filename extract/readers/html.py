"""HTML pages: block text as one-cell rows, every table row as a row of its cell texts.

Real pages (QUIRKS.md "HTML") carry rowspan/colspan, ``&nbsp;`` in empty cells, values wrapped
in ``<p><span style=…>``, Word-pasted ``<o:p>`` markup, layout tables wrapping the whole report,
and value cells whose colspans do not line up with the header (realdocs 上海 2019).

Spans, as the matcher expects them (the same as the text layouts' merged cells):

* rowspan — each later row the cell covers gets an empty string at its position;
* colspan — the cell is emitted once: value cells map to columns by cell order, which is what
  the 上海 2019 page needs (its value colspans follow Word's grid, not the header's columns).
  One exception: a *blank* cell whose span covers exactly k >= 2 columns of the table's latest
  header row stands for k blank values (a merged "/" over the whole 复议后起诉 block), so it is
  emitted k times; emitting it once would leave the row short and lose its other values.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from extract.decode import decode
from extract.document import Document, Row, UnreadableDocument
from extract.limits import MAX_HTML_DEPTH
from extract.normalize import ARTEFACTS
from extract.values import looks_like_value, parse_value

SUFFIXES = frozenset({".html", ".htm", ".shtml", ".xhtml"})

# Elements that end a line of text (everything else is inline and flows into the current line).
_BLOCK = frozenset(
    {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "section",
        "article", "header", "footer", "main", "nav", "aside", "blockquote", "pre", "center", "address",
        "figure", "figcaption", "form", "fieldset", "legend", "hr", "caption", "details", "summary",
        "body", "html", "tr", "td", "th", "thead", "tbody", "tfoot",
    }
)  # fmt: skip
# Elements whose content is never report text.
_SKIP = frozenset(
    {
        "script",
        "style",
        "head",
        "title",
        "noscript",
        "template",
        "iframe",
        "object",
        "svg",
        "select",
        "button",
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_ROW_GROUPS = frozenset({"thead", "tbody", "tfoot"})
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
# A private-use character marking where a line ends inside the markup: before every <br> and
# before the start and end tags of blocks that can sit inside a table cell. A literal
# replacement keeps the substitution in C (group templates are slow in 3.11).
LINE_MARK = "\ue000"
# The first lookahead, a plain character class, turns most tags (span, td, o:p) away before
# the case-insensitive alternation runs: a third faster on Word-pasted pages.
_LINE_TAG = re.compile(r"<(?=[/bBpPdDlLhH])(?=(?i:br|/?(?:p|div|li|h[1-6]))\b)")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# At most this many "<", a page parses in bounded time whatever its nesting (10,000 nested
# <div>, the worst shape, take ~0.25 s), so its depth is checked on the parsed tree instead.
_PARSE_ANY_TAGS = 10_000
_MAX_SPAN = 1000  # the HTML spec's colspan limit; also bounds rowspan bookkeeping on hostile pages
# Only the tag name: a pattern running on to the closing ">" would rescan the rest of a file
# full of "<" without ">" from every "<" (quadratic).
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:._-]*)")
# Elements that never nest (void) or whose end tag a page may omit (the parser closes them):
# counting them would charge a page of unclosed <p> and <td> with a depth it does not have.
_NO_DEPTH = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr", "keygen", "p", "li", "dt", "dd", "td", "th", "tr", "thead", "tbody", "tfoot",
        "option", "optgroup", "colgroup", "caption", "rp", "rt", "rb", "rtc", "html", "head", "body",
    }
)  # fmt: skip


def _clean(text: str) -> str:
    # str.split() splits on every Unicode space (&nbsp; U+00A0, U+3000 included): faster than a regex.
    return " ".join(text.replace("\u200b", "").replace(LINE_MARK, " ").split())


# What a cell's text may begin or end with that is not text: white space, line marks, zero-width spaces.
_EDGES = " \t\r\n\f\v\xa0\u3000\u200b" + LINE_MARK


def _mark_lines(html: str) -> str:
    html = html.replace(LINE_MARK, "")
    return _LINE_TAG.sub(LINE_MARK + "<", html)


def _span(raw: str | None, zero: int = 1) -> int:
    """A colspan/rowspan attribute; junk is 1, ``rowspan="0"`` (to the end) is ``zero``."""
    if not raw:
        return 1
    if not raw.isdigit():
        digits = re.match(r"\s*(\d+)", raw)
        if not digits:
            return 1
        raw = digits.group(1)
    n = int(raw)
    return zero if n == 0 else min(n, _MAX_SPAN)


def is_blank(text: str) -> bool:
    return parse_value(text).blank


# ---------------------------------------------------------------------------- span alignment


@dataclass(slots=True)
class Placed:
    """One grid position of a table row: a cell, or a position covered by a cell above."""

    text: str
    start: int  # first grid column
    span: int  # grid columns covered
    covered: bool = False  # rowspan / vMerge continuation: emitted as an empty string


class SpanAligner:
    """Turns placed cells into the matcher's row of strings, one table at a time.

    Remembers the column boundaries of the latest header row (a row of labels only), so that a
    blank merged value cell covering several header columns can be widened (module docstring).
    """

    def __init__(self) -> None:
        self.header: list[tuple[int, int]] = []

    def row(self, cells: list[Placed]) -> Row:
        own = [c.text for c in cells if not c.covered]
        if len(own) >= 2 and all(t and not looks_like_value(t) for t in own):
            self.header = [(c.start, c.start + c.span) for c in cells]
        out: Row = []
        for cell in cells:
            if cell.covered:
                out.append("")
                continue
            copies = 1
            if cell.span > 1 and self.header and is_blank(cell.text):
                copies = self._header_columns(cell.start, cell.start + cell.span)
            out.extend([cell.text] * copies)
        return out

    def _header_columns(self, start: int, end: int) -> int:
        """How many header cells tile [start, end) exactly; 1 when they do not line up."""
        inside = [(s, e) for s, e in self.header if start <= s and e <= end]
        if len(inside) < 2 or sum(e - s for s, e in inside) != end - start:
            return 1
        return len(inside)


# ---------------------------------------------------------------------------- the walker


class _TooDeep(Exception):
    """The walk went deeper than the depth limit."""


class _Walker:
    def __init__(self, *, nested: bool, max_depth: int) -> None:
        self.rows: list[Row] = []
        self.line: list[str] = []
        # Only pages with tables inside tables (layout tables) pay for the per-cell check.
        self.nested = nested
        self.max_depth = max_depth
        self.depth = -1  # levels below the node the walk starts from (<body>)

    def flush(self) -> None:
        if self.line:
            for part in "".join(self.line).replace(LINE_MARK, "\n").split("\n"):
                text = _clean(part)
                if text:
                    self.rows.append([text])
            self.line = []

    def flow(self, node: LexborNode) -> None:
        """Walk ``node``'s children as flowing content: text lines, blocks and tables."""
        self.depth += 1
        if self.depth > self.max_depth:
            raise _TooDeep
        child = node.first_child
        while child is not None:
            if child.is_text_node:
                self.line.append(child.text_content or "")
            elif child.is_element_node:
                tag = child.tag
                if tag in _SKIP:
                    pass
                elif tag == "br":
                    self.line.append("\n")
                elif tag == "table":
                    self.flush()
                    self.table(child)
                elif tag in _BLOCK:
                    self.flush()
                    self.flow(child)
                    self.flush()
                else:
                    self.flow(child)
            child = child.next
        self.depth -= 1

    def table(self, table: LexborNode) -> None:
        aligner = SpanAligner()
        carry: dict[int, tuple[int, int]] = {}  # start column -> (rows still covered, span)
        for tr in _table_rows(table):
            if tr.tag == "caption":
                self.flush()
                self.flow(tr)
                self.flush()
                continue
            cells = [c for c in _children(tr) if c.tag in _CELL_TAGS]
            lone = len(cells) == 1 and not carry and _span(cells[0].attributes.get("rowspan")) == 1
            if lone or (self.nested and any(c.css_first("table") is not None for c in cells)):
                # A layout row (its cells hold blocks and tables of their own), or a row of one
                # cell: read as flowing text, so headings inside it are rows of their own.
                for cell in cells:
                    self.flush()
                    self.flow(cell)
                    self.flush()
                continue
            placed: list[Placed] = []
            col = 0
            new_carry: dict[int, tuple[int, int]] = {}
            for cell in cells:
                while col in carry:  # positions covered by rowspans from above
                    span = carry[col][1]
                    placed.append(Placed("", col, span, covered=True))
                    col += span
                attrs = cell.attributes
                colspan = _span(attrs.get("colspan"))
                rowspan = _span(attrs.get("rowspan"), zero=_MAX_SPAN)
                placed.append(Placed(_cell_text(cell), col, colspan))
                if rowspan > 1:
                    new_carry[col] = (rowspan - 1, colspan)
                col += colspan
            for start in sorted(c for c in carry if c >= col):  # rowspans right of the last cell
                placed.append(Placed("", start, carry[start][1], covered=True))
            for start, (left, span) in carry.items():
                if left > 1 and start not in new_carry:
                    new_carry[start] = (left - 1, span)
            carry = new_carry
            row = aligner.row(placed)
            if any(row):
                self.rows.append(row)


def _children(node: LexborNode) -> list[LexborNode]:
    out = []
    child = node.first_child
    while child is not None:
        if child.is_element_node:
            out.append(child)
        child = child.next
    return out


def _table_rows(table: LexborNode) -> list[LexborNode]:
    """The table's own rows (not those of nested tables) and its caption, in order."""
    rows = []
    for child in _children(table):
        if child.tag in ("tr", "caption"):
            rows.append(child)
        elif child.tag in _ROW_GROUPS:
            rows.extend(c for c in _children(child) if c.tag == "tr")
    return rows


def _cell_text(cell: LexborNode) -> str:
    """A cell's text; ``<br>`` and blocks inside it (``<p>`` per line) become newlines.

    The line marks were put in the markup before parsing (``_mark_lines``), so lexbor's own
    text extraction does the walk: several times faster than visiting the nodes from Python.
    """
    # Marks at the edges (the cell's own <p>) end no line inside it: the common case is then
    # one line, cleaned without splitting.
    text = (cell.text(deep=True) or "").strip(_EDGES)
    if LINE_MARK not in text:
        return _clean(text)
    lines = (_clean(line) for line in text.split(LINE_MARK))
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------------------- entry point


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its first bytes (``<meta charset>`` or http-equiv)."""
    m = _CHARSET.search(data[:4096])
    return m.group(1).decode("ascii").lower() if m else None


def nesting_exceeds(html: str, limit: int) -> bool:
    """Whether the page's tags nest deeper than ``limit`` (an upper estimate, stopping early)."""
    depth = 0
    for m in _TAG_NAME.finditer(html):
        tag = m.group(2).lower()
        if tag in _NO_DEPTH:
            continue
        if m.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > limit:
                return True
    return False


def _codec_name(encoding: str) -> str | None:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    # GBK and GB2312 pages are decoded with their superset GB18030 (extract.decode).
    return "gb18030" if name in ("gbk", "gb2312") else name.replace("-sig", "")


def read(data: bytes) -> Document:
    declared = declared_charset(data)
    decoded = decode(data, declared=declared)
    notes: list[str] = []
    if declared and _codec_name(declared) not in (None, _codec_name(decoded.encoding)):
        notes.append(f"page declares charset {declared} but decodes as {decoded.encoding}")
    if decoded.replaced:
        notes.append(f"{decoded.replaced} undecodable bytes replaced ({decoded.encoding})")
    text = ARTEFACTS.sub("", decoded.text)
    if "\x00" in text[:2000]:
        raise UnreadableDocument("binary file named like a web page: not an HTML report")
    too_deep = f"HTML nested more than {MAX_HTML_DEPTH} levels deep: refused as broken or hostile markup"
    # The parser is quadratic in depth, so a page with many tags is checked before parsing
    # (a Python scan of every tag: ~1 ms on a report page). A page with fewer tags parses in
    # bounded time whatever its shape, and the walk counts the levels it goes down.
    if text.count("<") > _PARSE_ANY_TAGS and nesting_exceeds(text, MAX_HTML_DEPTH):
        raise UnreadableDocument(too_deep)
    tree = LexborHTMLParser(_mark_lines(text))
    # Scripts and styles hold no report text; removing them up front keeps them out of cell text.
    tree.strip_tags(["script", "style", "noscript", "template"])
    root = tree.body
    if root is None:
        raise UnreadableDocument("HTML page without a body: nothing to read")
    walker = _Walker(nested=root.css_first("table table") is not None, max_depth=MAX_HTML_DEPTH)
    try:
        walker.flow(root)
    except (_TooDeep, RecursionError):  # past the limit, or past the stack when it is lifted
        raise UnreadableDocument(too_deep) from None
    walker.flush()
    rows = walker.rows
    lines = [" ".join(c for c in row if c) for row in rows]
    # The <title> often names the agency and year when the page body does not repeat them.
    title = _TITLE.search(text[:20000])
    if title and _clean(title.group(1)):
        lines.insert(0, _clean(title.group(1)))
    return Document(rows=rows, format="html", text="\n".join(lines), encoding=decoded.encoding, notes=notes)
