"""What a fetched body is: a report document (and its file suffix), a page, or not a report.

The leading bytes decide, as the extractor decides for files on disk (``extract.api.sniff``):
a URL ending .pdf that serves an HTML error page with status 200 is not a report, and neither
is an image. Nothing is parsed here but a page's HTML (see ``attachments``).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from extract.api import looks_like_html, sniff

DOCUMENT_SUFFIXES = (".pdf", ".doc", ".docx", ".wps")
_EXPECTED = {".pdf": "a PDF", ".doc": "a DOC file", ".docx": "a DOCX file", ".wps": "a WPS file"}


@dataclass(frozen=True)
class Body:
    """``suffix`` for a report document (.pdf, .docx, .doc, .wps), ``page`` for HTML, else
    ``problem`` says what it is instead."""

    suffix: str | None = None
    page: bool = False
    problem: str | None = None


def url_suffix(url: str) -> str:
    """The lower-case suffix of a URL's path (``.pdf``), ignoring query and fragment."""
    return PurePosixPath(urlsplit(url).path).suffix.lower()


def _is_docx(body: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _is_html(body: bytes, content_type: str | None) -> bool:
    if looks_like_html(body):
        return True
    declared = (content_type or "").split(";")[0].strip().lower()
    return declared in ("text/html", "application/xhtml+xml") and body.lstrip()[:1] == b"<"


def classify(body: bytes, url: str, content_type: str | None = None) -> Body:
    """What ``body`` fetched from ``url`` is; the URL's suffix only names what was expected."""
    if not body.strip():
        return Body(problem="empty body")
    expected = url_suffix(url)
    kind = sniff(body)
    if kind == "PDF":
        return Body(suffix=".pdf")
    if kind is not None and kind.startswith("a zip"):
        return Body(suffix=".docx") if _is_docx(body) else Body(problem="a zip archive, not a Word document")
    if kind is not None and kind.startswith("an OLE2"):
        return Body(suffix=".wps" if expected == ".wps" else ".doc")
    if kind is not None:
        return Body(problem=f"{kind}, not a report document")
    if _is_html(body, content_type):
        if expected in _EXPECTED:
            return Body(
                problem=f"an HTML page where {_EXPECTED[expected]} was expected (an error page served with 200?)"
            )
        return Body(page=True)
    if expected in _EXPECTED:
        return Body(problem=f"not {_EXPECTED[expected]}: unknown content ({len(body)} bytes)")
    return Body(suffix=".txt")  # plain text: the caller checks it holds the template tables
