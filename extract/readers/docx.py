"""Word 2007+ (.docx): the body of ``word/document.xml`` in order, paragraphs and table rows.

* paragraphs are one-cell rows (a ``<w:br/>`` inside one starts a new row, as ``<br>`` does in HTML);
* table rows are rows of cells: a ``gridSpan`` cell is emitted once, a ``vMerge`` continuation
  cell is an empty string (the matcher ignores empty label cells), and a blank merged value
  cell over several header columns is widened exactly as in the HTML reader (``SpanAligner``);
* text inside a cell — several paragraphs, line breaks — is joined with newlines;
* a table split in two (table 三 continued after a page break) is just more rows.

The file is untrusted: a zip bomb or an XML entity bomb must be refused quickly, with a
reason, before anything large is decompressed or expanded.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator

from lxml import etree

from extract import limits
from extract.document import Document, Row, UnreadableDocument
from extract.normalize import ARTEFACTS
from extract.readers.html import Placed, SpanAligner

SUFFIXES = frozenset({".docx"})
# No SIGNATURES: signatures are plain prefixes and every zip (XLSX, PPTX, archives) starts with
# PK\x03\x04, so claiming it would misread those as damaged Word files. The suffix picks this
# reader, and ``read`` checks the zip really holds a Word document, naming what it is otherwise.

# Limits live in extract.limits; bound here so tests can lower them on this module.
MAX_XML_BYTES = limits.MAX_DOCX_PART_BYTES
MAX_RATIO = limits.MAX_DOCX_RATIO
MAX_MEMBERS = limits.MAX_ZIP_MEMBERS

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_P, _TBL, _TR, _TC, _SDT, _SDT_CONTENT, _CUSTOM_XML = (
    W + n for n in ("p", "tbl", "tr", "tc", "sdt", "sdtContent", "customXml")
)
_T, _BR, _CR, _TAB, _NB_HYPHEN = (W + n for n in ("t", "br", "cr", "tab", "noBreakHyphen"))
_TC_PR, _GRID_SPAN, _V_MERGE, _H_MERGE = (W + n for n in ("tcPr", "gridSpan", "vMerge", "hMerge"))
_TR_PR, _GRID_BEFORE = W + "trPr", W + "gridBefore"
_VAL = W + "val"
# Elements that only wrap body content (content controls, custom XML, tracked insertions).
_WRAPPERS = frozenset({_SDT, _SDT_CONTENT, _CUSTOM_XML, W + "ins", W + "moveTo"})

_OFFICE_DOCUMENT = re.compile(
    rb"""Type="[^"]*/officeDocument"[^>]*Target="/?([^"]+)"|Target="/?([^"]+)"[^>]*Type="[^"]*/officeDocument\""""
)
_OTHER_OFFICE = (
    ("xl/workbook.xml", "an Excel workbook (.xlsx)"),
    ("ppt/presentation.xml", "a PowerPoint presentation (.pptx)"),
    ("mimetype", "an OpenDocument file (.odt/.ods): save it as .docx"),
)


def _parser() -> etree.XMLParser:
    # No entity expansion, no network, no "huge" documents: hostile XML stays small and fast.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, collect_ids=False
    )


# ---------------------------------------------------------------------------- the zip


def _member(zf: zipfile.ZipFile, name: str) -> bytes:
    """Read one member, refusing a zip bomb before and while decompressing it."""
    info = zf.getinfo(name)
    if info.file_size > MAX_XML_BYTES:
        raise UnreadableDocument(
            f"DOCX part {name} would unpack to {info.file_size // 2**20} MiB "
            f"(limit {MAX_XML_BYTES // 2**20} MiB): refused as a possible zip bomb"
        )
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 2**20:
        raise UnreadableDocument(
            f"DOCX part {name} is compressed {info.file_size // info.compress_size}:1 "
            f"(limit {MAX_RATIO}:1): refused as a possible zip bomb"
        )
    with zf.open(info) as fh:
        # The declared size can lie: never read more than the limit, whatever the header says.
        data = fh.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise UnreadableDocument(f"DOCX part {name} unpacks past {MAX_XML_BYTES // 2**20} MiB: refused")
    return data


def _main_part(zf: zipfile.ZipFile) -> str:
    names = set(zf.namelist())
    target = "word/document.xml"
    if "_rels/.rels" in names:
        m = _OFFICE_DOCUMENT.search(_member(zf, "_rels/.rels"))
        if m:
            target = (m.group(1) or m.group(2)).decode("utf-8", "replace")
    if target in names:
        return target
    if "word/document.xml" in names:
        return "word/document.xml"
    for marker, what in _OTHER_OFFICE:
        if marker in names:
            raise UnreadableDocument(f"zip file that is not a Word document: {what}")
    raise UnreadableDocument("zip file that is not a Word document (no word/document.xml inside)")


def document_xml(data: bytes) -> bytes:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):  # a damaged directory fails in many ways
        if data.startswith(b"PK"):
            raise UnreadableDocument("damaged or truncated DOCX: the zip cannot be opened") from None
        raise UnreadableDocument("not a DOCX: the file is not a zip container") from None
    with zf:
        if len(zf.infolist()) > MAX_MEMBERS:
            raise UnreadableDocument(f"zip with more than {MAX_MEMBERS} parts: not a Word document")
        name = "the package relationships"
        try:
            name = _main_part(zf)
            return _member(zf, name)
        # Damaged local headers or offsets: BadZipFile, or ValueError ("negative seek value").
        except (zipfile.BadZipFile, EOFError, zlib.error, ValueError, OSError) as exc:
            raise UnreadableDocument(
                f"damaged or truncated DOCX: {name} cannot be unpacked ({exc})"
            ) from None
        except NotImplementedError as exc:  # an unsupported compression method or encryption
            raise UnreadableDocument(f"DOCX uses an unsupported zip feature: {exc}") from None


# ---------------------------------------------------------------------------- the XML


# "<!DOCTYPE" / "<!ENTITY" in the encodings an XML part may use (UTF-8 and UTF-16 either way).
_DTD_MARKERS = tuple(
    m.encode(e) for m in ("<!DOCTYPE", "<!ENTITY") for e in ("utf-8", "utf-16-le", "utf-16-be")
)


def _parse(xml: bytes) -> etree._Element:
    # Two cheap scans for "<!" first: a normal part has none, so the marker scans rarely run.
    if (b"<!" in xml or b"<\x00!" in xml) and any(marker in xml for marker in _DTD_MARKERS):
        # Word never writes a DTD into document.xml; entity declarations are an expansion attack.
        raise UnreadableDocument(
            "DOCX document.xml declares a DTD or entities: refused (not written by Word)"
        )
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        detail = " ".join(str(exc).split())  # lxml's message can span lines; a reason is one line
        raise UnreadableDocument(f"damaged DOCX: document.xml is not well-formed XML ({detail})") from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None:  # a DTD in an encoding the byte check cannot see
        raise UnreadableDocument(
            "DOCX document.xml declares a DTD or entities: refused (not written by Word)"
        )
    return root


def _para_lines(p: etree._Element) -> list[str]:
    """A paragraph's text split at its line breaks."""
    parts: list[str] = []
    for el in p.iter(_T, _BR, _CR, _TAB, _NB_HYPHEN):
        tag = el.tag
        if tag == _T:
            parts.append(el.text or "")
        elif tag == _TAB:
            parts.append(" ")
        elif tag == _NB_HYPHEN:
            parts.append("-")
        else:
            parts.append("\n")
    if not parts:
        return []
    text = ARTEFACTS.sub("", "".join(parts))
    return [line for line in (" ".join(ln.split()) for ln in text.split("\n")) if line]


def _cell_text(tc: etree._Element) -> str:
    lines: list[str] = []
    for child in tc:  # a cell's paragraphs are its children (or inside a content control)
        if child.tag == _P:
            lines.extend(_para_lines(child))
        elif child.tag in _WRAPPERS:
            for p in child.iter(_P):
                lines.extend(_para_lines(p))
    return "\n".join(lines)


def _children(el: etree._Element) -> Iterator[etree._Element]:
    """Child elements, looking through content controls and other wrappers."""
    for child in el:
        if child.tag in _WRAPPERS:
            yield from _children(child)
        else:
            yield child


def _child(el: etree._Element | None, tag: str) -> etree._Element | None:
    """The first child with ``tag``; a plain loop is several times faster than ``find`` here."""
    if el is not None:
        for child in el:
            if child.tag == tag:
                return child
    return None


def _int_val(el: etree._Element | None, default: int) -> int:
    if el is None:
        return default
    raw = el.get(_VAL, "")
    return min(int(raw), 1000) if raw.isdigit() and int(raw) > 0 else default


class _Body:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def blocks(self, container: etree._Element) -> None:
        for child in _children(container):
            tag = child.tag
            if tag == _P:
                self.rows.extend([line] for line in _para_lines(child))
            elif tag == _TBL:
                self.table(child)

    def table(self, tbl: etree._Element) -> None:
        aligner = SpanAligner()
        # Only tables holding tables (layout tables) pay for the per-cell check.
        nested = next(tbl.iterdescendants(_TBL), None) is not None
        for tr in _children(tbl):
            if tr.tag != _TR:
                continue
            cells = [c for c in _children(tr) if c.tag == _TC]
            if nested and any(next(c.iterdescendants(_TBL), None) is not None for c in cells):
                # Layout table: the cell holds paragraphs and tables of its own.
                for cell in cells:
                    self.blocks(cell)
                continue
            col = _int_val(_child(_child(tr, _TR_PR), _GRID_BEFORE), 0)
            placed: list[Placed] = []
            for tc in cells:
                pr = _child(tc, _TC_PR)
                span, covered, hidden = 1, False, False
                if pr is not None:
                    span = _int_val(_child(pr, _GRID_SPAN), 1)
                    vmerge = _child(pr, _V_MERGE)
                    covered = vmerge is not None and vmerge.get(_VAL, "continue") != "restart"
                    hmerge = _child(pr, _H_MERGE)
                    hidden = hmerge is not None and hmerge.get(_VAL, "continue") != "restart"
                if hidden:  # old-style horizontal merge: the cell is part of the one before
                    if placed:
                        placed[-1].span += span
                    col += span
                    continue
                placed.append(Placed("" if covered else _cell_text(tc), col, span, covered=covered))
                col += span
            row = aligner.row(placed)
            if any(row):
                self.rows.append(row)


def read(data: bytes) -> Document:
    root = _parse(document_xml(data))
    body = root.find(W + "body")
    if body is None:
        raise UnreadableDocument("DOCX without a document body: nothing to read")
    for fallback in list(root.iter(_MC_FALLBACK)):
        # Alternate content repeats a text box for old readers: keep only the preferred choice.
        fallback.getparent().remove(fallback)
    reader = _Body()
    reader.blocks(body)
    lines = [" ".join(c for c in row if c) for row in reader.rows]
    return Document(rows=reader.rows, format="docx", text="\n".join(lines), encoding="utf-8")
