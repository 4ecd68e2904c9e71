"""The prose around the tables: title, 一、总体情况 with distractor numbers, 五/六, the date.

The narrative deliberately holds numbers that look like table numbers (主动公开政府信息200条,
12345平台案件37件, phone numbers, the publication date in the following year): the table is
the record, and the extractor must not read the prose.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from schemas.taxonomy import taxonomy
from synth.quirks import Quirks

_CN_NUM = "一二三四五六七八九十"


@dataclass(frozen=True)
class Heading:
    index: int  # 0..5, the section of TAXONOMY.md
    text: str


def title(agency: str, year: int, quirks: Quirks) -> str:
    style = quirks.title_style
    if style == "spaced":
        return f"{agency} {year} 年度政府信息公开工作报告"
    if style == "nian_du":
        return f"{agency}{year}年度政府信息公开工作年度报告"
    if style == "year_first":
        return f"{year}年度{agency}政府信息公开工作年度报告"
    return f"{agency}{year}年政府信息公开工作年度报告"


def headings(quirks: Quirks) -> list[str]:
    """The six section headings as this report prints them (renumbered or reworded)."""
    out = list(taxonomy().sections)
    if quirks.heading_style == "arabic":  # seed 004: 1. 收到和处理… and 1. 其他需要报告的事项
        for i in (2, 5):
            out[i] = "1. " + out[i].split("、", 1)[1]
    elif quirks.heading_style == "missing_two":
        out[1] = out[1].split("、", 1)[1]
    elif quirks.heading_style == "renumbered":
        # The overview unnumbered, so the tables' sections are 一、二、三 (then 四、五).
        numbers = ["", "一、", "二、", "三、", "四、", "五、"]
        out = [n + h.split("、", 1)[1] for n, h in zip(numbers, out, strict=True)]
    return out


def _phone(rng: random.Random) -> str:
    return f"0{rng.randint(10, 999)}-{rng.randint(2000000, 89999999)}"


def overview(agency: str, short: str, year: int, rng: random.Random) -> list[str]:
    """一、总体情况 paragraphs, full of numbers that are not table values."""
    posted = rng.randint(20, 3000)
    kinds = rng.randint(2, 9)
    paragraphs = [
        f"根据《中华人民共和国政府信息公开条例》和有关规定，现将{agency}{year}年政府信息公开工作情况报告如下。"
        f"如对本报告有任何疑问，请与{agency}办公室联系（电话：{_phone(rng)}；"
        f"地址：{rng.choice('东西南北')}环路{rng.randint(1, 300)}号，邮政编码：{rng.randint(100000, 850000)}）。",
        f"（一）主动公开。{year}年，{short}主动公开政府信息{posted}条，其中工作动态类信息"
        f"{posted // 2}条、公告通知类{posted // 5}条、财政信息类{kinds}条，更新信息公开指南1次。",
        f"（二）依申请公开。全年共处理 12345 平台案件 {rng.randint(0, 400)} 件，办结率100%；"
        f"政府信息公开申请均在法定期限内答复。",
        f"（三）政府信息管理。{short}严格执行信息发布“三审三校”制度，全年开展保密审查{rng.randint(1, 60)}次。",
        "（四）政府信息公开平台建设。规范设置平台栏目，及时更新政务新媒体内容，保障网站安全平稳运行。",
        f"（五）监督保障。组织业务培训{rng.randint(1, 12)}场次，完善政府信息公开工作责任追究制度。",
    ]
    return paragraphs


def closing(agency: str, short: str, year: int, rng: random.Random) -> tuple[list[str], list[str], str]:
    """Sections 五 and 六 paragraphs, and the publication date (always the following year)."""
    problems = [
        f"{year}年，{short}政府信息公开工作取得一定成效，但仍存在政策解读形式不够丰富、"
        "部分栏目更新不够及时等问题。下一步将加强业务培训，提升公开质量。",
    ]
    other = [
        f"{short}{year}年度未收取信息处理费。",
        f"{short}认真落实政务公开工作要点，暂无其他需要报告的事项。",
    ]
    published = f"{year + 1}年{rng.randint(1, 3)}月{rng.randint(1, 28)}日"
    return problems, other, published
