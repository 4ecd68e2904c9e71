"""A tiny report writer for tests that must not depend on ../shared, and its round trip.

``report_text`` prints a 2021-format report, one row per line, cells tab-separated, with
labels from the taxonomy; ``report_numbers`` makes table 三 numbers that satisfy A, B and C.
"""

from __future__ import annotations

import random
from pathlib import Path

from extract import extract_bytes
from schemas.taxonomy import taxonomy

APPLICANTS = taxonomy().applicant_codes  # six columns, then total
PARTS = [a for a in APPLICANTS if a != "total"]


def report_numbers(seed: int) -> dict[tuple[str, str], int]:
    """Table 三 (2021 format, split （六）) with identities A, B and C holding."""
    rng = random.Random(seed)
    tax = taxonomy()
    leaves = tax.result_leaves(single_other_row=False)
    cells: dict[tuple[str, str], int] = {}
    for a in PARTS:
        for leaf in leaves:
            cells[(leaf, a)] = (
                rng.choice([0, 0, 0, 1, 2, 5, 9]) if a == "natural_person" else rng.choice([0, 0, 1])
            )
        processed = sum(cells[(leaf, a)] for leaf in leaves)
        carried_over = rng.choice([0, 1, 3])
        forward = max(rng.choice([0, 2]), carried_over - processed)  # so new_received >= 0
        cells[("total_processed", a)] = processed
        cells[("carried_over", a)] = carried_over
        cells[("carried_forward", a)] = forward
        cells[("new_received", a)] = processed + forward - carried_over  # identity A
    for code in tax.category_codes(single_other_row=False):
        cells[(code, "total")] = sum(cells[(code, a)] for a in PARTS)
    return cells


def report_text(agency: str, year: int, seed: int = 0) -> str:
    tax = taxonomy()
    cells = report_numbers(seed)
    lines = [
        f"{agency}{year}年政府信息公开工作年度报告",
        "",
        "一、总体情况",
        f"{year}年，{agency}认真贯彻落实《中华人民共和国政府信息公开条例》，依法做好政府信息公开工作，"
        "主动公开政府信息，及时办理依申请公开，不断提高政府信息公开工作质量。",
        "二、主动公开政府信息情况",
        "第二十条第（一）项\t\t\t",
        "信息内容\t本年制发件数\t本年废止件数\t现行有效件数",
        "规章\t0\t0\t3",
        "行政规范性文件\t2\t1\t17",
        "第二十条第（五）项\t\t\t",
        "信息内容\t本年处理决定数量\t\t",
        f"行政许可\t{100 + seed}\t\t",
        "第二十条第（六）项\t\t\t",
        "信息内容\t本年处理决定数量\t\t",
        "行政处罚\t15\t\t",
        "行政强制\t5\t\t",
        "第二十条第（八）项\t\t\t",
        "信息内容\t本年收费金额（单位：万元）\t\t",
        "行政事业性收费\t12.5\t\t",
        "",
        "三、收到和处理政府信息公开申请情况",
        "",
        "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）\t\t\t申请人情况\t\t\t\t\t\t",
        "\t\t\t自然人\t法人或其他组织\t\t\t\t\t总计",
        "\t\t\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他\t",
    ]
    for code in tax.category_codes(single_other_row=False):
        label = tax.category(code).label.replace(" ", "\t")  # merged row header, then the leaf
        numbers = "\t".join(str(cells[(code, a)]) for a in APPLICANTS)
        lines.append(f"{label}\t{numbers}")
    lines += [
        "",
        "四、政府信息公开行政复议、行政诉讼情况",
        "",
        "行政复议\t\t\t\t\t行政诉讼\t\t\t\t\t\t\t\t\t",
        "结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t未经复议直接起诉\t\t\t\t\t复议后起诉\t\t\t\t",
        "\t\t\t\t\t结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t结果维持\t结果纠正\t其他结果\t尚未审结\t总计",
        "1\t1\t0\t0\t2\t0\t0\t1\t0\t1\t0\t0\t0\t1\t1",
        "",
        "五、存在的主要问题及改进情况",
        "工作人员业务水平有待提高。",
        "六、其他需要报告的事项",
        "无。",
    ]
    return "\n".join(lines) + "\n"


def write_raw(raw_dir: Path, year: int, agencies: list[str], *, seed: int = 0) -> list[Path]:
    folder = raw_dir / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, agency in enumerate(agencies):
        path = folder / f"{agency}_{year}.txt"
        path.write_text(report_text(agency, year, seed=seed + i), encoding="utf-8")
        paths.append(path)
    return paths


def test_written_report_round_trips() -> None:
    text = report_text("测试市交通运输局", 2022, seed=3)
    report = extract_bytes(text.encode(), "2022/x.txt", folder_year=2022)
    assert report.status == "ok", (report.error, report.warnings)
    assert report.agency == "测试市交通运输局" and report.year == 2022 and report.template == "2021"
    got = {(a["category"], a["applicant_type"]): a["count"] for a in report.applications}
    assert got == report_numbers(3)
    appeals = {(a["proceeding"], a["outcome"]): a["count"] for a in report.appeals}
    assert appeals[("reconsideration", "total")] == 2
    assert (
        appeals[("litigation_direct", "total")] == 1
        and appeals[("litigation_after_reconsideration", "total")] == 1
    )
    proactive = {(p["item"], p["measure"]): p["value"] for p in report.proactive}
    assert proactive[("licensing", "decisions")] == 103 and proactive[("fees", "amount_10k_yuan")] == 12.5
    assert all(c["passed"] for c in report.checks)
