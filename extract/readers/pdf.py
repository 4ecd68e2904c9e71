"""PDF reports with a text layer: positioned characters and ruling lines in, rows of cells out.

pypdfium2 gives every character with its box and every path (table borders) with its points;
pdfplumber gives the same through pdfminer but ~10x slower, so it is not used here.

Tables are rebuilt from the rulings, not guessed from text positions: the horizontal and
vertical segments of each connected group of lines form a grid; two neighbouring grid cells
with no ruling between them are one merged cell. Each grid row becomes one row of cells
(a merged cell's text goes to the first row it spans, later rows get an empty string, as the
matcher expects); characters of one cell are joined line by line, so a label wrapped over
several lines, or a vertical label stacked one character per line, comes out whole. Text
outside tables becomes one-cell rows (paragraphs). Tables split across pages need no special
handling except a single row cut in two by the page break (label on one page, numbers on the
next): those two halves are joined when their columns line up.

Pages without any ruled table fall back to the space-aligned layout reader
(``extract.readers.spaced``) on a character grid rebuilt from the positions.
"""

from __future__ import annotations

import ctypes
import re
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from statistics import median

from extract import limits
from extract.document import Document, Row, UnreadableDocument
from extract.values import looks_like_value

SUFFIXES = frozenset({".pdf"})
SIGNATURES = (b"%PDF",)

# Limits live in extract.limits; bound here so tests can lower them on this module.
MAX_PAGES = limits.MAX_PDF_PAGES  # anything longer is read up to here and noted
TIME_LIMIT_S = limits.PDF_TIME_LIMIT_S  # a pathological file must not hold up a batch run

_SNAP = 2.5  # points: rulings closer than this are the same line (double borders, stroke widths)
_MIN_SEGMENT = 3.0  # shorter pieces are glyph parts or arrow heads, not table rulings
_PAGE_NUMBER = re.compile(
    r"^[-—–－‐ \s]*(?:第\s*)?\d{1,3}(?:\s*页)?(?:\s*[/／]\s*\d{1,3}|\s*共\s*\d+\s*页)?[-—–－‐\s]*$"
)


@dataclass
class Glyph:
    text: str
    x0: float
    x1: float
    top: float  # distances from the top of the page (PDF space is bottom-up)
    bottom: float
    size: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class Segment:
    """An axis-aligned ruling: ``pos`` is y for a horizontal one, x for a vertical one."""

    horizontal: bool
    pos: float
    start: float
    end: float


@dataclass
class Line:
    """Glyphs of one printed line (narrative text, or one line inside a table cell)."""

    glyphs: list[Glyph]

    @property
    def text(self) -> str:
        return _line_text(self.glyphs)

    @property
    def x0(self) -> float:
        return min(g.x0 for g in self.glyphs)

    @property
    def x1(self) -> float:
        return max(g.x1 for g in self.glyphs)

    @property
    def top(self) -> float:
        return min(g.top for g in self.glyphs)

    @property
    def bottom(self) -> float:
        return max(g.bottom for g in self.glyphs)

    @property
    def height(self) -> float:
        return median(g.bottom - g.top for g in self.glyphs)

    @property
    def size(self) -> float:
        return median(g.size for g in self.glyphs)


@dataclass
class Block:
    """One item in reading order: a narrative line or a table row."""

    top: float
    page: int
    line: Line | None = None
    cells: list[str] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)  # x extent of each cell
    table: int | None = None  # which table on the page


@dataclass
class PageContent:
    width: float
    height: float
    glyphs: list[Glyph]
    segments: list[Segment]


# ---------------------------------------------------------------------------- reading pdfium


def _pdfium():  # imported lazily: the text-only paths of the package do not need the binary
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    return pdfium, pdfium_c


def _glyphs(page, pdfium_c, height: float) -> list[Glyph]:
    textpage = page.get_textpage()
    # pdfium's functions bound once: this loop runs for every character of every page.
    get_unicode = pdfium_c.FPDFText_GetUnicode
    is_generated = pdfium_c.FPDFText_IsGenerated
    get_char_box = pdfium_c.FPDFText_GetCharBox
    get_loose_box = pdfium_c.FPDFText_GetLooseCharBox
    try:
        raw = textpage.raw
        count = textpage.count_chars()
        rect = pdfium_c.FS_RECTF()
        tight = [ctypes.c_double() for _ in range(4)]
        tl, tr, tb, tt = tight
        tight_refs = [ctypes.byref(v) for v in tight]
        out: list[Glyph] = []
        for i in range(count):
            code = get_unicode(raw, i)
            if code < 32 or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
                continue
            char = chr(code)
            if char.isspace() or is_generated(raw, i) == 1:
                continue  # spacing is rebuilt from positions; generated spaces/newlines are pdfium's guesses
            if not get_char_box(raw, i, *tight_refs):
                continue
            t_left, t_right, t_bottom, t_top = tl.value, tr.value, tb.value, tt.value
            if not get_loose_box(raw, i, rect):
                continue
            left, right, bottom, top = rect.left, rect.right, rect.bottom, rect.top
            t_w, t_h = t_right - t_left, t_top - t_bottom
            if (right - left > 4 * max(t_w, 1.0) and top - bottom > 4 * max(t_h, 1.0)) or not (
                left - 1 <= (t_left + t_right) / 2 <= right + 1
                and bottom - 1 <= (t_bottom + t_top) / 2 <= top + 1
            ):
                # pdfium's loose box (font ascent to descent) is wrong for some transformed
                # text, e.g. a vertical label drawn one glyph at a time: use the ink box, squared.
                side = max(t_w, t_h, 1.0) / 2
                cx, cy = (t_left + t_right) / 2, (t_bottom + t_top) / 2
                left, right, bottom, top = cx - side, cx + side, cy - side, cy + side
            if right - left <= 0 and top - bottom <= 0:
                continue
            size = top - bottom  # the effective size; FPDFText_GetFontSize ignores the text matrix
            out.append(Glyph(char, left, right, height - top, height - bottom, size))
        return out
    finally:
        textpage.close()


def _matrix_of(obj, pdfium_c) -> tuple[float, ...]:
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, m):
        return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _compose(inner: tuple[float, ...], outer: tuple[float, ...]) -> tuple[float, ...]:
    """The matrix applying ``inner`` then ``outer`` (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _path_segments(obj, matrix: tuple[float, ...], pdfium_c, height: float, out: list[Segment]) -> None:
    fill = ctypes.c_int()
    stroke = ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fill), ctypes.byref(stroke)):
        return
    if not fill.value and not stroke.value:
        return  # clipping or invisible paths draw nothing
    n = pdfium_c.FPDFPath_CountSegments(obj)
    if n <= 1 or n > 2000:
        return
    a, b, c, d, e, f = matrix
    x = ctypes.c_float()
    y = ctypes.c_float()
    start: tuple[float, float] | None = None
    prev: tuple[float, float] | None = None

    def add(p: tuple[float, float], q: tuple[float, float]) -> None:
        (x0, y0), (x1, y1) = p, q
        if abs(y0 - y1) < 1.0 and abs(x1 - x0) >= _MIN_SEGMENT:
            out.append(Segment(True, height - (y0 + y1) / 2, min(x0, x1), max(x0, x1)))
        elif abs(x0 - x1) < 1.0 and abs(y1 - y0) >= _MIN_SEGMENT:
            out.append(Segment(False, (x0 + x1) / 2, height - max(y0, y1), height - min(y0, y1)))

    for i in range(n):
        seg = pdfium_c.FPDFPath_GetPathSegment(obj, i)
        if not pdfium_c.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y)):
            continue
        px, py = x.value, y.value
        point = (a * px + c * py + e, b * px + d * py + f)
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
            start = point
        elif kind == pdfium_c.FPDF_SEGMENT_LINETO and prev is not None:
            add(prev, point)
        prev = point  # a bezier point moves the pen without drawing a ruling
        if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None:
            add(point, start)
            prev = start


def _segments(page, pdfium_c, height: float) -> list[Segment]:
    out: list[Segment] = []
    identity = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

    def visit(obj, parent: tuple[float, ...], depth: int) -> None:
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            _path_segments(obj, _compose(_matrix_of(obj, pdfium_c), parent), pdfium_c, height, out)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < 6:
            matrix = _compose(_matrix_of(obj, pdfium_c), parent)
            for k in range(pdfium_c.FPDFFormObj_CountObjects(obj)):
                visit(pdfium_c.FPDFFormObj_GetObject(obj, k), matrix, depth + 1)

    for k in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        visit(pdfium_c.FPDFPage_GetObject(page.raw, k), identity, 0)
    return out


def _open(data: bytes):
    pdfium, _ = _pdfium()
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = str(exc)
        if "password" in reason.lower():
            raise UnreadableDocument("encrypted PDF: it cannot be opened without a password") from None
        if "format" in reason.lower() or "file" in reason.lower():
            raise UnreadableDocument("damaged PDF: not a readable PDF file (truncated or corrupt)") from None
        raise UnreadableDocument(f"damaged PDF: {reason}") from None


def read_pages(data: bytes) -> tuple[list[PageContent], list[str]]:
    """Glyphs and rulings of each page (at most ``MAX_PAGES``), plus notes for the report."""
    _pdfium_mod, pdfium_c = _pdfium()
    started = time.monotonic()
    pdf = _open(data)
    notes: list[str] = []
    try:
        total = len(pdf)
        if total == 0:
            raise UnreadableDocument("damaged PDF: it has no pages")
        if total > MAX_PAGES:
            notes.append(f"PDF has {total} pages: only the first {MAX_PAGES} were read")
        pages: list[PageContent] = []
        for index in range(min(total, MAX_PAGES)):
            if time.monotonic() - started > TIME_LIMIT_S:
                raise UnreadableDocument(
                    f"PDF too slow to read: gave up after {TIME_LIMIT_S:.0f} s at page {index + 1} of {total}"
                )
            page = pdf[index]
            try:
                width, height = page.get_size()
                pages.append(
                    PageContent(
                        width,
                        height,
                        _glyphs(page, pdfium_c, height),
                        _segments(page, pdfium_c, height),
                    )
                )
            finally:
                page.close()
        return pages, notes
    finally:
        pdf.close()


# ---------------------------------------------------------------------------- geometry helpers


def _cluster(values: list[float], tol: float) -> list[float]:
    """Sorted representative positions: values within ``tol`` of their neighbour are one."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(g) / len(g) for g in out]


def _merge_segments(segments: list[Segment]) -> list[Segment]:
    """Collinear overlapping pieces become one segment (borders drawn cell by cell)."""
    merged: list[Segment] = []
    for horizontal in (True, False):
        group = sorted((s for s in segments if s.horizontal == horizontal), key=lambda s: (s.pos, s.start))
        lanes: list[list[Segment]] = []
        for s in group:
            if lanes and abs(s.pos - lanes[-1][0].pos) <= _SNAP:
                lanes[-1].append(s)
            else:
                lanes.append([s])
        for lane in lanes:
            pos = sum(s.pos for s in lane) / len(lane)
            lane.sort(key=lambda s: s.start)
            current = Segment(horizontal, pos, lane[0].start, lane[0].end)
            for s in lane[1:]:
                if s.start <= current.end + _SNAP:
                    current.end = max(current.end, s.end)
                else:
                    merged.append(current)
                    current = Segment(horizontal, pos, s.start, s.end)
            merged.append(current)
    return merged


def _components(segments: list[Segment]) -> list[list[Segment]]:
    """Groups of rulings that touch each other: one group per drawn table."""
    parent = list(range(len(segments)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    hs = [i for i, s in enumerate(segments) if s.horizontal]
    vs = [i for i, s in enumerate(segments) if not s.horizontal]
    for i in hs:
        h = segments[i]
        for j in vs:
            v = segments[j]
            if h.start - _SNAP <= v.pos <= h.end + _SNAP and v.start - _SNAP <= h.pos <= v.end + _SNAP:
                parent[find(i)] = find(j)
    groups: dict[int, list[Segment]] = {}
    for i, s in enumerate(segments):
        groups.setdefault(find(i), []).append(s)
    return list(groups.values())


@dataclass
class Grid:
    xs: list[float]
    ys: list[float]
    cell_of: dict[tuple[int, int], int]  # elementary (row, col) -> merged cell id
    first_row: dict[int, int]  # merged cell id -> the first grid row it spans

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return self.xs[0], self.ys[0], self.xs[-1], self.ys[-1]

    def locate(self, x: float, y: float) -> int | None:
        if not (self.xs[0] <= x <= self.xs[-1] and self.ys[0] <= y <= self.ys[-1]):
            return None
        j = min(max(bisect_right(self.xs, x) - 1, 0), len(self.xs) - 2)
        i = min(max(bisect_right(self.ys, y) - 1, 0), len(self.ys) - 2)
        return self.cell_of[(i, j)]


def _grid(group: list[Segment]) -> Grid | None:
    hs = [s for s in group if s.horizontal]
    vs = [s for s in group if not s.horizontal]
    if len(hs) < 2 or len(vs) < 2:
        return None
    ys = _cluster([s.pos for s in hs], _SNAP)
    xs = _cluster([s.pos for s in vs], _SNAP)
    if len(ys) < 2 or len(xs) < 3:
        # One column is a frame or a shaded paragraph (Word shades text line by line), not a
        # table: its text stays narrative.
        return None

    # The rulings lying on each grid line, found once (the cell loop below asks for them often).
    on_x = {x: [s for s in vs if abs(s.pos - x) <= _SNAP] for x in xs}
    on_y = {y: [s for s in hs if abs(s.pos - y) <= _SNAP] for y in ys}

    def ruled(lines: list[Segment], a: float, b: float) -> bool:
        # A boundary exists where a ruling on that grid line covers the middle of the span a..b.
        mid = (a + b) / 2
        return any(s.start - _SNAP <= mid <= s.end + _SNAP for s in lines)

    rows, cols = len(ys) - 1, len(xs) - 1
    parent = {(i, j): (i, j) for i in range(rows) for j in range(cols)}

    def find(k: tuple[int, int]) -> tuple[int, int]:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i in range(rows):
        for j in range(cols):
            if j + 1 < cols and not ruled(on_x[xs[j + 1]], ys[i], ys[i + 1]):
                parent[find((i, j + 1))] = find((i, j))
            if i + 1 < rows and not ruled(on_y[ys[i + 1]], xs[j], xs[j + 1]):
                parent[find((i + 1, j))] = find((i, j))
    ids: dict[tuple[int, int], int] = {}
    cell_of: dict[tuple[int, int], int] = {}
    first_row: dict[int, int] = {}
    for i in range(rows):
        for j in range(cols):
            root = find((i, j))
            cid = ids.setdefault(root, len(ids))
            cell_of[(i, j)] = cid
            first_row.setdefault(cid, i)
    return Grid(xs, ys, cell_of, first_row)


# ---------------------------------------------------------------------------- text assembly


def _lines(glyphs: list[Glyph]) -> list[Line]:
    """Glyphs grouped into printed lines by vertical overlap, each sorted left to right."""
    lines: list[list[Glyph]] = []
    top = bottom = 0.0  # the current line's extent, kept as glyphs join it
    for g in sorted(glyphs, key=lambda g: (g.top + g.bottom, g.x0)):  # by centre, as cy
        if lines:
            overlap = min(bottom, g.bottom) - max(top, g.top)
            if overlap > 0.5 * min(bottom - top, g.bottom - g.top):
                lines[-1].append(g)
                top, bottom = min(top, g.top), max(bottom, g.bottom)
                continue
        lines.append([g])
        top, bottom = g.top, g.bottom
    return [Line(sorted(line, key=lambda g: g.x0)) for line in lines]


def _line_text(glyphs: list[Glyph]) -> str:
    parts: list[str] = []
    prev: Glyph | None = None
    for g in glyphs:
        if prev is not None:
            gap = g.x0 - prev.x1
            height = max(prev.bottom - prev.top, g.bottom - g.top)
            if gap > 0.9 * height:
                parts.append("  " if gap > 2.5 * height else " ")
        parts.append(g.text)
        prev = g
    return "".join(parts)


def _cell_text(glyphs: list[Glyph]) -> str:
    # Lines of one cell are a wrapped label (or a stacked vertical label): joined without a
    # break, as Chinese text is; the matcher squashes whitespace in labels anyway.
    return "".join(line.text.strip() for line in _lines(glyphs)).strip()


def _page_blocks(page: PageContent, page_index: int) -> tuple[list[Block], int]:
    """The page's narrative lines and table rows in reading order; also the number of tables."""
    grids = [
        g
        for group in _components(_merge_segments(page.segments))
        if (g := _grid(group)) is not None
        and not (g.bbox[2] - g.bbox[0] > 0.9 * page.width and g.bbox[3] - g.bbox[1] > 0.9 * page.height)
    ]
    in_cell: dict[tuple[int, int], list[Glyph]] = {}
    outside: list[Glyph] = []
    for glyph in page.glyphs:
        for t, grid in enumerate(grids):
            cid = grid.locate(glyph.cx, glyph.cy)
            if cid is not None:
                in_cell.setdefault((t, cid), []).append(glyph)
                break
        else:
            outside.append(glyph)
    blocks: list[Block] = []
    for t, grid in enumerate(grids):
        texts = {cid: _cell_text(glyphs) for (tt, cid), glyphs in in_cell.items() if tt == t}
        for i in range(len(grid.ys) - 1):
            cells: list[str] = []
            spans: list[tuple[float, float]] = []
            seen: set[int] = set()
            for j in range(len(grid.xs) - 1):
                cid = grid.cell_of[(i, j)]
                if cid in seen:
                    spans[-1] = (spans[-1][0], grid.xs[j + 1])
                    continue
                seen.add(cid)
                cells.append(texts.get(cid, "") if grid.first_row[cid] == i else "")
                spans.append((grid.xs[j], grid.xs[j + 1]))
            if len(cells) == 1:
                # A row that is one cell across the whole grid is a table title, or a paragraph
                # in a shaded box joined to the grid: it reads as narrative (one row per paragraph).
                cid = grid.cell_of[(i, 0)]
                if grid.first_row[cid] == i:
                    blocks.extend(
                        Block(ln.top, page_index, line=ln) for ln in _lines(in_cell.get((t, cid), []))
                    )
            elif any(c.strip() for c in cells):
                blocks.append(Block(grid.ys[i], page_index, cells=cells, spans=spans, table=t))
    for line in _lines(outside):
        if _PAGE_NUMBER.match(line.text):
            continue  # page numbers (-3-, 第3页) interrupt tables and paragraphs; they are no content
        blocks.append(Block(line.top, page_index, line=line))
    blocks.sort(key=lambda b: b.top)
    return blocks, len(grids)


# ---------------------------------------------------------------------------- rows


def _value_part(cells: list[str]) -> tuple[int, list[str]]:
    """Index of the last label cell, and the cells after it."""
    last = -1
    for i, c in enumerate(cells):
        if c and not looks_like_value(c):
            last = i
    return last, cells[last + 1 :]


def _continues(a: Block, b: Block) -> bool:
    """True when table row ``b`` (top of a page) is the rest of row ``a`` (bottom of the previous
    page): ``a`` has labels but no values, ``b`` fills value positions ``a`` left empty, and the two
    halves have the same columns."""
    if len(a.cells) != len(b.cells) or len(a.cells) < 3:
        return False
    if any(abs(p[0] - q[0]) > 4 or abs(p[1] - q[1]) > 4 for p, q in zip(a.spans, b.spans, strict=True)):
        return False
    last, values = _value_part(a.cells)
    if last < 0 or any(v.strip() for v in values):
        return False
    if not any(c.strip() and looks_like_value(c) for c in b.cells):
        return False
    for x, y in zip(a.cells, b.cells, strict=True):
        if x.strip() and y.strip() and (looks_like_value(x) or looks_like_value(y)):
            return False
    return True


def _label_tail(a: Block, b: Block) -> bool:
    """True when table row ``b`` (top of a page) holds only the rest of the labels of row ``a``
    (bottom of the previous page), whose numbers were printed before the page break: ``b`` has
    no values and its text sits only where ``a`` has label text or nothing."""
    if len(a.cells) != len(b.cells) or len(a.cells) < 3:
        return False
    if any(abs(p[0] - q[0]) > 4 or abs(p[1] - q[1]) > 4 for p, q in zip(a.spans, b.spans, strict=True)):
        return False
    if any(c.strip() and looks_like_value(c) for c in b.cells) or not any(c.strip() for c in b.cells):
        return False
    last_label, values = _value_part(a.cells)
    if last_label < 0 or not any(v.strip() for v in values):
        return False
    return all(not y.strip() for y in b.cells[last_label + 1 :])


def _value_tail(a: Block, b: Block) -> bool:
    """True when row ``b`` (top of a page) holds only the wrapped rest of some value cells of row
    ``a`` (bottom of the previous page): a number too wide for its cell, cut by the page break
    (１１ | ９). ``b`` has nothing in ``a``'s label cells and only value text elsewhere."""
    if len(a.cells) != len(b.cells) or len(a.cells) < 3:
        return False
    if any(abs(p[0] - q[0]) > 4 or abs(p[1] - q[1]) > 4 for p, q in zip(a.spans, b.spans, strict=True)):
        return False
    last_label, values = _value_part(a.cells)
    if last_label < 0 or not any(v.strip() for v in values):
        return False
    if any(c.strip() for c in b.cells[: last_label + 1]):
        return False
    tail = [c for c in b.cells[last_label + 1 :] if c.strip()]
    return bool(tail) and all(looks_like_value(c) or c.strip().startswith(("(", "（")) for c in tail)


def _join_split_rows(blocks: list[Block]) -> list[Block]:
    """One table row cut in two by a page break becomes one row again."""
    out: list[Block] = []
    for block in blocks:
        if out and block.line is None and out[-1].line is None and block.page == out[-1].page + 1:
            prev = out[-1]
            if _continues(prev, block) or _label_tail(prev, block) or _value_tail(prev, block):
                prev.cells = [x + y for x, y in zip(prev.cells, block.cells, strict=True)]
                continue
        out.append(block)
    return out


def _paragraphs(blocks: list[Block]) -> list[Row]:
    """Narrative lines joined into paragraphs; table rows passed through."""
    lines = [b.line for b in blocks if b.line is not None]
    body = median(ln.size for ln in lines) if lines else 0.0
    margins: dict[int, tuple[float, float]] = {}
    for page in {b.page for b in blocks if b.line is not None}:
        on_page = [b.line for b in blocks if b.line is not None and b.page == page]
        # The text block's edges: most lines of a page start at the left margin and run to the
        # right one; the median of the widest half is robust to a few long or short lines.
        x0s = sorted(ln.x0 for ln in on_page)
        x1s = sorted(ln.x1 for ln in on_page)
        margins[page] = (x0s[len(x0s) // 4], x1s[(3 * len(x1s)) // 4])
    rows: list[Row] = []
    prev: Line | None = None  # the last narrative line, while a paragraph is open
    for block in blocks:
        line = block.line
        if line is None:
            rows.append(block.cells)
            prev = None
            continue
        text = line.text.strip()
        h = line.height
        left, right = margins[block.page]
        starts_new = (
            prev is None
            or line.x0 - left > 1.2 * h  # indented first line
            or prev.x1 < right - 2.5 * h  # the previous line ended short
            or abs(line.size - prev.size) > 0.15 * max(line.size, prev.size)  # a heading or the title
            or (line.size > body + 1.5 and prev.size > body + 1.5)  # title lines stay one each
        )
        title_block = prev is not None and line.size > body + 1.5 and prev.size > body + 1.5
        if title_block and rows and len(rows[-1]) == 1:
            # The title is printed over two or three centred lines (agency, then year and
            # "政府信息公开工作年度报告"): one title line is what the metadata reader expects.
            rows[-1] = [rows[-1][0] + text]
        elif starts_new or not rows or len(rows[-1]) != 1:
            rows.append([text])
        else:
            rows[-1] = [rows[-1][0] + text]
        prev = line
    return rows


def _spaced_fallback(page: PageContent) -> list[str]:
    """A page without ruled tables as ``pdftotext -layout``-like text: one column per em, a
    gap wider than about half an em between glyphs is a cell gap (two or more spaces)."""
    lines = _lines(page.glyphs)
    if not lines:
        return []
    unit = median(g.bottom - g.top for g in page.glyphs)
    left = min(ln.x0 for ln in lines)
    out: list[str] = []
    for line in lines:
        buf = ""
        prev: Glyph | None = None
        for g in line.glyphs:
            if prev is not None and g.x0 - prev.x1 > 0.6 * unit:
                col = max(round((g.x0 - left) / unit), len(buf) + 2)
                buf += " " * (col - len(buf))
            elif prev is None:
                buf = " " * round((g.x0 - left) / unit)
            elif g.x0 - prev.x1 > 0.2 * unit:
                buf += " "
            buf += g.text
            prev = g
        out.append(buf)
    return out


def rows_from_pages(pages: list[PageContent]) -> tuple[list[Row], str, int]:
    """Rows of the whole document, the plain text, and how many ruled tables were found."""
    blocks: list[Block] = []
    tables = 0
    for index, page in enumerate(pages):
        page_blocks, n = _page_blocks(page, index)
        blocks.extend(page_blocks)
        tables += n
    blocks = _join_split_rows(blocks)
    rows = _paragraphs(blocks)
    text = "\n".join(" ".join(c for c in row if c) for row in rows)
    return rows, text, tables


def read(data: bytes) -> Document:
    if b"%PDF" not in data[:1024]:  # where PDF readers look for the header
        # Picked by its .pdf name alone: say what is wrong rather than "damaged".
        raise UnreadableDocument("not a PDF: the file has no %PDF header (wrong file extension?)")
    pdfium, _ = _pdfium()
    try:
        pages, notes = read_pages(data)
    except pdfium.PdfiumError as exc:  # a page that fails to load after the document opened
        raise UnreadableDocument(f"damaged PDF: {exc}") from None
    if not any(page.glyphs for page in pages):
        raise UnreadableDocument("scanned PDF: no text layer")
    rows, text, tables = rows_from_pages(pages)
    if tables == 0:
        # No ruled table anywhere (borders drawn as images, or none): read the text as a
        # space-aligned layout, the way pdftotext -layout prints it.
        from extract.readers.spaced import rows_from_spaced

        lines: list[str] = []
        for page in pages:
            lines.extend(_spaced_fallback(page))
            lines.append("\f")
        notes.append("PDF has no ruled tables: columns were read from text positions")
        return Document(rows=rows_from_spaced(lines), format="pdf/spaces", text=text, notes=notes)
    return Document(rows=rows, format="pdf", text=text, notes=notes)
