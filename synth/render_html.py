"""A synthetic report as a government web page (QUIRKS.md "HTML"), and the grid both Word-like renderers share.

``report_blocks`` lays the report out once as paragraphs and grid tables (cells with their
row/column spans, exactly as Word or a CMS would merge them); ``render_html`` prints those blocks
as HTML and ``synth.render_docx`` as WordprocessingML, each with its own format's quirks:

* HTML: ``rowspan``/``colspan``, ``&nbsp;`` blanks, ``<p><span style=…>`` wrappers, Word-pasted
  ``<o:p>``, ``<br>`` in broken header cells, sometimes a layout table around everything, a
  page fragment or a full page, a GB2312/GBK/GB18030 ``meta charset`` (or none) for GB text;
* both: table 二 on Word's 5-column grid whose value spans do not line up with the header
  (realdocs 上海 2019), table 三 split into two tables, a blank table-四 block merged into one cell.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field

from schemas.taxonomy import taxonomy
from synth.model import SyntheticReport
from synth.narrative import closing, headings, overview, title
from synth.quirks import Quirks, format_value
from synth.render import APPLICANTS, CHECK_NOTE, CONTENT, LEGAL_PERSONS, _short_name
from synth.tables import DataRow, proceeding_headers, table2_sections, table3_rows

T3_LABEL_COLUMNS = 3


@dataclass
class GridCell:
    text: str  # "\n" separates printed lines (a header broken mid-word)
    colspan: int = 1
    rowspan: int = 1


@dataclass
class GridTable:
    columns: int
    rows: list[list[GridCell]]  # origin cells only: positions covered by a rowspan are absent


@dataclass
class Blocks:
    """The report in print order: a str is a paragraph, a GridTable a table."""

    items: list[str | GridTable] = field(default_factory=list)
    title: str = ""
    headings: set[str] = field(default_factory=set)  # paragraphs printed as headings


# ---------------------------------------------------------------------------- the shared layout


def _broken(label: str, rng: random.Random, quirks: Quirks) -> str:
    if quirks.broken_headers and len(label) == 4 and rng.random() < 0.7:
        return label[:2] + "\n" + label[2:]
    return label


def _table2(report: SyntheticReport, rng: random.Random, quirks: Quirks) -> GridTable:
    # Word's own grid: 5 columns whose value spans do not follow the header's (上海 2019).
    word_grid = rng.random() < 0.4
    columns = 5 if word_grid else 4
    rows: list[list[GridCell]] = []
    for section in table2_sections(report, rng, quirks):
        rows.append([GridCell(section.title, colspan=columns)])
        n = len(section.measures)
        if word_grid:
            head_spans = {1: [4], 2: [2, 2], 3: [1, 2, 1]}[n]
            value_spans = {1: [4], 2: [2, 2], 3: [2, 1, 1]}[n]
        else:
            head_spans = value_spans = {1: [3], 2: [1, 2], 3: [1, 1, 1]}[n]
        rows.append(
            [GridCell(CONTENT), *(GridCell(m, s) for m, s in zip(section.measures, head_spans, strict=True))]
        )
        for row in section.rows:
            label = row.lead[0] or ""
            rows.append(
                [GridCell(label), *(GridCell(v, s) for v, s in zip(row.values, value_spans, strict=True))]
            )
    return GridTable(columns, rows)


def _table3_header(rng: random.Random, quirks: Quirks) -> list[list[GridCell]]:
    labels = [a.label for a in taxonomy().applicant_types]
    note = CHECK_NOTE.replace("（", "(").replace("）", ")") if quirks.ascii_parens else CHECK_NOTE
    n = len(labels)
    return [
        [GridCell(note, T3_LABEL_COLUMNS, 3), GridCell(APPLICANTS, n)],
        [GridCell(labels[0], 1, 2), GridCell(LEGAL_PERSONS, n - 2), GridCell(labels[-1], 1, 2)],
        [GridCell(_broken(x, rng, quirks)) for x in labels[1:-1]],
    ]


def _table3_segment(data: list[DataRow]) -> list[list[GridCell]]:
    """Data rows with their label cells merged down (rowspan) over the rows that omit them."""
    rows: list[list[GridCell]] = []
    for r, row in enumerate(data):
        cells: list[GridCell] = []
        for c, label in enumerate(row.lead):
            if label is None and r > 0:
                continue  # covered by the merged cell above
            span = 1 + row.fill_before if c == len(row.lead) - 1 else 1
            down = 1
            while r + down < len(data) and len(data[r + down].lead) > c and data[r + down].lead[c] is None:
                down += 1
            # A continued table's first row: the merged label stayed on the previous page's table.
            cells.append(GridCell(label or "", span, down))
        rows.append(cells + [GridCell(v) for v in row.values])
    return rows


def _table3(report: SyntheticReport, rng: random.Random, quirks: Quirks) -> list[GridTable]:
    data = table3_rows(report, rng, quirks)
    columns = T3_LABEL_COLUMNS + len(taxonomy().applicant_codes)
    header = _table3_header(rng, quirks)
    if rng.random() < 0.35:  # split over a page break into two tables
        cut = rng.randint(4, len(data) - 3)
        second_header = header if rng.random() < 0.3 else []  # some repeat the header
        return [
            GridTable(columns, header + _table3_segment(data[:cut])),
            GridTable(columns, [list(r) for r in second_header] + _table3_segment(data[cut:])),
        ]
    return [GridTable(columns, header + _table3_segment(data))]


def _table4(report: SyntheticReport, rng: random.Random, quirks: Quirks) -> GridTable:
    tax = taxonomy()
    outcomes = [o.label for o in tax.appeal_outcomes]
    n = len(outcomes)
    top, sub = proceeding_headers()
    rows = [
        [GridCell(top[0], n), GridCell(top[1], n * len(sub))],
        [*(GridCell(_broken(o, rng, quirks), 1, 2) for o in outcomes), *(GridCell(s, n) for s in sub)],
        [GridCell(_broken(o, rng, quirks)) for _ in sub for o in outcomes],
    ]
    values: list[GridCell] = []
    for p in tax.proceeding_codes:
        block = [report.appeals[(p, o)] for o in tax.outcome_codes]
        if all(v is None for v in block) and rng.random() < 0.5:
            # A proceeding with nothing to report: one merged blank cell over its five columns.
            values.append(GridCell(format_value(None, rng, quirks), n))
        else:
            values.extend(GridCell(format_value(v, rng, quirks)) for v in block)
    rows.append(values)
    return GridTable(n * (1 + len(sub)), rows)


def report_blocks(report: SyntheticReport, rng: random.Random, quirks: Quirks) -> Blocks:
    short = _short_name(report.agency)
    heads = headings(quirks)
    problems, others, published = closing(report.agency, short, report.year, rng)
    out = Blocks(title=title(report.agency, report.year, quirks), headings=set(heads))
    out.items.append(out.title)
    out.items.append(heads[0])
    out.items.extend(overview(report.agency, short, report.year, rng))
    out.items += [heads[1], _table2(report, rng, quirks)]
    out.items += [heads[2], *_table3(report, rng, quirks)]
    out.items += [heads[3], _table4(report, rng, quirks)]
    out.items += [heads[4], *problems, heads[5], *others, report.agency, published]
    return out


# ---------------------------------------------------------------------------- HTML


_FONTS = ("宋体", "仿宋_GB2312", "微软雅黑", "SimSun")


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


class _Html:
    def __init__(self, rng: random.Random, quirks: Quirks) -> None:
        self.rng, self.quirks = rng, quirks
        self.word = rng.random() < 0.5  # pasted from Word: mso styles and <o:p>

    def span(self, text: str) -> str:
        if not text:
            return ""
        style = f"font-family:{self.rng.choice(_FONTS)};font-size:{self.rng.choice([12, 14, 16])}pt"
        return f'<span style="{style}">{_esc(text)}</span>'

    def o_p(self) -> str:
        return self.rng.choice(["<o:p></o:p>", "<o:p>&nbsp;</o:p>"]) if self.word else ""

    def paragraph(self, text: str, heading: bool) -> str:
        body = self.span(text)
        if heading:
            body = f"<strong>{body}</strong>" if self.rng.random() < 0.5 else body
        tag = "div" if self.rng.random() < 0.15 else "p"
        cls = ' class="MsoNormal"' if self.word else ""
        return f'<{tag}{cls} style="text-indent:2em;line-height:1.5">{body}{self.o_p()}</{tag}>'

    def cell_html(self, cell: GridCell) -> str:
        attrs = ""
        if cell.colspan > 1:
            attrs += f' colspan="{cell.colspan}"'
        if cell.rowspan > 1:
            attrs += f' rowspan="{cell.rowspan}"'
        if not cell.text.strip():
            inner = self.rng.choice(
                ["&nbsp;", "", "<p>&nbsp;</p>", f'<p align="center">&nbsp;{self.o_p()}</p>']
            )
        else:
            lines = cell.text.split("\n")
            if self.rng.random() < 0.5:
                inner = "<br />".join(self.span(x) for x in lines)
                inner = f'<p align="center">{inner}{self.o_p()}</p>'
            else:
                inner = "".join(f'<p align="center">{self.span(x)}{self.o_p()}</p>' for x in lines)
        width = f' style="width:{self.rng.randint(30, 220)}px"' if self.rng.random() < 0.5 else ""
        return f'<td{attrs} valign="middle"{width}>{inner}</td>'

    def table(self, table: GridTable) -> str:
        rows = "".join("<tr>" + "".join(self.cell_html(c) for c in row) + "</tr>\n" for row in table.rows)
        border = self.rng.choice(['border="1" cellspacing="0"', 'class="MsoNormalTable" border="1"'])
        return f'<table align="center" {border}><tbody>\n{rows}</tbody></table>\n'


# How a GB18030-encoded page declares itself: usually as one of its subsets, sometimes not at all.
GB_CHARSETS = ("gb2312", "gbk", "gb18030", None)


def render_html_text(report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None) -> str:
    """The page as text, its meta charset naming ``charset`` (see ``render_html``)."""
    return _page(report, rng, quirks or Quirks(), charset="utf-8")


def _page(report: SyntheticReport, rng: random.Random, quirks: Quirks, charset: str | None) -> str:
    blocks = report_blocks(report, rng, quirks)
    out = _Html(rng, quirks)
    parts = []
    for item in blocks.items:
        if isinstance(item, GridTable):
            parts.append(out.table(item))
        else:
            parts.append(out.paragraph(item, item in blocks.headings or item == blocks.title))
    content = "\n".join(parts)
    if rng.random() < 0.3:  # the CMS wraps the article in a layout table
        side = '<td width="20%"><p>首页</p><p>信息公开</p></td>' if rng.random() < 0.3 else ""
        content = (
            f'<table width="100%" border="0"><tr>{side}<td class="content">\n{content}\n</td></tr></table>'
        )
    if rng.random() < 0.3:  # a content fragment, as archived by a crawler (上海 2019)
        return content
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">\n' if charset else ""
    head = f"<head>\n{meta}<title>{_esc(blocks.title)}</title>\n<style>p{{margin:0}}</style>\n</head>"
    nav = '<div class="nav"><a href="/">首页</a> &gt; <a href="/xxgk/">政府信息公开</a></div>'
    return f'<!DOCTYPE html>\n<html>\n{head}\n<body>\n{nav}\n<div id="zoom">\n{content}\n</div>\n</body>\n</html>\n'


def render_html(report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None) -> bytes:
    """The page's bytes: UTF-8 (with a BOM for utf-8-sig), or GB18030 declared as GB2312/GBK/GB18030
    or not declared at all; a UTF-16 report is published as UTF-8 (pages are never UTF-16)."""
    quirks = quirks or Quirks()
    if quirks.encoding == "gb18030":
        charset = rng.choice(GB_CHARSETS)
        return _page(report, rng, quirks, charset).encode("gb18030")
    text = _page(report, rng, quirks, "utf-8")
    return text.encode("utf-8-sig" if quirks.encoding == "utf-8-sig" else "utf-8")


__all__ = ["Blocks", "GridCell", "GridTable", "render_html", "render_html_text", "report_blocks"]
