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

from extract.decode import Decoded, _plausibility, decode
from extract.document import Document, Row, UnreadableDocument
from extract.limits import MAX_LINE_CHARS
from extract.normalize import ARTEFACTS
from extract.values import looks_like_value

SUFFIXES = frozenset({".txt", ".text", ""})

_PIPES_ONLY = re.compile(r"^\s*\|+\s*$")
# A line that cannot be a non-first cell of a table row: a section heading or a paragraph.
_NARRATIVE = re.compile(
    r"^(?:[一二三四五六七八九十]+、|.{60,})"
    r"|主动公开政府信息情况|收到和处理政府信息公开申请|行政复议、行政诉讼情况|存在的主要问题|其他需要报告的事项"
)


def _is_blank(line: str) -> bool:
    # str.strip() removes every Unicode space (U+3000, U+2002, NBSP …): no regex per line.
    return not line.strip()


_SPACED_ROW = re.compile(r"\S\s{2,}\S+\s{2,}\S")
# A table-三 label immediately followed by digits: the cells were joined with no separator.
# A value glued to its label (no space at all) is enough: no other layout prints that, and a
# surviving space inside the run (总计13 1000014) must not hide the page.
_RUN_ON = re.compile(r"(?:申请数量|予以公开|国家秘密|总计|继续办理)(?:[ ]?\d{3,}|[\d/／—])")


def detect_layout(lines: list[str]) -> str:
    text = "\n".join(lines)
    if len(_RUN_ON.findall(text)) >= 3:
        return "text/runon"
    pipe_rows = tab_cells = tab_rows = spaced_rows = 0
    for ln in lines:  # one pass: this runs on every text file
        if not ln:
            continue
        if ln[0] == "\t":
            if "\t" not in ln[1:]:
                tab_cells += 1
        elif ln.lstrip().startswith("|"):
            pipe_rows += 1
        if ln.count("\t") >= 2 and ln.strip("\t").count("\t") >= 2:
            tab_rows += 1
        elif "  " in ln and "\t" not in ln and _SPACED_ROW.search(ln):
            spaced_rows += 1
    scores = {
        "text/pipes": pipe_rows,
        "text/cells": tab_cells,
        "text/tabs": tab_rows * 4,
        "text/spaces": spaced_rows * 2,
    }
    layout, score = max(scores.items(), key=lambda kv: kv[1])
    return layout if score >= 20 else "text/lines"


def _cells_layout(lines: list[str]) -> list[Row]:
    rows: list[Row] = []
    current: Row | None = None  # the table row being built
    last_was_cell = False
    for line in lines:
        if _is_blank(line) and not line.startswith("\t"):
            if current is not None:
                rows.append(current)
                current = None
            last_was_cell = False
            continue
        if line.startswith("\t"):
            if current is None:
                current = []
            current.append(line[1:].strip())
            last_was_cell = True
        elif last_was_cell and current and not looks_like_value(current[-1]):
            current[-1] += "\n" + line.strip()  # a label cell broken over two lines
        else:
            if current is not None:
                rows.append(current)
                current = None
            rows.append([line.strip()])
            last_was_cell = False
    if current is not None:
        rows.append(current)
    return rows


def _pipes_layout(lines: list[str]) -> list[Row]:
    rows: list[Row] = []
    current: Row | None = None
    cell: str | None = None  # text of the cell being filled, None between cells
    after_row_end = True  # the previous line closed a row (||, |||) or was narrative

    def close_row() -> None:
        nonlocal current, cell
        if current is not None:
            if cell is not None:
                current.append(cell.strip())
            rows.append(current)
        current, cell = None, None

    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if _PIPES_ONLY.match(line):
            if current is None:
                continue
            n = line.count("|")
            current.append((cell or "").strip())
            cell = None
            if n >= 2:
                current.extend([""] * (n - 2))
                close_row()
                after_row_end = True
            else:
                after_row_end = False
            continue
        if line.startswith("|"):
            close_row()
            current, after_row_end = [], False
            body = line[1:]
            for part in body.split("|")[:-1]:
                current.append(part.strip())
            cell = body.split("|")[-1]
            if body.rstrip().endswith("|"):
                cell = None
            continue
        # A text line without a leading pipe.
        if (
            current is None
            or after_row_end
            or (cell is not None and looks_like_value(cell))
            or _NARRATIVE.search(line)
        ):
            close_row()
            rows.append([line])
            after_row_end = True
            continue
        parts = line.split("|")
        if cell is None:
            cell = parts[0]
        else:
            cell += "\n" + parts[0]
        for part in parts[1:]:
            current.append((cell or "").strip())  # "a||b": an empty cell between two pipes
            cell = part if part.strip() else None
    close_row()
    return rows


def _tabs_layout(lines: list[str]) -> list[Row]:
    rows: list[Row] = []
    for line in lines:
        if _is_blank(line):
            continue
        rows.append([c.strip() for c in line.rstrip("\r\n").split("\t")])
    return rows


# Layouts whose rows need more than line splitting live in their own modules.
_HARD_LAYOUTS = {
    "text/spaces": ("extract.readers.spaced", "rows_from_spaced"),
    "text/runon": ("extract.readers.runon", "rows_from_runon"),
}


def read_text(text: str, *, encoding: str | None = None) -> Document:
    text = ARTEFACTS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    layout = detect_layout(lines)
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
