"""Bytes in, a ``Report`` out. Pure functions: no Dagster, no database, no file writes.

``extract_bytes`` never raises for bad input: every failure becomes a rejected report whose
``error`` is a one-line reason a person can act on.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from extract.document import UnreadableDocument
from extract.limits import MAX_BYTES
from extract.matcher import match
from extract.metadata import path_year, resolve
from extract.readers import reader_for
from extract.report import Report, build_report, rejected, table3_row_count

# Bumped when the same bytes may give another report: every file is parsed again, on purpose.
# 1.1: a flag for every null cell, with its kind and candidate values.
# 1.2: space-aligned text: a label's space wrapped onto a line of its own stays in the label.
# 1.3: space-aligned text: an article heading (第二十条第（五）项) is not a label's tail, a row label
#      under a row is not wrapped digits, justified labels and parent labels wrap correctly.
PARSER_VERSION = "1.3"
MIN_TABLE3_ROWS = 12  # fewer recognised table-三 rows than this: not the template table

_IMAGE = (
    "a scan needs OCR, which gongkai does not do yet; transcribe it to text or Markdown (.md), or remove it"
)
_ARCHIVE = "unpack it and file the reports inside"
_ZIP = "a zip container (DOCX, XLSX or an archive)"
_OLE = "an OLE2 binary (DOC, WPS or XLS)"
_HTML = "an HTML page"
# Leading bytes → what the file is, and what a person can do about it.
_SIGNATURES = (
    (b"%PDF", "PDF", ""),
    (b"PK\x03\x04", _ZIP, "rename it .docx if it is a Word document; spreadsheets and archives are not read"),
    (b"\xd0\xcf\x11\xe0", _OLE, "rename it .doc if it is a Word document; spreadsheets are not read"),
    (b"\x89PNG", "a PNG image", _IMAGE),
    (b"\xff\xd8\xff", "a JPEG image", _IMAGE),
    (b"GIF8", "a GIF image", _IMAGE),
    (b"II*\x00", "a TIFF image", _IMAGE),
    (b"MM\x00*", "a TIFF image", _IMAGE),
    (b"Rar!", "a RAR archive", _ARCHIVE),
    (b"\x1f\x8b", "a gzip archive", _ARCHIVE),
    (b"7z\xbc\xaf", "a 7z archive", _ARCHIVE),
)
_ADVICE = {kind: advice for _, kind, advice in _SIGNATURES} | {_HTML: "rename it .html"}


# Readers picked by a text suffix alone: a known binary signature means the name is wrong.
_TEXT_READERS = frozenset({"text", "markdown", "html"})
# Binary readers and the kind each reads: picked by suffix for another kind, the name is wrong.
_BINARY_READERS = {"pdf": ("PDF", "a PDF"), "docx": (_ZIP, "a DOCX"), "office": (_OLE, "a DOC/WPS file")}


def _one_line(reason: str) -> str:
    """A rejection reason is one line (library messages can carry newlines)."""
    return " ".join(reason.split())


def sniff(data: bytes) -> str | None:
    """What a file is by its leading bytes (binary formats only), or None."""
    for signature, kind, _advice in _SIGNATURES:
        if data.startswith(signature):
            return kind
    return None


def looks_like_html(data: bytes) -> bool:
    """Do the leading bytes open an HTML page (``<html`` or a doctype in the first KiB)?"""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and (b"<html" in head or b"<!doctype html" in head)


def _unsupported(kind: str) -> str:
    advice = _ADVICE.get(kind)
    return f"unsupported file type: {kind} cannot be read by this version" + (f"; {advice}" if advice else "")


def _misnamed(data: bytes, reader: str) -> str | None:
    """Why a file picked by its binary suffix is something else (a PNG named .pdf), or None."""
    own, expected = _BINARY_READERS[reader]
    # An HTML page named .doc is left to LibreOffice, which reads it (Word saves such files).
    kind = sniff(data) or (_HTML if reader != "office" and looks_like_html(data) else None)
    if kind is None or kind == own:
        return None
    return f"{kind}, not {expected}: {_ADVICE[kind]}"


def extract_bytes(
    data: bytes,
    name: str,
    *,
    manifest_agency: str | None = None,
    manifest_year: int | None = None,
    folder_year: int | None = None,
) -> Report:
    """Extract one report. ``name`` is the path as given (its suffix picks the reader).

    ``folder_year`` is the partition the file was filed under (``data/raw/<year>/``); a report
    whose manifest or title year disagrees with it is rejected, naming both years and the fix.
    """
    known = {"parser_version": PARSER_VERSION}
    if len(data) > MAX_BYTES:
        return rejected(
            name, f"file too large ({len(data) // 2**20} MiB > {MAX_BYTES // 2**20} MiB limit)", **known
        )
    if not data.strip():
        return rejected(name, "empty file", **known)
    suffix = PurePath(name).suffix.lower()
    reader = reader_for(suffix, data)
    kind = sniff(data)
    if reader is None or (kind and reader.name in _TEXT_READERS):
        return rejected(name, _unsupported(kind or f"'{suffix}' files"), **known)
    misnamed = _misnamed(data, reader.name) if reader.name in _BINARY_READERS else None
    if misnamed:
        return rejected(name, misnamed, **known)
    try:
        doc = reader.read(data)
    except UnreadableDocument as exc:
        return rejected(name, _one_line(str(exc)), **known)
    except Exception as exc:  # a reader bug must not take the run down: quarantine the file
        return rejected(name, _one_line(f"reader failed: {type(exc).__name__}: {exc}"), **known)
    known |= {"format": doc.format, "encoding": doc.encoding}

    meta = resolve(doc.text, name, manifest_agency, manifest_year)
    known |= {
        "agency": meta.agency,
        "year": meta.year,
        "agency_source": meta.agency_source,
        "year_source": meta.year_source,
    }
    if meta.year is None:
        return rejected(
            name,
            "year unknown: not in the title or first paragraph; add it to data/raw/manifest.csv "
            "or file the report under data/raw/<year>/",
            **known,
        )
    if folder_year is not None and meta.year != folder_year:
        return rejected(
            name,
            f"report year {meta.year} ({meta.year_source}) disagrees with its folder {folder_year}: "
            f"move the file to data/raw/{meta.year}/ (or correct the manifest if {folder_year} is right)",
            **known,
        )
    try:
        tables = match(doc, year=meta.year)
    except Exception as exc:
        return rejected(name, _one_line(f"matcher failed: {type(exc).__name__}: {exc}"), **known)
    found, expected = table3_row_count(tables)
    if found == 0:
        return rejected(
            name, f"no table 三 found ({doc.format} layout): not a report, or a layout not supported", **known
        )
    if found < MIN_TABLE3_ROWS:
        return rejected(
            name, f"table 三 incomplete: only {found} of {expected} rows recognised ({doc.format})", **known
        )
    warnings = list(doc.notes)
    if meta.agency is None:
        warnings.append("agency not named in the document or manifest: the warehouse uses the file name")
    return build_report(name, tables, warnings=warnings, **known)


def extract_path(path: str | Path, **kwargs: object) -> Report:
    """Read a file and extract it; an unreadable path is a rejected report, not an exception."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return rejected(str(path), f"cannot read file: {exc.strerror or exc}", parser_version=PARSER_VERSION)
    kwargs.setdefault("folder_year", None)
    return extract_bytes(data, str(path), **kwargs)  # type: ignore[arg-type]


__all__ = [
    "MAX_BYTES",
    "PARSER_VERSION",
    "extract_bytes",
    "extract_path",
    "looks_like_html",
    "path_year",
    "sniff",
]
