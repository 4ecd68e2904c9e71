"""Unit behaviour of decoding, values, labels and metadata (no ../shared needed)."""

from __future__ import annotations

import pytest

from extract import extract_bytes
from extract.decode import decode
from extract.metadata import path_year, resolve, title_metadata
from extract.normalize import LabelIndex, leaf_segments
from extract.values import parse_value
from schemas.taxonomy import taxonomy

TITLE = "青川市生态环境局2022年政府信息公开工作年度报告\n"


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-16-be"]
)
def test_decode_detects_encoding(encoding: str) -> None:
    text = TITLE + "三、收到和处理政府信息公开申请情况\n（七）总计\t１２\n"
    assert decode(text.encode(encoding)).text == text


def test_decode_never_crashes_on_bad_bytes() -> None:
    data = TITLE.encode("utf-8") + b"\xff\xfe\x80 broken \x81"
    decoded = decode(data)
    assert decoded.replaced > 0
    assert "青川市生态环境局" in decoded.text or "\ufffd" in decoded.text


@pytest.mark.parametrize(
    ("cell", "value", "blank", "unit"),
    [
        ("0", 0, False, None),
        ("１２", 12, False, None),
        ("23,871", 23871, False, None),
        ("3985758", 3985758, False, None),
        ("22（其中修订16件）", 22, False, None),
        ("55（含自然失效29件）", 55, False, None),
        ("251000元", 251000, False, "元"),
        ("", None, True, None),
        ("/", None, True, None),
        ("-", None, True, None),
        ("—", None, True, None),
        ("——", None, True, None),
        ("无", None, True, None),
    ],
)
def test_parse_value(cell: str, value: int | None, blank: bool, unit: str | None) -> None:
    parsed = parse_value(cell)
    assert (parsed.value, parsed.blank, parsed.unit, parsed.problem) == (value, blank, unit, None)


def test_parse_value_decimal_and_sign_only_where_allowed() -> None:
    assert parse_value("24252.311082", decimal=True).value == 24252.311082
    assert parse_value("-18", signed=True).value == -18
    assert parse_value("-18").problem == "negative count: '-18'"
    assert parse_value("3.5").problem is not None
    assert parse_value("约十件").problem is not None


@pytest.mark.parametrize(
    ("label", "leaf"),
    [
        ("三、本年度办理结果（一）予以公开", "予以公开"),
        ("(二) 部分公开（区分处理的，只计这一情形，不计其他情形）", "部分公开"),
        ("1、属于国家秘密", "属于国家秘密"),
        ("1．属于国家秘密", "属于国家秘密"),
        ("（1）属于国家秘密", "属于国家秘密"),
        ("4. 无正当理由大量反复 申请", "无正当理由大量反复申请"),
        ('3.危及"三安全一稳定"', "危及三安全一稳定"),
    ],
)
def test_leaf_segments(label: str, leaf: str) -> None:
    assert leaf_segments(label)[-1] == leaf


def test_label_typos_match_tolerantly_but_short_labels_exactly() -> None:
    index = LabelIndex({c.leaf: c.code for c in taxonomy().categories})
    assert index.lookup("其他法律行政止公开") == "withheld_prohibited_by_law"  # realdocs hzq2024
    assert index.lookup("本机关不掌握相关政府信") == "unavailable_not_held"
    assert index.lookup("其他") == "other_other"
    assert index.lookup("其它") is None  # two-character labels: no edits allowed
    assert index.lookup("予以公开") == "disclosed"
    assert index.lookup("部分公开") == "partially_disclosed"


@pytest.mark.parametrize(
    ("text", "agency", "year"),
    [
        ("海州区工业和信息化局 2022 年政府信息公开工作年度报告\n正文", "海州区工业和信息化局", 2022),
        ("2019年上海市人民政府办公厅政府信息公开工作年度报告", "上海市人民政府办公厅", 2019),
        ("标题: 平潭综合实验区2021年度政府信息公开工作年度报告", "平潭综合实验区", 2021),
        (
            "广州开发区民营经济和企业服务局2022年度  政府政务公开信息工作报告",
            "广州开发区民营经济和企业服务局",
            2022,
        ),
        ("2022年度 政府政务公开信息工作报告", None, 2022),
        ("   淮安市洪泽区人民政府\n  2024 年政府信息公开工作年度报告", "淮安市洪泽区人民政府", 2024),
        ("一、总体情况\n2024 年政府信息公开工作年度报告", None, 2024),
        # Wrapped over two lines (text pulled from a PDF), and Markdown or transcript marks.
        ("2024 年上海市科委政府信息公开工作\n年度报告\n一、总体情况", "上海市科委", 2024),
        ("# 沭阳县人民政府2023年政府信息公开工作年度报告\n\n正文", "沭阳县人民政府", 2023),
        ("**2022年度北京市朝阳区人民政府政府信息公开工作年度报告**", "北京市朝阳区人民政府", 2022),
        ("> 标题：某某局2021年政府信息公开工作年度报告", "某某局", 2021),
        ("## 淮安市洪泽区人民政府\n## 2024 年政府信息公开工作年度报告", "淮安市洪泽区人民政府", 2024),
        # Not a wrapped title: the line below is a sentence, not the title's end.
        ("本机关2023年政府信息公开工作\n依照条例第五十条，现将年度报告公布如下。", None, None),
    ],
)
def test_title_metadata(text: str, agency: str | None, year: int) -> None:
    assert title_metadata(text)[:2] == (agency, year)


def test_year_never_from_publication_date() -> None:
    text = "一、总体情况\n本单位认真落实条例要求，全年共处理申请若干件并及时答复。\n2023年1月12日"
    assert title_metadata(text)[1] is None
    meta = resolve(text, "data/raw/2022/x.txt")
    assert (meta.year, meta.year_source) == (2022, "path")


def test_manifest_wins_over_title() -> None:
    meta = resolve(TITLE, "data/raw/2022/x.txt", manifest_agency="青川市环境局", manifest_year=2022)
    assert (meta.agency, meta.agency_source, meta.year_source) == ("青川市环境局", "manifest", "manifest")


def test_path_year() -> None:
    assert path_year("data/raw/2021/sub/report.txt") == 2021
    assert path_year("report.txt") is None


def test_unknown_year_is_rejected_with_fix() -> None:
    report = extract_bytes("一、总体情况\n无\n".encode(), "x.txt")
    assert report.status == "rejected"
    assert report.error.startswith("year unknown")
    assert "manifest.csv" in report.error


def test_folder_year_mismatch_is_rejected_naming_both_years() -> None:
    report = extract_bytes(TITLE.encode(), "data/raw/2023/x.txt", folder_year=2023)
    assert report.status == "rejected"
    assert "2022" in report.error and "2023" in report.error and "data/raw/2022/" in report.error


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "a.txt", "empty file"),
        (b"   \n\t", "a.txt", "empty file"),
        (b"%PDF-1.7 ...", "a.txt", "damaged PDF"),  # PDFs are read now, whatever the name
        (b"\x89PNG\r\n\x1a\n....", "scan.png", "unsupported file type: a PNG image"),
        (b"PK\x03\x04....", "table.xlsx", "unsupported file type: a zip container"),
        (TITLE.encode(), "a.txt", "no table 三 found"),
    ],
)
def test_rejections_have_reasons(data: bytes, name: str, reason: str) -> None:
    report = extract_bytes(data, name)
    assert report.status == "rejected"
    assert report.error.startswith(reason)
