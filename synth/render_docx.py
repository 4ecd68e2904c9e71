"""A synthetic report as a Word document (.docx), written as WordprocessingML by hand.

The layout is ``synth.render_html.report_blocks`` (the same tables, spans and splits); this
module prints it the way Word does: merged columns as ``w:gridSpan``, merged rows as
``w:vMerge`` restart/continuation cells (present in every covered row), a broken header as
``w:br`` or two paragraphs in one cell, text cut into several runs (Word splits runs at every
formatting or proofing change), ``_GoBack`` bookmarks, and a page break before a continued
table 三. No python-docx: the package is a few XML parts, and writing them keeps full control of
the merges (and keeps python-docx a dev-only dependency).
"""

from __future__ import annotations

import io
import random
import zipfile
from xml.sax.saxutils import escape

from synth.model import SyntheticReport
from synth.quirks import Quirks
from synth.render_html import GridCell, GridTable, report_blocks

_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)
PAGE_WIDTH_TWIPS = 8800  # A4 text width; columns share it (LibreOffice needs real grid widths)


def package(body_xml: str, *, document_name: str = "word/document.xml") -> bytes:
    """A minimal .docx around ``body_xml`` (the children of ``w:body``)."""
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"<w:document {_NS}><w:body>{body_xml}"
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>'
    )
    rels = RELS.replace("word/document.xml", document_name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            _entry("[Content_Types].xml"), CONTENT_TYPES.replace("/word/document.xml", "/" + document_name)
        )
        zf.writestr(_entry("_rels/.rels"), rels)
        zf.writestr(_entry(document_name), document)
    return buf.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    """A part dated 1980-01-01 as Word dates them, so the same document gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def run(text: str, *, bold: bool = False) -> str:
    props = '<w:rPr><w:rFonts w:eastAsia="宋体"/>' + ("<w:b/>" if bold else "") + "</w:rPr>"
    return f'<w:r>{props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def paragraph(text: str, *, bold: bool = False, runs: list[str] | None = None) -> str:
    """One paragraph; ``runs`` prints the text cut into those pieces (Word's run splits)."""
    pieces = runs if runs is not None else [text]
    return "<w:p>" + "".join(run(p, bold=bold) for p in pieces if p) + "</w:p>"


def _cut(text: str, rng: random.Random) -> list[str]:
    """The text as Word may store it: several runs, cut anywhere (even inside a number)."""
    if len(text) < 2 or rng.random() < 0.6:
        return [text]
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 3))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


class _Docx:
    def __init__(self, rng: random.Random, quirks: Quirks) -> None:
        self.rng, self.quirks = rng, quirks

    def para(self, text: str, *, bold: bool = False) -> str:
        xml = paragraph(text, bold=bold, runs=_cut(text, self.rng))
        if self.quirks.bookmark and self.rng.random() < 0.1:  # Word's _GoBack bookmark
            xml = xml.replace(
                "<w:p>", '<w:p><w:bookmarkStart w:id="0" w:name="_GoBack"/><w:bookmarkEnd w:id="0"/>', 1
            )
        return xml

    def cell_content(self, text: str) -> str:
        lines = text.split("\n")
        if len(lines) > 1 and self.rng.random() < 0.5:  # a line break inside one paragraph
            inner = "<w:r><w:br/></w:r>".join(run(x) for x in lines)
            return f"<w:p>{inner}</w:p>"
        return "".join(self.para(x) for x in lines)

    def table(self, table: GridTable) -> str:
        width = PAGE_WIDTH_TWIPS // table.columns
        grid = "".join(f'<w:gridCol w:w="{width}"/>' for _ in range(table.columns))
        borders = "".join(
            f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        )
        out = [
            f'<w:tbl><w:tblPr><w:tblW w:w="{width * table.columns}" w:type="dxa"/>'
            f"<w:tblBorders>{borders}</w:tblBorders></w:tblPr><w:tblGrid>{grid}</w:tblGrid>"
        ]
        for cells in _word_rows(table):
            out.append("<w:tr>")
            for cell, merge in cells:
                props = f'<w:tcW w:w="{width * cell.colspan}" w:type="dxa"/>'
                if cell.colspan > 1:
                    props += f'<w:gridSpan w:val="{cell.colspan}"/>'
                if merge == "restart":
                    props += '<w:vMerge w:val="restart"/>'
                elif merge == "continue":
                    props += "<w:vMerge/>" if self.rng.random() < 0.7 else '<w:vMerge w:val="continue"/>'
                content = "<w:p/>" if merge == "continue" or not cell.text else self.cell_content(cell.text)
                out.append(f"<w:tc><w:tcPr>{props}</w:tcPr>{content}</w:tc>")
            out.append("</w:tr>")
        out.append("</w:tbl>")
        return "".join(out)


def _word_rows(table: GridTable) -> list[list[tuple[GridCell, str | None]]]:
    """Rows with every grid position present: a rowspan becomes a restart cell and continuations."""
    carry: dict[int, tuple[GridCell, int]] = {}  # start column -> (origin cell, rows still covered)
    rows = []
    for origin_cells in table.rows:
        out: list[tuple[GridCell, str | None]] = []
        col = 0
        queue = list(origin_cells)
        next_carry: dict[int, tuple[GridCell, int]] = {}
        while queue or col in carry:
            if col in carry:
                cell, left = carry[col]
                out.append((cell, "continue"))
                if left > 1:
                    next_carry[col] = (cell, left - 1)
                col += cell.colspan
                continue
            cell = queue.pop(0)
            out.append((cell, "restart" if cell.rowspan > 1 else None))
            if cell.rowspan > 1:
                next_carry[col] = (cell, cell.rowspan - 1)
            col += cell.colspan
        carry = next_carry
        rows.append(out)
    return rows


def render_docx(report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None) -> bytes:
    quirks = quirks or Quirks()
    blocks = report_blocks(report, rng, quirks)
    out = _Docx(rng, quirks)
    body: list[str] = []
    previous_table = False
    for item in blocks.items:
        if isinstance(item, GridTable):
            if previous_table:  # a table continued on the next page: Word keeps them apart
                body.append('<w:p><w:r><w:br w:type="page"/></w:r></w:p>' if rng.random() < 0.5 else "<w:p/>")
            body.append(out.table(item))
            previous_table = True
        else:
            body.append(out.para(item, bold=item in blocks.headings or item == blocks.title))
            previous_table = False
    return package("".join(body))


__all__ = ["package", "paragraph", "render_docx", "run"]
