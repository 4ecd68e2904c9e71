"""One extracted report: the contract printed by ``gongkai extract --json`` and loaded by the pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from extract.glued import AMBIGUOUS, UNDECIDED
from extract.identities import Check, compute_checks
from extract.matcher import Cell, Tables
from extract.normalize import ARTEFACTS, nfkc
from schemas.taxonomy import taxonomy

OK, WARNING, REJECTED = "ok", "warning", "rejected"


@dataclass
class Flag:
    """One null cell and why (schemas.taxonomy.NULL_KINDS)."""

    table: str  # applications | proactive | appeals
    row: str
    column: str
    kind: str  # blank | dash | unreadable | ambiguous
    reason: str
    candidates: list[int | float] = field(default_factory=list)  # the values an ambiguous cell could have


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


def _null_reason(cell: Cell) -> tuple[str, str]:
    """The kind of a null cell and the reason shown to people."""
    if cell.problem:
        return ("ambiguous" if cell.problem in (AMBIGUOUS, UNDECIDED) else "unreadable"), cell.problem
    printed = ARTEFACTS.sub("", nfkc(cell.raw or "")).strip()
    if not printed:
        return "blank", "printed empty"
    return "dash", f"printed as {printed!r}: not filled in"


def _flags(table: str, cells: dict[tuple[str, str], Cell]) -> list[Flag]:
    """One flag per null cell: every null in the report is explained."""
    return [
        Flag(table, row, column, *_null_reason(cell), candidates=list(cell.candidates))
        for (row, column), cell in cells.items()
        if cell.value is None
    ]


def build_report(file: str, tables: Tables, **meta: Any) -> Report:
    """Assemble the loaded report: every template cell, checks, nulls, flags and status."""
    applications = [
        {"category": r, "applicant_type": c, "count": cell.value}
        for (r, c), cell in tables.applications.items()
    ]
    proactive = [
        {"item": r, "measure": c, "value": cell.value, "unit": cell.unit}
        for (r, c), cell in tables.proactive.items()
    ]
    appeals = [
        {"proceeding": r, "outcome": c, "count": cell.value} for (r, c), cell in tables.appeals.items()
    ]
    flags = [
        *_flags("applications", tables.applications),
        *_flags("proactive", tables.proactive),
        *_flags("appeals", tables.appeals),
    ]
    checks: list[Check] = compute_checks(tables)
    null_cells = sum(
        cell.value is None
        for cells in (tables.applications, tables.proactive, tables.appeals)
        for cell in cells.values()
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
