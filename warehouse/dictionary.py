"""The data dictionary (docs/data-dictionary.md), generated so it cannot go stale.

Tables, views, columns and types come from the catalog of a fresh, empty warehouse in a
temporary folder (the same DDL and views a load creates); descriptions from ``schemas/dictionary.toml`` and a few
patterns below; every code's Chinese label from ``schemas/taxonomy.toml``. A column with no
description raises, and a test compares the committed file with this output.
"""

from __future__ import annotations

import tempfile
import tomllib
from functools import cache
from pathlib import Path

from schemas.taxonomy import TEMPLATES, taxonomy
from warehouse.access import relations
from warehouse.db import connect, init_schema

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTIONS_FILE = ROOT / "schemas" / "dictionary.toml"
DICTIONARY_FILE = ROOT / "docs" / "data-dictionary.md"


@cache
def _descriptions() -> dict:
    return tomllib.loads(DESCRIPTIONS_FILE.read_text(encoding="utf-8"))


def _pattern(column: str) -> str | None:
    tax = taxonomy()
    labels = {c.code: c.label for c in tax.categories}
    if column.endswith("_rank"):
        return f"Rank of {column.removesuffix('_rank')} within year and level (1 = highest)."
    if column.startswith("withheld_share_"):
        code = "withheld_" + column.removeprefix("withheld_share_")
        return f"{code} / withheld: share of 不予公开 for reason {labels[code]}."
    if column in labels:
        return f"{labels[column]}, 总计 column."
    return None


def describe(relation: str, column: str) -> str:
    d = _descriptions()
    entry = d["relations"].get(relation, {})
    own = dict(entry.get("columns", {}))
    if "columns_from" in entry:  # a view that only reshapes another reads its descriptions
        own = d["relations"][entry["columns_from"]].get("columns", {}) | own
    text = own.get(column) or _pattern(column) or d["columns"].get(column)
    if text is None:
        raise KeyError(f"no description for {relation}.{column}: add it to {DESCRIPTIONS_FILE.name}")
    return text


def relation_description(relation: str) -> str:
    """The description of a table or view (KeyError naming the file to edit when it has none)."""
    description = _descriptions()["relations"].get(relation, {}).get("description")
    if description is None:
        raise KeyError(f"no description for {relation}: add it to {DESCRIPTIONS_FILE.name}")
    return description


def _row(*cells: object) -> str:
    return "| " + " | ".join("" if c is None else str(c).replace("|", "\\|") for c in cells) + " |"


def _codes() -> list[str]:
    tax = taxonomy()
    out = [
        "## Codes",
        "",
        "Codes are the product's contract (TAXONOMY.md); labels as printed on the form.",
        "",
    ]
    out += ["### Table 三 rows (`category`)", "", _row("code", "label", "group", "templates"), _row(*"----")]
    out += [_row(f"`{c.code}`", c.label, c.group or "", ", ".join(c.templates)) for c in tax.categories]
    out += [
        "",
        "`other` is the single （六）其他处理 row (2019 format, and 2021-era reports that kept it); "
        "in `applications_comparable` the code `other` is the group: that row or the sum of "
        "`other_no_correction`, `other_unpaid_fee`, `other_other`.",
        "",
        "### Table 三 groups (`category` where `kind = 'group'`)",
        "",
        _row("code", "label"),
        _row("---", "---"),
    ]
    out += [_row(f"`{code}`", label) for code, label in tax.groups.items()]
    out += ["", "### Applicant types (`applicant_type`)", "", _row("code", "label", "group"), _row(*"---")]
    out += [_row(f"`{a.code}`", a.label, a.group) for a in tax.applicant_types]
    out += ["", "### Table 四 (`proceeding`, `outcome`)", "", _row("code", "label", "kind"), _row(*"---")]
    out += [_row(f"`{p.code}`", p.label, "proceeding") for p in tax.appeal_proceedings]
    out += [_row(f"`{o.code}`", o.label, "outcome") for o in tax.appeal_outcomes]
    out += ["", "### Agency levels (`level`)", "", _row("code", "label"), _row("---", "---")]
    out += [_row(f"`{code}`", label) for code, label in tax.levels.items()]
    out += ["", "### Why a cell is null (`cell_flags.kind`)", "", _row("code", "label"), _row("---", "---")]
    out += [_row(f"`{code}`", label) for code, label in tax.null_kinds.items()]
    for template in TEMPLATES:
        out += [
            "",
            f"### Table 二, {template} format (`item`, `measure`)",
            "",
            _row("item", "item label", "measure", "measure label", "unit"),
            _row(*"-----"),
        ]
        out += [
            _row(f"`{item.code}`", item.label, f"`{m.code}`", m.label, m.unit or "")
            for item in taxonomy().proactive[template]
            for m in item.measures
        ]
    out += [
        "",
        "Table 二 is not comparable across the two formats: the measure sets differ and are kept "
        "apart (`proactive_labelled` carries each row's template), never mapped onto each other.",
    ]
    return out


def render_dictionary() -> str:
    with tempfile.TemporaryDirectory() as tmp, connect(Path(tmp) / "dictionary.ducklake") as con:
        init_schema(con)
        catalog = relations(con)
        types = {
            (t, c): ty
            for t, c, ty in con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() "
                "WHERE schema_name = 'main' AND database_name = current_database()"
            ).fetchall()
        }
    out = [
        "# Data dictionary",
        "",
        "Generated by `uv run gongkai dictionary --write` from the warehouse catalog, "
        "`schemas/dictionary.toml` and `schemas/taxonomy.toml` — do not edit by hand. "
        "Formulas of the metrics: [metrics.md](metrics.md).",
        "",
    ]
    for kind, title in (("table", "Tables"), ("view", "Views")):
        names = [r.name for r in catalog.values() if r.kind == kind]
        out += [f"## {title}", "", ", ".join(f"[`{n}`](#{n})" for n in names), ""]
        for name in names:
            description = relation_description(name)
            out += [f"### {name}", "", description, "", _row("column", "type", "description"), _row(*"---")]
            out += [_row(f"`{c}`", types[(name, c)], describe(name, c)) for c in catalog[name].columns]
            out.append("")
    out += _codes()
    return "\n".join(out) + "\n"
