"""Fictional places and agencies, built from name parts so a seed gives the same names."""

from __future__ import annotations

import random
from dataclasses import dataclass

PROVINCES = ("江苏省", "浙江省", "湖南省", "四川省", "广东省", "山东省", "河南省", "福建省")
FIRST = "青白云临松金石安望清鹤枫澄桐兰岚雁竹柳溪"
SECOND = "川鹭溪江岭湖门澜海源泉阳宁平洲屏湾原塘"
CITY_DEPARTMENTS = (
    "人民政府",
    "生态环境局",
    "教育局",
    "财政局",
    "自然资源和规划局",
    "住房和城乡建设局",
    "交通运输局",
    "卫生健康委员会",
    "市场监督管理局",
    "人力资源和社会保障局",
    "发展和改革委员会",
    "司法局",
    "民政局",
    "文化广电和旅游局",
    "应急管理局",
    "城市管理综合行政执法局",
)
STREET_SUFFIXES = ("街道办事处", "镇人民政府")


@dataclass(frozen=True)
class Agency:
    name: str
    region: str  # 江苏省/青川市/白鹭区


def _place(rng: random.Random) -> str:
    return rng.choice(FIRST) + rng.choice(SECOND)


def make_agency(rng: random.Random) -> Agency:
    province = rng.choice(PROVINCES)
    city = _place(rng) + "市"
    district = _place(rng) + rng.choice("区县")
    level = rng.choices(["city", "district", "street"], weights=[4, 5, 1])[0]
    if level == "city":
        name, region = city + rng.choice(CITY_DEPARTMENTS), f"{province}/{city}"
    elif level == "district":
        name, region = district + rng.choice(CITY_DEPARTMENTS), f"{province}/{city}/{district}"
    else:
        street = _place(rng)
        suffix = rng.choice(STREET_SUFFIXES)
        name = district + street + suffix
        region = f"{province}/{city}/{district}"
    return Agency(name, region)


def make_agencies(rng: random.Random, n: int) -> list[Agency]:
    """n agencies with distinct names."""
    seen: dict[str, Agency] = {}
    while len(seen) < n:
        agency = make_agency(rng)
        seen.setdefault(agency.name, agency)
    return list(seen.values())
