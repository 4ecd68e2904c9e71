"""A synthetic report as a PDF with a text layer, the way agencies publish them: a Word
document exported to PDF.

The DOCX is built here with python-docx and converted by LibreOffice (``soffice --headless --convert-to pdf``). Table 三 is a ruled grid
with merged cells: 三、本年度办理结果 in a narrow first column merged down the result rows (so
it prints one character per line, as in real reports), parent labels （三）不予公开 merged down
their sub-rows, long labels wrapping inside their cells; the table is long enough to break
across pages. Null cells print as empty cells or dashes, which a ruled grid keeps in place.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from schemas.taxonomy import taxonomy
from synth.model import SyntheticReport
from synth.narrative import closing, headings, overview, title
from synth.quirks import Quirks
from synth.render import CHECK_NOTE, CONTENT, _short_name
from synth.tables import appeal_values, proceeding_headers, table2_sections, table3_rows

_VERTICAL = "三、本年度办理结果"
SOFFICE_TIMEOUT_S = 120


class SofficeMissing(RuntimeError):
    """LibreOffice is not installed: PDFs cannot be rendered on this machine."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _docx_module():
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    return Document, OxmlElement, qn, Cm, Pt


def _font(doc, qn, Pt) -> None:
    style = doc.styles["Normal"]
    style.font.size = Pt(10.5)
    style.font.name = "Noto Sans CJK SC"
    # East Asian text takes the eastAsia font; without it LibreOffice may pick one without CJK glyphs.
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "Noto Sans CJK SC")


def _grid(table, OxmlElement, qn) -> None:
    """Single-line borders on every cell edge (real reports rule every cell)."""
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "4")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    tbl_pr.append(borders)


def _widths(table, widths_cm: list[float], Cm) -> None:
    table.autofit = False
    for column, w in zip(table.columns, widths_cm, strict=False):
        column.width = Cm(w)  # the grid columns: LibreOffice lays out by these, not cell widths
    for row in table.rows:
        for cell, w in zip(row.cells, widths_cm, strict=False):
            cell.width = Cm(w)


def build_docx(
    report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None, *, ruled: bool = True
) -> bytes:
    """The report as a DOCX (python-docx): narrative paragraphs and three tables, ruled unless
    ``ruled`` is false (a PDF whose tables have no drawn borders)."""
    quirks = quirks or Quirks()
    Document, OxmlElement, qn, Cm, Pt = _docx_module()
    tax = taxonomy()
    doc = Document()
    _font(doc, qn, Pt)
    short = _short_name(report.agency)
    heads = headings(quirks)
    problems, others, published = closing(report.agency, short, report.year, rng)
    doc.add_paragraph(title(report.agency, report.year, quirks)).alignment = 1
    doc.add_paragraph(heads[0])
    for paragraph in overview(report.agency, short, report.year, rng):
        doc.add_paragraph(paragraph)

    # ---- table 二: one block per 第二十条 item group, each a title row, a header, item rows
    doc.add_paragraph(heads[1])
    for section in table2_sections(report, rng, quirks):
        width = 1 + len(section.measures)
        t = doc.add_table(rows=2 + len(section.rows), cols=4)
        if ruled:
            _grid(t, OxmlElement, qn)
        t.cell(0, 0).merge(t.cell(0, 3)).text = section.title
        header = [CONTENT, *section.measures]
        spans = _spans(width, 4)
        for k, (a, b) in enumerate(spans):
            cell = t.cell(1, a).merge(t.cell(1, b)) if b > a else t.cell(1, a)
            cell.text = header[k]
        for r, row in enumerate(section.rows, start=2):
            cells = [row.lead[0] or "", *row.values]
            for k, (a, b) in enumerate(spans):
                cell = t.cell(r, a).merge(t.cell(r, b)) if b > a else t.cell(r, a)
                cell.text = cells[k]
        doc.add_paragraph("")

    # ---- table 三: label columns 三、 | （三） | 1. then seven value columns
    doc.add_paragraph(heads[2])
    rows = table3_rows(report, rng, quirks)
    labels = [a.label for a in tax.applicant_types]
    n = len(labels)
    t = doc.add_table(rows=3 + len(rows), cols=3 + n)
    if ruled:
        _grid(t, OxmlElement, qn)
    t.cell(0, 0).merge(t.cell(2, 2)).text = CHECK_NOTE
    t.cell(0, 3).merge(t.cell(0, 3 + n - 1)).text = "申请人情况"
    t.cell(1, 3).merge(t.cell(2, 3)).text = labels[0]
    t.cell(1, 4).merge(t.cell(1, 3 + n - 2)).text = "法人或其他组织"
    for k, label in enumerate(labels[1:-1]):
        t.cell(2, 4 + k).text = label
    t.cell(1, 3 + n - 1).merge(t.cell(2, 3 + n - 1)).text = labels[-1]
    first = 3
    vertical_rows: list[int] = []
    parents: dict[str, list[int]] = {}
    for r, row in enumerate(rows, start=first):
        category = tax.category(row.key)
        lead = [p for p in row.lead if p is not None]
        if category.group is None:
            t.cell(r, 0).merge(t.cell(r, 2)).text = lead[-1]
        else:
            vertical_rows.append(r)
            leaf = lead[-1]
            if (
                category.group == "result" or category.code == "other"
            ):  # （一）予以公开 spans the parent and leaf columns
                t.cell(r, 1).merge(t.cell(r, 2)).text = leaf
            else:
                parents.setdefault(category.group, []).append(r)
                t.cell(r, 2).text = leaf
                if len(lead) >= 2 and lead[-2] != _VERTICAL:
                    t.cell(r, 1).text = lead[-2]
        for k, value in enumerate(row.values):
            t.cell(r, 3 + k).text = value
    for group_rows in parents.values():
        top, bottom = group_rows[0], group_rows[-1]
        text = t.cell(top, 1).text
        if bottom > top:
            t.cell(top, 1).merge(t.cell(bottom, 1)).text = text
    if vertical_rows:
        t.cell(vertical_rows[0], 0).merge(t.cell(vertical_rows[-1], 0)).text = _VERTICAL
    _widths(t, [0.7, 2.2, 4.4] + [1.2] * n, Cm)  # a narrow first column stacks 三、本年度办理结果
    doc.add_paragraph("")

    # ---- table 四: two header rows over fifteen value columns
    doc.add_paragraph(heads[3])
    outcomes = [o.label for o in tax.appeal_outcomes]
    top, sub = proceeding_headers()
    m = len(outcomes)
    t = doc.add_table(rows=4, cols=m * 3)
    if ruled:
        _grid(t, OxmlElement, qn)
    t.cell(0, 0).merge(t.cell(0, m - 1)).text = top[0]
    t.cell(0, m).merge(t.cell(0, 3 * m - 1)).text = top[1]
    for k, o in enumerate(outcomes):
        t.cell(1, k).merge(t.cell(2, k)).text = o
    t.cell(1, m).merge(t.cell(1, 2 * m - 1)).text = sub[0]
    t.cell(1, 2 * m).merge(t.cell(1, 3 * m - 1)).text = sub[1]
    for k in range(2 * m):
        t.cell(2, m + k).text = outcomes[k % m]
    for k, value in enumerate(appeal_values(report, rng, quirks)):
        t.cell(3, k).text = value
    doc.add_paragraph("")

    doc.add_paragraph(heads[4])
    for paragraph in problems:
        doc.add_paragraph(paragraph)
    doc.add_paragraph(heads[5])
    for paragraph in others:
        doc.add_paragraph(paragraph)
    doc.add_paragraph(report.agency).alignment = 2
    doc.add_paragraph(published).alignment = 2
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _spans(count: int, width: int) -> list[tuple[int, int]]:
    """``count`` cells over ``width`` grid columns: the last cell takes what is left."""
    spans = [(k, k) for k in range(count - 1)]
    spans.append((count - 1, width - 1))
    return spans


def docx_to_pdf(docx: bytes, *, timeout: float = SOFFICE_TIMEOUT_S) -> bytes:
    """Convert with LibreOffice in a throw-away profile (parallel runs must not share one)."""
    binary = soffice()
    if binary is None:
        raise SofficeMissing("soffice (LibreOffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="gongkai-pdf-") as tmp:
        work = Path(tmp)
        source = work / "report.docx"
        source.write_bytes(docx)
        profile = (work / "profile").as_uri()
        subprocess.run(
            [
                binary,
                "--headless",
                "--norestore",
                f"-env:UserInstallation={profile}",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, "HOME": str(work)},
        )
        return (work / "report.pdf").read_bytes()


def render_pdf(
    report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None, *, ruled: bool = True
) -> bytes:
    """The report as PDF bytes. Raises ``SofficeMissing`` when LibreOffice is absent."""
    # Our own DOCX (not another renderer's): its ruled grid and merges are what this PDF tests.
    docx = build_docx(report, rng, quirks, ruled=ruled)
    return docx_to_pdf(docx)


__all__ = ["SofficeMissing", "build_docx", "docx_to_pdf", "render_pdf", "soffice"]
