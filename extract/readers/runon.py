"""Run-together text (``text/runon``): an archiver joined every table cell with no separator.

``…规章 000行政规范性文件693665第二十条…`` and ``（三）不予公开1.属于国家秘密00000002.其他法律…``:
labels and digit runs alternate, and nothing says where one cell ends. This module only cuts
the text into rows — section headings, label cells, and each row's value text (split at the
spaces that survived, which are certain cell boundaries) — and leaves the digits whole for
``extract.glued`` to split with the identities.

Two things make the cut less obvious than "letters vs digits":

* the next label's enumerator is glued to the previous row's digits (``00000002.其他法律``):
  a digit followed by ``.``/``、`` and then a letter is an enumerator, never a value;
* headings and labels come from the taxonomy, so a table-二 item label is cut off the column
  headers before it (``…现行有效件数规章``), and a row whose label holds a repeated parent
  (2019 pages print ``三、本年度办理结果`` again mid-table) keeps it as an extra label cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import NamedTuple

from extract.document import Row
from extract.normalize import nfkc, squash
from schemas.taxonomy import TEMPLATES, taxonomy

_CN = "一二三四五六七八九十"
# A heading's enumerator: 二、 2. 2、 （二）. Arabic ones are one digit: a heading glued to the
# last digits of a table (…10000013.政府信息公开…) must not take them.
_HEAD_ENUM = rf"(?:[{_CN}]{{1,3}}[、.]|\d[、.]|\([{_CN}\d]{{1,3}}\))\s*"
_HEAD_ENUM_MAX = 5  # the longest enumerator, （十二）, spaces after it aside
_T2_WORDS = "主动公开政府信息情况"
_T2 = re.compile(_HEAD_ENUM + _T2_WORDS)
_T2_UNNUMBERED = re.compile(r"主动公开政府信息情况")  # the heading printed without its 二、
_T2_FIRST_SECTION = re.compile(r"第二十条第")
_T3_WORDS = "收到和处理政府信息公开申请情况"
_T3 = re.compile(_HEAD_ENUM + _T3_WORDS)
_T4 = re.compile(_HEAD_ENUM + r"[^\d。；;]{0,24}?行政复议[^\d。；;]{0,12}?行政诉讼[^\d。；;]{0,6}?情况")
_AFTER = re.compile(_HEAD_ENUM + r"[^\d。；;]{0,12}?存在的主要问题(?:及改进情况)?")

# Enumerators inside a table: a digit then . or 、 then a letter (the letter is the label), or
# a bracketed number. Their digits belong to the label even when glued to the values before.
_ENUM_IN_TABLE = re.compile(r"\d[.、](?=\s*[^\W\d_])|\(\d{1,2}\)")
# Where a label cell starts inside run-together label text.
_LABEL_START = re.compile(rf"(?=\([{_CN}\d]{{1,3}}\)|[{_CN}]{{1,3}}、|\d[.、])")
_VALUE_CHARS = frozenset("0123456789.,/—―–-−")
_VALUE_CHAR = re.compile("[" + "".join(re.escape(c) for c in sorted(_VALUE_CHARS)) + "]")
# From a value character on: whitespace (``\s`` is ``str.isspace``) and value characters.
_VALUE_RUN = re.compile(r"(?:\s|" + _VALUE_CHAR.pattern + ")*")
_RUN_MARK = re.compile("[0-9/—―–]")  # a run holding none of these is no value (a lone "." or ",")
_UNIT_AFTER = re.compile(r"万元|亿元|元|件")


class _Piece(NamedTuple):  # a tuple: built for every run of a page
    kind: str  # "label" | "value"
    text: str


def _leaf_pattern(leaf: str) -> str:
    """A tolerant regex for a label: any whitespace between characters, either quote style."""
    out = []
    for ch in squash(leaf):
        if ch in "“”\"'‘’":
            out.append("[“”\"'‘’]?")
        else:
            out.append(re.escape(ch))
    return r"\s*".join(out)


@cache
def _new_received() -> re.Pattern[str]:
    leaf = taxonomy().category("new_received").leaf
    return re.compile(_leaf_pattern(leaf) + r"\s*[\d/—-]")


@cache
def _labels_with_value_chars() -> re.Pattern[str]:
    """Printed labels holding a character that could be a blank cell (本年增/减): never values."""
    tax = taxonomy()
    labels = {label for t in TEMPLATES for label in tax.measure_labels(t)}
    labels |= {c.label for c in tax.appeal_proceedings}
    found = sorted({squash(x) for x in labels if any(ch in _VALUE_CHARS for ch in x)}, key=len, reverse=True)
    return re.compile("|".join(_leaf_pattern(x) for x in found))


@cache
def _item_labels() -> tuple[str, ...]:
    """Table-二 item labels, longest first (行政规范性文件 before 规范性文件)."""
    labels = {squash(item.label) for t in TEMPLATES for item in taxonomy().proactive[t]}
    return tuple(sorted(labels, key=len, reverse=True))


@cache
def _t2_header() -> re.Pattern[str]:
    """Column headers of table 二, to cut them into cells of their own."""
    tax = taxonomy()
    words = {squash(label) for t in TEMPLATES for label in tax.measure_labels(t)}
    words |= {squash(item.section) for t in TEMPLATES for item in tax.proactive[t]}
    words.add("信息内容")
    alternatives = sorted((re.escape(w) for w in words), key=len, reverse=True)
    return re.compile("(" + "|".join(alternatives) + ")")


@cache
def _t4_header() -> re.Pattern[str]:
    tax = taxonomy()
    words = {part for c in (*tax.appeal_proceedings, *tax.appeal_outcomes) for part in c.label.split("/")}
    alternatives = sorted((re.escape(w) for w in words), key=len, reverse=True)
    return re.compile("(" + "|".join(alternatives) + ")")


# ---------------------------------------------------------------------------- tokenising


def _pieces(region: str) -> list[_Piece]:
    """Alternating label and value pieces; value pieces keep their internal spaces.

    A value run starts at a value character outside every label match and takes the spaces
    and such characters after it. The scanning is done by regexes and ``bytearray.find`` (in
    C), not character by character: the labels between the runs are most of the text.
    """
    n = len(region)
    in_label = bytearray(n)
    for pattern in (_ENUM_IN_TABLE, _labels_with_value_chars()):
        for m in pattern.finditer(region):
            in_label[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    out: list[_Piece] = []
    i = 0
    label_start = 0
    while (found := _VALUE_CHAR.search(region, i)) is not None:
        i = found.start()
        if in_label[i]:
            i = in_label.find(0, i)  # past the label match
            if i == -1:
                break
            continue
        j = _VALUE_RUN.match(region, i).end()  # type: ignore[union-attr]  # matches ""
        # A run stops at the first label character. (Only a label match can hold a space
        # there, and it starts with a label character, so that comes first.)
        labelled = in_label.find(1, i, j)
        if labelled != -1:
            j = labelled
        run = region[i:j]
        if _RUN_MARK.search(run) or (run.strip() == "-"):
            stripped = run.rstrip()
            end = i + len(stripped)
            unit = _UNIT_AFTER.match(region, end) if stripped[-1:].isdigit() else None
            if unit:
                stripped += unit.group()
                end = unit.end()
            label = region[label_start:i].strip()
            if label:
                out.append(_Piece("label", label))
            elif out and out[-1].kind == "value":
                # two value runs with only spaces between: one row's cells
                out[-1] = _Piece("value", out[-1].text + " " + stripped.strip())
                i = label_start = end
                continue
            out.append(_Piece("value", stripped.strip()))
            i = label_start = end
            continue
        i = j
    if region[label_start:].strip():
        out.append(_Piece("label", region[label_start:].strip()))
    return out


def _label_cells_t2(label: str) -> list[Row]:
    """The item label as a row of its own, after a row of the column headers printed before it."""
    squashed = squash(label)
    for item in _item_labels():
        if squashed.endswith(item):
            head = _strip_suffix(label, item)
            cells = [c.strip() for c in _t2_header().split(head) if c and c.strip()]
            # Headers get their own row: joined to the item label they would hide it from the
            # matcher, which reads a row's last label segment.
            return [cells, [item]] if cells else [[item]]
    return [[label]]


def _label_cells_t3(label: str) -> list[Row]:
    # Parent labels stay in the row: the matcher splits them off at their enumerators.
    return [[c.strip() for c in _LABEL_START.split(label) if c.strip()]]


def _strip_suffix(label: str, squashed_suffix: str) -> str:
    """``label`` without its last characters spelling ``squashed_suffix`` (spaces ignored)."""
    need = len(squashed_suffix)
    i = len(label)
    while need and i:
        i -= 1
        if not label[i].isspace():
            need -= 1
    return label[:i]


# Each blank mark is a cell of its own: "/—" is two cells. A doubled em dash "——" is read as
# one mark (the common way to print "none"); a lone "—", "/" or "–" is one mark each.
_DASH_SPLIT = re.compile(r"——|[/—―–]|[^/—―–]+")


_BEFORE_MINUS = re.compile(r"(?<=[\d.])(?=[-−])")
_CELL_MARKS = re.compile("[/—―–\\-−]")  # what _DASH_SPLIT and _BEFORE_MINUS split at


def _value_cells(text: str) -> list[str]:
    """Value text split at spaces, around dashes and before a minus sign: a dash is a cell of
    its own and a minus sign starts one, so those boundaries are as certain as a space (and each
    cell then looks like a value to the matcher)."""
    if not _CELL_MARKS.search(text):
        return text.split()  # the usual run of digits: nothing but its spaces splits it
    return [
        piece
        for token in text.split()
        for part in _DASH_SPLIT.findall(token)
        for piece in _BEFORE_MINUS.split(part)
        if piece
    ]


def _narrative(chunk: str) -> list[Row]:
    return [[line.strip()] for line in chunk.split("\n") if line.strip()]


def _table_rows(region: str, label_rows: Callable[[str], list[Row]]) -> list[Row]:
    """Each value text joins the label cells printed just before it; other labels are rows alone."""
    rows: list[Row] = []
    pending: Row = []
    for piece in _pieces(region):
        if piece.kind == "label":
            if pending:
                rows.append(pending)  # a label with no values after it: headers
            *headers, pending = label_rows(piece.text)
            rows += headers
        else:
            rows.append([*pending, *_value_cells(piece.text)])
            pending = []
    if pending:
        rows.append(pending)
    return rows


def _t4_rows(region: str) -> list[Row]:
    """Header cells and the number run as separate rows: the matcher reads label-less values."""
    rows: list[Row] = []
    for piece in _pieces(region):
        if piece.kind == "label":
            cells = [c.strip() for c in _t4_header().split(piece.text) if c and c.strip()]
            rows.append(cells)
        else:
            rows.append(_value_cells(piece.text))
    return rows


# ---------------------------------------------------------------------------- entry point


def _last_heading(pattern: re.Pattern[str], words: str, text: str, end: int) -> re.Match[str] | None:
    """``_last_before(pattern, text, end)`` for ``pattern`` = ``_HEAD_ENUM + words``, without
    scanning the whole text with the enumerator's alternation (slow on a long page).

    Every match ends with an occurrence of ``words``, and starts at most ``_HEAD_ENUM_MAX``
    characters before the spaces that precede it: so the last match is found by searching
    only there, from the last occurrence backwards. The search from that point finds the
    match the full scan finds there: ``words`` shares no character with an enumerator or a
    space, so no earlier match can reach into that stretch, and no whole occurrence fits in it.
    """
    stop = end
    while (at := text.rfind(words, 0, stop)) != -1:
        lo = at
        while lo and text[lo - 1].isspace():
            lo -= 1
        found = pattern.search(text, max(0, lo - _HEAD_ENUM_MAX), at + len(words))
        if found is not None:
            return found
        stop = at + len(words) - 1
    return None


def _last_before(pattern: re.Pattern[str], text: str, end: int) -> re.Match[str] | None:
    found = None
    for m in pattern.finditer(text, 0, end):
        found = m
    return found


# Full-width ASCII (（）：，；０-９) and the ideographic space: the characters NFKC changes on
# these pages, nearly always the only ones.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")


def _nfkc_page(text: str) -> str:
    """``nfkc(text)``, faster on a page of Chinese: NFKC of such text is slow per character
    (~0.1 ms per 1,000), so the full-width forms are folded first by ``str.replace`` and the
    rest is only checked (quickly, in C) and normalised if still needed. Each folded character's
    compatibility decomposition is that one ASCII character, so folding leaves the text's NFKD,
    hence its NFKC, unchanged."""
    for ch in set(_FULL_WIDTH.findall(text)):
        text = text.replace(ch, " " if ch == "\u3000" else chr(ord(ch) - 0xFEE0))
    return nfkc(text)


def rows_from_runon(lines: list[str]) -> list[Row]:
    """Rows of cells from run-together text; each table row's value text left for ``glued``."""
    text = _nfkc_page("\n".join(lines)).replace("\u3000", " ").replace("\xa0", " ")
    anchor = _new_received().search(text)
    if anchor is None:
        return _narrative(text)  # no table 三 to cut: the matcher will say so
    t3 = _last_heading(_T3, _T3_WORDS, text, anchor.start())
    t3_start, t3_body = (t3.start(), t3.end()) if t3 else (anchor.start(), anchor.start())
    t2 = (
        _last_heading(_T2, _T2_WORDS, text, t3_start)
        or _last_before(_T2_UNNUMBERED, text, t3_start)
        or _T2_FIRST_SECTION.search(text, 0, t3_start)
    )
    t4 = _T4.search(text, anchor.end())
    after = _AFTER.search(text, t4.end() if t4 else anchor.end())
    t3_end = t4.start() if t4 else (after.start() if after else len(text))

    rows: list[Row] = []
    if t2:
        rows += _narrative(text[: t2.start()])
        heading = t2.group() if t2.group().endswith("情况") else ""
        if heading:
            rows.append([heading.strip()])
        rows += _table_rows(text[t2.start() + len(heading) : t3_start], _label_cells_t2)
    else:
        rows += _narrative(text[:t3_start])
    if t3:
        rows.append([t3.group().strip()])
    rows += _table_rows(text[t3_body:t3_end], _label_cells_t3)
    if t4:
        rows.append([t4.group().strip()])
        rows += _t4_rows(text[t4.end() : after.start() if after else len(text)])
    if after:
        rows.append([after.group().strip()])
        rows += _narrative(text[after.end() :])
    return rows
