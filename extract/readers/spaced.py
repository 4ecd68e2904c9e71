"""Space-aligned text (``pdftotext -layout``, or a PDF page without rulings): rows of cells.

What this layout does to a table (QUIRKS.md "How the text arrives"):

* cells are separated by runs of two or more spaces; a single space is a gap inside a cell
  (``4.无正当理由大量反复 申请``) — except between numbers, which are cells of their own;
* a long label wraps onto the lines above or below the line holding its numbers, sometimes
  one or two characters per line, and the numbers can sit alone on a line of their own;
* the vertical label 三、本年度办理结果 and parent labels such as （三）不予公开 land on lines of
  their own between the rows they span;
* a row is cut by a page break, with a page number line (``-3-``) and a form feed between.

Rows are anchored on *value lines* (lines ending in number cells). Label-only lines between
them are attached to a value line only when that is unambiguous: a fragment that starts with
an enumerator (（二）, 5., 一、) opens a label and the following fragments continue it; a
fragment that continues a label has no enumerator, sits in the label area (left of the
numbers) and at or right of the label column. Fragments that fit none of this (parent labels,
the vertical label, table headers, narrative) become rows of their own; the matcher ignores
rows without numbers, and reads a row's category from its last label segment, so a parent
label in front of a leaf label does no harm. A row whose label cannot be rebuilt is simply
not recognised and its values end up null and flagged by the matcher, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from extract.document import Row
from extract.normalize import ENUMERATOR, squash
from extract.values import looks_like_value

# Page numbers and running footers: -3-, - 3 -, 第3页, 3/12, 第 3 页 共 12 页.
PAGE_NUMBER = re.compile(
    r"^[-—–－‐\s]*(?:第\s*)?\d{1,3}(?:\s*页)?(?:\s*[/／]\s*\d{1,3}|\s*共\s*\d+\s*页)?[-—–－‐\s]*$"
)
_CHUNK = re.compile(r"\S+(?: \S+)*")  # text separated by single spaces; 2+ spaces end a cell
_MAX_CONTINUATION = 20  # characters: a wrapped piece of a label is short; a paragraph is not
_MAX_VALUES_FOR_LABEL = 8  # table 二/三 rows have 1-7 numbers; table 四's 15 never take a label


@dataclass
class Chunk:
    start: int  # column (code points, as pdftotext counts them)
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def is_value(self) -> bool:
        return looks_like_value(self.text)

    @property
    def enumerated(self) -> bool:
        return bool(ENUMERATOR.match(squash(self.text)))


@dataclass
class Fragment:
    """A line with text but no numbers, waiting to be placed."""

    chunks: list[Chunk]
    blank_before: bool  # a blank line separates it from what came before

    @property
    def start(self) -> int:
        return self.chunks[0].start

    @property
    def end(self) -> int:
        return self.chunks[-1].end

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.chunks)

    @property
    def enumerated(self) -> bool:
        # The opener may be preceded by a stray character of the vertical label (" 三   （二）…").
        return any(c.enumerated for c in self.chunks)


@dataclass
class ValueRow:
    labels: list[Chunk]
    values: list[Chunk]
    index: int  # position in the output rows
    tail: list[str] = field(default_factory=list)  # label continuations printed below the numbers

    @property
    def label_start(self) -> int:
        return self.labels[-1].start if self.labels else (self.values[0].start if self.values else 0)

    @property
    def value_start(self) -> int:
        return self.values[0].start


def chunks_of(line: str) -> list[Chunk]:
    """Cells of one line; a chunk made only of numbers split by single spaces is several cells,
    and so are numbers trailing a label after a single space (``其他处理 0``)."""
    out: list[Chunk] = []
    for m in _CHUNK.finditer(line):
        text = m.group(0)
        parts = list(re.finditer(r"\S+", text))
        # Trailing numbers after single spaces are cells of their own.
        cut = len(parts)
        while cut > 0 and looks_like_value(parts[cut - 1].group(0)):
            cut -= 1
        if cut == len(parts):
            out.append(Chunk(m.start(), text))
            continue
        if cut > 0 and len(parts) - cut < 2:
            # One number after a single space ends a sentence far more often than a row
            # ("…洪泽湖大道 90"): table rows put two or more spaces before their numbers.
            out.append(Chunk(m.start(), text))
            continue
        if cut > 0:
            head_end = parts[cut - 1].end()
            out.append(Chunk(m.start(), text[:head_end]))
        for p in parts[cut:]:
            out.append(Chunk(m.start() + p.start(), p.group(0)))
    return out


def _joined(text: str) -> str:
    """A wrapped piece of a label, its stray spaces dropped (Chinese text has none)."""
    return "".join(text.split())


def _split_values(chunks: list[Chunk]) -> tuple[list[Chunk], list[Chunk]]:
    cut = len(chunks)
    while cut > 0 and chunks[cut - 1].is_value:
        cut -= 1
    return chunks[:cut], chunks[cut:]


def _in_column(frag: Fragment, label_start: int) -> list[Chunk] | None:
    """The fragment's chunks at or right of the label column; None when something other than a
    stray character or two (a piece of the vertical label) lies left of it."""
    inside = [c for c in frag.chunks if c.start >= label_start - 2]
    strays = [c for c in frag.chunks if c.start < label_start - 2]
    if not inside or any(len(squash(c.text)) > 2 or c.enumerated for c in strays):
        return None
    return inside


def _is_continuation(frag: Fragment, label_start: int, value_start: int) -> bool:
    """A fragment that can be the wrapped rest of a label at column ``label_start``."""
    inside = _in_column(frag, label_start)
    return (
        inside is not None
        and len(inside) <= 2
        and not inside[0].enumerated
        and frag.end <= value_start
        and len(squash(" ".join(c.text for c in inside))) <= _MAX_CONTINUATION
    )


def _continuation_text(frag: Fragment, label_start: int) -> str:
    inside = _in_column(frag, label_start) or frag.chunks
    return "".join(_joined(c.text) for c in inside)


_DIGITS_ONLY = re.compile(r"^[0-9０-９]+$")


def _wrapped_digits(values: list[Chunk], above: list[Chunk]) -> list[int] | None:
    """Positions in ``above`` that a digits-only line continues; None when the line is a wrap
    but the numbers it continues cannot be told apart (the caller then nulls the row).

    A number too wide for its column wraps inside the cell (``６１`` then ``０`` = 610). Reading
    the second line as a row of its own would leave 61 in the cell: a wrong value that the row
    total can even confirm when the 总计 column wraps the same way.
    """
    # Only a number that filled its cell wraps: the longest numbers of the row are the candidates.
    longest = max(len(a.text) for a in above)
    widest = [k for k, a in enumerate(above) if len(a.text) == longest]
    if longest < 2 and len(above) > 1 and len(values) != len(above):
        # Single digits everywhere (table 四): a piece under one of them by position only.
        widest = list(range(len(above)))
    if len(values) == len(widest):
        return widest  # one piece per candidate, in order
    if len(values) > len(widest):
        return None
    # Fewer pieces than candidates: each must sit clearly nearest one candidate.
    targets: list[int] = []
    for chunk in values:
        centre = (chunk.start + chunk.end) / 2
        ranked = sorted((abs((above[k].start + above[k].end) / 2 - centre), k) for k in widest)
        (best, k), runner_up = ranked[0], ranked[1][0]
        if runner_up - best < 2 or (targets and k <= targets[-1]):
            return None
        targets.append(k)
    return targets


def _wrap_not_page_number(
    line: str, position: int, flat: list[tuple[str, bool]], after_values: bool, blank: bool
) -> bool:
    """A lone number right under a value row, with more text after it on the same page, is a
    digit wrapped inside its cell; a page number is the last thing on its page (or stands
    after a blank line)."""
    if not after_values or blank or not _DIGITS_ONLY.match(line.strip()):
        return False
    for piece, new_page in flat[position + 1 :]:
        if new_page:
            return False
        if piece.strip():
            return True
    return False


def _looks_wrapped(labels: list[Chunk], values: list[Chunk], above: ValueRow) -> bool:
    """A line under a value row holding fewer bare-digit numbers than it."""
    return (
        len(values) < len(above.values)
        and all(_DIGITS_ONLY.match(v.text) for v in values)
        # Left of the numbers only strays of a vertical label or the wrapped tail of this row's
        # own label (府信息): short, and not opening a label of its own (（二）, 5.).
        and all(c.end <= above.value_start and not c.enumerated for c in labels)
        and len(squash("".join(c.text for c in labels))) <= 8
    )


def rows_from_spaced(lines: list[str]) -> list[Row]:
    rows: list[Row] = []
    pending: list[Fragment] = []
    last: ValueRow | None = None  # the last value row, while label lines may still continue it
    blank = False

    def emit_fragment(frag: Fragment) -> None:
        rows.append([c.text for c in frag.chunks])

    def flush_pending_backwards() -> None:
        """Fragments right below a value row, in its label column: the rest of its label."""
        nonlocal pending
        if last is None or not last.labels or len(squash(rows[last.index][len(last.labels) - 1])) > 40:
            return  # no label to continue, or the "row" is a sentence ending in a number
        taken = 0
        for frag in pending:
            if frag.blank_before or not _is_continuation(frag, last.label_start, last.value_start):
                break
            taken += 1
        if taken:
            extra = "".join(_continuation_text(f, last.label_start) for f in pending[:taken])
            row = rows[last.index]
            label_pos = len(last.labels) - 1
            row[label_pos] = row[label_pos] + extra
            pending = pending[taken:]

    in_break = False  # between the end of one page and the first text of the next
    last_was_values = False  # the previous printed line was a value row
    # (line, starts a new page): a form feed starts a new page, even mid-line.
    flat = [(piece, k > 0) for raw in lines for k, piece in enumerate(raw.split("\f"))]
    for position, (piece, new_page) in enumerate(flat):
        line = piece.rstrip("\r\n").replace("\t", "    ")
        if new_page:
            in_break, blank = True, False
        if not line.strip():
            # Blank lines around a page break are the page margins, not a gap between rows.
            blank = blank or not in_break
            continue
        if PAGE_NUMBER.match(line) and not _wrap_not_page_number(
            line, position, flat, last_was_values, blank
        ):
            in_break, blank = True, False  # page numbers cut tables; they are never content
            continue
        in_break = False
        chunks = chunks_of(line)
        labels, values = _split_values(chunks)
        if not values:
            pending.append(Fragment(chunks, blank))
            blank, last_was_values = False, False
            continue
        blank_before = blank
        blank = False
        if (
            last is not None
            and last_was_values
            and not blank_before
            and not pending
            and _looks_wrapped(labels, values, last)
        ):
            row = rows[last.index]
            first_value = len(row) - len(last.values)
            wrapped = _wrapped_digits(values, last.values)
            if wrapped is None:
                del row[first_value:]  # unsure which numbers continue: the row is null, flagged
            else:
                for chunk, k in zip(values, wrapped, strict=True):
                    row[first_value + k] += chunk.text
            continue
        last_was_values = True
        value_start = values[0].start
        label_start = labels[-1].start if labels else value_start
        # 1. Fragments that open this row's label: from the last enumerated fragment on,
        #    if every one of them fits the label area.
        head: list[Fragment] = []
        if len(values) <= _MAX_VALUES_FOR_LABEL and not any(c.enumerated for c in labels):
            opener = next(
                (k for k in range(len(pending) - 1, -1, -1) if pending[k].enumerated),
                None,
            )
            if opener is not None:
                group = pending[opener:]
                column = group[0].chunks[-1].start  # the leaf's column (a parent may precede it)
                fits = all(f.end <= value_start for f in group) and all(
                    _is_continuation(f, column, value_start) for f in group[1:]
                )
                if fits and not (labels and blank_before):
                    head = group
            elif not labels and pending and not blank_before:
                # No enumerators at all: the label lines right above (at most two).
                group = pending[-2:]
                if all(f.end <= value_start and not f.blank_before for f in group[1:]) and all(
                    f.end <= value_start and len(squash(f.text)) <= 2 * _MAX_CONTINUATION for f in group
                ):
                    head = group
        rest = pending[: len(pending) - len(head)]
        pending = rest
        # 2. Label lines printed under the previous row's numbers continue its label.
        flush_pending_backwards()
        for frag in pending:
            emit_fragment(frag)
        pending = []
        # 3. The row itself.
        label_cells = [c.text for c in labels]
        if head:
            # A parent label and the opening leaf can share the first line: two cells.
            parents = [c.text for c in head[0].chunks[:-1]]
            column = head[0].chunks[-1].start
            opened = head[0].chunks[-1].text + "".join(_continuation_text(f, column) for f in head[1:])
            own = [c for c in labels if c.start >= column - 2]  # strays of the vertical label dropped
            label_cells = [*parents, opened + "".join(_joined(c.text) for c in own)]
        rows.append([*label_cells, *(c.text for c in values)])
        last = ValueRow(
            labels=[Chunk(label_start, t) for t in label_cells] if label_cells else [],
            values=values,
            index=len(rows) - 1,
        )
        if head:
            last.labels[-1] = Chunk(head[0].chunks[-1].start, label_cells[-1])
    flush_pending_backwards()
    for frag in pending:
        emit_fragment(frag)
    return rows
