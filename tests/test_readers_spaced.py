"""Space-aligned text (pdftotext -layout): rows rebuilt from columns, wrapped labels re-joined."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import extract_bytes
from extract.readers.spaced import chunks_of, rows_from_spaced
from extract.readers.text import detect_layout
from synth.model import random_report
from synth.quirks import Quirks
from synth.render_spaced import render_spaced, render_spaced_text
from tests.conftest import SHARED, assert_tables_match, expected_for

HZQ = SHARED / "realdocs" / "hzq2024_working.pdf"
V7 = "    0    0   0   0    0    0   0"


def _pdftotext(pdf: Path, out: Path) -> bytes:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    subprocess.run(["pdftotext", "-layout", str(pdf), str(out)], check=True, timeout=60)
    return out.read_bytes()


def test_hzq2024_pdftotext_layout_matches_expected(require_shared: Path, tmp_path: Path) -> None:
    if not HZQ.is_file():
        pytest.skip("realdocs/hzq2024_working.pdf is absent")
    data = _pdftotext(HZQ, tmp_path / "hzq2024_working.txt")
    report = extract_bytes(data, "hzq2024_working.txt")
    assert report.format == "text/spaces"
    assert_tables_match(report, expected_for(HZQ.with_name("hzq2024_working.expected.json")))
    assert report.null_cells == 0
    assert all(c["passed"] is True for c in report.checks)


def test_hzq2024_pdftotext_rows(require_shared: Path, tmp_path: Path) -> None:
    if not HZQ.is_file():
        pytest.skip("realdocs/hzq2024_working.pdf is absent")
    text = _pdftotext(HZQ, tmp_path / "hzq.txt").decode("utf-8")
    rows = rows_from_spaced(text.split("\n"))
    # Label wrapped over two lines above its numbers.
    assert [
        "（二）部分公开（区分处理的，只计这一情 形，不计其他情形）",
        "9",
        "0",
        "0",
        "0",
        "0",
        "0",
        "9",
    ] in rows
    # Label wrapped over three lines (with a single space inside), numbers on a line of their own.
    assert ["5.要求行政机关确认或重 新出具已获取信息", *["0"] * 7] in rows
    # Parent label and leaf on one line stay two cells.
    assert ["（四）无法提供", "1.本机关不掌握相关政府信息", "31", "0", "0", "0", "0", "0", "31"] in rows
    # Table 四's numbers: one row of 15 without labels; page numbers gone.
    assert ["1", "1", "0", "0", "2", "1", "0", "0", "0", "1", "2", "0", "1", "0", "3"] in rows
    assert not any(len(r) == 1 and r[0].strip().strip("-").isdigit() for r in rows)
    # A sentence ending in a number is not a table row.
    assert ["泽区人民政府办公室联系（地址：淮安市洪泽区洪泽湖大道 90"] in rows


def test_chunks_split_on_two_spaces_and_numbers() -> None:
    assert [c.text for c in chunks_of("  4.无正当理由大量反复 申请     0    0 0 0")] == [
        "4.无正当理由大量反复 申请",
        "0",
        "0",
        "0",
        "0",
    ]
    assert [c.text for c in chunks_of("（六）其他处理 0 0")] == ["（六）其他处理", "0", "0"]
    # One number after a single space ends a sentence, not a row.
    assert [c.text for c in chunks_of("公开政府常务会议 7")] == ["公开政府常务会议 7"]


def test_label_continued_below_its_numbers() -> None:
    lines = [
        "      （二）部分公开（区分处理的，只计这一       9    0   0   0    0    0   9",
        "      情形，不计其他情形）",
        "      （三）不予公开",
        "            1.属于国家秘密              " + V7,
    ]
    assert rows_from_spaced(lines) == [
        ["（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "9", "0", "0", "0", "0", "0", "9"],
        ["（三）不予公开"],
        ["1.属于国家秘密", *["0"] * 7],
    ]


def test_second_wrap_under_a_nulled_row_is_dropped_too() -> None:
    # The first digits-only line under the row cannot be placed, so the row's numbers are
    # dropped (null, flagged); the next wrap line used to index past the shortened row.
    lines = ["\t第二十条…\t2、没有现成信息需要另行  14 0    0\t0\t0", "  0\t0", "-1-结果  00"]
    assert rows_from_spaced(lines) == [["第二十条…", "2、没有现成信息需要另行"]]


def test_row_split_by_page_break_and_page_number() -> None:
    lines = [
        "            4.无正当理由大量反复申请       " + V7,
        "            5.要求行政机关确认或重",
        "",
        "                                 -3-",
        "\f            新出具已获取信息        2    0   0   0    0    0   2",
        "     （六）其他处理                    " + V7,
    ]
    assert rows_from_spaced(lines) == [
        ["4.无正当理由大量反复申请", *["0"] * 7],
        ["5.要求行政机关确认或重新出具已获取信息", "2", "0", "0", "0", "0", "0", "2"],
        ["（六）其他处理", *["0"] * 7],
    ]


def test_vertical_label_characters_stay_out_of_leaf_labels() -> None:
    lines = [
        "                  （一）予以公开                    50    0         0     0   0   0     50",
        " 三",
        "                  （二）部分公开（区分处理的，只计这一情 形，不",
        " 、                计其他情形）",
        "                                              9    0         0     0   0   0     9",
        " 本                         1.属于国家秘密         0     0         0     0   0   0     0",
    ]
    rows = rows_from_spaced(lines)
    assert ["（一）予以公开", "50", "0", "0", "0", "0", "0", "50"] in rows
    assert rows[-1][-8:] == ["1.属于国家秘密", *["0"] * 7]
    nine = next(r for r in rows if r[-1] == "9")
    assert (
        "".join(nine[:-7])
        .replace(" ", "")
        .endswith("（二）部分公开（区分处理的，只计这一情形，不计其他情形）")
    )


def test_table4_header_on_one_page_numbers_on_the_next() -> None:
    lines = [
        "     四、政府信息公开行政复议、行政诉讼情况",
        "          行政复议                              行政诉讼",
        "结果   结果     其他   尚未      总计",
        "                                                -4-",
        "\f",
        " 1    1      0   0    2   1    0   0   0    1   2   0     1   0   3",
        "     五、存在的主要问题及改进情况",
    ]
    rows = rows_from_spaced(lines)
    assert ["1", "1", "0", "0", "2", "1", "0", "0", "0", "1", "2", "0", "1", "0", "3"] in rows
    assert rows[-1] == ["五、存在的主要问题及改进情况"]


def test_numbers_without_a_placeable_label_are_not_guessed() -> None:
    # Numbers alone under a header line that reaches into the value columns: no label can be
    # given to them, so the row stays label-less and the matcher cannot take it for any category.
    lines = [
        "     自然人   商业企业   科研机构   社会公益组织   法律服务机构   其他   总计",
        "               3    0   0   0    0    0   3",
    ]
    rows = rows_from_spaced(lines)
    assert rows[-1] == ["3", "0", "0", "0", "0", "0", "3"]


def test_detect_layout_picks_spaces_for_pdftotext_output() -> None:
    lines = [
        f"            {i}.属于某类信息事项            0    0   0   0    0    0   0" for i in range(1, 12)
    ]
    assert detect_layout(lines) == "text/spaces"


# ---------------------------------------------------------------------------- synthetic round trips


def assert_round_trip(report, data: bytes, name: str, fmt: str) -> None:
    extracted = extract_bytes(data, name)
    assert extracted.format == fmt
    assert extracted.template == report.template
    assert extracted.year == report.year
    assert {
        (r["category"], r["applicant_type"]): r["count"] for r in extracted.applications
    } == report.applications
    assert {(r["item"], r["measure"]): r["value"] for r in extracted.proactive} == report.proactive
    assert {(r["proceeding"], r["outcome"]): r["count"] for r in extracted.appeals} == report.appeals
    assert extracted.null_cells == report.null_cells()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), quirky=st.booleans(), tight=st.booleans())
def test_spaced_round_trip(seed: int, quirky: bool, tight: bool) -> None:
    rng = random.Random(seed)
    report = random_report(
        rng, agency="青川市生态环境局", year=rng.randint(2019, 2024), blank_cells=rng.randint(0, 3)
    )
    quirks = Quirks.random(rng) if quirky else Quirks()
    assert_round_trip(report, render_spaced(report, rng, quirks, tight), "report.txt", "text/spaces")


def test_an_article_heading_under_a_row_is_not_the_tail_of_its_label() -> None:
    """Tab-separated table 二 turned into spaces: 第二十条第（五）项 sits right under the last row
    of block (一), short and in the label column, like a wrapped label's tail (issue 10: the
    row 行政规范性文件 was "not found")."""
    lines = [
        "第二十条第（一）项",
        "信息内容   本年制发件数   本年废止件数   现行有效件数",
        "规章   0   0   0",
        "行政规范性文件   4   0   4",
        "第二十条第（五）项",
        "信息内容   本年处理决定数量",
        "行政许可   12",
    ]
    rows = rows_from_spaced(lines)
    assert ["行政规范性文件", "4", "0", "4"] in rows
    assert ["第二十条第（五）项"] in rows
    assert ["行政许可", "12"] in rows


def test_spaced_rendering_has_the_layout_quirks() -> None:
    rng = random.Random(7)
    report = random_report(rng, agency="青川市生态环境局", year=2023)
    text = render_spaced_text(report, rng)
    assert "\f" in text  # page breaks …
    assert any(line.strip().startswith("-") and line.strip().endswith("-") for line in text.split("\n"))
    # … and the vertical label as single characters at the left edge.
    assert sum(1 for line in text.split("\n") if line[:2].strip() in set("三、本年度办理结果")) >= 5


# ---------------------------------------------------------------------------- numbers wrapped in their cell


def test_digits_wrapped_inside_their_cells_are_joined() -> None:
    """６１ over ０ is 610: LibreOffice wraps a number too wide for its cell (bench pdf/unruled#000)."""
    lines = [
        "一、本年新收政府信息公开申请数量      ６１  ０  ０  ０   ０  ０   ６１",
        "                      ０                    ０",
        "二、上年结转政府信息公开申请数量       １４  ０  ０  ０   ０  ０   １４",
    ]
    assert rows_from_spaced(lines) == [
        ["一、本年新收政府信息公开申请数量", "６１０", "０", "０", "０", "０", "０", "６１０"],
        ["二、上年结转政府信息公开申请数量", "１４", "０", "０", "０", "０", "０", "１４"],
    ]


def test_wrapped_label_tail_and_digits_on_one_line() -> None:
    lines = [
        " (四)无法提  1、本机关不掌握相关政  ３０  ０  ０  ０  ０  ０  ３０",
        " 供  府信息    ６          ６",
    ]
    assert rows_from_spaced(lines)[0][-7:] == ["３０６", "０", "０", "０", "０", "０", "３０６"]


def test_wrapped_digit_that_cannot_be_placed_nulls_the_row() -> None:
    """Three pieces under a row with two wide numbers: which cells continue is unknowable."""
    lines = ["一、本年新收政府信息公开申请数量  ６１  ０  ０  ０  ０  ０  ６１", "       ０   ０   ０"]
    assert rows_from_spaced(lines) == [["一、本年新收政府信息公开申请数量"]]


def test_lone_number_mid_page_is_a_wrap_at_page_end_a_page_number() -> None:
    four = "８  １  ０  ４  １  ０  ０  ０  ０  ０  ０  ０  ０  ０  ０"
    wrapped = rows_from_spaced([four, "            ３", "五、存在的主要问题及改进情况"])
    assert wrapped[0][4] == "１３"
    paged = rows_from_spaced([four, "            ３", "\f", "五、存在的主要问题及改进情况"])
    assert paged[0][4] == "１"


def test_chunks_split_at_any_other_whitespace() -> None:
    """U+3000 and NBSP end a cell even alone (only an ASCII space can sit inside one)."""
    chunks = chunks_of("  项目\u3000名称\xa0甲    3  4")
    assert [(c.start, c.text) for c in chunks] == [(2, "项目"), (5, "名称"), (8, "甲"), (13, "3"), (16, "4")]
    assert [(c.start, c.text) for c in chunks_of("    （一）予以公开    5   6")] == [
        (4, "（一）予以公开"),
        (15, "5"),
        (19, "6"),
    ]


def test_carriage_returns_tabs_and_a_form_feed_mid_line() -> None:
    lines = [
        "            4.无正当理由大量反复申请       " + V7 + "\r",
        "            5.要求行政机关确认或重\r",
        "                                 -3-\f            新出具已获取信息        2    0   0   0    0    0   2",
        "\t（六）其他处理\t\t\t\t" + V7,
    ]
    assert rows_from_spaced(lines) == [
        ["4.无正当理由大量反复申请", *["0"] * 7],
        ["5.要求行政机关确认或重新出具已获取信息", "2", "0", "0", "0", "0", "0", "2"],
        ["（六）其他处理", *["0"] * 7],
    ]


def test_a_line_holding_a_line_feed_stays_one_line() -> None:
    lines = [
        "            4.无正当理由大量反复申请       " + V7 + "\n            5.要求行政机关确认或重",
        "            新出具已获取信息        2    0   0   0    0    0   2",
    ]
    assert rows_from_spaced(lines) == [
        ["4.无正当理由大量反复申请", *["0"] * 7, "5.要求行政机关确认或重"],
        ["新出具已获取信息", "2", "0", "0", "0", "0", "0", "2"],
    ]


def test_a_space_wrapped_onto_its_own_line_stays_inside_the_label() -> None:
    """保护第三方合法权 益: the label's stray space, wrapped one character a line, is a line of
    spaces reaching the label's column; it is not a gap between rows (hypothesis seed 290)."""
    lines = [
        "                      （4）保护第三方合",
        "                      法",
        "                      权",
        "                       ",
        "                      益              0      ０      0      ３      0      0      3",
        "",
        "                      （5）属于三类内部      1      0      0      0      0      0      1",
    ]
    assert rows_from_spaced(lines) == [
        ["（4）保护第三方合法权益", "0", "０", "0", "３", "0", "0", "3"],
        ["（5）属于三类内部", "1", "0", "0", "0", "0", "0", "1"],
    ]
    # A truly blank line (shorter than the label's column) still separates.
    lines[3] = ""
    assert rows_from_spaced(lines)[0] == ["（4）保护第三方合"]


def test_a_table2_row_with_an_empty_cell_is_not_wrapped_digits_of_the_row_above() -> None:
    """行政规范性文件 with its third cell printed empty, right under 规章 (bench pdf/unruled#029):
    fewer bare digits than the row above and a short label, as a number wrapped in its cell
    looks; read as wraps it made 规章 0 2 3 into 02 22 3, two wrong cells."""
    lines = [
        "信息内容       本年制发件数     本年废止件数      现行有效件数",
        "规章         0          2           3",
        "行政规范性文件    2          2",
        "第二十条第（五）项",
    ]
    assert rows_from_spaced(lines)[1:3] == [["规章", "0", "2", "3"], ["行政规范性文件", "2", "2"]]


def test_a_justified_label_wraps_under_its_enumerator() -> None:
    """``5．`` and the label text printed apart (justified): the wrapped rest lines up under the
    enumerator, left of the label text (bench pdf/unruled#002)."""
    lines = [
        "         4．  无正当理由大量反复  0  0  0  0  0  0   0",
        "         申请",
        "         5．  要求行政机关确认或  0  0  0  0  1  1   2",
        "         重新出具已获取信息",
        "  (六) 其他处理            0  0   0  0   0  0   0",
    ]
    assert rows_from_spaced(lines) == [
        ["4．", "无正当理由大量反复申请", *"0000000"],
        ["5．", "要求行政机关确认或重新出具已获取信息", *"0000112"],
        ["(六) 其他处理", *"0000000"],
    ]


def test_a_parent_label_and_its_first_leaf_wrap_side_by_side() -> None:
    """（六）其他处理 wraps in its narrow column beside 1.申请人…, which wraps in its own: both
    labels grow line by line (bench pdf/unruled#004)."""
    lines = [
        "         5.要求行政机关确认或重  0  0  0  0   0   0  0",
        "         新出具已获取信息",
        "  （六）其   1.申请人无正当理由逾期  0  0  0  0   0   0  3",
        "  他处理    不补正、行政机关不再",
        "         处理其政府信息公开申",
        "         请",
        "         2.申请人逾期未按收费通  0  0  0  0   0   0  0",
    ]
    rows = rows_from_spaced(lines)
    assert rows[1] == [
        "（六）其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        *"0000003",
    ]
    assert rows[2][0] == "2.申请人逾期未按收费通"
