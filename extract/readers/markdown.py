"""Markdown made from a PDF by a converter: pipe tables, ``#`` headings, paragraphs.

What converters do to the template tables (QUIRKS.md "Markdown"):

* tables arrive as pipe rows ``| a | b |`` with a ``|---|---|`` separator line after the first
  one (dropped here), merged cells as empty cells, ``<br>`` inside a cell for a wrapped label;
* a label can come detached from its numbers: the label on a row of its own, the numbers on
  the next row with no label. Such a pair is joined only when the label is a known table-二/三
  row label and the next row holds values alone — a table-四 value row follows its header
  cells, which are not row labels, and stays label-less as the matcher expects;
* cells can be dropped altogether. Nothing is guessed here: a row with the wrong number of
  value cells reaches the matcher as it is, and the matcher's alignment rule nulls and flags it.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from extract.decode import decode
from extract.document import Document, Row
from extract.normalize import ARTEFACTS, LabelIndex, leaf_segments
from extract.readers.text import check_text
from extract.values import looks_like_value
from schemas.taxonomy import TEMPLATES, taxonomy

SUFFIXES = frozenset({".md", ".markdown"})

# |---|:---:|. Written so that no two \s* can meet (as in "\s*\|?\s*"): a long run of spaces
# would be split between them every possible way before the match fails (quadratic).
_SEPARATOR = re.compile(r"^\s*(?:\|\s*)?:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*(?:\|\s*)?$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_EMPHASIS = re.compile(r"\*\*|__|(?<!\S)\*(?=\S)|(?<=\S)\*(?!\S)")
_PIPE = re.compile(r"(?<!\\)\|")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|>)\s+")


@cache
def _row_labels() -> LabelIndex:
    """Labels of table-二 items and table-三 rows: the rows whose numbers can come detached."""
    tax = taxonomy()
    entries = {c.leaf: c.code for c in tax.categories}
    entries |= {item.label: item.code for t in TEMPLATES for item in tax.proactive[t]}
    return LabelIndex(entries)


# Every character _clean or an escaped pipe acts on. Most converted files have none at all,
# and a cell without any needs only str.strip: no regex per cell.
_MARKUP = re.compile(r"[<*_&\\]")


def _clean(cell: str) -> str:
    cell = _BREAK.sub("", cell)
    cell = _EMPHASIS.sub("", cell)
    return cell.replace("\\|", "|").replace("&nbsp;", " ").strip()


def _cells(line: str, markup: bool = True) -> Row:
    """The cells of a table line; ``markup=False`` when the document has no _MARKUP anywhere."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    if not markup or _MARKUP.search(body) is None:
        return list(map(str.strip, body.split("|")))
    return [_clean(c) for c in _PIPE.split(body)]


def _is_table_line(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if line.startswith("|") and line.count("|") >= 2:
        return True
    # A table without outer pipes: recognisable only by its separator line.
    if "|" in line:
        near = [j for j in (i - 1, i + 1) if 0 <= j < len(lines)]
        return any(_SEPARATOR.match(lines[j]) for j in near)
    return False


# Cells recur (labels in every report, small numbers in every row): the value test on each
# cell is remembered.
_looks_like_value = lru_cache(maxsize=16384)(looks_like_value)


def _labels_only(row: Row) -> bool:
    # any(row): some cell is not empty; filter(None, row): the cells that are not.
    return any(row) and not any(map(_looks_like_value, filter(None, row)))


def _values_only(row: Row) -> bool:
    return any(row) and all(map(_looks_like_value, filter(None, row)))


def _is_row_label(row: Row) -> bool:
    segments = leaf_segments(" ".join(c for c in row if c))
    return bool(segments) and _row_labels().lookup(segments[-1]) is not None


def _join_detached(rows: list[Row]) -> list[Row]:
    """A known row label followed by a row of values alone: one row, as printed."""
    out: list[Row] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        # Most rows start with a label: testing the next row for values alone fails soonest.
        if i + 1 < len(rows) and _values_only(rows[i + 1]) and _labels_only(row) and _is_row_label(row):
            labels = [c for c in row if c]
            values = rows[i + 1]
            # Leading empty cells of the value row stood under the label columns.
            while values and not values[0]:
                values = values[1:]
            out.append([*labels, *values])
            i += 2
            continue
        out.append(row)
        i += 1
    return out


# A converter's stand-in column headers ("数据1 … 数据6 | 总计"): no label, no value.
_PLACEHOLDER = re.compile(r"^(?:数据\s*\d{0,2}|列\s*\d{1,2}|总计|合计|项目|[-—–]*)$")
_NUMBERED = re.compile(r"^(?:数据|列)\s*\d")


def _is_placeholder_header(row: Row) -> bool:
    return any(_NUMBERED.match(c) for c in row) and all(_PLACEHOLDER.match(c) for c in row)


def _join_headed(rows: list[Row], headings: set[int]) -> list[Row]:
    """A row label printed as a heading (``### （一）予以公开``) over a small table holding only
    its numbers (stand-in headers, then one row of values): one row, as printed. Only a known
    table-二/三 row label is joined, and only to a row of values alone, so a heading over a
    table that repeats the label, or any other heading, stays as it is."""
    out: list[Row] = []
    i = 0
    while i < len(rows):
        row = rows[i]
        if i in headings and len(row) == 1 and _is_row_label(row):
            j = i + 1
            while j < len(rows) and _is_placeholder_header(rows[j]):
                j += 1
            if j < len(rows) and j not in headings and _values_only(rows[j]):
                values = rows[j]
                while values and not values[0]:
                    values = values[1:]
                out.append([row[0], *values])
                i = j + 1
                continue
        if not _is_placeholder_header(row):
            out.append(row)
        i += 1
    return out


# A table row left as a loose text line by a page break: a label, then its numbers.
def _loose_row(line: str) -> Row | None:
    """``3.危及“三安全一稳定” 0 0 1 0 0 0 1`` → the label and its values, when the label is a
    known table-二/三 row label and at least two values end the line; else None."""
    tokens = line.split()
    n = 0
    while n < len(tokens) - 1 and _looks_like_value(tokens[-1 - n]):
        n += 1
    if n < 2:
        return None
    label = " ".join(tokens[:-n])
    if not _is_row_label([label]):
        return None
    return [label, *tokens[-n:]]


def rows_from_markdown(text: str) -> list[Row]:
    text = ARTEFACTS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    markup = _MARKUP.search(text) is not None  # else no line needs _clean or a markup test
    rows: list[Row] = []
    table: list[Row] = []
    headings: set[int] = set()  # indexes in rows of the heading lines
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:  # a blank line ends a table and adds nothing
            if table:
                rows.extend(_join_detached(table))
                table.clear()
            continue
        if "---" in line and _SEPARATOR.match(line):  # the separator needs three dashes
            continue
        # _is_table_line's first test inline: the call is for the rare line without outer pipes.
        outer_pipes = stripped[0] == "|" and stripped.count("|") >= 2
        if outer_pipes or ("|" in stripped and _is_table_line(lines, i)):
            table.append(_cells(stripped, markup))
            continue
        if table:
            rows.extend(_join_detached(table))
            table.clear()
        heading = _HEADING.match(line) is not None
        stripped = _LIST_MARK.sub("", _HEADING.sub("", line)).strip()
        if markup:
            stripped = _clean(stripped)
        if stripped:
            if heading:
                headings.add(len(rows))
            loose = None if heading or " " not in stripped else _loose_row(stripped)
            rows.append(loose or [stripped])
    if table:
        rows.extend(_join_detached(table))
    return _join_headed(rows, headings) if headings else rows


def read(data: bytes) -> Document:
    decoded = decode(data)
    check_text(decoded, "markdown")
    text = decoded.text
    rows = rows_from_markdown(text)
    # Metadata reads plain lines: the rows' text, without heading marks (# 2022年度…报告).
    plain = "\n".join([" ".join(filter(None, row)) for row in rows])
    doc = Document(rows=rows, format="markdown", text=plain, encoding=decoded.encoding)
    if decoded.replaced:
        doc.notes.append(f"{decoded.replaced} undecodable bytes replaced ({decoded.encoding})")
    return doc
