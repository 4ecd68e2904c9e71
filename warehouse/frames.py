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
from pathlib import Path, PurePosixPath

import polars as pl

from extract import Report
from warehouse.agencies import AgencyDirectory
from warehouse.inventory import ManifestEntry, RawFile
from warehouse.parse_cache import ParseCache, ParsedFile, cache_key, parsed_from_report

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
    "cell_flags": {
        "report_id": pl.String(),
        "year": pl.Int64(),
        "table_name": pl.String(),
        "row_code": pl.String(),
        "column_code": pl.String(),
        "kind": pl.String(),
        "reason": pl.String(),
        "candidates": pl.List(pl.Float64()),
    },
    "corrections": {
        "report_id": pl.String(),
        "year": pl.Int64(),
        "source_path": pl.String(),
        "table_name": pl.String(),
        "row_code": pl.String(),
        "column_code": pl.String(),
        "printed_value": pl.Float64(),
        "printed_kind": pl.String(),
        "corrected_value": pl.Float64(),
        "status": pl.String(),
        "reason": pl.String(),
        "override": pl.Boolean(),
        "note": pl.String(),
        "who": pl.String(),
        "line": pl.Int64(),
    },
}
TABLES = tuple(SCHEMAS)
# Built per report from the parse cache (corrections: from data/corrections.csv at load).
FACT_TABLES = ("applications", "proactive", "appeals", "checks", "cell_flags")


@dataclass(frozen=True)
class Extracted:
    """One raw file and what the extractor made of it."""

    raw: RawFile
    report: Report


@dataclass
class Frames:
    """One frame per warehouse table; a fact table may instead be a staged Parquet file
    (``stage_frames``), which the load inserts without reading it into memory."""

    tables: dict[str, pl.DataFrame | Path | list[Path]]
    duplicates: list[str] = field(default_factory=list)  # files skipped: same bytes as another

    def __getitem__(self, table: str) -> pl.DataFrame:
        frame = self.tables[table]
        if isinstance(frame, pl.DataFrame):
            return frame
        if isinstance(frame, list) and not frame:
            return pl.DataFrame(schema=SCHEMAS[table])
        return pl.read_parquet(frame)

    def row_counts(self) -> dict[str, int]:
        return {t: self.scan(t).select(pl.len()).collect().item() for t in self.tables}

    def scan(self, table: str) -> pl.LazyFrame:
        frame = self.tables[table]
        if isinstance(frame, pl.DataFrame):
            return frame.lazy()
        if isinstance(frame, list) and not frame:
            return pl.LazyFrame(schema=SCHEMAS[table])
        return pl.scan_parquet(frame)


def stage_frames(frames: Frames, folder: Path) -> dict[str, list[Path]]:
    """Write each table's frame to ``folder/<table>.parquet`` (the load reads them from there)."""
    return {table: [write_staged(frames[table], folder / f"{table}.parquet")] for table in frames.tables}


def staged_frames(tables: dict[str, list[Path]]) -> Frames:
    """Frames for ``load_year`` from staged files: reports in memory (the load reasons about its
    rows), the facts left on disk."""
    return Frames(
        {
            t: (pl.read_parquet(p) if p else pl.DataFrame(schema=SCHEMAS[t])) if t == "reports" else p
            for t, p in tables.items()
        }
    )


def write_staged(frame: pl.DataFrame, path: Path) -> Path:
    """One staged Parquet file, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.write_parquet(tmp, compression="lz4", statistics=False)
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class FileEntry:
    """One file of a partition as a run sees it: where it is, and its parse-cache entry.

    ``parsed`` carries the extraction itself only when it could not be cached (the file could
    not be read: there are no bytes to key an entry on, and the next run must try again).
    """

    raw: RawFile
    key: int
    parsed: ParsedFile | None = None


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


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return (
        pl.DataFrame(rows, schema=SCHEMAS[table], orient="row")
        if rows
        else pl.DataFrame(schema=SCHEMAS[table])
    )


@dataclass
class ReportRows:
    """A partition's ``reports`` frame (revisions settled) with each row's parse-cache key."""

    frame: pl.DataFrame  # SCHEMAS["reports"] + key
    duplicates: list[str]

    @property
    def reports(self) -> pl.DataFrame:
        return self.frame.drop("key")

    def loaded(self) -> pl.DataFrame:
        """The rows that carry facts (ok or warning), with their keys."""
        return self.frame.filter(pl.col("status").is_in(["ok", "warning"]))


def report_rows(
    cache: ParseCache,
    entries: Iterable[FileEntry],
    manifest: dict[str, ManifestEntry] | None = None,
    directory: AgencyDirectory | None = None,
) -> ReportRows:
    """One ``reports`` row per file (a duplicate of another file's bytes is skipped and named),
    agency resolved, revisions settled."""
    manifest = manifest or {}
    directory = directory or AgencyDirectory()
    entries = list(entries)
    cached = {
        row["key"]: row
        for row in cache.meta(e.key for e in entries if e.parsed is None).iter_rows(named=True)
    }
    reports: list[dict] = []
    keys: list[int] = []
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for entry in entries:
        raw = entry.raw
        rid = raw.report_id
        if rid in seen:  # identical bytes filed twice: load once, say which copy was skipped
            duplicates.append(f"{raw.relative} (same file as {seen[rid]})")
            continue
        meta = entry.parsed.meta if entry.parsed is not None else cached.get(entry.key)
        if meta is None:
            raise KeyError(f"{raw.relative}: no parse-cache entry {entry.key} (parse it first)")
        seen[rid] = raw.relative
        # The extractor already warned when the agency is unnamed; the stem keeps rows attributable.
        printed = meta["agency"] or PurePosixPath(raw.relative).stem
        row = manifest.get(raw.relative)
        reports.append(
            {
                "report_id": rid,
                "agency": directory.resolve(printed),
                "year": raw.folder_year,
                "template": meta["template"],
                "format": meta["format"],
                "source_path": raw.relative,
                "sha256": raw.sha256,
                "size": raw.size,
                "status": meta["status"],
                "error": meta["error"],
                "warnings": meta["warnings"],
                "null_cells": meta["null_cells"],
                "agency_source": meta["agency_source"],
                "year_source": meta["year_source"],
                "encoding": meta["encoding"],
                "parser_version": meta["parser_version"],
                "agency_printed": printed,
                "published": row.published_date if row else None,
                "file_mtime": _mtime(raw),
                "superseded_by": None,
            }
        )
        keys.append(entry.key)
    _settle_revisions(reports)
    frame = _frame("reports", reports).with_columns(key=pl.Series(keys, dtype=pl.Int64()))
    return ReportRows(frame, duplicates)


def fact_frames(cache: ParseCache, loaded: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The fact frames of ``loaded`` report rows (with keys): one SQL join with the cache each."""
    out = {}
    for table in FACT_TABLES:
        key_columns = [c for c in ("report_id", "agency", "year") if c in SCHEMAS[table]]
        frame = cache.facts(_CACHED_AS.get(table, table), loaded.select("key", *key_columns), key_columns)
        out[table] = frame.rename(dict(zip(frame.columns, SCHEMAS[table], strict=True))).cast(
            SCHEMAS[table]  # type: ignore[arg-type]
        )
    return out


_CACHED_AS = {"cell_flags": "flags"}  # the parse cache's name for a warehouse table


def frames_from_cache(
    cache: ParseCache,
    entries: Iterable[FileEntry],
    manifest: dict[str, ManifestEntry] | None = None,
    directory: AgencyDirectory | None = None,
) -> Frames:
    """The five warehouse frames of ``entries``; rejected and superseded reports appear only in
    ``reports``. Report rows are built per file; the facts come from the cache in one join."""
    rows = report_rows(cache, entries, manifest, directory)
    return Frames({"reports": rows.reports, **fact_frames(cache, rows.loaded())}, rows.duplicates)


def build_frames(
    items: Iterable[Extracted],
    manifest: dict[str, ManifestEntry] | None = None,
    directory: AgencyDirectory | None = None,
) -> Frames:
    """The frames of reports extracted in memory (tests, tools): the pipeline's own path, through
    an in-memory parse cache."""
    with ParseCache(None) as cache:
        entries, added = [], set()
        for item in items:
            raw = item.raw
            key = cache_key(
                raw.sha256,
                raw.relative,
                manifest_agency=None,
                manifest_year=None,
                folder_year=raw.folder_year,
            )
            if key not in added:  # the same bytes twice: the first copy's report is the one kept
                cache.add(parsed_from_report(item.report, key, raw.sha256, raw.size, raw.folder_year))
                added.add(key)
            entries.append(FileEntry(raw, key))
        return frames_from_cache(cache, entries, manifest, directory)


def empty_frames() -> Frames:
    return Frames({t: _frame(t, []) for t in TABLES})
