"""Tables 二, 三 and 四 as layout-neutral rows, labelled from ``schemas.taxonomy``.

A ``DataRow`` is one printed row: its label columns (``None`` where a vertically merged cell
from above covers the position), its value texts, and the printed grid width. The layouts in
``synth.render`` flatten these rows the way each seed does.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from schemas.taxonomy import taxonomy
from synth.model import SyntheticReport
from synth.quirks import Quirks, format_value, misspell, style_label, typo_candidates

T3_LABEL_COLUMNS = 3  # 一、… | （一）… | 1.…
T2_WIDTH = 4  # 信息内容 + up to three measures
_TOP = re.compile(r"^[一二三四五六七八九十]+、")
# Counts that real reports annotate inside the cell: 22（其中修订16件）.
NOTE_ITEMS = {"regulations", "normative_documents"}


@dataclass
class DataRow:
    lead: list[str | None]  # label columns; None = covered by a merged cell above
    values: list[str]
    width: int  # printed grid width (label columns + value columns)
    fill_before: int = 0  # empty grid cells between labels and values (spanned label columns)
    key: str = ""  # category / item code, for diagnostics


@dataclass
class Section:
    """A table 二 block: 第二十条第（x）项, the 信息内容 header, then item rows."""

    title: str
    measures: list[str]
    rows: list[DataRow]


def _label_pieces(code: str) -> list[str]:
    """The printed cells of a table 三 row label: parent cell (if it starts a group) and leaf."""
    return taxonomy().category(code).label.split(" ", 1)


def table3_rows(report: SyntheticReport, rng: random.Random, quirks: Quirks) -> list[DataRow]:
    tax = taxonomy()
    codes = report.category_codes
    candidates = [c for c in codes if tax.category(c).leaf in typo_candidates()]
    misspelt = set(rng.sample(candidates, min(quirks.typos, len(candidates))))
    rows = []
    for code in codes:
        pieces = _label_pieces(code)
        if code in misspelt:
            leaf = tax.category(code).leaf
            pieces[-1] = pieces[-1].replace(leaf, misspell(leaf, rng))
        # Classify on the canonical label: styling may turn 1. into （1）.
        lead: list[str | None]
        if len(pieces) == 2 and _TOP.match(pieces[0]):  # 三、本年度办理结果 | （一）予以公开
            lead = list(pieces)
        elif len(pieces) == 2:  # group start: merged 三、 | （三）不予公开 | 1.属于国家秘密
            lead = [None, *pieces]
        elif _TOP.match(pieces[0]):  # 一、本年新收… spanning all label columns
            lead = list(pieces)
        elif pieces[0][0] == "（":  # （二）部分公开… spanning two label columns
            lead = [None, *pieces]
        else:  # 2.其他法律行政法规禁止公开 under merged 三、 and （三）
            lead = [None, None, *pieces]
        lead = [None if p is None else style_label(p, rng, quirks) for p in lead]
        values = [format_value(report.applications[(code, a)], rng, quirks) for a in tax.applicant_codes]
        rows.append(DataRow(lead, values, T3_LABEL_COLUMNS + len(values), T3_LABEL_COLUMNS - len(lead), code))
    return rows


def table2_sections(report: SyntheticReport, rng: random.Random, quirks: Quirks) -> list[Section]:
    sections: list[Section] = []
    for item in taxonomy().proactive[report.template]:
        title = style_label(item.section, rng, quirks)
        if not sections or sections[-1].title != title:
            sections.append(Section(title, [style_label(m.label, rng, quirks) for m in item.measures], []))
        values = []
        for m in item.measures:
            key = (item.code, m.code)
            note = item.code in NOTE_ITEMS and rng.random() < quirks.notes_in_cells
            unit = report.units.get(key)
            values.append(format_value(report.proactive[key], rng, quirks, unit=unit, note=note))
        label = style_label(item.label, rng, quirks)
        sections[-1].rows.append(DataRow([label], values, T2_WIDTH, 0, item.code))
    return sections


def appeal_values(report: SyntheticReport, rng: random.Random, quirks: Quirks) -> list[str]:
    tax = taxonomy()
    return [
        format_value(report.appeals[(p, o)], rng, quirks)
        for p in tax.proceeding_codes
        for o in tax.outcome_codes
    ]


def proceeding_headers() -> tuple[list[str], list[str]]:
    """(top header cells, litigation sub-header cells) from the proceeding labels."""
    top: list[str] = []
    sub: list[str] = []
    for p in taxonomy().appeal_proceedings:
        head, _, tail = p.label.partition("/")
        if head not in top:
            top.append(head)
        if tail:
            sub.append(tail)
    return top, sub
