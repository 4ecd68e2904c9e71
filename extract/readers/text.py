"""Plain-text reports: detect how the tables were flattened, and rebuild rows of cells.

Layouts (QUIRKS.md "How the text arrives"):

* ``text/cells`` — one cell per line, tab-indented, a blank line between rows; a line without
  the tab continues the cell above it (a header broken mid-word: 商业⏎企业).
* ``text/pipes`` — ``| first cell`` starts a row, a ``|`` line closes a cell, ``||``/``|||``
  mark spanned cells and usually the end of a row.
* ``text/tabs`` — one row per line, cells separated by tabs; spanned positions are empty, and
  some rows lost their leading empty cells (the matcher does not rely on positions).
* ``text/lines`` — anything else: each line is one cell. Tables will usually not be found and
  the report is rejected with that reason.
"""

from __future__ import annotations

import importlib
import re
from bisect import bisect_left

from extract.decode import Decoded, _plausibility, decode
from extract.document import Document, Row, UnreadableDocument
from extract.limits import MAX_LINE_CHARS
from extract.normalize import ARTEFACTS
from extract.values import looks_like_value

SUFFIXES = frozenset({".txt", ".text", ""})

# A line that cannot be a non-first cell of a table row: a section heading or a paragraph.
_NARRATIVE_START = r"^(?:[一二三四五六七八九十]+、|.{60,})"
_SECTION_WORDS = r"主动公开政府信息情况|收到和处理政府信息公开申请|行政复议、行政诉讼情况|存在的主要问题|其他需要报告的事项"
_NARRATIVE = re.compile(f"{_NARRATIVE_START}|{_SECTION_WORDS}")


def _is_blank(line: str) -> bool:
    # str.strip() removes every Unicode space (U+3000, U+2002, NBSP …): no regex per line.
    return not line.strip()


_SPACED_ROW = re.compile(r"\S\s{2,}\S+\s{2,}\S")
# A table-三 label immediately followed by digits: the cells were joined with no separator.
# A value glued to its label (no space at all) is enough: no other layout prints that, and a
# surviving space inside the run (总计13 1000014) must not hide the page.
_RUN_ON = re.compile(r"(?:申请数量|予以公开|国家秘密|总计|继续办理)(?:[ ]?\d{3,}|[\d/／—])")
# A line whose first non-space character is a pipe, indented by spaces other than a tab (a
# tab-indented line counts as a cell line, not a pipe row); searched in "\n" + text.
_INDENTED_PIPE = re.compile(r"\n[^\S\t\n][^\S\n]*\|")


def detect_layout(lines: list[str]) -> str:
    """The layout of a text split into lines (no line holds a "\n")."""
    return _layout_of("\n".join(lines))


def _layout_of(text: str) -> str:
    """``detect_layout`` on the joined lines. This runs on every text file, so the lines are
    counted with ``str.count`` and rare-case regexes over the whole text rather than a Python
    loop over every line; only lines that can score for tabs or spaces are visited one by one.

    Per line, as scored: a tab-indented line with no other tab is a cell; a line whose first
    non-space character is a pipe (not tab-indented) a pipe row; a line with two tabs between
    its first and last non-tab characters a tab row; else a tab-free line with two spaced gaps
    (``_SPACED_ROW``, and an ASCII double space) a spaced row.
    """
    if len(_RUN_ON.findall(text)) >= 3:
        return "text/runon"
    joined = "\n" + text  # every line now starts after a "\n": one str.count per line start
    pipe_rows = joined.count("\n|") + len(_INDENTED_PIPE.findall(joined))
    tab_cells = tab_rows = 0
    tab_lines = joined.count("\n\t")
    if tab_lines == text.count("\t"):
        # Every tab indents its line (the text/cells shape, or no tab at all): all are cells.
        tab_cells = tab_lines
    else:
        for ln in text.split("\n"):
            if "\t" in ln:
                if ln[0] == "\t" and "\t" not in ln[1:]:
                    tab_cells += 1
                elif ln.strip("\t").count("\t") >= 2:
                    tab_rows += 1
    scores = {
        "text/pipes": pipe_rows,
        "text/cells": tab_cells,
        "text/tabs": tab_rows * 4,
        "text/spaces": _spaced_rows(text) * 2,
    }
    layout, score = max(scores.items(), key=lambda kv: kv[1])
    return layout if score >= 20 else "text/lines"


def _spaced_rows(text: str) -> int:
    """Tab-free lines with an ASCII double space where ``_SPACED_ROW`` matches. Only lines
    holding a double space are looked at (found with ``str.find``): in the other layouts
    there are few or none."""
    count = 0
    at = text.find("  ")
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        if end < 0:
            end = len(text)
        line = text[start:end]
        if "\t" not in line and _SPACED_ROW.search(line):
            count += 1
        at = text.find("  ", end)
    return count


def _cells_layout(lines: list[str]) -> list[Row]:
    rows: list[Row] = []
    current: Row | None = None  # the table row being built
    last_was_cell = False
    for line in lines:
        if line[:1] == "\t":
            if current is None:
                current = []
            current.append(line[1:].strip())
            last_was_cell = True
            continue
        stripped = line.strip()
        if not stripped:  # a blank line ends the row
            if current is not None:
                rows.append(current)
                current = None
            last_was_cell = False
        elif last_was_cell and current and not looks_like_value(current[-1]):
            current[-1] += "\n" + stripped  # a label cell broken over two lines
        else:
            if current is not None:
                rows.append(current)
                current = None
            rows.append([stripped])
            last_was_cell = False
    if current is not None:
        rows.append(current)
    return rows


class _PipeRows:
    """The pipes layout read one stripped, non-blank line at a time.

    Between a row's end (||, |||, a narrative line) and the next "| first cell" line there is
    no open row (``current`` is None): that is the only "after the row end" state.
    """

    __slots__ = ("cell", "current", "rows", "spanned")

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.current: Row | None = None
        self.cell: str | None = None  # text of the cell being filled, None between cells
        # A "||…" line right after a row's labels: the spanned label columns (some converters
        # put the markers there), or the row's end. The next line decides: a value continues it.
        self.spanned = False

    def close_row(self) -> None:
        if self.current is not None:
            if self.cell is not None:
                self.current.append(self.cell.strip())
            self.rows.append(self.current)
        self.current, self.cell, self.spanned = None, None, False

    def line(self, line: str) -> None:
        if self.spanned:
            if line[0] != "|" and looks_like_value(line):
                self.spanned, self.cell = False, line  # "| label" ⏎ "|||" ⏎ "0": the row goes on
                return
            self.close_row()
        current, cell = self.current, self.cell
        if line[0] == "|":
            if line.strip("|"):
                # "| first cell": a new row; the previous one ends with its pending cell.
                self.close_row()
                *done, cell = line[1:].split("|")
                self.current = list(map(str.strip, done))
                self.cell = cell or None  # the line ended with a pipe: no cell pending
                return
            # Only pipes: one closes a cell; two or more also mark spanned cells and end the row.
            if current is None:
                return
            current.append(cell.strip() if cell else "")
            self.cell = None
            if len(line) >= 2:
                current.extend([""] * (len(line) - 2))
                if not any(map(looks_like_value, filter(None, current))):
                    self.spanned = True  # labels only so far: maybe spanned cells, not the end
                    return
                self.rows.append(current)
                self.current = None
            return
        # A text line without a leading pipe.
        if current is None or (cell is not None and looks_like_value(cell)) or _narrative(line):
            self.close_row()
            self.rows.append([line])
            return
        parts = line.split("|")
        cell = parts[0] if cell is None else cell + "\n" + parts[0]
        for part in parts[1:]:
            current.append((cell or "").strip())  # "a||b": an empty cell between two pipes
            cell = part if part.strip() else None
        self.cell = cell


def _narrative(line: str) -> bool:
    # _NARRATIVE needs "、" (一、), 7 characters (its shortest heading) or 60: a short value
    # cell is answered without the regex.
    return (len(line) >= 7 or "、" in line) and _NARRATIVE.search(line) is not None


# The common pipes row, whole, in the stripped lines joined by "\n": "| first cell", then "|"
# ⏎ a cell text any number of times, then "|" lines, maybe ending with a "||…" line. Line by
# line, _PipeRows.line gives the same row, ended by the "||…" line or else left open with no
# cell pending, provided no cell text is narrative (_NARRATIVE). Here a cell text has no
# 一、 start and fewer than 60 characters — a line that fails this ends the match before it,
# which is still exact: the open row and that line go on line by line — and the caller
# rejects a match with one of the _SECTION_WORDS in its cell texts.
_SIMPLE_ROW = re.compile(
    r"\|([^|\n]+)\n"  # "| first cell"
    r"((?:\|\n(?![一二三四五六七八九十]+、)[^|\n]{1,59}\n)*)"  # "|" ⏎ a cell text, repeated
    r"(\|(?![^\n])(?:\n\|(?![^\n]))*)"  # "|" lines
    r"(?:\n(\|\|+)(?![^\n]))?"  # "||…": the row ends
)
_SECTION_WORDS_RE = re.compile(_SECTION_WORDS)


def _pipes_layout(lines: list[str]) -> list[Row]:
    state = _PipeRows()
    stripped = list(filter(None, map(str.strip, lines)))
    text = "\n".join(stripped)
    if text.count("\n") != len(stripped) - 1:  # a line holding "\n" (never from read_text)
        for line in stripped:
            state.line(line)
        state.close_row()
        return state.rows
    # Most rows are taken whole by one regex match instead of a Python step per line (a row
    # of N cells is 2N lines in this layout); anything else goes line by line.
    words = [m.start() for m in _SECTION_WORDS_RE.finditer(text)]
    pos, size = 0, len(text)
    while pos < size:
        if text[pos] == "|" and (match := _SIMPLE_ROW.match(text, pos)):
            cells_start, cells_end = match.span(2)
            at = bisect_left(words, cells_start)
            if at == len(words) or words[at] >= cells_end:  # no section word in a cell text
                first, cells, bars, closing = match.groups()
                state.close_row()
                row = [first.strip(), *cells.split("\n")[1::2]]
                # An empty cell per "|" line past the first; a "||…" line adds its own cell,
                # empty, and one more per pipe past two, and ends the row.
                row += [""] * (len(bars) // 2 + (len(closing) - 1 if closing else 0))
                if closing:
                    state.rows.append(row)
                else:
                    state.current = row
                pos = match.end() + 1
                continue
        end = text.find("\n", pos)
        if end < 0:
            end = size
        state.line(text[pos:end])
        pos = end + 1
    state.close_row()
    return state.rows


def _tabs_layout(lines: list[str]) -> list[Row]:
    return [list(map(str.strip, line.rstrip("\r\n").split("\t"))) for line in lines if line.strip()]


# Layouts whose rows need more than line splitting live in their own modules.
_HARD_LAYOUTS = {
    "text/spaces": ("extract.readers.spaced", "rows_from_spaced"),
    "text/runon": ("extract.readers.runon", "rows_from_runon"),
}


def read_text(text: str, *, encoding: str | None = None) -> Document:
    text = ARTEFACTS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    layout = _layout_of(text)
    if layout == "text/cells":
        rows = _cells_layout(lines)
    elif layout == "text/pipes":
        rows = _pipes_layout(lines)
    elif layout == "text/tabs":
        rows = _tabs_layout(lines)
    elif layout in _HARD_LAYOUTS:
        module_name, function = _HARD_LAYOUTS[layout]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            raise UnreadableDocument(f"{layout} layout is not supported by this version") from None
        rows = getattr(module, function)(lines)
        return Document(rows=rows, format=layout, text=text, encoding=encoding, glued=layout == "text/runon")
    else:
        rows = [[ln.strip()] for ln in lines if not _is_blank(ln)]
    return Document(rows=rows, format=layout, text=text, encoding=encoding)


def check_text(decoded: Decoded, what: str) -> None:
    """Refuse text that is not a report's text, before any layout work: binary data (NULs, or
    mostly characters no report is written in: random bytes, a wrong encoding), or a line past
    ``MAX_LINE_CHARS`` (module ``extract.limits``)."""
    text = decoded.text
    if text.count("\x00") > 10:
        raise UnreadableDocument(f"binary file: not a {what} report")
    if len(text) >= 200 and _plausibility(text) < 0.5:
        raise UnreadableDocument(
            f"binary file: not a {what} report (mostly characters that are not Chinese or ASCII text; "
            f"decoded as {decoded.encoding})"
        )
    if len(text) > MAX_LINE_CHARS:
        longest = max(map(len, text.splitlines()))
        if longest > MAX_LINE_CHARS:
            raise UnreadableDocument(
                f"line of {longest:,} characters (limit {MAX_LINE_CHARS:,}): not a {what} report"
            )


def read(data: bytes) -> Document:
    decoded = decode(data)
    check_text(decoded, "text")
    doc = read_text(decoded.text, encoding=decoded.encoding)
    if decoded.replaced:
        doc.notes.append(f"{decoded.replaced} undecodable bytes replaced ({decoded.encoding})")
    return doc
