"""Hostile and broken input: every one is a rejected report (or a sane warning) with a reason that
says what is wrong, never an exception, a hang or a memory blow-up. The limits are in
``extract.limits``; docs/reliability.md lists them with the tests below.

Tests assert behaviour, never wall-clock time: what keeps a hostile file cheap is that it is
refused before the expensive step (the depth scan before the HTML parser, the line scan before
layout detection, the page cap before reading pages), and that is what is asserted. The guarded
runner's own time and memory limits are tested with stand-in extractors that hang, allocate or
crash on purpose.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from extract import extract_bytes, extract_path
from extract import limits as L
from extract.api import MAX_BYTES
from extract.decode import decode
from extract.guarded import extract_guarded, map_guarded
from extract.readers import html as html_reader
from extract.readers import pdf as pdf_reader
from extract.report import Report
from synth.model import SyntheticReport, random_report
from synth.names import make_agency
from synth.raw_pdf import minimal_pdf
from synth.render import render
from synth.render_docx import package, paragraph, render_docx
from synth.render_html import render_html
from synth.render_markdown import render_markdown
from synth.verify import mismatches
from tests.conftest import SHARED, zip_of

SUFFIXES = (".txt", ".md", ".html", ".docx", ".pdf", ".doc")


def _report(seed: int = 7, year: int = 2022) -> SyntheticReport:
    rng = random.Random(seed)
    return random_report(rng, agency=make_agency(rng).name, year=year)


def _rejected(data: bytes, name: str, **kwargs: object) -> str:
    report = extract_bytes(data, name, **kwargs)  # type: ignore[arg-type]
    assert report.status == "rejected", (report.status, report.warnings)
    assert report.error and "\n" not in report.error  # one line a person can act on
    return report.error


def _sane(report: Report, truth: SyntheticReport, reasons: tuple[str, ...]) -> None:
    """Rejected with one of ``reasons``, or loaded with every value true or null-and-flagged."""
    if report.status == "rejected":
        assert report.error.startswith(reasons), report.error
        return
    wrong = [m for m in mismatches(report.to_json(), truth) if m.wrong]
    assert not wrong, wrong[:3]


# ---------------------------------------------------------------------------- empty and garbage


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("data", [b"", b" \n\t\r\n   "])
def test_empty_file(data: bytes, suffix: str) -> None:
    assert _rejected(data, "x" + suffix) == "empty file"


GARBAGE_REASONS = {
    ".txt": "binary file: not a text report",
    ".md": "binary file: not a markdown report",
    ".html": "binary file named like a web page: not an HTML report",
    ".docx": "not a DOCX: the file is not a zip container",
    ".pdf": "not a PDF: the file has no %PDF header",
    ".doc": "not a DOC/WPS file: no Word binary (OLE2) header and not text either",
}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_random_bytes(suffix: str, seed: int) -> None:
    data = random.Random(seed).randbytes(200_000)
    if data.startswith((b"%PDF", b"PK", b"\xd0\xcf")):  # pragma: no cover - not for these seeds
        data = b"\x01" + data
    error = _rejected(data, "garbage" + suffix)
    assert error.startswith(GARBAGE_REASONS[suffix]), error


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html"])
def test_nul_filled(suffix: str) -> None:
    assert _rejected(b"\0" * 100_000, "zeros" + suffix).startswith(GARBAGE_REASONS[suffix])


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_utf16_garbage(bom: bytes, suffix: str) -> None:
    # Random bytes after a UTF-16 BOM decode without a NUL: characters of every script.
    data = bom + bytes(b | 0x01 for b in random.Random(1).randbytes(100_000))
    error = _rejected(data, "utf16" + suffix)
    assert error.startswith(GARBAGE_REASONS[suffix] + " (mostly characters that are not Chinese or ASCII")
    assert error.endswith("decoded as utf-16)")


def test_text_in_a_cjk_encoding_is_not_taken_for_garbage() -> None:
    report = _report()
    for encoding in ("gb18030", "utf-16", "utf-8-sig"):
        text = render(report, "text/tabs", random.Random(1)).decode("utf-8")
        got = extract_bytes(text.encode(encoding), "r.txt")
        assert got.status != "rejected", (encoding, got.error)


def test_too_large_is_refused_unread() -> None:
    data = b"%PDF" + b"\0" * MAX_BYTES
    assert _rejected(data, "big.pdf") == "file too large (50 MiB > 50 MiB limit)"


def test_unreadable_path_is_a_rejection(tmp_path: Path) -> None:
    report = extract_path(tmp_path)  # a directory
    assert report.status == "rejected" and report.error.startswith("cannot read file")
    assert extract_path(tmp_path / "missing.txt").error == "cannot read file: No such file or directory"


# ---------------------------------------------------------------------------- truncated files


@pytest.mark.parametrize("fraction", [0.1, 0.35, 0.5, 0.8, 0.95])
def test_truncated_html(fraction: float) -> None:
    truth = _report()
    data = render_html(truth, random.Random(2))
    report = extract_bytes(data[: int(len(data) * fraction)], "cut.html")
    _sane(report, truth, ("no table 三 found", "table 三 incomplete"))


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_docx(fraction: float) -> None:
    data = render_docx(_report(), random.Random(2))
    error = _rejected(data[: int(len(data) * fraction)], "cut.docx")
    assert error.startswith("damaged or truncated DOCX"), error


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.97])
def test_truncated_pdf(fraction: float) -> None:
    data = minimal_pdf(3, ("2022 annual report",))
    error = _rejected(data[: max(5, int(len(data) * fraction))], "cut.pdf")
    # pdfium rebuilds a cross-reference table when it can: then the text is read, and the
    # file is refused for what it lacks, not for its damage.
    assert error.startswith(("damaged PDF", "year unknown", "no table 三 found")), error


@pytest.mark.parametrize("fraction", [0.3, 0.7])
def test_truncated_text_and_markdown(fraction: float) -> None:
    truth = _report()
    for data, name in (
        (render(truth, "text/pipes", random.Random(3)), "cut.txt"),
        (render_markdown(truth, random.Random(3)), "cut.md"),
    ):
        report = extract_bytes(data[: int(len(data) * fraction)], name)
        _sane(report, truth, ("no table 三 found", "table 三 incomplete"))


# ---------------------------------------------------------------------------- DOCX bombs


def test_docx_zip_bomb() -> None:
    # 1 GiB of zeros deflates to ~1 MB: refused from the header, nothing is unpacked.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("word/document.xml", "w") as fh:
        chunk = b"\0" * 2**20
        for _ in range(1024):
            fh.write(chunk)
    bomb = buf.getvalue()
    assert len(bomb) < 2 * 2**20
    error = _rejected(bomb, "bomb.docx")
    assert error == (
        "DOCX part word/document.xml would unpack to 1024 MiB (limit 50 MiB): refused as a possible zip bomb"
    )


def test_docx_with_too_many_parts() -> None:
    members = {f"junk/{i}.xml": b"" for i in range(L.MAX_ZIP_MEMBERS + 1)}
    assert _rejected(zip_of(members), "parts.docx") == "zip with more than 20000 parts: not a Word document"


def _billion_laughs(root: str) -> str:
    entities = "".join(f'<!ENTITY l{i + 1} "{f"&l{i};" * 10}">' for i in range(9))
    return f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{entities}]>{root}'


def test_docx_billion_laughs() -> None:
    xml = _billion_laughs(
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body></w:document>"
    )
    error = _rejected(zip_of({"word/document.xml": xml.encode()}), "lol.docx")
    assert error == "DOCX document.xml declares a DTD or entities: refused (not written by Word)"


@pytest.mark.parametrize("suffix", [".html", ".md", ".txt"])
def test_billion_laughs_elsewhere_is_never_expanded(suffix: str) -> None:
    # HTML parsers do not expand DTD entities; text formats have none. The report is refused
    # for what it lacks, and nothing grew: the entity reference is still there, unexpanded.
    data = _billion_laughs("<html><body><p>2022年&l9;</p></body></html>").encode()
    error = _rejected(data, "lol" + suffix)
    assert error.startswith(("year unknown", "no table 三 found")), error


def test_docx_nested_past_the_xml_depth_limit() -> None:
    body = "<w:sdt><w:sdtContent>" * 200 + paragraph("x") + "</w:sdtContent></w:sdt>" * 200
    error = _rejected(package(paragraph("某局2022年政府信息公开工作年度报告") + body), "deep.docx")
    assert error.startswith("damaged DOCX: document.xml is not well-formed XML (Excessive depth")


def test_docx_with_a_100k_cell_table() -> None:
    cells = "".join(f"<w:tc><w:p><w:r><w:t>{i}</w:t></w:r></w:p></w:tc>" for i in range(100))
    table = "<w:tbl>" + f"<w:tr>{cells}</w:tr>" * 1000 + "</w:tbl>"
    data = package(paragraph("某局2022年政府信息公开工作年度报告") + table)
    assert (
        _rejected(data, "cells.docx")
        == "no table 三 found (docx layout): not a report, or a layout not supported"
    )


# ---------------------------------------------------------------------------- PDF with thousands of pages


def test_pdf_with_thousands_of_pages() -> None:
    data = minimal_pdf(5000, ("Annual report", "page text"))
    assert len(data) < 1_000_000
    pages, notes = pdf_reader.read_pages(data)
    assert len(pages) == L.MAX_PDF_PAGES == pdf_reader.MAX_PAGES  # one constant, read from limits
    assert notes == [f"PDF has 5000 pages: only the first {L.MAX_PDF_PAGES} were read"]
    assert _rejected(data, "long.pdf").startswith("year unknown")


def test_pdf_reader_reads_the_minimal_pdf() -> None:
    pages, notes = pdf_reader.read_pages(minimal_pdf(2, ("hello", "world")))
    assert notes == [] and len(pages) == 2
    assert "".join(g.text for g in pages[0].glyphs).replace(" ", "") == "helloworld"


# ---------------------------------------------------------------------------- enormous lines


@pytest.mark.parametrize("suffix", [".txt", ".md"])
@pytest.mark.parametrize("unit", ["x", "申请数量12345总计99887", "| 总计 | 1 ", "总计\t1\t2\t"])
def test_20_mb_single_line(suffix: str, unit: str) -> None:
    line = unit * (20_000_000 // len(unit.encode()))
    data = ("2022年某局政府信息公开工作年度报告\n" + line + "\n").encode()
    error = _rejected(data, "line" + suffix)
    assert error == f"line of {len(line):,} characters (limit {L.MAX_LINE_CHARS:,}): not a " + (
        "text report" if suffix == ".txt" else "markdown report"
    )


def test_a_long_line_under_the_limit_is_read_with_the_report() -> None:
    truth = _report()
    lines = render(truth, "text/cells", random.Random(2)).decode().split("\n")
    lines.insert(3, "申请数量12345总计99887" * (L.MAX_LINE_CHARS // 20))  # just under the limit
    report = extract_bytes("\n".join(lines).encode(), "long.txt")
    _sane(report, truth, ())


def test_minified_html_on_one_20_mb_line_is_read_exactly() -> None:
    # HTML is exempt from the line limit (minified pages are one line); its reader is linear.
    truth = _report()
    page = render_html(truth, random.Random(2)).decode("utf-8").replace("\n", " ")
    padding = "<!--" + "x" * 20_000_000 + "-->"
    page = page.replace("<body>", "<body>" + padding, 1)
    report = extract_bytes(page.encode(), "min.html")
    assert report.status != "rejected", report.error
    assert mismatches(report.to_json(), truth) == []


def test_html_tag_soup_of_unclosed_angles() -> None:
    # "<a<a<a…": a tag pattern running to ">" would rescan the rest from every "<".
    assert _rejected(b"<html><body>" + b"<a" * 5_000_000, "soup.html").startswith("HTML nested more than")
    assert _rejected(b"<html><body>" + b"<" * 20_000_000, "soup.html").startswith("year unknown")


# ---------------------------------------------------------------------------- deeply nested HTML


@pytest.mark.parametrize("tag", ["div", "span", "b", "table><tr><td"])
def test_deeply_nested_html(tag: str) -> None:
    close = "</" + "></".join(reversed([t.split(" ")[0] for t in tag.split("><")])) + ">"
    page = "<html><body>" + f"<{tag}>" * 100_000 + "x" + close * 100_000 + "</body></html>"
    error = _rejected(page.encode(), "deep.html")
    assert error == "HTML nested more than 500 levels deep: refused as broken or hostile markup"


@pytest.mark.parametrize(("levels", "refused"), [(499, False), (500, False), (501, True)])
def test_small_page_nesting_is_checked_on_the_tree(levels: int, refused: bool) -> None:
    # Too few tags for the pre-parse scan (they parse fast in any shape): the tree is checked.
    page = "<html><body><p>某局2022年报告</p>" + "<div>" * levels + "x" + "</div>" * levels + "</body></html>"
    assert page.count("<") <= html_reader._PARSE_ANY_TAGS
    error = extract_bytes(page.encode(), "deep.html").error or ""
    assert error.startswith("HTML nested more than 500 levels") is refused, error


def test_nesting_the_estimate_misses_is_caught_by_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the estimate (lifted here), the recursive walk runs out of stack: same reason.
    monkeypatch.setattr(html_reader, "MAX_HTML_DEPTH", 10**9)
    page = "<html><body><p>某局2022年报告</p>" + "<div>" * 5000 + "x" + "</div>" * 5000 + "</body></html>"
    error = _rejected(page.encode(), "deep.html")
    assert error == f"HTML nested more than {10**9} levels deep: refused as broken or hostile markup"


def test_real_and_synthetic_pages_are_far_below_the_depth_limit() -> None:
    pages = [render_html(_report(seed), random.Random(seed)) for seed in range(20)]
    pages += [p.read_bytes() for p in (SHARED / "realdocs").glob("*.html")] if SHARED.is_dir() else []
    for page in pages:
        assert not html_reader.nesting_exceeds(page.decode("utf-8", "replace"), 50)


# ---------------------------------------------------------------------------- wrong extensions


def test_pdf_named_html_is_read_as_pdf() -> None:
    report = extract_bytes(minimal_pdf(1, ("2022 annual report",)), "report.html")
    assert report.status == "rejected" and report.format.startswith("pdf")


@pytest.mark.parametrize(
    ("make", "name", "reason"),
    [
        # A binary suffix on another kind of file: say what it is and what to do.
        (
            lambda r: render_html(r, random.Random(1)),
            "report.pdf",
            "an HTML page, not a PDF: rename it .html",
        ),
        (
            lambda r: render_html(r, random.Random(1)),
            "report.docx",
            "an HTML page, not a DOCX: rename it .html",
        ),
        (
            lambda r: b"\x89PNG\r\n\x1a\n" + bytes(100),
            "report.pdf",
            "a PNG image, not a PDF: a scan needs OCR, which gongkai does not do yet; "
            "transcribe it to text or Markdown (.md), or remove it",
        ),
        (
            lambda r: b"\xff\xd8\xff\xe0" + bytes(100),
            "report.docx",
            "a JPEG image, not a DOCX: a scan needs OCR",
        ),
        (lambda r: b"II*\x00" + bytes(100), "report.pdf", "a TIFF image, not a PDF: a scan needs OCR"),
        (lambda r: b"Rar!\x1a\x07" + bytes(100), "report.pdf", "a RAR archive, not a PDF: unpack it"),
        (
            lambda r: render_docx(r, random.Random(1)),
            "report.pdf",
            "a zip container (DOCX, XLSX or an archive), not a PDF: rename it .docx if it is a Word document",
        ),
        (lambda r: render_docx(r, random.Random(1)), "report.html", "unsupported file type: a zip container"),
        (lambda r: render_docx(r, random.Random(1)), "report.txt", "unsupported file type: a zip container"),
        (lambda r: render_docx(r, random.Random(1)), "report.md", "unsupported file type: a zip container"),
        (lambda r: b"\x89PNG\r\n\x1a\n" + bytes(100), "report.html", "unsupported file type: a PNG image"),
        (lambda r: b"\x89PNG\r\n\x1a\n" + bytes(100), "report.md", "unsupported file type: a PNG image"),
    ],
)
def test_wrong_extension(make, name: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert _rejected(make(_report()), name).startswith(reason)


def test_html_named_txt_still_reads_or_is_refused_cleanly() -> None:
    truth = _report()
    report = extract_bytes(render_html(truth, random.Random(1)), "report.txt")
    _sane(report, truth, ("no table 三 found", "table 三 incomplete"))


# ---------------------------------------------------------------------------- names with quotes and SQL


@pytest.mark.parametrize(
    "agency",
    [
        "某局'); DROP TABLE reports; --",
        'O\'Brien "quoted" 局',
        "局\\\\; SELECT * FROM cells WHERE 1=1 --",
        "局\u0000零",
    ],
)
def test_agency_names_with_quotes_and_sql_pass_through_unchanged(agency: str) -> None:
    truth = _report()
    data = render(truth, "text/tabs", random.Random(1))
    report = extract_bytes(data, "r.txt", manifest_agency=agency, manifest_year=truth.year)
    assert report.status != "rejected", report.error
    assert report.agency == agency and report.agency_source == "manifest"
    assert mismatches(report.to_json(), truth) == []


def test_title_with_quotes_and_sql_is_just_text() -> None:
    truth = _report()
    text = render(truth, "text/tabs", random.Random(1)).decode()
    hostile = "某局\"');DROP TABLE x;--"
    text = text.replace(truth.agency, hostile, 1)
    report = extract_bytes(text.encode(), "r.txt")
    assert report.status != "rejected", report.error
    assert mismatches(report.to_json(), truth) == []


# ---------------------------------------------------------------------------- the guarded runner


def slow_extractor(data: bytes, name: str, **kw: object) -> Report:
    time.sleep(600)
    raise AssertionError("not reached")


def hungry_extractor(data: bytes, name: str, **kw: object) -> Report:
    hoard = []
    while True:
        hoard.append(bytearray(64 * 2**20))


def reader_hog_extractor(data: bytes, name: str, **kw: object) -> Report:
    from extract.readers import text

    def hog(*args: object, **kwargs: object) -> None:
        hungry_extractor(b"", "")

    text.read_text = hog  # type: ignore[assignment]  # the child's own copy of the module
    return extract_bytes(data, name, **kw)  # type: ignore[arg-type]


def aborting_extractor(data: bytes, name: str, **kw: object) -> Report:
    os.abort()


def exiting_extractor(data: bytes, name: str, **kw: object) -> Report:
    os._exit(3)


def raising_extractor(data: bytes, name: str, **kw: object) -> Report:
    raise RuntimeError("boom\nsecond line")


def spawning_extractor(data: bytes, name: str, **kw: object) -> Report:
    # Like LibreOffice: a helper process, then a hang. Its pid goes to the file named by ``data``.
    helper = subprocess.Popen(["sleep", "600"])
    Path(data.decode()).write_text(str(helper.pid))
    time.sleep(600)
    raise AssertionError("not reached")


def test_guarded_equals_in_process() -> None:
    truth = _report()
    for data, name in (
        (render(truth, "text/cells", random.Random(1)), "r.txt"),
        (render_html(truth, random.Random(1)), "r.html"),
        (render_docx(truth, random.Random(1)), "r.docx"),
        (b"", "empty.txt"),
    ):
        guarded = extract_guarded(data, name, manifest_year=truth.year)
        assert guarded.to_json() == extract_bytes(data, name, manifest_year=truth.year).to_json()


def test_guarded_timeout() -> None:
    report = extract_guarded(b"x", "slow.txt", timeout_s=1, extractor=slow_extractor)
    assert (report.status, report.error) == ("rejected", "extraction timed out after 1 s")
    assert report.file == "slow.txt"


def test_guarded_timeout_kills_helper_processes(tmp_path: Path) -> None:
    pid_file = tmp_path / "helper.pid"
    report = extract_guarded(str(pid_file).encode(), "x.doc", timeout_s=2, extractor=spawning_extractor)
    assert report.error == "extraction timed out after 2 s"
    pid = int(pid_file.read_text())
    for _ in range(100):  # the kill is sent; the kernel reaps the helper promptly
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{pid}/stat").is_file() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            break  # killed, waiting for its (dead) parent's reaper
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the helper outlived the timeout")


def test_guarded_memory_limit() -> None:
    report = extract_guarded(b"x", "big.txt", memory_mb=300, extractor=hungry_extractor)
    assert (report.status, report.error) == ("rejected", "extraction ran out of memory (limit 300 MB)")


def test_guarded_memory_error_inside_a_reader_is_out_of_memory() -> None:
    # extract_bytes quarantines a reader's MemoryError as "reader failed": guarded says what it was.
    truth = _report()
    data = render(truth, "text/tabs", random.Random(1))
    assert extract_guarded(data, "r.txt", memory_mb=300).status != "rejected"  # a report fits
    report = extract_guarded(data, "r.txt", memory_mb=300, extractor=reader_hog_extractor)
    assert report.error == "extraction ran out of memory (limit 300 MB)"


@pytest.mark.parametrize(
    ("extractor", "reason"),
    [
        (aborting_extractor, "extractor crashed: killed by signal SIGABRT"),
        (exiting_extractor, "extractor crashed: exited with status 3 without an answer"),
        (raising_extractor, "extractor crashed: RuntimeError: boom second line"),
    ],
)
def test_guarded_crashes(extractor, reason: str) -> None:  # type: ignore[no-untyped-def]
    report = extract_guarded(b"x", "crash.txt", extractor=extractor)
    assert (report.status, report.error) == ("rejected", reason)


def test_guarded_hostile_inputs_end_the_same_way_as_in_process() -> None:
    cases = [
        (b"", "a.txt"),
        (b"\0" * 1000, "a.md"),
        (b"<html><body>" + b"<div>" * 100_000 + b"</body></html>", "deep.html"),
        (minimal_pdf(300), "long.pdf"),
    ]
    guarded = list(map_guarded((data, name, {}) for data, name in cases))
    assert [r.error for r in guarded] == [extract_bytes(data, name).error for data, name in cases]


def test_utf8_cut_mid_character_stays_utf8() -> None:
    # One bad byte used to tip the whole file into GB18030 mojibake ("year unknown").
    text = "某局2022年政府信息公开工作年度报告" * 50
    decoded = decode(text.encode("utf-8")[:-1])
    assert (decoded.encoding, decoded.replaced) == ("utf-8", 1)
    assert decode(text.encode("gb18030")).encoding == "gb18030"  # real GB18030 still detected
