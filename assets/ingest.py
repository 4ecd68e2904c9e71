"""The four yearly assets: raw files → extracted reports → validated frames → warehouse rows.

Every asset works on ``context.partition_keys`` (one year, or a range in a single-run
backfill) and returns ``{year: value}``; the IO manager stores each year on its own.
"""

import dataclasses
import hashlib
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dagster as dg

from assets.payloads import ExtractedYear, ValidatedYear, YearFiles
from extract import REJECTED, Report
from extract.guarded import extract_guarded
from extract.limits import MEMORY_MB, TIMEOUT_S
from pipelines.partitions import years_partitions
from pipelines.resources import GongkaiPaths
from schemas.models import validate_frames
from warehouse.agencies import build_directory
from warehouse.db import LoadResult, failed_identities, load_year, query
from warehouse.frames import TABLES, Extracted, build_frames
from warehouse.inventory import read_manifest, scan_partition
from warehouse.publish import warehouse_build

# BackfillPolicy is "beta" in Dagster 1.13; we rely on it knowingly, the warning is noise in the CLI.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

IO_MANAGER = "year_io"
GROUP = "gongkai"
PANDERA_CHECK = "pandera_models"
IDENTITY_CHECK = "identities"
CONTINUITY_CHECK = "carryover_continuity"
_COMMON: dict[str, Any] = {
    "partitions_def": years_partitions,
    # A backfill over 2019–2025 is one run: one process, one extractor warm-up, one writer.
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "group_name": GROUP,
}
_MAX_LISTED = 50  # markdown lists in metadata stay readable in the UI


def _md_list(lines: list[str], empty: str = "none") -> dg.MetadataValue:
    if not lines:
        return dg.MetadataValue.md(empty)
    shown = [f"- {line}" for line in lines[:_MAX_LISTED]]
    if len(lines) > _MAX_LISTED:
        shown.append(f"- … and {len(lines) - _MAX_LISTED} more")
    return dg.MetadataValue.md("\n".join(shown))


# ----------------------------------------------------------------------------------- raw_files
@dg.asset(io_manager_key=IO_MANAGER, kinds={"python"}, **_COMMON)
def raw_files(context: dg.AssetExecutionContext, paths: GongkaiPaths) -> dg.Output[dict[str, YearFiles]]:
    """Report files of each year (``raw/<year>/``, or the manifest's year) with their sha256,
    their manifest rows, and the agency directory (agencies.csv + manifest)."""
    if not paths.raw.is_dir():
        # A missing year folder means "no reports that year" and empties it in the warehouse; a
        # missing raw folder is a misconfiguration and must not empty every requested year.
        raise dg.Failure(f"raw folder {paths.raw} does not exist (set GONGKAI_RAW or the paths resource)")
    manifest = read_manifest(paths.raw)
    agencies = build_directory(paths.agencies, manifest)
    out: dict[str, YearFiles] = {}
    for key in context.partition_keys:
        year = int(key)
        files = scan_partition(paths.raw, year, manifest)
        entries = manifest.for_year(year)
        present = {f.relative for f in files}
        problems = (
            list(manifest.problems)
            + list(agencies.problems)
            + [
                f"manifest.csv lists {path}, which is not in the raw folder"
                for path in entries
                if path not in present
            ]
        )
        out[key] = YearFiles(year=year, files=files, manifest=entries, problems=problems, agencies=agencies)
    total = sum(len(y.files) for y in out.values())
    problems = sorted({p for y in out.values() for p in y.problems})
    return dg.Output(
        out,
        metadata={
            "files": total,
            "files_per_year": dg.MetadataValue.json({k: len(v.files) for k, v in out.items()}),
            "bytes": sum(f.size for y in out.values() for f in y.files),
            "problems": _md_list(problems),
        },
    )


# ---------------------------------------------------------------------------- extracted_reports
def _extract_one(year_files: YearFiles, index: int) -> Extracted:
    raw = year_files.files[index]
    entry = year_files.manifest.get(raw.relative)
    try:
        data = raw.path.read_bytes()
    except OSError as exc:
        report = Report(file=raw.relative, status=REJECTED, error=f"cannot read file: {exc.strerror or exc}")
        return Extracted(raw, report)
    digest = hashlib.sha256(data).hexdigest()
    if digest != raw.sha256:  # edited since the scan: the id must follow the bytes we parsed
        raw = dataclasses.replace(raw, sha256=digest, size=len(data))
    try:
        # In a child process with a time and memory limit: a hostile file is rejected, never hangs
        # or exhausts the run (extract.limits).
        report = extract_guarded(
            data,
            raw.relative,
            timeout_s=TIMEOUT_S,
            memory_mb=MEMORY_MB,
            manifest_agency=entry.agency if entry else None,
            manifest_year=entry.year if entry else None,
            folder_year=year_files.year,
        )
    except Exception as exc:  # extract_bytes promises not to raise; one bad file must not stop the year
        report = Report(
            file=raw.relative, status=REJECTED, error=f"extractor crashed: {type(exc).__name__}: {exc}"
        )
    return Extracted(raw, report)


@dg.asset(io_manager_key=IO_MANAGER, kinds={"python"}, **_COMMON)
def extracted_reports(
    context: dg.AssetExecutionContext, raw_files: dict[str, YearFiles]
) -> dg.Output[dict[str, ExtractedYear]]:
    """Each file through the extractor; rejected files keep their one-line reason."""
    out: dict[str, ExtractedYear] = {}
    for key, year_files in raw_files.items():
        # Threads only wait on the extraction children, so each core parses one file at a time.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            items = list(pool.map(lambda i, yf=year_files: _extract_one(yf, i), range(len(year_files.files))))
        out[key] = ExtractedYear(
            year=year_files.year,
            items=items,
            problems=year_files.problems,
            manifest=year_files.manifest,
            agencies=year_files.agencies,
        )
        context.log.info(f"{key}: {len(items)} files extracted")
    rejected = [f"`{path}`: {reason}" for y in out.values() for path, reason in y.rejected()]
    return dg.Output(
        out,
        metadata={
            "ok": sum(y.count("ok") for y in out.values()),
            "warning": sum(y.count("warning") for y in out.values()),
            "rejected": sum(y.count("rejected") for y in out.values()),
            "rejected_files": _md_list(rejected),
        },
    )


# ----------------------------------------------------------------------------- validated_frames
@dg.asset(
    io_manager_key=IO_MANAGER,
    kinds={"polars"},
    check_specs=[
        dg.AssetCheckSpec(
            PANDERA_CHECK,
            asset="validated_frames",
            blocking=True,  # a failing frame never reaches the warehouse
            description="Every frame passes its pandera model (codes, keys, signs).",
        )
    ],
    **_COMMON,
)
def validated_frames(
    context: dg.AssetExecutionContext, extracted_reports: dict[str, ExtractedYear]
) -> Iterator[dg.Output[dict[str, ValidatedYear]] | dg.AssetCheckResult]:
    """The warehouse frames of each year, checked lazily against the pandera models."""
    out: dict[str, ValidatedYear] = {}
    for key, extracted in extracted_reports.items():
        frames = build_frames(extracted.items, extracted.manifest, extracted.agencies)
        out[key] = ValidatedYear(
            year=extracted.year,
            frames=frames,
            failures=validate_frames(frames.tables),
            agencies=extracted.agencies,
        )
    failures = [f | {"year": v.year} for v in out.values() for f in v.failures]
    rows = {t: sum(v.frames[t].height for v in out.values()) for t in TABLES}
    duplicates = [d for v in out.values() for d in v.frames.duplicates]
    yield dg.Output(
        out,
        metadata={**{f"rows_{t}": n for t, n in rows.items()}, "duplicates_skipped": _md_list(duplicates)},
    )
    yield dg.AssetCheckResult(
        check_name=PANDERA_CHECK,
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "failures": len(failures),
            "failure_cases": _md_list(
                [
                    f"{f['year']} {f['table']}.{f['column']} {f['check']}: {f['failure_case']}"
                    for f in failures
                ]
            ),
        },
    )


# ------------------------------------------------------------------------------ warehouse_year
@dg.asset(
    kinds={"duckdb"},
    check_specs=[
        dg.AssetCheckSpec(
            IDENTITY_CHECK,
            asset="warehouse_year",
            description="Identities A–D hold in every loaded report (source arithmetic; warns only).",
        ),
        dg.AssetCheckSpec(
            CONTINUITY_CHECK,
            asset="warehouse_year",
            description="Identity E: carried_over(N) = carried_forward(N−1) of the same agency "
            "(view carryover_continuity, 总计 column; warns only).",
        ),
    ],
    **_COMMON,
)
def warehouse_year(
    context: dg.AssetExecutionContext, paths: GongkaiPaths, validated_frames: dict[str, ValidatedYear]
) -> dg.MaterializeResult:
    """Each year's rows replace that year in DuckDB, one transaction per year."""
    invalid = sorted(k for k, v in validated_frames.items() if v.failures)
    if invalid:  # the blocking check stops this in a job run; this guards a lone re-materialization
        raise dg.Failure(f"pandera failures in {', '.join(invalid)}: not loading (see {PANDERA_CHECK})")
    # Written to the build file (shared with run_ingest's session, or our own), published whole.
    with warehouse_build(paths.db, context.log.warning) as target:
        results: list[LoadResult] = []
        for key, validated in sorted(validated_frames.items()):
            result = load_year(target, validated.year, validated.frames, validated.agencies)
            context.log.info(f"{key}: loaded {result.rows}")
            for report_id, old_year in result.moved:
                context.log.info(f"{key}: report {report_id} moved here from {old_year}")
            results.append(result)
        years = [r.year for r in results]
        failed = failed_identities(target, years)
        where = query(
            target,
            "SELECT source_path, rule, subject, expected, actual FROM identity_failures "
            "WHERE list_contains(?, year) ORDER BY source_path, rule, subject",
            [years],
        )
        # Identity E of the loaded years and of the years after them (their carried_over refers here).
        breaks = query(
            target,
            "SELECT agency, year, carried_over, previous_carried_forward FROM carryover_continuity "
            "WHERE applicant_type = 'total' AND passed = false "
            "AND (list_contains(?, year) OR list_contains(?, year - 1)) ORDER BY agency, year",
            [years, years],
        )
    return dg.MaterializeResult(
        metadata={
            **{f"rows_{t}": sum(r.rows[t] for r in results) for t in TABLES},
            "rows_per_year": dg.MetadataValue.json({str(r.year): r.rows for r in results}),
            "unchanged_reports": sum(r.unchanged_reports for r in results),
            "db_path": dg.MetadataValue.path(str(paths.db)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=IDENTITY_CHECK,
                passed=failed == 0,
                severity=dg.AssetCheckSeverity.WARN,  # loaded as printed: the source's arithmetic, not ours
                metadata={
                    "failed_checks": failed,
                    "failures": _md_list(
                        [f"`{p}` {r}/{s}: expected {e}, printed {a}" for p, r, s, e, a in where]
                    ),
                },
            ),
            dg.AssetCheckResult(
                check_name=CONTINUITY_CHECK,
                passed=not breaks,
                severity=dg.AssetCheckSeverity.WARN,  # two reports disagree; neither is ours to fix
                metadata={
                    "breaks": len(breaks),
                    "where": _md_list(
                        [
                            f"{agency} {year}: carried over {over}, but {year - 1} carried forward {fwd}"
                            for agency, year, over, fwd in breaks
                        ]
                    ),
                },
            ),
        ],
    )


ingest_assets = [raw_files, extracted_reports, validated_frames, warehouse_year]
