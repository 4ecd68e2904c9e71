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
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from extract.document import Row
from extract.normalize import ENUMERATOR, squash
from extract.values import looks_like_value
from schemas.taxonomy import taxonomy

# Page numbers and running footers: -3-, - 3 -, 第3页, 3/12, 第 3 页 共 12 页.
PAGE_NUMBER = re.compile(
    r"^[-—–－‐\s]*(?:第\s*)?\d{1,3}(?:\s*页)?(?:\s*[/／]\s*\d{1,3}|\s*共\s*\d+\s*页)?[-—–－‐\s]*$"
)
_PAGE_NUMBER_FIRST = "-—–－‐第"  # what PAGE_NUMBER allows first after whitespace, but digits (\d)
_CHUNK = re.compile(r"\S+(?: \S+)*")  # text separated by single spaces; 2+ spaces end a cell
_GAP = re.compile("  +")  # the same split for lines whose only whitespace is ASCII spaces
_CR_AT_END = re.compile(r"\r+(?=[\n\f]|\Z)")  # what rstrip("\r\n") drops from a line or page piece
_MAX_CONTINUATION = 20  # characters: a wrapped piece of a label is short; a paragraph is not
_MAX_VALUES_FOR_LABEL = 8  # table 二/三 rows have 1-7 numbers; table 四's 15 never take a label

# A citation of an article (第二十条第（五）项) heads a block of table 二: it is never the wrapped
# tail of the label above it, however short and well placed (no template label holds one).
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇0-9]+条")

_is_value = looks_like_value  # cached where it is defined


def _enumerated_uncached(text: str) -> bool:
    return bool(ENUMERATOR.match(squash(text)))


# The same labels ("（一）予以公开", "三") come back in every report: the helpers below are
# cached, for texts short enough that the caches stay small (a line can be very long).
_CACHED_LENGTH = 100
_squash_cached = lru_cache(maxsize=4096)(squash)
_enumerated_cached = lru_cache(maxsize=4096)(_enumerated_uncached)


def _squash(text: str) -> str:
    return _squash_cached(text) if len(text) <= _CACHED_LENGTH else squash(text)


def _enumerated(text: str) -> bool:
    """The text opens with an enumerator: （二）, 5., 一、."""
    return _enumerated_cached(text) if len(text) <= _CACHED_LENGTH else _enumerated_uncached(text)


def _bare_enumerator(text: str) -> bool:
    """The text is an enumerator and nothing else: 5．, （二）."""
    return len(text) <= 6 and ENUMERATOR.fullmatch(_squash(text)) is not None


@dataclass
class Chunk:
    """One cell of a line, as ``chunks_of`` returns it."""

    start: int  # column (code points, as pdftotext counts them)
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def is_value(self) -> bool:
        return _is_value(self.text)

    @property
    def enumerated(self) -> bool:
        return _enumerated(self.text)


# Inside the reader a line's cells are plain strings, their columns worked out (``_starts``)
# only for the lines that the label placing below looks at: a report has hundreds of cells, and
# building an object and finding a column for each was most of this reader's time.


@dataclass(slots=True)
class Fragment:
    """A line with text but no numbers, waiting to be placed."""

    texts: list[str]
    line: str
    blank_before: bool  # a blank line separates it from what came before
    known_starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        """The cells' columns, worked out only for the fragments near a value row."""
        if self.known_starts is None:
            self.known_starts = _starts(self.line, self.texts, len(self.texts))
        return self.known_starts

    @property
    def end(self) -> int:
        return self.starts[-1] + len(self.texts[-1])

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    @property
    def enumerated(self) -> bool:
        # The opener may be preceded by a stray character of the vertical label (" 三   （二）…").
        return any(map(_enumerated, self.texts))


@dataclass(slots=True)
class ValueRow:
    """A line ending in numbers. Its columns are worked out only if something needs them: a
    fragment next to it, or a wrapped line below it."""

    line: str
    texts: list[str]  # the line's cells
    cut: int  # where its numbers start among them
    values: list[str]
    label_count: int = 0  # label cells in its output row
    index: int = 0  # position in the output rows
    head_column: int | None = None  # the column of a label opened on the lines above it
    known_starts: list[int] | None = None

    @property
    def label_starts(self) -> list[int]:
        """The columns of the line's labels and of its first number."""
        if self.known_starts is None:
            self.known_starts = _starts(self.line, self.texts, self.cut + 1)
        return self.known_starts

    @property
    def value_start(self) -> int:
        return self.label_starts[self.cut]

    @property
    def label_start(self) -> int:
        """The column of its (last) label; of its first number when it has no label. A label
        printed justified (``5．    要求行政机关确认或``) starts at its enumerator's column: the
        wrapped rest of it lines up there."""
        if self.head_column is not None:
            return self.head_column
        if self.cut >= 2 and _bare_enumerator(self.texts[self.cut - 2]):
            return self.label_starts[self.cut - 2]
        return self.label_starts[self.cut - 1 if self.cut else 0]

    @property
    def parent_start(self) -> int | None:
        """The column of a parent label sharing the line (``（六）其   1.申请人无正当…``)."""
        if self.head_column is not None or self.cut < 2 or _bare_enumerator(self.texts[self.cut - 2]):
            return None
        return self.label_starts[self.cut - 2]

    def value_cells(self) -> list[tuple[int, str]]:
        """(column, text) of its numbers."""
        return list(
            zip(_starts(self.line, self.texts, len(self.texts))[self.cut :], self.values, strict=True)
        )


def _texts(line: str, stripped: str) -> list[str]:
    """The cells' texts of one line (see ``chunks_of``); ``stripped`` is ``line.strip()``."""
    if line.isprintable():
        # No whitespace but ASCII spaces (tabs, U+3000, NBSP... are all unprintable): split at
        # runs of two or more. Much faster than _CHUNK, which tries a match at every space of
        # the column padding.
        body = stripped
        if "  " in body:
            texts = _GAP.split(body)
            if " " not in "".join(texts):
                return texts  # no single spaces: no numbers to split off
        elif " " not in body:
            return [body] if body else []  # one cell: a line of narrative, a label
        else:
            texts = [body]
    else:
        texts = _CHUNK.findall(line)
    out: list[str] = []
    for text in texts:
        space = text.rfind(" ")
        if space < 0 or not _is_value(text[space + 1 :]):
            out.append(text)  # one word, or not ending in a number
            continue
        parts = text.split(" ")  # the words: single spaces only inside a cell
        # Trailing numbers after single spaces are cells of their own.
        cut = len(parts) - 1
        while cut > 0 and _is_value(parts[cut - 1]):
            cut -= 1
        if cut > 0 and len(parts) - cut < 2:
            # One number after a single space ends a sentence far more often than a row
            # ("…洪泽湖大道 90"): table rows put two or more spaces before their numbers.
            out.append(text)
            continue
        if cut > 0:
            out.append(" ".join(parts[:cut]))
        out.extend(parts[cut:])
    return out


def _starts(line: str, texts: list[str], count: int) -> list[int]:
    """The columns of the first ``count`` cells. Only whitespace lies between one cell and the
    next, and a cell starts with a non-space: the first occurrence of a cell's text after the
    previous cell is the cell itself."""
    starts: list[int] = []
    pos = 0
    find = line.find
    for text in texts[:count] if count < len(texts) else texts:
        pos = find(text, pos)
        starts.append(pos)
        pos += len(text)
    return starts


def chunks_of(line: str) -> list[Chunk]:
    """Cells of one line; a chunk made only of numbers split by single spaces is several cells,
    and so are numbers trailing a label after a single space (``其他处理 0``)."""
    texts = _texts(line, line.strip())
    return [Chunk(start, text) for start, text in zip(_starts(line, texts, len(texts)), texts, strict=True)]


def _joined(text: str) -> str:
    """A wrapped piece of a label, its stray spaces dropped (Chinese text has none)."""
    return "".join(text.split())


def _in_column(frag: Fragment, label_start: int) -> list[str] | None:
    """The fragment's cells at or right of the label column; None when something other than a
    stray character or two (a piece of the vertical label) lies left of it."""
    inside = bisect_left(frag.starts, label_start - 2)  # columns ascend: the rest is inside
    if inside == len(frag.texts):
        return None
    strays = frag.texts[:inside]
    if any(len(_squash(text)) > 2 or _enumerated(text) for text in strays):
        return None
    return frag.texts[inside:]


def _continuation(frag: Fragment, label_start: int, value_start: int) -> str | None:
    """What a fragment adds to a label at column ``label_start`` as its wrapped rest; None when
    it cannot be that."""
    inside = _in_column(frag, label_start)
    if (
        inside is None
        or len(inside) > 2
        or _enumerated(inside[0])
        or _ARTICLE.match(_squash(inside[0]))
        or frag.end > value_start
        or len(_squash(" ".join(inside))) > _MAX_CONTINUATION
    ):
        return None
    return "".join(map(_joined, inside))


def _parent_and_leaf_tails(
    frag: Fragment, parent_start: int, label_start: int, value_start: int
) -> tuple[str, str] | None:
    """What a fragment adds to a parent label and to the leaf label beside it when both wrap
    on the same lines (``（六）其   1.申请人无正当理由逾期  0 …`` ⏎ ``他处理    不补正、行政机关不再``);
    None when it is not that."""
    inside = bisect_left(frag.starts, label_start - 2)
    left, right = frag.texts[:inside], frag.texts[inside:]
    if (
        not left
        or len(left) > 1
        or len(right) > 2
        or frag.starts[0] < parent_start - 2
        or _enumerated(left[0])
        or (right and _enumerated(right[0]))
        or frag.end > value_start
        or len(_squash(left[0])) > _MAX_CONTINUATION
        or len(_squash(" ".join(right))) > _MAX_CONTINUATION
    ):
        return None
    return _joined(left[0]), "".join(map(_joined, right))


def _continuation_text(frag: Fragment, label_start: int) -> str:
    """A fragment's text as part of a label at column ``label_start``, whether it fits or not."""
    inside = _in_column(frag, label_start) or frag.texts
    return "".join(map(_joined, inside))


_DIGITS_ONLY = re.compile(r"^[0-9０-９]+$")


def _wrapped_digits(values: list[tuple[int, str]], above: list[tuple[int, str]]) -> list[int] | None:
    """Positions in ``above`` that a digits-only line continues; None when the line is a wrap
    but the numbers it continues cannot be told apart (the caller then nulls the row).
    Cells are (column, text).

    A number too wide for its column wraps inside the cell (``６１`` then ``０`` = 610). Reading
    the second line as a row of its own would leave 61 in the cell: a wrong value that the row
    total can even confirm when the 总计 column wraps the same way.
    """
    # Only a number that filled its cell wraps: the longest numbers of the row are the candidates.
    longest = max(len(text) for _, text in above)
    widest = [k for k, (_, text) in enumerate(above) if len(text) == longest]
    if longest < 2 and len(above) > 1 and len(values) != len(above):
        # Single digits everywhere (table 四): a piece under one of them by position only.
        widest = list(range(len(above)))
    if len(values) == len(widest):
        return widest  # one piece per candidate, in order
    if len(values) > len(widest):
        return None
    # Fewer pieces than candidates: each must sit clearly nearest one candidate.
    targets: list[int] = []
    for start, text in values:
        centre = (start + start + len(text)) / 2
        ranked = sorted((abs((above[k][0] * 2 + len(above[k][1])) / 2 - centre), k) for k in widest)
        (best, k), runner_up = ranked[0], ranked[1][0]
        if runner_up - best < 2 or (targets and k <= targets[-1]):
            return None
        targets.append(k)
    return targets


def _wrap_not_page_number(
    line: str, position: int, pieces: list[str], after_values: bool, blank: bool
) -> bool:
    """A lone number right under a value row, with more text after it on the same page, is a
    digit wrapped inside its cell; a page number is the last thing on its page (or stands
    after a blank line)."""
    if not after_values or blank or not _DIGITS_ONLY.match(line.strip()):
        return False
    for piece in pieces[position + 1 :]:
        if piece[:1] == "\f":
            return False  # a new page
        if piece.strip():
            return True
    return False


def _looks_wrapped(labels: list[str], label_starts: list[int], values: list[str], above: ValueRow) -> bool:
    """A line under a value row holding fewer bare-digit numbers than it."""
    return (
        len(values) < len(above.values)
        and all(_DIGITS_ONLY.match(text) for text in values)
        # Left of the numbers only strays of a vertical label or the wrapped tail of this row's
        # own label (府信息): short, and not opening a label of its own (（二）, 5.).
        and all(
            start + len(text) <= above.value_start and not _enumerated(text)
            for start, text in zip(label_starts, labels, strict=True)
        )
        and len(_squash("".join(labels))) <= 8
        # A whole row label (行政规范性文件   2   2, its third cell printed empty) opens a row of
        # its own: its numbers are that row's, not the digits of the row above wrapped.
        and _squash("".join(labels)) not in _whole_row_labels()
    )


@lru_cache(maxsize=1)
def _whole_row_labels() -> frozenset[str]:
    """Table 二's row labels and table 三's leaves of four characters or more: what a wrapped
    tail of a label never is on its own (总计, 其他 could be, so they are left out)."""
    leaves = {c.leaf for c in taxonomy().categories if len(c.leaf) >= 4}
    return frozenset(map(squash, taxonomy().proactive_labels() | leaves))


def _pieces(lines: list[str]) -> tuple[list[str], bool]:
    """The printed lines, trailing CR/LF dropped and tabs made four spaces, cut at form feeds:
    a form feed starts a new page, even mid-line, and the piece after it keeps it as a mark,
    first. Also whether there are any. Done on the whole text at once, with C-level string
    operations, unless a line holds a line feed of its own."""
    joined = "\n".join(lines)
    if joined.count("\n") != len(lines) - 1:
        pieces: list[str] = []
        for raw in lines:
            first, *rest = raw.split("\f")
            pieces.append(first.rstrip("\r\n").replace("\t", "    "))
            pieces.extend("\f" + piece.rstrip("\r\n").replace("\t", "    ") for piece in rest)
        return pieces, "\f" in joined
    if "\t" in joined:
        joined = joined.replace("\t", "    ")
    if "\r" in joined:
        joined = _CR_AT_END.sub("", joined)
    paged = "\f" in joined
    if paged:
        joined = joined.replace("\f", "\n\f")
    return joined.split("\n"), paged


def rows_from_spaced(lines: list[str]) -> list[Row]:
    rows: list[Row] = []
    pending: list[Fragment] = []
    last: ValueRow | None = None  # the last value row, while label lines may still continue it
    blank = False

    def flush_pending_backwards() -> None:
        """Fragments right below a value row, in its label column: the rest of its label."""
        nonlocal pending
        if last is None or not last.label_count or len(_squash(rows[last.index][last.label_count - 1])) > 40:
            return  # no label to continue, or the "row" is a sentence ending in a number
        extra: list[str] = []
        parent_extra: list[str] = []
        # A parent label sharing the row's line can wrap beside the leaf: both grow.
        parent_start = last.parent_start if last.label_count == last.cut else None
        for frag in pending:
            if frag.blank_before:
                break
            text = _continuation(frag, last.label_start, last.value_start)
            if text is None and parent_start is not None:
                tails = _parent_and_leaf_tails(frag, parent_start, last.label_start, last.value_start)
                if tails is not None:
                    parent_extra.append(tails[0])
                    text = tails[1]
            if text is None:
                break
            extra.append(text)
        if extra:
            row = rows[last.index]
            label_pos = last.label_count - 1
            row[label_pos] = row[label_pos] + "".join(extra)
            if parent_extra:
                row[label_pos - 1] = row[label_pos - 1] + "".join(parent_extra)
            pending = pending[len(extra) :]

    in_break = False  # between the end of one page and the first text of the next
    last_was_values = False  # the previous printed line was a value row
    emptied: set[int] = set()  # rows whose numbers a wrap left unsure: their values dropped
    pieces, paged = _pieces(lines)
    for position, line in enumerate(pieces):
        if paged and line[:1] == "\f":
            in_break, blank = True, False
            line = line[1:]
        stripped = line.strip()
        if not stripped:
            if pending and len(line) > pending[-1].starts[-1]:
                # A space of a label wrapped onto a line of its own (公开出版 ⏎ " " ⏎ 物): it
                # reaches the cell's column, so it is inside the cell, not a gap between rows.
                continue
            # Blank lines around a page break are the page margins, not a gap between rows.
            blank = blank or not in_break
            continue
        first = stripped[0]  # a page number starts with a dash, 第 or a digit: skip the regex
        if (
            (first in _PAGE_NUMBER_FIRST or first.isdecimal())
            and PAGE_NUMBER.match(line)
            and not _wrap_not_page_number(line, position, pieces, last_was_values, blank)
        ):
            in_break, blank = True, False  # page numbers cut tables; they are never content
            continue
        in_break = False
        # Most lines are narrative: one cell, no space in it (_texts' first case, without the call).
        texts = [stripped] if " " not in stripped and line.isprintable() else _texts(line, stripped)
        cut = len(texts)
        while cut > 0 and _is_value(texts[cut - 1]):
            cut -= 1
        if cut == len(texts):
            pending.append(Fragment(texts, line, blank))
            blank, last_was_values = False, False
            continue
        labels, values = texts[:cut], texts[cut:]
        current = ValueRow(line, texts, cut, values)
        blank_before = blank
        blank = False
        if (
            last is not None
            and last_was_values
            and not blank_before
            and not pending
            and len(values) < len(last.values)
            and _looks_wrapped(labels, current.label_starts[:cut], values, last)
        ):
            row = rows[last.index]
            if last.index in emptied:
                continue  # more wrapped digits of a row already nulled
            first_value = len(row) - len(last.values)
            wrapped = _wrapped_digits(current.value_cells(), last.value_cells())
            if wrapped is None:
                del row[first_value:]  # unsure which numbers continue: the row is null, flagged
                emptied.add(last.index)
            else:
                for text, k in zip(values, wrapped, strict=True):
                    row[first_value + k] += text
            continue
        last_was_values = True
        # 1. Fragments that open this row's label: from the last enumerated fragment on,
        #    if every one of them fits the label area.
        head: list[Fragment] = []
        head_rest: str | None = None  # what the lines after the first add to the opened label
        if pending and len(values) <= _MAX_VALUES_FOR_LABEL and not any(map(_enumerated, labels)):
            value_start = current.value_start
            opener = next(
                (k for k in range(len(pending) - 1, -1, -1) if pending[k].enumerated),
                None,
            )
            if opener is not None:
                group = pending[opener:]
                column = group[0].starts[-1]  # the leaf's column (a parent may precede it)
                fits = all(f.end <= value_start for f in group)
                rest: list[str] = []
                if fits:
                    for frag in group[1:]:
                        text = _continuation(frag, column, value_start)
                        if text is None:
                            fits = False
                            break
                        rest.append(text)
                if fits and not (labels and blank_before):
                    head, head_rest = group, "".join(rest)
            elif not labels and not blank_before:
                # No enumerators at all: the label lines right above (at most two).
                group = pending[-2:]
                if all(f.end <= value_start and not f.blank_before for f in group[1:]) and all(
                    f.end <= value_start and len(_squash(f.text)) <= 2 * _MAX_CONTINUATION for f in group
                ):
                    head = group
        if head:
            pending = pending[: len(pending) - len(head)]
        # 2. Label lines printed under the previous row's numbers continue its label; the
        #    others are rows of their own (the fragments are done with: their lists are reused).
        if pending:
            flush_pending_backwards()
            rows.extend([frag.texts for frag in pending])
            pending = []
        # 3. The row itself.
        label_cells = labels
        if head:
            # A parent label and the opening leaf can share the first line: two cells.
            parents = head[0].texts[:-1]
            column = head[0].starts[-1]
            if head_rest is None:  # the label lines right above, taken whole
                head_rest = "".join([_continuation_text(f, column) for f in head[1:]])
            opened = head[0].texts[-1] + head_rest
            # Strays of the vertical label dropped.
            own = [
                text
                for start, text in zip(current.label_starts[:cut], labels, strict=True)
                if start >= column - 2
            ]
            label_cells = [*parents, opened + "".join(map(_joined, own))]
            current.head_column = column
        rows.append(label_cells + values)
        current.label_count, current.index = len(label_cells), len(rows) - 1
        last = current
    flush_pending_backwards()
    rows.extend([frag.texts for frag in pending])
    return rows
