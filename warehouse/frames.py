"""Extracted reports (with the raw file each came from) → Polars frames, one per warehouse table.

Column order and dtypes here are the DDL's (schemas/sql/warehouse.sql); ``year`` everywhere
is the partition the rows are loaded and replaced under (manifest year, else folder year).

Agency names resolve to their canonical name here (``warehouse.agencies``), and revisions are
settled here: of two loaded reports for the same canonical agency and year, the later one
(manifest ``published``, else file modification time) is current; the other stays in
``reports`` with status ``superseded`` and no facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import PurePosixPath

import polars as pl

from extract import Report
from warehouse.agencies import AgencyDirectory
from warehouse.inventory import ManifestEntry, RawFile

SUPERSEDED = "superseded"

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "reports": {
        "report_id": pl.String(),
        "agency": pl.String(),
        "year": pl.Int64(),
        "template": pl.String(),
        "format": pl.String(),
        "source_path": pl.String(),
        "sha256": pl.String(),
        "size": pl.Int64(),
        "status": pl.String(),
        "error": pl.String(),
        "warnings": pl.String(),
        "null_cells": pl.Int64(),
        "agency_source": pl.String(),
        "year_source": pl.String(),
        "encoding": pl.String(),
        "parser_version": pl.String(),
        "agency_printed": pl.String(),
        "published": pl.Date(),
        "file_mtime": pl.Datetime("us"),
        "superseded_by": pl.String(),
    },
    "applications": {
        "report_id": pl.String(),
        "agency": pl.String(),
        "year": pl.Int64(),
        "category": pl.String(),
        "applicant_type": pl.String(),
        "count": pl.Int64(),
    },
    "proactive": {
        "report_id": pl.String(),
        "agency": pl.String(),
        "year": pl.Int64(),
        "item": pl.String(),
        "measure": pl.String(),
        "value": pl.Float64(),
        "unit": pl.String(),
    },
    "appeals": {
        "report_id": pl.String(),
        "agency": pl.String(),
        "year": pl.Int64(),
        "proceeding": pl.String(),
        "outcome": pl.String(),
        "count": pl.Int64(),
    },
    "checks": {
        "report_id": pl.String(),
        "year": pl.Int64(),
        "rule": pl.String(),
        "subject": pl.String(),
        "expected": pl.Float64(),
        "actual": pl.Float64(),
        "passed": pl.Boolean(),
    },
}
TABLES = tuple(SCHEMAS)
FACT_TABLES = ("applications", "proactive", "appeals", "checks")


@dataclass(frozen=True)
class Extracted:
    """One raw file and what the extractor made of it."""

    raw: RawFile
    report: Report


@dataclass
class Frames:
    tables: dict[str, pl.DataFrame]
    duplicates: list[str] = field(default_factory=list)  # files skipped: same bytes as another

    def __getitem__(self, table: str) -> pl.DataFrame:
        return self.tables[table]

    def row_counts(self) -> dict[str, int]:
        return {t: df.height for t, df in self.tables.items()}


def agency_of(item: Extracted) -> str:
    # The extractor already warned; the stem keeps the rows attributable and distinct.
    return item.report.agency or PurePosixPath(item.raw.relative).stem


def _int(value: object) -> int | None:
    # Counts are whole numbers; a fractional one is not a count we can store (the extractor flags it).
    if value is None or not float(value).is_integer():  # type: ignore[arg-type]
        return None
    return int(value)  # type: ignore[call-overload]


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return (
        pl.DataFrame(rows, schema=SCHEMAS[table], orient="row")
        if rows
        else pl.DataFrame(schema=SCHEMAS[table])
    )


def _mtime(raw: RawFile) -> datetime:
    return datetime.fromtimestamp(raw.mtime, UTC).replace(tzinfo=None)


def _currency_key(row: dict) -> tuple:
    """Sort key of a loaded report within its agency-year: the current one sorts first.

    Later publication (manifest ``published``, else the file's modification time) wins; on a
    tie, ok before warning, fewer null cells, then the path.
    """
    published: date | None = row["published"]
    stamp = datetime.combine(published, datetime.min.time()) if published else row["file_mtime"]
    return (-stamp.timestamp(), row["status"] != "ok", row["null_cells"], row["source_path"])


def _settle_revisions(reports: list[dict]) -> None:
    """Mark every loaded report that a later one of the same agency-year replaces."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for row in reports:
        if row["status"] != "rejected":
            groups.setdefault((row["agency"], row["year"]), []).append(row)
    for rows in groups.values():
        current, *older = sorted(rows, key=_currency_key)
        for row in older:
            row["status"], row["superseded_by"] = SUPERSEDED, current["report_id"]


def build_frames(
    items: Iterable[Extracted],
    manifest: dict[str, ManifestEntry] | None = None,
    directory: AgencyDirectory | None = None,
) -> Frames:
    """The five warehouse frames. Rejected and superseded reports appear only in ``reports``."""
    manifest = manifest or {}
    directory = directory or AgencyDirectory()
    reports: list[dict] = []
    facts: dict[str, dict[str, list[dict]]] = {}
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for item in items:
        raw, report = item.raw, item.report
        rid = raw.report_id
        if rid in seen:  # identical bytes filed twice: load once, say which copy was skipped
            duplicates.append(f"{raw.relative} (same file as {seen[rid]})")
            continue
        seen[rid] = raw.relative
        printed = agency_of(item)
        agency = directory.resolve(printed)
        year = raw.folder_year
        entry = manifest.get(raw.relative)
        reports.append(
            {
                "report_id": rid,
                "agency": agency,
                "year": year,
                "template": report.template,
                "format": report.format,
                "source_path": raw.relative,
                "sha256": raw.sha256,
                "size": raw.size,
                "status": report.status,
                "error": report.error,
                "warnings": "; ".join(report.warnings) or None,
                "null_cells": report.null_cells,
                "agency_source": report.agency_source,
                "year_source": report.year_source,
                "encoding": report.encoding,
                "parser_version": report.parser_version,
                "agency_printed": printed,
                "published": entry.published_date if entry else None,
                "file_mtime": _mtime(raw),
                "superseded_by": None,
            }
        )
        if not report.loaded:
            continue
        key = {"report_id": rid, "agency": agency, "year": year}
        facts[rid] = {
            "applications": [
                key
                | {
                    "category": a["category"],
                    "applicant_type": a["applicant_type"],
                    "count": _int(a["count"]),
                }
                for a in report.applications
            ],
            "proactive": [
                key
                | {
                    "item": p["item"],
                    "measure": p["measure"],
                    "value": _float(p["value"]),
                    "unit": p.get("unit"),
                }
                for p in report.proactive
            ],
            "appeals": [
                key | {"proceeding": a["proceeding"], "outcome": a["outcome"], "count": _int(a["count"])}
                for a in report.appeals
            ],
            "checks": [
                {
                    "report_id": rid,
                    "year": year,
                    "rule": c["rule"],
                    "subject": c["subject"],
                    "expected": _float(c["expected"]),
                    "actual": _float(c["actual"]),
                    "passed": c["passed"],
                }
                for c in report.checks
            ],
        }
    _settle_revisions(reports)
    rows: dict[str, list[dict]] = {t: [] for t in TABLES}
    rows["reports"] = reports
    for row in reports:
        if row["status"] in ("ok", "warning"):
            for table, table_rows in facts[row["report_id"]].items():
                rows[table] += table_rows
    return Frames({t: _frame(t, r) for t, r in rows.items()}, duplicates)


def empty_frames() -> Frames:
    return Frames({t: _frame(t, []) for t in TABLES})
