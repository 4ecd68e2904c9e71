"""A report page that links to its report as an attachment (附件: .pdf, .doc, .docx, .wps).

Many agencies publish a short page whose body is a link to the report file. When the page does
not hold the template tables itself (the extractor decides, as it would at ingest), the
attachment on the same site is the report: one level, no crawling.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from extract.api import extract_bytes
from extract.decode import decode
from extract.limits import MAX_HTML_DEPTH
from extract.readers.html import declared_charset, nesting_exceeds
from fetch.content import DOCUMENT_SUFFIXES, url_suffix

# Link text that names the report: preferred over other attachments (a form, a notice).
_REPORT_WORDS = ("年度报告", "年报", "工作报告")
_MANY_TAGS = 10_000  # below this a page parses in bounded time whatever its shape


def holds_template_tables(body: bytes, name: str, agency: str, year: int) -> bool:
    """Does the document hold the template tables (would ingest load it)?"""
    report = extract_bytes(body, name, manifest_agency=agency, manifest_year=year)
    return report.loaded


def _same_site(a: str, b: str) -> bool:
    return (urlsplit(a).hostname or "").lower() == (urlsplit(b).hostname or "").lower()


def find_attachment(page: bytes, page_url: str) -> str | None:
    """The URL of the report the page links to: a link to a .pdf/.doc/.docx/.wps file on the
    same host, the one whose text or name says 年度报告 first, else the first in the page."""
    text = decode(page, declared_charset(page)).text
    # The HTML parser is quadratic in nesting depth: hostile markup is refused as the reader does.
    if text.count("<") > _MANY_TAGS and nesting_exceeds(text, MAX_HTML_DEPTH):
        return None
    tree = LexborHTMLParser(text)
    found: list[tuple[int, int, str]] = []
    for order, anchor in enumerate(tree.css("a[href]")):
        href = (anchor.attributes.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url = urljoin(page_url, href).split("#", 1)[0]
        if urlsplit(url).scheme not in ("http", "https") or not _same_site(url, page_url):
            continue
        if url_suffix(url) not in DOCUMENT_SUFFIXES:
            continue
        label = f"{anchor.text(deep=True)} {anchor.attributes.get('title') or ''} {url}"
        named = any(word in label for word in _REPORT_WORDS)
        found.append((0 if named else 1, order, url))
    return min(found)[2] if found else None
