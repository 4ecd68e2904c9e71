"""DOCX reader: the blank official form, merges and breaks, hostile zips and XML, synthetic round trips."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import extract_bytes
from extract.document import UnreadableDocument
from extract.readers import docx
from synth.corpus import expected_json
from synth.model import random_report
from synth.names import make_agency
from synth.quirks import Quirks
from synth.render_docx import package, paragraph, render_docx, run
from tests.conftest import assert_tables_match, zip_of


def _tc(content: str, *, span: int = 1, vmerge: str | None = None) -> str:
    props = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
    if vmerge == "restart":
        props += '<w:vMerge w:val="restart"/>'
    elif vmerge == "continue":
        props += "<w:vMerge/>"
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{content}</w:tc>"


def _tbl(*rows: str) -> str:
    return "<w:tbl><w:tblPr/><w:tblGrid/>" + "".join(f"<w:tr>{r}</w:tr>" for r in rows) + "</w:tbl>"


# ---------------------------------------------------------------------------- the official blank form


def test_template_docx_rows(require_shared: Path) -> None:
    doc = docx.read((require_shared / "realdocs" / "template.docx").read_bytes())
    assert doc.format == "docx"
    assert len(doc.rows) == 55
    assert Counter(len(r) for r in doc.rows) == Counter({10: 19, 1: 14, 2: 9, 4: 4, 8: 4, 9: 3, 7: 1, 15: 1})
    assert ["", "", "商业\n企业", "科研\n机构", "社会公益组织", "法律服务机构", "其他", ""] in doc.rows
    assert [
        "",
        "（六）其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        *[""] * 7,
    ] in doc.rows
    assert ["信息内容", "本年处理决定数量"] in doc.rows  # a gridSpan=3 header cell, emitted once


def test_template_docx_blank_form_is_a_warning_with_every_cell_null(require_shared: Path) -> None:
    data = (require_shared / "realdocs" / "template.docx").read_bytes()
    report = extract_bytes(data, "template.docx", manifest_agency="某局", manifest_year=2021)
    assert (report.status, report.template, report.format) == ("warning", "2021", "docx")
    assert report.null_cells == 25 * 7 + 10 + 15
    assert all(r["count"] is None for r in report.applications)
    assert Counter((f["kind"], f["reason"]) for f in report.flags) == {
        ("blank", "printed empty"): 175,
        ("unreadable", "table not found"): 15,
        ("unreadable", "row not found"): 10,
    }
    assert report.warnings == ["200 cells are null (blank, dash or unreadable)"]
    assert {c["passed"] for c in report.checks} == {None}


def test_template_docx_without_a_year_is_rejected_with_the_fix(require_shared: Path) -> None:
    report = extract_bytes((require_shared / "realdocs" / "template.docx").read_bytes(), "template.docx")
    assert report.status == "rejected"
    assert report.error.startswith("year unknown")


# ---------------------------------------------------------------------------- structure


def test_grid_span_vmerge_line_breaks_and_split_tables() -> None:
    body = (
        paragraph("某局2022年政府信息公开工作年度报告", runs=["某局", "2022", "年政府信息公开工作年度报告"])
        + "<w:p>"
        + run("第一行")
        + "<w:r><w:br/></w:r>"
        + run("第二行")
        + "</w:p>"
        + _tbl(
            _tc(paragraph("三、本年度办理结果"), vmerge="restart")
            + _tc(paragraph("（一）予以公开"), span=2)
            + _tc(paragraph("1"))
            + _tc("<w:p>" + run("2") + run("3") + "</w:p>"),
            _tc("<w:p/>", vmerge="continue")
            + _tc(paragraph("商业") + paragraph("企业"), span=2)
            + _tc("<w:p/>")
            + _tc("<w:p>" + run("结果") + "<w:r><w:br/></w:r>" + run("纠正") + "</w:p>"),
        )
        + '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'
        + _tbl(_tc(paragraph("（七）总计"), span=3) + _tc(paragraph("4")) + _tc(paragraph("5")))
        + paragraph("结尾")
    )
    doc = docx.read(package(body))
    assert doc.rows == [
        ["某局2022年政府信息公开工作年度报告"],
        ["第一行"],
        ["第二行"],
        ["三、本年度办理结果", "（一）予以公开", "1", "23"],
        ["", "商业\n企业", "", "结果\n纠正"],
        ["（七）总计", "4", "5"],
        ["结尾"],
    ]


def test_content_controls_grid_before_hmerge_fallback_and_bookmarks() -> None:
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    body = (
        "<w:sdt><w:sdtContent>"
        + paragraph("甲")
        + "</w:sdtContent></w:sdt>"
        + '<w:p><w:bookmarkStart w:id="0" w:name="_GoBack"/>'
        + run("乙")
        + '<w:bookmarkEnd w:id="0"/></w:p>'
        + f'<w:p><mc:AlternateContent {mc}><mc:Choice Requires="wps">'
        + run("丙")
        + "</mc:Choice><mc:Fallback>"
        + run("丙")
        + "</mc:Fallback></mc:AlternateContent></w:p>"
        + '<w:tbl><w:tr><w:trPr><w:gridBefore w:val="1"/></w:trPr>'
        + _tc(paragraph("a"))
        + '<w:tc><w:tcPr><w:hMerge w:val="restart"/></w:tcPr>'
        + paragraph("b")
        + "</w:tc>"
        + "<w:tc><w:tcPr><w:hMerge/></w:tcPr><w:p/></w:tc>"
        + "<w:sdt><w:sdtContent>"
        + _tc(paragraph("c"))
        + "</w:sdtContent></w:sdt>"
        + "</w:tr></w:tbl>"
        + '<w:p><w:del w:id="1"><w:r><w:delText>删除</w:delText></w:r></w:del>'
        + run("留下")
        + "</w:p>"
    )
    doc = docx.read(package(body))
    assert doc.rows == [["甲"], ["乙"], ["丙"], ["a", "b", "c"], ["留下"]]


def test_main_part_found_through_the_package_relationships() -> None:
    doc = docx.read(package(paragraph("正文"), document_name="word/document2.xml"))
    assert doc.rows == [["正文"]]


def test_nested_layout_table_reads_inner_rows() -> None:
    inner = _tbl(_tc(paragraph("规章")) + _tc(paragraph("3")))
    body = _tbl(_tc(paragraph("二、主动公开政府信息情况") + inner + paragraph("后")))
    assert docx.read(package(body)).rows == [["二、主动公开政府信息情况"], ["规章", "3"], ["后"]]


def test_blank_merged_value_cell_over_header_columns_is_widened() -> None:
    header = "".join(_tc(paragraph(x)) for x in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计"))
    values = "".join(_tc(paragraph(x)) for x in ("1", "0", "0", "0", "1")) + _tc(paragraph("/"), span=5)
    doc = docx.read(package(_tbl(header + header, values)))
    assert doc.rows[-1] == ["1", "0", "0", "0", "1", "/", "/", "/", "/", "/"]


# ---------------------------------------------------------------------------- hostile input


def _rejected(data: bytes, name: str = "bad.docx") -> str:
    # Refused before expansion: a real expansion would exhaust memory or hang the suite.
    report = extract_bytes(data, name)
    assert report.status == "rejected"
    return report.error


def test_zip_bomb_by_compression_ratio_is_refused() -> None:
    bomb = zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<" + b"\0" * (20 * 2**20)})
    assert len(bomb) < 100_000
    assert _rejected(bomb).startswith("DOCX part word/document.xml is compressed")
    assert "refused as a possible zip bomb" in _rejected(bomb)


def test_zip_bomb_by_declared_size_is_refused() -> None:
    bomb = zip_of({"word/document.xml": b" " * (docx.MAX_XML_BYTES + 1)})
    assert (
        _rejected(bomb)
        == "DOCX part word/document.xml would unpack to 50 MiB (limit 50 MiB): refused as a possible zip bomb"
    )


def test_zip_member_lying_about_its_size_is_read_only_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx, "MAX_XML_BYTES", 1000)
    monkeypatch.setattr(docx, "MAX_RATIO", 10**9)
    data = bytearray(zip_of({"word/document.xml": b"x" * 5000}))
    # Patch the declared (uncompressed) size in the central directory down to 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    error = _rejected(bytes(data))
    assert error.startswith("damaged or truncated DOCX: word/document.xml cannot be unpacked")


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i + 1} "{f"&lol{i};" * 10 if i else "&lol;" * 10}">' for i in range(9))
    + "]>\n"
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_is_refused(encoding: str) -> None:
    xml = BILLION_LAUGHS.replace('version="1.0"', f'version="1.0" encoding="{encoding}"').encode(encoding)
    error = _rejected(zip_of({"word/document.xml": xml}))
    assert error == "DOCX document.xml declares a DTD or entities: refused (not written by Word)"


def test_truncated_docx_is_refused() -> None:
    whole = package(paragraph("正文"))
    assert _rejected(whole[: len(whole) // 2]) == "damaged or truncated DOCX: the zip cannot be opened"


def test_other_zips_and_non_zips_are_named() -> None:
    xlsx = zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
    assert _rejected(xlsx) == "zip file that is not a Word document: an Excel workbook (.xlsx)"
    plain = zip_of({"readme.txt": b"hello"})
    assert _rejected(plain) == "zip file that is not a Word document (no word/document.xml inside)"
    assert _rejected(b"just text, named .docx") == "not a DOCX: the file is not a zip container"


def test_malformed_xml_is_refused() -> None:
    error = _rejected(zip_of({"word/document.xml": b"<w:document><w:body><w:p>"}))
    assert error.startswith("damaged DOCX: document.xml is not well-formed XML")


def test_reader_raises_unreadable_not_other_errors() -> None:
    with pytest.raises(UnreadableDocument):
        docx.read(b"PK\x03\x04 broken")


# ---------------------------------------------------------------------------- synthetic round trips


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), year=st.integers(2019, 2024), blanks=st.integers(0, 40))
def test_synthetic_docx_round_trip(seed: int, year: int, blanks: int) -> None:
    rng = random.Random(seed)
    report = random_report(rng, agency=make_agency(rng).name, year=year, blank_cells=blanks)
    data = render_docx(report, rng, Quirks.random(rng))
    extracted = extract_bytes(data, "report.docx")
    assert extracted.format == "docx"
    assert_tables_match(extracted, expected_json(report))
    assert extracted.null_cells == report.null_cells()
