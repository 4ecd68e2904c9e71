"""The three plain-text layouts of QUIRKS.md "How the text arrives", copied from the seeds.

* ``text/cells`` (seeds 000/003/004): one cell per line, tab-indented, a blank line between
  rows; a merged row-header position is an empty tab-only cell.
* ``text/pipes`` (seed 001): ``| first cell``, a ``|`` line after each cell, merged positions
  missing, and a run of pipes for the spanned cells that complete the row's grid width.
* ``text/tabs`` (seed 002): one row per line, tab-separated, spanned positions empty; some rows
  lose their leading empty cells, which then trail the row.
"""

from __future__ import annotations

import random

from synth.quirks import DASHES, Quirks
from synth.tables import DataRow

HeaderCell = str | None  # None: a position covered by a merged or spanned cell


def _unambiguous(
    values: list[str], pad_before: int, pad_after: int, rng: random.Random, quirks: Quirks
) -> list[str]:
    """Replace empty edge cells that would make the column alignment undecidable.

    A row ``label | (empty) | 1 | 2 | (empty)`` can be read shifted either way: nobody, person
    or program, can tell which column the empty cell was. Real reports do print such rows, and
    the extractor then nulls the row by design; unless ``quirks.edge_blanks`` asks for exactly
    that case, the null prints as a dash here so the round trip stays exact.
    """
    if quirks.edge_blanks or not values:
        return values
    values = list(values)
    if values[0] == "" and pad_after > 0:
        values[0] = rng.choice(DASHES)
    if values[-1] == "" and pad_before > 0:
        values[-1] = rng.choice(DASHES)
    return values


class Layout:
    name = ""

    def __init__(self, rng: random.Random, quirks: Quirks):
        self.rng, self.quirks, self.lines = rng, quirks, []

    def text(self, line: str) -> None:
        self.lines.append(line)

    def gap(self) -> None:
        """Space between prose and tables (layouts differ in whether blank lines appear)."""

    def broken(self, label: str) -> str:
        """A header cell broken mid-word (商业⏎企业) when the quirk is on."""
        if self.quirks.broken_headers and len(label) == 4 and self.rng.random() < 0.7:
            return label[:2] + "\n" + label[2:]
        return label

    def header(self, cells: list[HeaderCell], width: int) -> None:
        raise NotImplementedError

    def data(self, row: DataRow) -> None:
        raise NotImplementedError

    def values_row(self, values: list[str]) -> None:
        """A row of values only (table 四)."""
        raise NotImplementedError

    def end_table(self) -> None:
        raise NotImplementedError


class Cells(Layout):
    name = "text/cells"

    def gap(self) -> None:
        self.lines.append(self.rng.choice(["", " ", "\u2002"]))

    def _row(self, cells: list[str]) -> None:
        self.lines.extend("\t" + c for c in cells)
        self.lines.append("")

    def header(self, cells: list[HeaderCell], width: int) -> None:
        self._row([c or "" for c in cells])

    def data(self, row: DataRow) -> None:
        self._row([c or "" for c in row.lead] + row.values)

    def values_row(self, values: list[str]) -> None:
        self._row(values)

    def end_table(self) -> None:
        self.lines.append("")


class Pipes(Layout):
    name = "text/pipes"

    def broken(self, label: str) -> str:
        # Besides 商业⏎企业, seed 001 truncates table 四 headers to `结果 |`.
        if self.quirks.broken_headers and len(label) == 4 and self.rng.random() < 0.3:
            return label[:2] + " |"
        return super().broken(label)

    def _row(self, cells: list[str], width: int) -> None:
        lines = self.lines
        for i, cell in enumerate(cells):
            inline = cell.endswith(" |")  # the cell's closing pipe is on its own line
            text = cell.removesuffix(" |") + " |" if inline else cell
            if i == 0:
                lines.append("| " + text)
            elif text:
                lines.append(text)
            if not inline:
                lines.append("|")
        if width > len(cells):
            lines.append("|" * (width - len(cells)))

    def header(self, cells: list[HeaderCell], width: int) -> None:
        self._row([c for c in cells if c is not None], width)

    def data(self, row: DataRow) -> None:
        labels = [c for c in row.lead if c is not None]
        tail = row.width - len(labels) - len(row.values)
        if self.quirks.markers_after_label and row.fill_before and labels:
            # `| label` ⏎ `|||` (the label's closing pipe and the spanned cells) ⏎ `0` ⏎ `|` …
            values = _unambiguous(row.values, 0, 0, self.rng, self.quirks)
            lines = self.lines
            lines.append("| " + labels[0])
            for label in labels[1:]:
                lines += ["|", label]
            lines.append("|" * (1 + row.fill_before))
            for value in values:
                lines += [value or self.rng.choice(DASHES), "|"]
            return
        # The row's closing pipes read as one trailing empty cell (two for `|||`).
        pad_after = 0 if tail <= 0 else max(1, tail - 1)
        values = _unambiguous(row.values, 0, pad_after, self.rng, self.quirks)
        self._row(labels + values, row.width)

    def values_row(self, values: list[str]) -> None:
        # A row may not start with an empty cell: `|` alone reads as a row separator.
        if values[0] == "" and not self.quirks.edge_blanks:
            values = [self.rng.choice(DASHES), *values[1:]]
        self._row(values, len(values))

    def end_table(self) -> None:
        pass


class Tabs(Layout):
    name = "text/tabs"

    def gap(self) -> None:
        self.lines.append("")

    def broken(self, label: str) -> str:
        return label  # a tab-separated row cannot hold a line break

    def header(self, cells: list[HeaderCell], width: int) -> None:
        cells = cells + [None] * (width - len(cells))
        self.lines.append("\t".join(c or "" for c in cells))

    def data(self, row: DataRow) -> None:
        lead = list(row.lead)
        fill = row.fill_before
        if self.quirks.shifted_rows:
            # Seed 002: spanned cells land before or after the values, and some rows lost
            # their leading empty cells; the grid is then completed at the row's end.
            if self.rng.random() < 0.3:
                while lead and lead[0] is None:
                    lead.pop(0)
                    fill += 1
            fill = self.rng.randint(0, fill)
        after = row.width - len(lead) - fill - len(row.values)
        values = _unambiguous(row.values, fill, after, self.rng, self.quirks)
        cells = [c or "" for c in lead] + [""] * fill + values + [""] * after
        self.lines.append("\t".join(cells))

    def values_row(self, values: list[str]) -> None:
        self.lines.append("\t".join(values))

    def end_table(self) -> None:
        self.lines.append("")


LAYOUT_CLASSES: dict[str, type[Layout]] = {cls.name: cls for cls in (Cells, Pipes, Tabs)}
LAYOUTS = tuple(LAYOUT_CLASSES)
