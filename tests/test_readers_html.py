"""HTML reader: the real 上海 2019 page exactly, span handling, encodings, and synthetic round trips."""

from __future__ import annotations

import codecs
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import extract_bytes, extract_path
from extract.document import Document
from extract.matcher import match
from extract.readers import html
from schemas.taxonomy import taxonomy
from synth.corpus import expected_json
from synth.model import random_report
from synth.names import make_agency
from synth.quirks import Quirks
from synth.render_html import render_html
from tests.conftest import assert_tables_match, expected_for, keyed


def _blank_table3(values_for: dict[str, list[str]]) -> Document:
    """Table 三 as a table reader emits it: every row printed, most left as blank cells."""
    rows: list[list[str]] = [["三、收到和处理政府信息公开申请情况"]]
    for category in taxonomy().categories:
        if category.code in ("other_no_correction", "other_unpaid_fee", "other_other"):
            continue
        rows.append([category.leaf, *values_for.get(category.code, [""] * 7)])
    return Document(rows=rows, format="html")


def test_matcher_reads_rows_of_blank_cells_as_blank_not_missing() -> None:
    doc = _blank_table3({"new_received": ["1", "", "", "", "", "", "1"]})
    tables = match(doc, year=2019)
    assert tables.found["table 三"] == 23
    assert tables.applications[("new_received", "natural_person")].value == 1
    blank = tables.applications[("withheld_state_secret", "total")]
    assert (blank.value, blank.blank, blank.problem) == (None, True, None)
    assert tables.problems == []


def test_matcher_prefers_a_later_printing_with_values_over_a_blank_row() -> None:
    doc = _blank_table3({})
    doc.rows.append(["（一）予以公开", "5", "", "", "", "", "", "5"])
    tables = match(doc, year=2019)
    assert tables.applications[("disclosed", "natural_person")].value == 5
    assert tables.applications[("disclosed", "total")].value == 5
    assert tables.problems == []


def test_matcher_ignores_blank_rows_shorter_than_the_applicant_columns() -> None:
    doc = _blank_table3({"carried_over": ["", "", "", ""]})
    tables = match(doc, year=2019)
    assert tables.found["table 三"] == 22
    assert tables.applications[("carried_over", "total")].problem == "row not found"


# ---------------------------------------------------------------------------- the real 上海 2019 page

SHANGHAI = "2019年上海市人民政府办公厅政府信息公开工作年度报告.content"


def test_shanghai_2019_page_matches_expected(require_shared: Path) -> None:
    path = require_shared / "realdocs" / f"{SHANGHAI}.html"
    report = extract_path(path)
    assert_tables_match(report, expected_for(path.with_name(f"{SHANGHAI}.expected.json")))
    assert (report.format, report.encoding, report.status) == ("html", "utf-8", "warning")
    # notes: 126 blank cells in table 三 and 9 in table 四; all blank (&nbsp;), none unreadable.
    assert report.null_cells == 135
    assert report.warnings == ["135 cells are null (blank, dash or unreadable)"]
    # every null is explained: each of the 135 a blank cell
    assert Counter((f["table"], f["kind"], f["reason"]) for f in report.flags) == {
        ("applications", "blank", "printed empty"): 126,
        ("appeals", "blank", "printed empty"): 9,
    }
    assert (
        keyed(report.proactive, ("item", "measure"), "unit")[
            ("centralized_procurement", "procurement_amount")
        ]
        == "元"
    )


def test_shanghai_2019_rows(require_shared: Path) -> None:
    doc = html.read((require_shared / "realdocs" / f"{SHANGHAI}.html").read_bytes())
    rows = doc.rows
    # Value colspans that do not line up with the header: one cell each, in order.
    assert ["行政许可", "0", "0", "0"] in rows
    assert ["政府集中采购", "6", "251000元"] in rows
    # rowspan placeholders under 三、本年度办理结果 and （三）不予公开; <br> inside a header cell.
    assert ["", "", "2.其他法律行政法规禁止公开", *[""] * 7] in rows
    assert ["信息内容", "本年新\n制作数量", "本年新\n公开数量", "对外公开总数量"] in rows
    # Table 四: the rowspan=2 outcome headers leave five empty cells; one value row of 15.
    assert ["5", "", "", "2", "7", "8", "", "", "1", "9", *[""] * 5] in rows
    assert ["四、政府信息公开行政复议、行政诉讼情况"] in rows
    assert rows[0] == ["2019年上海市人民政府办公厅政府信息公开工作年度报告"]
    assert len(rows) == 84


# ---------------------------------------------------------------------------- spans and markup


def _rows(body: str) -> list[list[str]]:
    return html.read(f"<html><body>{body}</body></html>".encode()).rows


def test_rowspan_leaves_empty_cells_and_colspan_emits_once() -> None:
    rows = _rows(
        "<table><tr><td rowspan=3>a</td><td colspan=2>b</td><td rowspan=2>c</td></tr>"
        "<tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td><td>5</td></tr></table>"
    )
    assert rows == [["a", "b", "c"], ["", "1", "2", ""], ["", "3", "4", "5"]]


def test_cell_text_nbsp_breaks_paragraphs_and_word_markup() -> None:
    rows = _rows(
        "<table><tr><td><p>商业<br/>企业<o:p></o:p></p></td><td><p><span>1</span><span>2</span>"
        "<o:p>&nbsp;</o:p></p></td><td>&nbsp;</td><td><p>结果</p><p>纠正</p></td>"
        "<td><script>var x = 1;</script>7</td></tr></table>"
    )
    assert rows == [["商业\n企业", "12", "", "结果\n纠正", "7"]]


def test_paragraph_breaks_and_inline_text_in_document_order() -> None:
    rows = _rows(
        "<h1>某局2022年政府信息公开工作年度报告</h1><p>第一行<br>第二行</p><div>甲<b>乙</b>丙</div>"
        "<table><tr><td>x</td><td>1</td></tr></table><p>之后</p><style>p{}</style>"
    )
    assert rows == [
        ["某局2022年政府信息公开工作年度报告"],
        ["第一行"],
        ["第二行"],
        ["甲乙丙"],
        ["x", "1"],
        ["之后"],
    ]


def test_layout_table_emits_inner_rows_not_the_outer_cell() -> None:
    rows = _rows(
        "<table><tr><td><p>导航</p></td><td><p>二、主动公开政府信息情况</p>"
        "<table><tr><td>规章</td><td>1</td></tr></table><p>结尾</p></td></tr></table>"
    )
    assert rows == [["导航"], ["二、主动公开政府信息情况"], ["规章", "1"], ["结尾"]]


def test_one_column_table_reads_as_paragraphs() -> None:
    rows = _rows("<table><tr><td><p>三、收到和处理政府信息公开申请情况</p><p>正文</p></td></tr></table>")
    assert rows == [["三、收到和处理政府信息公开申请情况"], ["正文"]]


TABLE4_HEAD = (
    "<tr><td colspan=5>行政复议</td><td colspan=10>行政诉讼</td></tr>"
    "<tr>"
    + "".join(f"<td rowspan=2>{o}</td>" for o in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计"))
    + "<td colspan=5>未经复议直接起诉</td><td colspan=5>复议后起诉</td></tr>"
    "<tr>"
    + "".join(f"<td>{o}</td>" for o in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计") * 2)
    + "</tr>"
)


def test_blank_merged_value_cell_over_header_columns_is_widened() -> None:
    values = "".join(f"<td>{v}</td>" for v in (1, 0, 0, 0, 1, 2, 0, 0, 0, 2)) + "<td colspan=5>/</td>"
    rows = _rows(f"<table>{TABLE4_HEAD}<tr>{values}</tr></table>")
    assert rows[-1] == ["1", "0", "0", "0", "1", "2", "0", "0", "0", "2", "/", "/", "/", "/", "/"]


def test_merged_cell_not_aligned_with_header_or_not_blank_is_emitted_once() -> None:
    rows = _rows(
        "<table><tr><td>信息内容</td><td>上一年项目数量</td><td colspan=2>本年增/减</td><td>处理决定数量</td></tr>"
        "<tr><td>行政许可</td><td colspan=2>&nbsp;</td><td>3</td><td>4</td></tr>"
        "<tr><td>行政处罚</td><td>1</td><td colspan=2>5</td><td>&nbsp;</td></tr></table>"
    )
    assert rows[1:] == [["行政许可", "", "3", "4"], ["行政处罚", "1", "5", ""]]


# ---------------------------------------------------------------------------- encodings


GB_PAGE = "<html><head><meta http-equiv='Content-Type' content='text/html; charset={}'></head><body><p>政府信息公开“三安全一稳定”</p></body></html>"


@pytest.mark.parametrize("charset", ["gb2312", "GBK", "gb18030"])
def test_declared_gb_charset(charset: str) -> None:
    doc = html.read(GB_PAGE.format(charset).encode("gb18030"))
    assert (doc.rows, doc.encoding, doc.notes) == ([["政府信息公开“三安全一稳定”"]], "gb18030", [])


def test_undeclared_gb_page_is_detected_and_wrong_declaration_noted() -> None:
    text = "<p>" + "政府信息公开工作年度报告，申请情况总计。" * 5 + "</p>"
    assert html.read(text.encode("gb18030")).encoding == "gb18030"
    doc = html.read(GB_PAGE.format("utf-8").encode("gb18030"))
    assert doc.rows == [["政府信息公开“三安全一稳定”"]]
    assert doc.notes == ["page declares charset utf-8 but decodes as gb18030"]


def test_bom_wins() -> None:
    doc = html.read(codecs.BOM_UTF8 + GB_PAGE.format("gbk").encode("utf-8"))
    assert (doc.rows, doc.encoding) == ([["政府信息公开“三安全一稳定”"]], "utf-8")


def test_page_without_body_text_is_rejected_with_a_reason() -> None:
    report = extract_bytes(b"<html><body><p>hello</p></body></html>", "a.html", manifest_year=2022)
    assert report.status == "rejected"
    assert report.error == "no table 三 found (html layout): not a report, or a layout not supported"


# ---------------------------------------------------------------------------- synthetic round trips


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), year=st.integers(2019, 2024), blanks=st.integers(0, 40))
def test_synthetic_html_round_trip(seed: int, year: int, blanks: int) -> None:
    rng = random.Random(seed)
    report = random_report(rng, agency=make_agency(rng).name, year=year, blank_cells=blanks)
    data = render_html(report, rng, Quirks.random(rng))
    extracted = extract_bytes(data, "report.html")
    assert extracted.format == "html"
    assert_tables_match(extracted, expected_json(report))
    assert extracted.null_cells == report.null_cells()
