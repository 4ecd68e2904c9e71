"""Every resource limit of the extractor, in one place (docs/reliability.md explains each).

A file past a limit is rejected with a reason naming the limit, or — where part of the file is
still useful (a PDF longer than ``MAX_PDF_PAGES``) — read up to the limit with a warning. The
readers import their limits from here; tests lower them with ``monkeypatch`` on the reader
module's own name (``docx.MAX_XML_BYTES``), which is why readers bind them at import.

Sizing: real reports are 20 KB–5 MB (PDFs up to ~20 MB with images), 3–30 pages, and their
longest line is a paragraph (the longest seen: 17,000 characters, a run-on table). Each limit
is well above that and well below what would make one file cost more than seconds or a few
hundred MB.
"""

from __future__ import annotations

MiB = 2**20

# ---------------------------------------------------------------- every file (extract.api)
MAX_BYTES = 50 * MiB  # larger files are rejected unread

# ---------------------------------------------------------------- text and markdown
# A longer line is not a report's text (binary data, a dump, a hostile file). Every reader is
# linear in line length (bench/fuzz.py and tests/test_hostile_inputs.py check 20 MB lines), so
# this bounds time (~7 s per million characters in the worst layout), not correctness. HTML is
# exempt: minified pages put the whole document on one line, and its parser is linear too.
MAX_LINE_CHARS = 1_000_000

# ---------------------------------------------------------------- HTML
# lexbor's tree builder is quadratic in nesting depth (100,000 nested <div> take a minute),
# and the reader walks the tree recursively (Python's recursion limit is 1000 frames). Real
# pages nest 10–40 levels. The depth is estimated from the tags before parsing (end tags that
# HTML lets a page omit, like </p> and </td>, are not counted).
MAX_HTML_DEPTH = 500

# ---------------------------------------------------------------- DOCX (and DOC/WPS after conversion)
MAX_DOCX_PART_BYTES = 50 * MiB  # decompressed size of document.xml; a real report is < 5 MB
MAX_DOCX_RATIO = 200  # uncompressed / compressed; XML text rarely passes 30, bombs reach 1000+
MAX_ZIP_MEMBERS = 20_000
# XML nesting deeper than 256 levels is refused by libxml2 itself (huge_tree=False); entity
# declarations are refused before parsing (no billion laughs).

# ---------------------------------------------------------------- PDF
MAX_PDF_PAGES = 200  # reports are 3–30 pages; anything longer is read up to here, with a warning
PDF_TIME_LIMIT_S = 20.0  # reading pages stops with a rejection past this (checked between pages)

# ---------------------------------------------------------------- DOC / WPS (LibreOffice)
SOFFICE_TIMEOUT_S = 60.0  # the conversion's process group is killed past this

# ---------------------------------------------------------------- per file, whole extraction (extract.pool)
TIMEOUT_S = 60.0  # wall-clock time for one file in guarded mode; its worker is killed past it
MEMORY_MB = 1024  # address-space limit (RLIMIT_AS) of each extraction worker (extract.pool)


__all__ = [
    "MAX_BYTES",
    "MAX_DOCX_PART_BYTES",
    "MAX_DOCX_RATIO",
    "MAX_HTML_DEPTH",
    "MAX_LINE_CHARS",
    "MAX_PDF_PAGES",
    "MAX_ZIP_MEMBERS",
    "MEMORY_MB",
    "PDF_TIME_LIMIT_S",
    "SOFFICE_TIMEOUT_S",
    "TIMEOUT_S",
]
