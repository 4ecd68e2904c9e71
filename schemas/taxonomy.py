"""The report template as data, loaded once from ``taxonomy.toml``.

Every other module asks this one for codes, labels and orders; none repeats a label list.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

TAXONOMY_FILE = Path(__file__).with_name("taxonomy.toml")
TEMPLATES = ("2019", "2021")
# Why a template cell is null (table cell_flags, the extractor's flags): printed empty, printed
# as a dash or 无, printed but not readable as a number (or its row or table not found), or
# several readings fit (run-together digits) and none is taken.
NULL_KINDS = ("blank", "dash", "unreadable", "ambiguous")
# The three tables of template cells, as `gongkai extract --json` and the warehouse name their
# columns: (row code column, column code column), value column.
CELL_TABLES: dict[str, tuple[tuple[str, str], str]] = {
    "applications": (("category", "applicant_type"), "count"),
    "proactive": (("item", "measure"), "value"),
    "appeals": (("proceeding", "outcome"), "count"),
}


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    leaf: str
    order: int
    group: str | None = None
    parent: str | None = None
    templates: tuple[str, ...] = TEMPLATES
    single_row_variant_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Coded:
    """A code with its Chinese label (applicant types, proceedings, outcomes)."""

    code: str
    label: str
    order: int
    group: str | None = None


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    unit: str | None = None
    signed: bool = False
    decimal: bool = False
    unit_from_cell: bool = False


@dataclass(frozen=True)
class ProactiveItem:
    code: str
    label: str
    section: str
    order: int
    measures: tuple[Measure, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Taxonomy:
    sections: tuple[str, ...]
    categories: tuple[Category, ...]
    applicant_types: tuple[Coded, ...]
    groups: dict[str, str]
    levels: dict[str, str]  # agency level code → Chinese label (省级 …)
    null_kinds: dict[str, str]  # cell_flags.kind → Chinese label
    appeal_proceedings: tuple[Coded, ...]
    appeal_outcomes: tuple[Coded, ...]
    proactive: dict[str, tuple[ProactiveItem, ...]]

    # ------------------------------------------------------------------ table 三
    def category(self, code: str) -> Category:
        return next(c for c in self.categories if c.code == code)

    def category_codes(self, *, single_other_row: bool) -> list[str]:
        """Row codes of table 三 in printed order.

        ``single_other_row``: （六）其他处理 printed as one row (2019 format, and 2021-era
        reports that kept it) instead of its three 2021 sub-rows.
        """
        return list(self._row_codes[single_other_row][0])

    def result_leaves(self, *, single_other_row: bool) -> list[str]:
        """The result leaves （一）…（六） whose sum is （七）总计 (identity B)."""
        return list(self._row_codes[single_other_row][1])

    @cached_property
    def _row_codes(self) -> dict[bool, tuple[tuple[str, ...], tuple[str, ...]]]:
        # Every report asks for these (matcher, checks, loader): worked out once per variant.
        split = {code for c in self.categories for code in c.single_row_variant_of}
        out = {}
        for single_other_row in (True, False):
            codes = tuple(
                c.code
                for c in self.categories
                if not (single_other_row and c.code in split)
                and not (not single_other_row and c.single_row_variant_of)
            )
            leaves = tuple(code for code in codes if self.category(code).group is not None)
            out[single_other_row] = (codes, leaves)
        return out

    @property
    def applicant_codes(self) -> list[str]:
        return list(self._codes["applicant"])

    # ------------------------------------------------------------------ table 四
    @property
    def proceeding_codes(self) -> list[str]:
        return list(self._codes["proceeding"])

    @property
    def outcome_codes(self) -> list[str]:
        return list(self._codes["outcome"])

    @cached_property
    def _codes(self) -> dict[str, tuple[str, ...]]:
        return {
            "applicant": tuple(a.code for a in self.applicant_types),
            "proceeding": tuple(p.code for p in self.appeal_proceedings),
            "outcome": tuple(o.code for o in self.appeal_outcomes),
        }

    # ------------------------------------------------------------------ table 二
    def proactive_cells(self, template: str) -> list[tuple[str, Measure]]:
        """(item code, measure) pairs of table 二 in printed order."""
        return [(item.code, m) for item in self.proactive[template] for m in item.measures]

    def measure_labels(self, template: str) -> set[str]:
        return {m.label for item in self.proactive[template] for m in item.measures}

    def proactive_labels(self) -> frozenset[str]:
        """The row labels of table 二, every template (规章, 行政规范性文件, 行政许可 …)."""
        return frozenset(item.label for items in self.proactive.values() for item in items)


def _coded(rows: list[dict]) -> tuple[Coded, ...]:
    return tuple(
        Coded(code=r["code"], label=r["label"], order=i, group=r.get("group")) for i, r in enumerate(rows)
    )


@cache
def taxonomy() -> Taxonomy:
    raw = tomllib.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    categories = tuple(
        Category(
            code=r["code"],
            label=r["label"],
            leaf=r["leaf"],
            order=i,
            group=r.get("group"),
            parent=r.get("parent"),
            templates=tuple(r["templates"]),
            single_row_variant_of=tuple(r.get("single_row_variant_of", ())),
        )
        for i, r in enumerate(raw["categories"])
    )
    proactive = {
        template: tuple(
            ProactiveItem(
                code=r["code"],
                label=r["label"],
                section=r["section"],
                order=i,
                measures=tuple(Measure(**m) for m in r["measures"]),
            )
            for i, r in enumerate(raw["proactive"][template])
        )
        for template in TEMPLATES
    }
    return Taxonomy(
        sections=tuple(raw["sections"]),
        categories=categories,
        applicant_types=_coded(raw["applicant_types"]),
        groups=dict(raw["groups"]),
        levels=dict(raw["levels"]),
        null_kinds=dict(raw["null_kinds"]),
        appeal_proceedings=_coded(raw["appeal_proceedings"]),
        appeal_outcomes=_coded(raw["appeal_outcomes"]),
        proactive=proactive,
    )
