"""A synthetic report as ``pdftotext -layout`` would print it: columns aligned with spaces.

What the layout does (QUIRKS.md "How the text arrives", realdocs hzq2024): table-三 labels
wrap in a narrow label column, their numbers either on the first label line, on the last, or
alone on a line below; the vertical label 三、本年度办理结果 comes out as scattered single
characters at the left edge; parent labels （三）不予公开 sit on a line of their own or share
the first row's line; table 三 is cut by a page break with a page number (``-3-``) and a form
feed, and table 四's header can end one page with its numbers on the next.

A null cell prints as a dash: in this layout an empty cell is invisible, so the column of the
numbers after it could not be told (real PDFs print their blanks in a ruled grid instead).
"""

from __future__ import annotations

import random
from dataclasses import replace

from schemas.taxonomy import taxonomy
from synth.model import SyntheticReport
from synth.narrative import closing, headings, overview, title
from synth.quirks import Quirks
from synth.render import CHECK_NOTE, CONTENT, _short_name
from synth.tables import appeal_values, proceeding_headers, table2_sections, table3_rows

_VERTICAL = "三、本年度办理结果"
_VALUE_GAP = 3  # spaces between number columns: pdftotext always leaves two or more


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def _numbers(values: list[str], widths: int = 4) -> str:
    return (" " * _VALUE_GAP).join(v.rjust(widths) for v in values)


class _Page:
    """Lines being printed, with page breaks (page number line, then a form feed)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.page = 1
        self._feed = False

    def add(self, line: str) -> None:
        if self._feed:
            line = "\f" + line
            self._feed = False
        self.lines.append(line)

    def page_break(self, rng: random.Random) -> None:
        self.lines.append("")
        self.lines.append(" " * rng.randint(5, 70) + f"-{self.page}-")
        self.page += 1
        self._feed = True

    def paragraph(self, text: str, width: int) -> None:
        for i, piece in enumerate(_wrap(text, width)):
            self.add(("  " if i == 0 else "") + piece)


def _values_quirks(quirks: Quirks) -> Quirks:
    marks = tuple(m for m in quirks.blank_marks if m) or ("—",)
    return replace(quirks, blank_marks=marks)


def _tight_table2(report: SyntheticReport) -> bool:
    """Table 二 as tab-separated text turned into spaces prints it: three spaces between cells,
    no blank lines, so the article heading (第二十条第（五）项) sits right under the last row of
    the block before, where a wrapped label's tail would. Decided from the report's identity, not
    from ``rng``, so the rest of the rendering (and every corpus made before) is unchanged."""
    return random.Random(f"tight:{report.agency}:{report.year}").random() < 0.3


def _table2(out: _Page, report: SyntheticReport, rng: random.Random, quirks: Quirks, tight: bool) -> None:
    if tight:
        for section in table2_sections(report, rng, quirks):
            out.add(section.title)
            out.add("   ".join([CONTENT, *section.measures]))
            for row in section.rows:
                out.add("   ".join([row.lead[0] or "", *row.values]))
        return
    for section in table2_sections(report, rng, quirks):
        out.add(" " * 14 + section.title)
        out.add("")
        out.add("       " + CONTENT + "    " + "    ".join(section.measures))
        out.add("")
        for row in section.rows:
            label = row.lead[0] or ""
            out.add(label.ljust(22) + "  " + _numbers(row.values, 8))
            out.add("")


def _table3(out: _Page, report: SyntheticReport, rng: random.Random, quirks: Quirks) -> None:
    tax = taxonomy()
    out.add(" " * 65 + "申请人情况")
    out.add(" " * 57 + "法人或其他组织")
    out.add(CHECK_NOTE[:24])
    out.add(CHECK_NOTE[24:])
    out.add(" " * 45 + "自然人         社会 法律                   总计")
    out.add(" " * 51 + "商业 科研")
    out.add(" " * 57 + "公益 服务 其他")
    out.add("")
    rows = table3_rows(report, rng, quirks)
    width = rng.randint(8, 18)  # characters per line of the leaf label column
    leaf_col = rng.randint(18, 22)  # right of the widest parent label （三）不予公开
    parent_col = rng.randint(3, 8)
    value_col = leaf_col + width + rng.randint(3, 8)
    result_rows = [i for i, r in enumerate(rows) if tax.category(r.key).group is not None]
    vertical = list(_VERTICAL)
    # Where the scattered vertical label characters go: between rows of the result block.
    slots = sorted(rng.sample(result_rows, min(len(vertical), len(result_rows))))
    vertical_at = dict(zip(slots, vertical, strict=False))
    break_before = rng.randrange(3, len(rows) - 1)  # the page break cuts table 三 here
    break_inside = rng.random() < 0.5  # … or inside that row, between label lines and numbers
    for i, row in enumerate(rows):
        if i == break_before and not break_inside:
            out.page_break(rng)
        lead = [p for p in row.lead if p is not None]
        if lead and lead[0] == _VERTICAL:
            lead = lead[1:]  # printed vertically, as scattered characters (below)
        top = tax.category(row.key).group is None
        numbers = _numbers(row.values)
        if top:  # 一、本年新收… spans every label column: printed from the left edge
            label = lead[-1]
            out.add(label.ljust(value_col) + numbers)
            continue
        parent = lead[0] if len(lead) == 2 else None
        leaf = lead[-1]
        if parent and rng.random() < 0.5:
            out.add(" " * parent_col + parent)  # the merged parent cell's text on its own line
            parent = None
        pieces = _wrap(leaf, width)
        if rng.random() < 0.25 and len(pieces) > 1:
            pieces = [*pieces[:-1], *_wrap(pieces[-1], rng.choice((1, 2)))]  # a narrow tail
        mode = rng.choice(("first", "last", "below")) if len(pieces) > 1 else "first"
        prefix = " " + vertical_at[i] if i in vertical_at else ""
        lines = [" " * leaf_col + piece for piece in pieces]
        if parent:  # the parent label shares the line of its first row: two cells
            lines[0] = (" " * parent_col + parent).ljust(leaf_col) + pieces[0]
        elif prefix:
            lines[0] = prefix + lines[0][len(prefix) :]
        number_line = " " * value_col + numbers
        if mode == "first":
            lines[0] = lines[0].ljust(value_col) + numbers
        elif mode == "last":
            lines[-1] = lines[-1].ljust(value_col) + numbers
        else:
            lines.append(number_line)
        for k, line in enumerate(lines):
            if i == break_before and break_inside and k == len(lines) - 1 and len(lines) > 1:
                out.page_break(rng)
            out.add(line)
    out.add("")


def _table4(out: _Page, report: SyntheticReport, rng: random.Random, quirks: Quirks) -> None:
    outcomes = [o.label for o in taxonomy().appeal_outcomes]
    top, sub = proceeding_headers()
    out.add(" " * 10 + top[0] + " " * 30 + top[1])
    out.add(" " * 30 + "    ".join(sub))
    out.add("")
    out.add("   ".join(o[:2] for o in outcomes) + "     " + "   ".join(o[:2] for o in outcomes))
    out.add(" " * 20 + "   ".join(o[2:] for o in outcomes))
    if rng.random() < 0.5:
        out.page_break(rng)  # the header ends one page, the numbers start the next
    out.add("")
    out.add(" " + _numbers(appeal_values(report, rng, _values_quirks(quirks)), 2))
    out.add("")


def render_spaced_text(
    report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None, tight: bool | None = None
) -> str:
    """The report as space-aligned text; ``quirks`` defaults to a clean report, ``tight`` (table
    二 without blank lines or padding) to a choice made from the report's identity."""
    quirks = _values_quirks(quirks or Quirks())
    short = _short_name(report.agency)
    heads = headings(quirks)
    problems, others, published = closing(report.agency, short, report.year, rng)
    out = _Page()
    width = rng.randint(26, 32)
    out.add(" " * 8 + title(report.agency, report.year, quirks))
    out.add("")
    out.add("  " + heads[0])
    for paragraph in overview(report.agency, short, report.year, rng):
        out.paragraph(paragraph, width)
    out.add("     " + heads[1])
    _table2(out, report, rng, quirks, _tight_table2(report) if tight is None else tight)
    out.add(" " * 18 + heads[2])
    _table3(out, report, rng, quirks)
    out.add("     " + heads[3])
    _table4(out, report, rng, quirks)
    out.add("     " + heads[4])
    for paragraph in problems:
        out.paragraph(paragraph, width)
    out.add("  " + heads[5])
    for paragraph in others:
        out.paragraph(paragraph, width)
    out.add(" " * 30 + report.agency)
    out.add(" " * 30 + published)
    out.page_break(rng)
    return "\n".join(out.lines) + "\n"


def render_spaced(
    report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None, tight: bool | None = None
) -> bytes:
    quirks = quirks or Quirks()
    return render_spaced_text(report, rng, quirks, tight).encode(quirks.encoding)


__all__ = ["render_spaced", "render_spaced_text"]
