"""One extracted report: the contract printed by ``gongkai extract --json`` and loaded by the pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from extract.identities import Check, compute_checks
from extract.matcher import Cell, Tables
from schemas.taxonomy import taxonomy

OK, WARNING, REJECTED = "ok", "warning", "rejected"


@dataclass
class Flag:
    table: str  # applications | proactive | appeals
    row: str
    column: str
    reason: str


@dataclass
class Report:
    file: str
    status: str
    error: str | None = None
    agency: str | None = None
    year: int | None = None
    template: str | None = None
    format: str | None = None
    applications: list[dict[str, Any]] = field(default_factory=list)
    proactive: list[dict[str, Any]] = field(default_factory=list)
    appeals: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    null_cells: int = 0
    flags: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    agency_source: str | None = None
    year_source: str | None = None
    encoding: str | None = None
    parser_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def loaded(self) -> bool:
        return self.status != REJECTED


def rejected(file: str, reason: str, **known: Any) -> Report:
    return Report(file=file, status=REJECTED, error=reason, **known)


def _cells(table: str, cells: dict[tuple[str, str], Cell], flags: list[Flag]) -> list[tuple[str, str, Cell]]:
    out = []
    for (row, column), cell in cells.items():
        if cell.problem:
            flags.append(Flag(table, row, column, cell.problem))
        out.append((row, column, cell))
    return out


def build_report(file: str, tables: Tables, **meta: Any) -> Report:
    """Assemble the loaded report: every template cell, checks, nulls, flags and status."""
    flags: list[Flag] = []
    applications = [
        {"category": r, "applicant_type": c, "count": cell.value}
        for r, c, cell in _cells("applications", tables.applications, flags)
    ]
    proactive = [
        {"item": r, "measure": c, "value": cell.value, "unit": cell.unit}
        for r, c, cell in _cells("proactive", tables.proactive, flags)
    ]
    appeals = [
        {"proceeding": r, "outcome": c, "count": cell.value}
        for r, c, cell in _cells("appeals", tables.appeals, flags)
    ]
    checks: list[Check] = compute_checks(tables)
    null_cells = sum(1 for rows in (applications, appeals) for x in rows if x["count"] is None) + sum(
        1 for x in proactive if x["value"] is None
    )
    warnings: list[str] = list(meta.pop("warnings", []))
    warnings += tables.problems
    failed = [c for c in checks if c.passed is False]
    if failed:
        warnings.append(
            "identities fail: "
            + ", ".join(f"{c.rule}/{c.subject} ({c.expected} vs {c.actual})" for c in failed[:6])
            + (f" and {len(failed) - 6} more" if len(failed) > 6 else "")
        )
    if null_cells:
        warnings.append(f"{null_cells} cells are null (blank, dash or unreadable)")
    status = WARNING if warnings else OK
    return Report(
        file=file,
        status=status,
        template=tables.template,
        applications=applications,
        proactive=proactive,
        appeals=appeals,
        checks=[
            {
                "rule": c.rule,
                "subject": c.subject,
                "expected": c.expected,
                "actual": c.actual,
                "passed": c.passed,
            }
            for c in checks
        ],
        null_cells=null_cells,
        flags=[asdict(f) for f in flags],
        warnings=warnings,
        **meta,
    )


def table3_row_count(tables: Tables) -> tuple[int, int]:
    codes = taxonomy().category_codes(single_other_row=tables.single_other_row)
    return tables.found.get("table 三", 0), len(codes)
