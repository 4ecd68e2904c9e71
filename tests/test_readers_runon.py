"""Run-together archived pages (``text/runon``): rows cut at the labels, digits split by ``glued``."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from extract import extract_bytes, extract_path
from extract.glued import AMBIGUOUS
from extract.readers import runon
from extract.readers.runon import rows_from_runon
from extract.readers.text import detect_layout
from schemas.taxonomy import CELL_TABLES, taxonomy
from synth.model import SyntheticReport, random_report
from synth.quirks import Quirks
from synth.render_runon import render_runon, render_runon_parts
from tests.conftest import expected_for, shared_files
from tests.test_glued import _agreed, _brute_appeals, brute_splits, brute_table3

TAX = taxonomy()
PINGTAN = shared_files("realdocs", "80*_page.txt")
TABLES = tuple((table, keys, value) for table, (keys, value) in CELL_TABLES.items())

SNIPPET = (
    "正文一、总体情况本年度共收到申请3件。二、主动公开政府信息情况 第二十条第（一）项信息内容本年制发件数本年废止件数"
    "现行有效件数规章 000行政规范性文件693665第二十条第（八）项信息内容 本年收费金额（单位：万元）行政事业性收费24252.31"
    "三、收到和处理政府信息公开申请情况申请人情况自然人法人或其他组织总计 商业企业科研机构社会公益组织法律服务机构其他"
    "一、本年新收政府信息公开申请数量640020470（三）不予公开1.属于国家秘密00000002.其他法律行政法规禁止公开500000 5"
    "三、本年度办理结果（四）无法提供1.本机关不掌握相关政府信息0000000"
    "四、结转下年度继续办理1000001 四、政府信息公开行政复议、行政诉讼情况 行政复议行政诉讼结果维持总计"
    "10203120001200000五、存在的主要问题及改进情况（一）问题12项。"
)


def test_rows_cut_at_labels_and_enumerators() -> None:
    rows = rows_from_runon(["标题: 某局2021年政府信息公开工作年度报告", SNIPPET])
    assert rows == [
        ["标题: 某局2021年政府信息公开工作年度报告"],
        ["正文一、总体情况本年度共收到申请3件。"],
        ["二、主动公开政府信息情况"],
        ["第二十条第(一)项", "信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
        ["规章", "000"],
        ["行政规范性文件", "693665"],
        ["第二十条第(八)项", "信息内容", "本年收费金额(单位:万元)"],
        ["行政事业性收费", "24252.31"],
        ["三、收到和处理政府信息公开申请情况"],
        [
            "申请人情况自然人法人或其他组织总计 商业企业科研机构社会公益组织法律服务机构其他",
            "一、本年新收政府信息公开申请数量",
            "640020470",
        ],
        ["(三)不予公开", "1.属于国家秘密", "0000000"],  # the 2. glued to these digits is the next label's
        ["2.其他法律行政法规禁止公开", "500000", "5"],  # a surviving space: a certain boundary
        ["三、本年度办理结果", "(四)无法提供", "1.本机关不掌握相关政府信息", "0000000"],
        ["四、结转下年度继续办理", "1000001"],
        ["四、政府信息公开行政复议、行政诉讼情况"],
        ["行政复议", "行政诉讼", "结果维持", "总计"],
        ["10203120001200000"],
        ["五、存在的主要问题及改进情况"],
        ["(一)问题12项。"],
    ]


def test_detects_runon_even_with_surviving_spaces() -> None:
    text = "予以公开61 0 000 7（二）总计13 1000014四、结转下年度继续办理0 000000 国家秘密0 000000"
    assert detect_layout([text]) == "text/runon"


def test_no_table_three_leaves_narrative() -> None:
    assert rows_from_runon(["一段没有表格的文字。", "第二段。"]) == [["一段没有表格的文字。"], ["第二段。"]]


@pytest.mark.parametrize("path", PINGTAN, ids=[p.stem[:5] for p in PINGTAN])
def test_pingtan_pages_match_expected(path: Path) -> None:
    expected = expected_for(path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json"))
    report = extract_path(path)
    assert report.format == "text/runon"
    assert (report.status, report.template, report.year, report.agency) == (
        "warning",  # the ambiguous table-二 cells are null
        expected["template"],
        expected["year"],
        expected["agency"],
    )
    for table, keys, value in TABLES:
        got = {tuple(r[k] for k in keys): r[value] for r in getattr(report, table)}
        assert got == {tuple(r[k] for k in keys): r[value] for r in expected[table]}, table
    nulls = {(r["item"], r["measure"]) for r in expected["proactive"] if r["value"] is None}
    flagged = {(f["row"], f["column"]) for f in report.flags if f["reason"] == AMBIGUOUS}
    assert flagged == nulls
    assert all(c["passed"] is True for c in report.checks)


def test_pingtan_pages_present_or_skipped(require_shared: Path) -> None:
    assert len(PINGTAN) == 2


# ---------------------------------------------------------------------------- round trip


def _small_report(seed: int) -> SyntheticReport:
    """The first report from this seed small enough to brute-force (counts under 40)."""
    rng = random.Random(seed)
    while True:
        report = random_report(
            rng,
            agency="青川市生态环境局",
            year=rng.choice([2019, 2020, 2021, 2022]),
            blank_cells=rng.choice([0, 0, 2]),
        )
        counts = [v for v in report.applications.values() if v is not None]
        appeal_digits = sum(len(str(v)) for v in report.appeals.values() if v is not None)
        amounts = [v for v in report.proactive.values() if v is not None]
        if max(counts, default=0) < 40 and appeal_digits <= 20 and all(len(str(v)) < 12 for v in amounts):
            return report


def _truth_from_text(report: SyntheticReport, parts) -> dict[str, dict]:
    """What the printed runs alone determine: brute force over every split (independent of glued)."""
    table3 = brute_table3(parts.category_runs, report.single_other_row)
    proactive = {}
    for item in TAX.proactive[report.template]:
        specs = [(m.decimal, m.signed) for m in item.measures]
        agreed = _agreed(brute_splits(parts.item_runs[item.code], specs, None))
        proactive |= {(item.code, m.code): v for m, v in zip(item.measures, agreed, strict=True)}
    appeals = _brute_appeals(parts.appeal_run)
    keys = [(p, o) for p in TAX.proceeding_codes for o in TAX.outcome_codes]
    return {"table3": table3, "proactive": proactive, "appeals": dict(zip(keys, appeals, strict=True))}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**9), st.booleans())
@example(1996731, False)  # adjacent blank marks "/—" are two cells, not one label
@example(2410, False)  # a dash total ("670000 —"): no room reserved for the sum
def test_round_trip_never_wrong_and_nulls_exactly_the_ambiguous(seed: int, quirky: bool) -> None:
    report = _small_report(seed)
    rng = random.Random(seed + 1)
    quirks = Quirks.random(rng) if quirky else Quirks()
    parts = render_runon_parts(report, rng, quirks)
    extracted = extract_bytes(parts.text.encode(quirks.encoding), "page.txt")
    assert extracted.format == "text/runon"
    assert (extracted.template, extracted.year) == (report.template, report.year)

    truth = _truth_from_text(report, parts)
    for row in extracted.applications:
        code, a = row["category"], row["applicant_type"]
        if row["count"] is not None:  # never wrong while accepted
            assert row["count"] == report.applications[(code, a)]
        if truth["table3"] is not None:
            assert row["count"] == truth["table3"][code][TAX.applicant_codes.index(a)], (code, a)
    for row in extracted.proactive:
        key = (row["item"], row["measure"])
        if row["value"] is not None:
            assert row["value"] == report.proactive[key]
        assert row["value"] == truth["proactive"][key], key
    for row in extracted.appeals:
        key = (row["proceeding"], row["outcome"])
        if row["count"] is not None:
            assert row["count"] == report.appeals[key]
        assert row["count"] == truth["appeals"][key], key


def test_render_runon_bytes_in_encoding() -> None:
    report = _small_report(7)
    data = render_runon(report, random.Random(1), Quirks(encoding="gb18030"))
    extracted = extract_bytes(data, "page.txt")
    assert extracted.encoding in ("gb18030", "gbk")
    assert extracted.format == "text/runon"


# ---------------------------------------------------------------------------- fast scans


def _pieces_by_character(region: str) -> list[tuple[str, str]]:
    """The plain character-by-character scan ``runon._pieces`` must agree with."""
    in_label = [False] * len(region)
    for pattern in (runon._ENUM_IN_TABLE, runon._labels_with_value_chars()):
        for m in pattern.finditer(region):
            for i in range(m.start(), m.end()):
                in_label[i] = True
    value_chars = runon._VALUE_CHARS
    out: list[tuple[str, str]] = []
    i, n, label_start = 0, len(region), 0
    while i < n:
        if region[i] in value_chars and not in_label[i]:
            j = i
            while j < n and (region[j].isspace() or (region[j] in value_chars and not in_label[j])):
                j += 1
            run = region[i:j]
            if any(c.isdigit() or c in "/—―–" for c in run) or run.strip() == "-":
                stripped = run.rstrip()
                end = i + len(stripped)
                unit = runon._UNIT_AFTER.match(region, end) if stripped[-1:].isdigit() else None
                if unit:
                    stripped += unit.group()
                    end = unit.end()
                if region[label_start:i].strip():
                    out.append(("label", region[label_start:i].strip()))
                elif out and out[-1][0] == "value":
                    out[-1] = ("value", out[-1][1] + " " + stripped.strip())
                    i = label_start = end
                    continue
                out.append(("value", stripped.strip()))
                i = label_start = end
                continue
            i = j
            continue
        i += 1
    if region[label_start:].strip():
        out.append(("label", region[label_start:].strip()))
    return out


_REGION_PARTS = [
    "0", "12", "000000", "2.", "3、", "(4)", "1.属于", "其他", "本年增/减", "本年增 / 减", " ", "  ", "\n",
    "/", "—", "——", "-", "−", "–", ".", ",", "元", "万元", "件", "规章", "二、", "(二)", "\u3000",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_REGION_PARTS), max_size=30))
def test_pieces_scan_agrees_with_the_character_scan(parts: list[str]) -> None:
    region = "".join(parts)
    assert [(p.kind, p.text) for p in runon._pieces(region)] == _pieces_by_character(region)


_HEADING_PARTS = [
    "二、", "三、", "2.", "3、", "(二)", "(十二)", "(3)", " ", "\n", "十", "一二三", "x", "1", "12.", "情况", "。",
    runon._T2_WORDS, runon._T3_WORDS, runon._T3_WORDS[3:], "\u3000",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_HEADING_PARTS), max_size=14), st.data())
def test_last_heading_is_the_last_match(parts: list[str], data: st.DataObject) -> None:
    text = "".join(parts)
    end = data.draw(st.integers(0, len(text)))
    for pattern, words in ((runon._T2, runon._T2_WORDS), (runon._T3, runon._T3_WORDS)):
        full = runon._last_before(pattern, text, end)
        fast = runon._last_heading(pattern, words, text, end)
        assert (fast and (fast.span(), fast.group())) == (full and (full.span(), full.group()))


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("（）：，；０１９ＡＡａ\u3000\u0301…²年份12 ab\n"), max_size=30))
def test_page_nfkc_is_nfkc(text: str) -> None:
    assert runon._nfkc_page(text) == unicodedata.normalize("NFKC", text)
