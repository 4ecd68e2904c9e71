"""A synthetic report as Markdown made from its PDF by a converter (QUIRKS.md "Markdown").

Headings become ``#`` lines, paragraphs stay paragraphs, each table a pipe table whose first
row is followed by a ``|---|`` separator; merged cells print empty. Two kinds of damage, as
converters do:

* ``detach``: a row's label lands on a row of its own and its numbers on the next row;
* ``drop``: a row loses one value cell (and, as converters that drop cells do, its empty
  padding cells). Nobody can tell which cell went missing: ``damaged`` lists those rows, whose
  cells an extractor must leave null.

``per_row`` renders tables 二 and 三 as some converters and transcribers do: one small table per
template row, under its own ``###`` heading, with stand-in column headers (``数据1 … 数据6 |
总计``); ``"label"`` repeats the row's label in the table's first cell, ``"heading"`` leaves it
only in the heading (the label column lost). The applicant header rows then come as a table
of their own with ``-`` in the spanned cells. ``label_lost`` is the share of table-三 rows
printed without their label cells (the numbers alone, in template order). ``page_break``
leaves a few table-三 rows as loose text lines (label, then the numbers) between two parts of
the table, as a page break does in a converter.

A null cell prints as a dash, never empty: an empty first or last value cell beside empty
padding makes the column alignment undecidable even in an undamaged row.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any

from schemas.taxonomy import taxonomy
from synth.model import SyntheticReport
from synth.narrative import closing, headings, overview, title
from synth.quirks import DASHES, Quirks
from synth.render import APPLICANTS, CHECK_NOTE, CONTENT, LEGAL_PERSONS, _short_name
from synth.tables import DataRow, appeal_values, proceeding_headers, table2_sections, table3_rows


@dataclass
class MarkdownRendering:
    text: str
    damaged: set[tuple[str, str]] = field(default_factory=set)  # (table, row code) with a dropped cell


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("\n", "<br>") for c in cells) + " |"


class _Table:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.width = 0

    def row(self, cells: list[str]) -> None:
        self.lines.append(_line(cells))
        if len(self.lines) == 1:  # converters put the separator under the first row
            self.width = len(cells)
            self.lines.append("|" + "---|" * len(cells))


def _data_row(
    table: _Table,
    row: DataRow,
    rng: random.Random,
    *,
    detach: float,
    drop: float,
    damaged: set[tuple[str, str]],
    name: str,
    label_lost: float = 0.0,
) -> None:
    lead = ["" if c is None else c for c in row.lead]
    if rng.random() < label_lost:  # the label column lost: the numbers alone, in template order
        lead = [""] * len(lead)
    padding = [""] * row.fill_before
    values = list(row.values)
    trailing = [""] * max(0, row.width - len(lead) - len(padding) - len(values))
    if rng.random() < drop:
        values.pop(rng.randrange(len(values)))
        lead, padding, trailing = [c for c in lead if c], [], []
        damaged.add((name, row.key))
    if rng.random() < detach:
        table.row([*lead, *[""] * (len(padding) + len(values) + len(trailing))])
        table.row([*[""] * len(lead), *padding, *values, *trailing])
    else:
        table.row([*lead, *padding, *values, *trailing])


def render_markdown_parts(
    report: SyntheticReport,
    rng: random.Random,
    quirks: Quirks | None = None,
    *,
    detach: float = 0.1,
    drop: float = 0.0,
    per_row: str | None = None,
    label_lost: float = 0.0,
    page_break: bool = False,
) -> MarkdownRendering:
    quirks = dataclasses.replace(quirks or Quirks(), blank_marks=DASHES)
    tax = taxonomy()
    out: list[str] = []
    damaged: set[tuple[str, str]] = set()
    heads = headings(quirks)
    short = _short_name(report.agency)
    problems, others, published = closing(report.agency, short, report.year, rng)

    out += [f"# {title(report.agency, report.year, quirks)}", "", f"## {heads[0]}", ""]
    for paragraph in overview(report.agency, short, report.year, rng):
        out += [paragraph, ""]

    if per_row is not None:
        return _per_row(report, rng, quirks, out, heads, problems, others, published, per_row)

    # ---- table 二
    out += [f"## {heads[1]}", ""]
    t2 = _Table()
    for section in table2_sections(report, rng, quirks):
        t2.row([section.title, "", "", ""])
        t2.row([CONTENT, *section.measures, *[""] * (3 - len(section.measures))])
        for row in section.rows:
            _data_row(t2, row, rng, detach=detach, drop=drop, damaged=damaged, name="proactive")
    out += [*t2.lines, ""]

    # ---- table 三
    out += [f"## {heads[2]}", ""]
    labels = [a.label for a in tax.applicant_types]
    t3 = _Table()
    width = 3 + len(labels)
    t3.row([CHECK_NOTE, "", "", APPLICANTS, *[""] * (width - 4)])
    t3.row(["", "", "", labels[0], LEGAL_PERSONS, *[""] * (len(labels) - 3), labels[-1]])
    t3.row(["", "", "", "", *labels[1:-1], ""])
    rows3 = table3_rows(report, rng, quirks)
    # A page break: a few rows come out as loose text lines, then the table goes on.
    start = rng.randrange(3, len(rows3) - 4) if page_break else -1
    loose = range(start, start + rng.randint(1, 4)) if page_break else range(0)
    for i, row in enumerate(rows3):
        if i in loose:
            if i == loose.start:
                out += [*t3.lines, ""]
                t3 = _Table()
            label = [c for c in row.lead if c][-1]
            out.append(" ".join([label, *(v or rng.choice(DASHES) for v in row.values)]))
            if i == loose.stop - 1:
                out.append("")
            continue
        _data_row(
            t3,
            row,
            rng,
            detach=detach,
            drop=drop,
            damaged=damaged,
            name="applications",
            label_lost=label_lost,
        )
    out += [*t3.lines, ""]

    # ---- table 四
    out += [f"## {heads[3]}", "", *_table4(report, rng, quirks, drop, damaged), ""]
    out += _closing(report, heads, problems, others, published)
    return MarkdownRendering("\n".join(out) + "\n", damaged)


def _table4(
    report: SyntheticReport,
    rng: random.Random,
    quirks: Quirks,
    drop: float | None,
    damaged: set[tuple[str, str]],
) -> list[str]:
    """Table 四 as one pipe table; ``drop`` (None: no damage drawn) may lose one value cell."""
    top, sub = proceeding_headers()
    outcomes = [o.label for o in taxonomy().appeal_outcomes]
    n = len(outcomes)
    t4 = _Table()
    t4.row([top[0], *[""] * (n - 1), top[1], *[""] * (n * len(sub) - 1)])
    t4.row([*outcomes, *[s for s in sub for s in [s, *[""] * (n - 1)]]])
    t4.row([*[""] * n, *[o for _ in sub for o in outcomes]])
    values = appeal_values(report, rng, quirks)
    if drop is not None and rng.random() < drop:
        values.pop(rng.randrange(len(values)))
        damaged.add(("appeals", "appeals"))
    t4.row(values)
    return t4.lines


def _closing(
    report: SyntheticReport, heads: list[str], problems: list[str], others: list[str], published: str
) -> list[str]:
    return [
        f"## {heads[4]}",
        "",
        *problems,
        "",
        f"## {heads[5]}",
        "",
        *others,
        "",
        report.agency,
        "",
        published,
    ]


def _small_table(row: DataRow, per_row: str, measures: int) -> list[str]:
    """One template row as its own table: ``### label``, stand-in headers, the numbers."""
    lead = [c for c in row.lead if c]
    stand_ins = [f"数据{k}" for k in range(1, measures)] + ["总计" if measures == 7 else f"数据{measures}"]
    label = [lead[-1]] if per_row == "label" else []
    header = (["项目"] if per_row == "label" else []) + stand_ins
    table = _Table()
    table.row(header)
    table.row([*label, *row.values])
    return [f"### {lead[-1]}", "", *table.lines, ""]


def _per_row(
    report: SyntheticReport,
    rng: random.Random,
    quirks: Quirks,
    out: list[str],
    heads: list[str],
    problems: list[str],
    others: list[str],
    published: str,
    per_row: str,
) -> MarkdownRendering:
    tax = taxonomy()
    out += [f"## {heads[1]}", ""]
    for section in table2_sections(report, rng, quirks):
        out += [f"### {section.title}", ""]
        for row in section.rows:
            out += _small_table(row, per_row, len(section.measures))
    out += [f"## {heads[2]}", ""]
    labels = [a.label for a in tax.applicant_types]
    head = _Table()
    head.row([APPLICANTS, labels[0], LEGAL_PERSONS, *["-"] * (len(labels) - 3), labels[-1]])
    head.row(["-", "-", *labels[1:-1], "-"])
    out += [*head.lines, ""]
    for row in table3_rows(report, rng, quirks):
        for parent in [c for c in row.lead if c][:-1]:  # 三、本年度办理结果, （三）不予公开
            out += [f"### {parent}", ""]
        out += _small_table(row, per_row, len(row.values))
    out += [f"## {heads[3]}", "", *_table4(report, rng, quirks, None, set()), ""]
    out += _closing(report, heads, problems, others, published)
    return MarkdownRendering("\n".join(out) + "\n")


def render_markdown(
    report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None, **damage: Any
) -> bytes:
    quirks = quirks or Quirks()
    return render_markdown_parts(report, rng, quirks, **damage).text.encode(quirks.encoding)


__all__ = ["MarkdownRendering", "render_markdown", "render_markdown_parts"]
