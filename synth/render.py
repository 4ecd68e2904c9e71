"""A synthetic report as the bytes of a plain-text file, in one of the seeds' layouts.

``render(report, layout, rng, quirks)``: title, 一、总体情况 (with distractor numbers), the six
section headings, tables 二/三/四 exactly as the seeds of that layout print them, sections
五/六 and the publication date; then encoded as ``quirks.encoding``.
"""

from __future__ import annotations

import random

from schemas.taxonomy import taxonomy
from synth.layouts import LAYOUT_CLASSES, LAYOUTS, Layout
from synth.model import SyntheticReport
from synth.narrative import closing, headings, overview, title
from synth.quirks import Quirks
from synth.tables import T2_WIDTH, appeal_values, proceeding_headers, table2_sections, table3_rows

BOOKMARK = "[bookmark: _GoBack]"
# Table headers that are not taxonomy labels (the taxonomy codes rows and columns, not these).
CHECK_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
APPLICANTS = "申请人情况"
LEGAL_PERSONS = "法人或其他组织"
CONTENT = "信息内容"


def _table2(out: Layout, report: SyntheticReport, rng: random.Random, quirks: Quirks) -> None:
    for section in table2_sections(report, rng, quirks):
        out.header([section.title], T2_WIDTH)
        out.header([CONTENT, *section.measures], T2_WIDTH)
        for row in section.rows:
            out.data(row)
    out.end_table()


def _table3(out: Layout, report: SyntheticReport, rng: random.Random, quirks: Quirks) -> None:
    labels = [a.label for a in taxonomy().applicant_types]
    person, legal, total = labels[0], labels[1:-1], labels[-1]
    note = CHECK_NOTE.replace("（", "(").replace("）", ")") if quirks.ascii_parens else CHECK_NOTE
    if quirks.ascii_punctuation:
        note = note.replace("：", ":").replace("，", ",")
    width = 3 + len(labels)
    if out.name == "text/tabs":  # seed 002's grid
        out.header([note, None, APPLICANTS, *[None] * (len(labels) - 2), total], width)
        out.header([None, None, person, LEGAL_PERSONS], width)
        out.header([None, None, None, *legal], width)
    else:  # seeds 000/001: the note's merged block, then 总计 merged down the last column
        out.header([note, APPLICANTS], width)
        out.header([None, person, LEGAL_PERSONS, total], width)
        out.header([None, None, *[out.broken(x) for x in legal], None], width)
    for row in table3_rows(report, rng, quirks):
        out.data(row)
    out.end_table()


def _table4(out: Layout, report: SyntheticReport, rng: random.Random, quirks: Quirks) -> None:
    outcomes = [o.label for o in taxonomy().appeal_outcomes]
    top, sub = proceeding_headers()
    n = len(outcomes)
    width = n * (1 + len(sub))
    if out.name == "text/tabs":
        out.header([top[0], *[None] * (n - 1), top[1]], width)
        row2: list[str | None] = list(outcomes)
        for s in sub:
            row2 += [s, *[None] * (n - 1)]
        out.header(row2, width)
    else:
        out.header(list(top), width)
        out.header([*[out.broken(o) for o in outcomes], *sub], width)
    out.header([*[None] * n, *[out.broken(o) for _ in sub for o in outcomes]], width)
    out.values_row(appeal_values(report, rng, quirks))
    out.end_table()


def render_text(
    report: SyntheticReport, layout: str, rng: random.Random, quirks: Quirks | None = None
) -> str:
    """The report as text (before encoding). ``quirks`` defaults to a clean report."""
    quirks = quirks or Quirks()
    if layout not in LAYOUT_CLASSES:
        raise ValueError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")
    out = LAYOUT_CLASSES[layout](rng, quirks)
    short = _short_name(report.agency)
    heads = headings(quirks)
    problems, others, published = closing(report.agency, short, report.year, rng)
    prose = overview(report.agency, short, report.year, rng)
    if quirks.bookmark:  # Word leaves its bookmark before a paragraph (seed 004)
        i = rng.randrange(len(prose))
        prose[i] = BOOKMARK + prose[i]
        others[-1] = BOOKMARK + others[-1]

    out.text(title(report.agency, report.year, quirks))
    out.gap()
    out.text(heads[0])
    for paragraph in prose:
        out.text(paragraph)
    out.gap()
    for heading, table in zip(heads[1:4], (_table2, _table3, _table4), strict=True):
        out.text(heading)
        out.gap()
        table(out, report, rng, quirks)
    out.text(heads[4])
    out.lines.extend(problems)
    out.text(heads[5])
    out.lines.extend(others)
    out.gap()
    out.text(report.agency)
    out.text(published)
    text = "\n".join(out.lines) + "\n"
    return text.replace("\n", "\r\n") if quirks.crlf else text


def render(report: SyntheticReport, layout: str, rng: random.Random, quirks: Quirks | None = None) -> bytes:
    """The report as a file's bytes in ``quirks.encoding`` (utf-16 carries its BOM)."""
    quirks = quirks or Quirks()
    return render_text(report, layout, rng, quirks).encode(quirks.encoding)


def _short_name(agency: str) -> str:
    """How a report names its own agency in prose: 我局, 我委, 我市 …"""
    for suffix, short in (("委员会", "我委"), ("管委会", "我委"), ("局", "我局"), ("办事处", "我街道")):
        if agency.endswith(suffix):
            return short
    if agency.endswith("人民政府"):
        return "我" + agency.removesuffix("人民政府")[-1]
    return "我单位"


__all__ = ["LAYOUTS", "Quirks", "render", "render_text"]
