"""The four yearly assets: raw files → extracted reports → validated frames → warehouse rows.

Every asset works on ``context.partition_keys`` (one year, or a range in a single-run
backfill) and returns ``{year: value}``; the IO manager stores each year on its own, and each
partition's materialisation carries its own figures (``add_asset_metadata``).

Incremental by content (warehouse.changes): a year whose fingerprint is the one it was loaded
from is skipped by every step; a file the parse cache knows is never extracted again.
"""

import contextlib
import dataclasses
import hashlib
import itertools
import shutil
import warnings
from collections.abc import Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

from assets.descriptions import (
    CONTINUITY_DESCRIPTION,
    IDENTITY_DESCRIPTION,
    PANDERA_DESCRIPTION,
    warehouse_columns,
)
from assets.faults import faults_as_failures
from assets.fetch import fetched_files
from assets.partitions import years_partitions
from assets.payloads import ExtractedYear, StagedYear, YearFiles
from assets.readahead import active as active_read_ahead
from assets.readahead import batched, extraction_hints
from assets.resources import GongkaiPaths
from extract.api import PARSER_VERSION
from extract.limits import MEMORY_MB, TIMEOUT_S
from extract.pool import ExtractionFailure, ExtractionPool
from schemas.models import MODELS, failure_rows
from warehouse.agencies import AgencyDirectory, build_directory
from warehouse.changes import FileChanges, compare, content_fingerprint, scan_hashed, stat_fingerprints
from warehouse.corrections import CorrectionsFileError, correct_year, read_corrections
from warehouse.db import (
    LoadRecord,
    LoadResult,
    StaleFrames,
    connect,
    load_year,
    loaded_fingerprints,
    query,
    remember_stat_fingerprints,
    schema_digest,
    unchanged_reports,
)
from warehouse.faults import guarded
from warehouse.frames import (
    FACT_TABLES,
    TABLES,
    FileEntry,
    fact_frames,
    report_rows,
    staged_frames,
    write_staged,
)
from warehouse.inventory import RawFile, read_manifest
from warehouse.lake import data_path
from warehouse.parse_cache import ParseCache, ParsedFile, cache_key, parse_files, parsed_from_report
from warehouse.publish import warehouse_build, writer_lock

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
    # One year a run: each year's materialisation then carries its own data version (the
    # fingerprint of its inputs), which Dagster compares to mark years stale.
    "backfill_policy": dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    "group_name": GROUP,
}
_MAX_LISTED = 50  # markdown lists in metadata stay readable in the UI
STAGE_REPORTS = 4000  # reports whose facts are built, checked and staged at a time (bounds memory)


def _md_list(lines: list[str], empty: str = "none") -> dg.MetadataValue:
    if not lines:
        return dg.MetadataValue.md(empty)
    shown = [f"- {line}" for line in lines[:_MAX_LISTED]]
    if len(lines) > _MAX_LISTED:
        shown.append(f"- … and {len(lines) - _MAX_LISTED} more")
    return dg.MetadataValue.md("\n".join(shown))


# -------------------------------------------------------------------------------- report_files
@dg.observable_source_asset(
    partitions_def=years_partitions,
    group_name=GROUP,
    required_resource_keys={"paths"},
    auto_observe_interval_minutes=30,
    description="The report files of each year in the raw folder, as they are now: one data version per "
    "year, the stat fingerprint of its files, manifest rows and agencies.csv (names, sizes, mtimes; "
    "no file read). When it differs from the version raw_files last read, the year shows as stale.",
)
def report_files(context: dg.AssetExecutionContext) -> dg.DataVersionsByPartition:
    return dg.DataVersionsByPartition(year_data_versions(context.resources.paths))


def year_data_versions(paths: GongkaiPaths) -> dict[str, str]:
    """year → stat fingerprint of every year present in the raw folder (within the partitions)."""
    current = stat_fingerprints(paths.raw, side_files=paths.side_files, schema=schema_digest())
    allowed = set(years_partitions.get_partition_keys())
    return {str(y): fp for y, fp in current.items() if str(y) in allowed}


def _data_version(context: dg.AssetExecutionContext, fingerprints: dict[str, str]) -> dg.DataVersion | None:
    """A one-year run's data version: the fingerprint of that year's inputs. A run over several
    years (a range backfill) records none: one version cannot stand for several years."""
    keys = context.partition_keys
    return dg.DataVersion(fingerprints[keys[0]]) if len(keys) == 1 and keys[0] in fingerprints else None


# ----------------------------------------------------------------------------------- raw_files
_DIRECTORY: dict[tuple, AgencyDirectory] = {}


def directory(paths: GongkaiPaths) -> AgencyDirectory:
    """The agency directory (agencies.csv + manifest), built once per version of the two in a
    process: the steps of a run share it instead of pickling it into every year's output."""
    manifest = read_manifest(paths.raw)
    try:
        stat = paths.agencies.stat()
        csv_key: tuple = (str(paths.agencies), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    except OSError:
        csv_key = (str(paths.agencies),)
    key = (*csv_key, id(manifest), len(manifest.entries))
    if key not in _DIRECTORY:
        _DIRECTORY.clear()
        _DIRECTORY[key] = build_directory(paths.agencies, manifest)
    return _DIRECTORY[key]


def _loaded_paths(db: Path, years: list[int]) -> dict[int, dict[str, str]]:
    """year → source path → sha256 of every report stored for it (what its last load read)."""
    out: dict[int, dict[str, str]] = {y: {} for y in years}
    if not years or not db.is_file():
        return out
    rows = query(db, "SELECT year, source_path, sha256 FROM reports WHERE list_contains(?, year)", [years])
    for year, path, sha in rows:
        out[year][path] = sha
    return out


class IngestConfig(dg.Config):
    force: bool = False  # reload every requested year even when its inputs are unchanged
    # Years whose raw/<year> folder existed when the ingest started (run_ingest): if one is gone
    # at the scan it vanished mid-run (a share unmounted, a folder moved), which must not read as
    # "no reports that year" and empty it.
    folders_at_start: list[int] = Field(default_factory=list)


# After fetched_files: a nightly run lists what it just downloaded.
@dg.asset(io_manager_key=IO_MANAGER, kinds={"python"}, deps=[report_files, fetched_files], **_COMMON)
@faults_as_failures
def raw_files(
    context: dg.AssetExecutionContext, config: IngestConfig, paths: GongkaiPaths
) -> dg.Output[dict[str, YearFiles]]:
    """Report files of each year (``raw/<year>/``, or the manifest's year) with their sha256
    (read only when the file's stat signature changed), their manifest rows, the agency
    directory, and the year's fingerprint: a year whose fingerprint is the one it was loaded
    from is up to date, and the rest of the run skips it."""
    if not paths.raw.is_dir():
        # A missing year folder means "no reports that year" and empties it in the warehouse; a
        # missing raw folder is a misconfiguration and must not empty every requested year.
        raise dg.Failure(f"raw folder {paths.raw} does not exist (set GONGKAI_RAW or the paths resource)")
    manifest = read_manifest(paths.raw)
    agencies = directory(paths)
    loaded = loaded_fingerprints(paths.db)
    schema = schema_digest()
    out: dict[str, YearFiles] = {}
    counted: list[tuple[str, list[RawFile]]] = []
    with writer_lock(paths.db, context.log.info), ParseCache(paths.cache) as cache:
        for key in context.partition_keys:
            year = int(key)
            if year in config.folders_at_start and not (paths.raw / key).is_dir():
                raise dg.Failure(
                    f"{paths.raw / key} disappeared during the ingest (moved, deleted, or its share went "
                    f"away): {key} not loaded, its facts in the warehouse are kept; run again when it is back"
                )
            scan = scan_hashed(paths.raw, year, manifest, cache, paths.side_files, schema)
            files, hashed = scan.files, scan.hashed
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
            fingerprint = content_fingerprint(files, entries, paths.side_files, schema)
            previous = loaded.get(year)
            up_to_date = not config.force and previous is not None and previous.fingerprint == fingerprint
            out[key] = YearFiles(
                year=year,
                forced=config.force,
                # An up-to-date year is skipped by every later step: its file list is not passed on.
                files=[] if up_to_date else files,
                manifest=entries,
                problems=problems,
                fingerprint=fingerprint,
                stat_fingerprint=scan.stat_fingerprint,
                up_to_date=up_to_date,
                # Same fingerprint: the very files (paths and bytes) its last load read.
                changes=FileChanges(unchanged=len(files)) if up_to_date else FileChanges(),
                hashed=hashed,
                file_count=len(files),
            )
            counted.append((key, files))
        stored = _loaded_paths(paths.db, [int(k) for k, v in out.items() if not v.up_to_date])
        for key, files in counted:
            year_files = out[key]
            if not year_files.up_to_date:
                year_files.changes = compare(files, stored[year_files.year])
            changes, problems, fingerprint, up_to_date = (
                year_files.changes,
                year_files.problems,
                year_files.fingerprint,
                year_files.up_to_date,
            )
            context.add_asset_metadata(
                {
                    "files": len(files),
                    **changes.as_dict(),
                    "hashed": year_files.hashed,
                    "bytes": sum(f.size for f in files),
                    "fingerprint": fingerprint,
                    "stat_fingerprint": year_files.stat_fingerprint,
                    "up_to_date": up_to_date,
                    "problems": _md_list(problems),
                    "problem_list": dg.MetadataValue.json(problems),
                },
                partition_key=key,
            )
    # Every figure is the partition's own (add_asset_metadata): a range run shows each year's.
    return dg.Output(out, data_version=_data_version(context, {k: v.fingerprint for k, v in out.items()}))


# ---------------------------------------------------------------------------- extracted_reports
def _hints(year_files: YearFiles, raw: RawFile) -> dict[str, Any]:
    return extraction_hints(year_files.manifest, raw.relative, year_files.year)


Item = tuple[YearFiles, RawFile]


VANISHED = "deleted, moved or on a share that went away?"


def _parse_missing(
    context: dg.AssetExecutionContext,
    cache: ParseCache,
    todo: list[Item],
    changed: list[tuple[int, str]] | None = None,
) -> dict[tuple[int, str], FileEntry]:
    """Extract the files the cache does not know on long-lived worker processes (one per core,
    each file under the time and memory limits of extract.limits); store what they give. In an
    ingest with read-ahead (assets.readahead), files already queued are claimed, not queued
    again, and the next year's first files are queued behind this year's. Files that vanished
    or changed between the scan and the read are noted in ``changed``."""
    done: dict[tuple[int, str], FileEntry] = {}
    changed = [] if changed is None else changed

    def keep(
        yf: YearFiles, raw: RawFile, parsed: ParsedFile | None, failure: ExtractionFailure | None
    ) -> None:
        key = cache_key(raw.sha256, raw.relative, **_hints(yf, raw))
        if parsed is None:  # the file hung, exhausted memory or crashed a worker
            report = failure.report(raw.relative, parser_version=PARSER_VERSION)  # type: ignore[union-attr]
            # Not cached: a limit may be raised, or the crash was the machine's, not the file's.
            done[(yf.year, raw.relative)] = FileEntry(
                raw, key, parsed_from_report(report, key, raw.sha256, raw.size, yf.year)
            )
        elif not parsed.sha256:  # unreadable now: no bytes to key on, try again next run
            # Listed by the scan, gone or unreadable at the read (deleted, moved, a share that
            # went away). Its id is the stand-in of an unreadable file, never the scanned bytes'
            # id: a loaded report at this path then keeps its facts (quarantine, load_year).
            standin = hashlib.sha256(f"unreadable:{raw.relative}".encode()).hexdigest()
            meta = parsed.meta | {
                "error": f"{parsed.meta['error']} (listed when the run started: {VANISHED})"
            }
            done[(yf.year, raw.relative)] = FileEntry(
                dataclasses.replace(raw, sha256=standin),
                key,
                dataclasses.replace(parsed, key=key, sha256=standin, meta=meta),
            )
            changed.append(
                (yf.year, f"{raw.relative}: could not be read any more during the run ({VANISHED})")
            )
        else:
            if parsed.sha256 != raw.sha256:  # edited since the scan: the id follows the bytes parsed
                changed.append(
                    (
                        yf.year,
                        f"{raw.relative}: changed while the run read it ({raw.size} bytes at the scan, "
                        f"{parsed.size} when read); loaded as read — run again once it is complete",
                    )
                )
                raw = dataclasses.replace(raw, sha256=parsed.sha256, size=parsed.size)
            cache.add(parsed)
            done[(yf.year, raw.relative)] = FileEntry(raw, parsed.key)

    def submit(pool: ExtractionPool, batch: list[Item]) -> Any:
        return pool.submit(parse_files, [(raw.path, raw.relative, _hints(yf, raw)) for yf, raw in batch])

    ahead = active_read_ahead()

    def read_on() -> None:  # queue the next year's first files behind this year's
        if ahead is not None:
            ahead.after(max(int(k) for k in context.partition_keys), cache)

    if not todo:
        read_on()
        return done
    retry: list[Item] = []
    # future → (its batch's size, read ahead?, the (place in the batch, file) this step takes from it)
    tasks: dict[Any, tuple[int, bool, list[tuple[int, YearFiles, RawFile]]]] = {}
    with (
        contextlib.nullcontext(ahead.pool)
        if ahead
        else ExtractionPool(timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB) as pool
    ):
        rest: list[Item] = []
        for yf, raw in todo:
            queued = ahead.claim(raw.relative, _hints(yf, raw)) if ahead else None
            if queued is None:
                rest.append((yf, raw))
            else:
                tasks.setdefault(queued.future, (queued.batch_size, True, []))[2].append(
                    (queued.index, yf, raw)
                )
        for batch in batched(rest, lambda item: item[1].size):
            tasks[submit(pool, batch)] = (
                len(batch),
                False,
                [(i, yf, raw) for i, (yf, raw) in enumerate(batch)],
            )
        read_on()
        for n, future in enumerate(as_completed(tasks), start=1):
            size, read_ahead, items = tasks.pop(future)
            try:
                results = future.result()
            except ExtractionFailure as failure:
                if size > 1:
                    retry += [(yf, raw) for _i, yf, raw in items]  # which file was it? each alone
                else:
                    keep(items[0][1], items[0][2], None, failure)
                continue
            for index, yf, raw in items:
                if read_ahead and results[index].sha256 != raw.sha256:
                    # Read ahead before this run's scan and changed since (or unreadable then):
                    # parsed again now, so what is stored is never older than the scan.
                    retry.append((yf, raw))
                    ahead.stale_files += 1  # type: ignore[union-attr]
                else:
                    keep(yf, raw, results[index], None)
            if n % 1000 == 0:
                context.log.info(f"{len(done)} of {len(todo)} files extracted")
        singles = {submit(pool, [item]): item for item in retry}
        for future in as_completed(singles):
            yf, raw = singles[future]
            try:
                keep(yf, raw, future.result()[0], None)
            except ExtractionFailure as failure:
                keep(yf, raw, None, failure)
    return done


@dg.asset(io_manager_key=IO_MANAGER, kinds={"python"}, **_COMMON)
@faults_as_failures
def extracted_reports(
    context: dg.AssetExecutionContext, paths: GongkaiPaths, raw_files: dict[str, YearFiles]
) -> dg.Output[dict[str, ExtractedYear]]:
    """Each file through the extractor, unless the parse cache has it (same bytes, parser
    version and manifest row); rejected files keep their one-line reason."""
    out: dict[str, ExtractedYear] = {}
    with writer_lock(paths.db, context.log.info), ParseCache(paths.cache) as cache:
        keyed = {
            (yf.year, raw.relative): (yf, raw, cache_key(raw.sha256, raw.relative, **_hints(yf, raw)))
            for yf in raw_files.values()
            if not yf.up_to_date
            for raw in yf.files
        }
        known = cache.known_keys(key for _yf, _raw, key in keyed.values())
        todo, wanted = [], set(known)
        for yf, raw, key in keyed.values():
            if key not in wanted:  # the same bytes under the same hints twice: parsed once
                wanted.add(key)
                todo.append((yf, raw))
        context.log.info(
            f"{len(todo)} of {len(keyed)} files to extract ({len(keyed) - len(todo)} in the cache)"
        )
        changed: list[tuple[int, str]] = []
        parsed = _parse_missing(context, cache, todo, changed)
        cache.flush()
        for key, year_files in raw_files.items():
            entries = [
                parsed.get((year_files.year, raw.relative))
                or FileEntry(raw, keyed[(year_files.year, raw.relative)][2])
                for raw in ([] if year_files.up_to_date else year_files.files)
            ]
            statuses, rejected = cache.statuses(entries)
            out[key] = ExtractedYear(
                year=year_files.year,
                entries=entries,
                statuses=statuses,
                rejected_files=rejected,
                parsed=sum(1 for (y, _p) in parsed if y == year_files.year),
                problems=year_files.problems,
                manifest=year_files.manifest,
                source=year_files,
            )
            for raw_year in [] if year_files.up_to_date else [year_files.year]:
                cache.prune(raw_year, {e.key for e in entries})
            context.add_asset_metadata(
                {
                    **statuses,
                    "parsed": out[key].parsed,
                    "from_cache": len(entries) - out[key].parsed,
                    "up_to_date": year_files.up_to_date,
                    "rejected_files": _md_list([f"`{path}`: {reason}" for path, reason in rejected]),
                    "rejected_list": dg.MetadataValue.json([list(r) for r in rejected]),
                    "changed_during_run": dg.MetadataValue.json(
                        [note for y, note in changed if y == year_files.year]
                    ),
                },
                partition_key=key,
            )
    return dg.Output(out, data_version=_data_version(context, _fingerprints(raw_files)))


def _fingerprints(years: dict[str, YearFiles]) -> dict[str, str]:
    return {k: v.fingerprint for k, v in years.items()}


# ----------------------------------------------------------------------------- validated_frames
@dg.asset(
    io_manager_key=IO_MANAGER,
    kinds={"polars"},
    check_specs=[
        dg.AssetCheckSpec(
            PANDERA_CHECK,
            asset="validated_frames",
            blocking=True,  # a failing frame never reaches the warehouse
            description=PANDERA_DESCRIPTION,
        )
    ],
    **_COMMON,
)
@faults_as_failures
def validated_frames(
    context: dg.AssetExecutionContext, paths: GongkaiPaths, extracted_reports: dict[str, ExtractedYear]
) -> Iterator[dg.Output[dict[str, StagedYear]] | dg.AssetCheckResult]:
    """The warehouse frames of each year, built from the parse cache, checked lazily against the
    pandera models and staged as Parquet for the load. Only reports not stored exactly as they
    are get their facts built, checked and staged (the rest keep theirs), a few thousand reports
    at a time, so memory does not grow with the size of a year."""
    out: dict[str, StagedYear] = {}
    with writer_lock(paths.db, context.log.info), ParseCache(paths.cache) as cache:
        for key, extracted in extracted_reports.items():
            source = extracted.source
            if source is not None and source.up_to_date:
                out[key] = StagedYear(year=extracted.year, tables={}, rows={}, source=source)
                context.add_asset_metadata({"up_to_date": True}, partition_key=key)
                continue
            staged = _stage_year(cache, extracted, paths, key, full=bool(source and source.forced))
            out[key] = staged
            context.add_asset_metadata(
                {
                    **{f"staged_{t}": n for t, n in staged.rows.items()},
                    "reports_kept_as_stored": len(staged.keep_facts_of),
                    **{f"corrections_{status}": n for status, n in staged.corrections.items()},
                    "pandera_failures": len(staged.failures),
                    "failure_list": dg.MetadataValue.json(staged.failures[:_MAX_LISTED]),
                    "duplicates_skipped": _md_list(staged.duplicates),
                    "duplicate_list": dg.MetadataValue.json(staged.duplicates),
                },
                partition_key=key,
            )
    failures = [f | {"year": v.year} for v in out.values() for f in v.failures]
    yield dg.Output(
        out,
        data_version=_data_version(context, {k: v.source.fingerprint for k, v in out.items() if v.source}),
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


def _stage_year(
    cache: ParseCache, extracted: ExtractedYear, paths: GongkaiPaths, key: str, *, full: bool
) -> StagedYear:
    rows = report_rows(cache, extracted.entries, extracted.manifest, directory(paths))
    # Corrections by people: the reports they name get their facts corrected (and are never kept
    # as stored: their warnings carry the corrections, so a changed line reloads them).
    try:
        corrections = read_corrections(paths.corrections)
    except CorrectionsFileError as exc:  # one line in the UI too, not a stack trace
        raise dg.Failure(description=str(exc)) from None
    fixes = correct_year(corrections, rows.frame, lambda r: fact_frames(cache, r))
    reports = fixes.reports.drop("key")
    failures = failure_rows("reports", MODELS["reports"], reports)
    kept = set() if full else unchanged_reports(paths.db, extracted.year, reports) - fixes.corrected
    needed = fixes.reports.filter(
        pl.col("status").is_in(["ok", "warning"]) & ~pl.col("report_id").is_in(sorted(kept | fixes.corrected))
    )
    folder = paths.io_dir / "staged" / key
    shutil.rmtree(folder, ignore_errors=True)
    tables: dict[str, list[Path]] = {"reports": [write_staged(reports, folder / "reports.parquet")]}
    tables |= {t: [] for t in (*FACT_TABLES, "corrections")}
    counts = {"reports": reports.height} | dict.fromkeys((*FACT_TABLES, "corrections"), 0)
    # One chunk at a time (a generator): a year's facts are never all in memory at once.
    chunks = (fact_frames(cache, chunk) for chunk in needed.iter_slices(STAGE_REPORTS))
    if fixes.corrected:
        chunks = itertools.chain(chunks, [fixes.facts | {"corrections": fixes.table}])
    for n, chunk_frames in enumerate(chunks):
        for table, frame in chunk_frames.items():
            failures += failure_rows(table, MODELS[table], frame)  # keys include report_id: chunks add up
            tables[table].append(write_staged(frame, folder / f"{table}-{n:04d}.parquet"))
            counts[table] += frame.height
    return StagedYear(
        year=extracted.year,
        tables=tables,
        rows=counts,
        failures=failures,
        duplicates=list(rows.duplicates),
        source=extracted.source,
        keep_facts_of=kept,
        corrections=fixes.counts(),
        correction_lines=fixes.matched_lines,
    )


# ------------------------------------------------------------------------------ warehouse_year
@dg.asset(
    kinds={"duckdb"},
    metadata={"dagster/column_schema": warehouse_columns()},
    check_specs=[
        dg.AssetCheckSpec(
            IDENTITY_CHECK,
            asset="warehouse_year",
            description=IDENTITY_DESCRIPTION,
        ),
        dg.AssetCheckSpec(
            CONTINUITY_CHECK,
            asset="warehouse_year",
            description=CONTINUITY_DESCRIPTION,
        ),
    ],
    **_COMMON,
)
@faults_as_failures
def warehouse_year(
    context: dg.AssetExecutionContext, paths: GongkaiPaths, validated_frames: dict[str, StagedYear]
) -> dg.MaterializeResult:
    """Each changed year's rows replace that year in the warehouse, one transaction per year;
    a year whose inputs are unchanged is left as it is (nothing written, nothing published)."""
    invalid = sorted(k for k, v in validated_frames.items() if v.failures)
    if invalid:  # the blocking check stops this in a job run; this guards a lone re-materialization
        raise dg.Failure(f"pandera failures in {', '.join(invalid)}: not loading (see {PANDERA_CHECK})")
    to_load = {k: v for k, v in sorted(validated_frames.items()) if not (v.source and v.source.up_to_date)}
    loaded = loaded_fingerprints(paths.db)
    # An up-to-date year whose files were touched (same bytes, new mtimes): remember the new stat
    # fingerprint, so the schedule and the sensor stop asking for it.
    touched = {
        int(k): v.source.stat_fingerprint
        for k, v in validated_frames.items()
        if v.source and v.source.up_to_date and loaded[int(k)].stat_fingerprint != v.source.stat_fingerprint
    }
    results: list[LoadResult] = []
    years = sorted(int(k) for k in validated_frames)
    if to_load or touched:
        staged_bytes = sum(f.stat().st_size for v in to_load.values() for fs in v.tables.values() for f in fs)
        # Written to the build catalog (shared with run_ingest's session, or our own), then
        # published. A full disk or a read-only data folder fails the load in one line.
        with (
            warehouse_build(paths.db, context.log.warning) as target,
            guarded("loading into the warehouse", data_path(paths.db), needed=staged_bytes),
        ):
            for key, staged in to_load.items():
                source = staged.source
                record = (
                    LoadRecord(source.fingerprint, source.stat_fingerprint, len(source.files))
                    if source
                    else None
                )
                try:
                    result = load_year(
                        target,
                        staged.year,
                        staged_frames(staged.tables),
                        directory(paths),
                        record=record,
                        keep_facts_of=staged.keep_facts_of,
                    )
                except StaleFrames as exc:
                    raise dg.Failure(
                        f"{key}: the warehouse changed while this run prepared the year ({exc}); run it again"
                    ) from exc
                context.log.info(f"{key}: loaded {result.rows}")
                for report_id, old_year in result.moved:
                    context.log.info(f"{key}: report {report_id} moved here from {old_year}")
                results.append(result)
            if touched:
                remember_stat_fingerprints(target, touched)
            checks = _check_findings(target, years)
        # Published: the staged copies have served (a re-execution rebuilds them upstream).
        for staged in to_load.values():
            for staged_files in staged.tables.values():
                for staged_file in staged_files:
                    staged_file.unlink(missing_ok=True)
    else:
        checks = _check_findings(paths.db, years)
    by_year = {r.year: r for r in results}
    for key, staged in validated_frames.items():
        skipped = key not in to_load
        result = by_year.get(int(key))
        context.add_asset_metadata(
            {
                "loaded": not skipped,
                "skipped_as_unchanged": skipped,
                "fingerprint": staged.source.fingerprint if staged.source else "",
                **{f"rows_{t}": n for t, n in checks.rows.get(int(key), {}).items()},
                # The year's rows across every table it writes (each table's: rows_<table>).
                "dagster/row_count": sum(checks.rows.get(int(key), {}).values()),
                "failed_identities": checks.failed_per_year.get(int(key), 0),
                "unchanged_reports": result.unchanged_reports if result else 0,
                "db_path": dg.MetadataValue.path(str(paths.db)),
            },
            partition_key=key,
        )
    failed, where, breaks = checks.failed, checks.where, checks.breaks
    return dg.MaterializeResult(
        data_version=_data_version(
            context, {k: v.source.fingerprint for k, v in validated_frames.items() if v.source}
        ),
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


@dataclass
class _Findings:
    rows: dict[int, dict[str, int]]  # year → rows per table
    failed: int
    where: list[tuple]
    breaks: list[tuple]
    failed_per_year: dict[int, int]


# Identity E where it breaks, for given years: what view carryover_continuity says with
# passed = false, written so that only the years concerned are read (the view's first-year
# bookkeeping reads every year). {years}: the loaded years; their next years refer to them too.
_CONTINUITY_BREAKS = """
WITH current_cells AS (  -- the printed total column of each agency-year's current report
    SELECT a.agency, a.year, a.category, a.count
    FROM applications AS a
    JOIN agency_reports AS r ON r.year = a.year AND r.report_id = a.report_id AND r.agency = a.agency
    WHERE a.applicant_type = 'total' AND a.year IN ({years})
      AND a.category IN ('carried_over', 'carried_forward')
),
over AS (SELECT agency, year, count FROM current_cells WHERE category = 'carried_over' AND year IN ({current})),
forward AS (SELECT agency, year, count FROM current_cells WHERE category = 'carried_forward' AND year IN ({previous}))
SELECT o.agency, o.year, o.count, f.count
FROM over AS o JOIN forward AS f ON f.agency = o.agency AND f.year = o.year - 1
WHERE o.count <> f.count
ORDER BY 1, 2
"""


def _check_findings(db: Path, years: list[int]) -> _Findings:
    """Rows per table, failed identities and continuity breaks of ``years`` (and the years after
    them: their carried_over refers here), as the warehouse at ``db`` holds them; one session."""
    if not db.is_file() or not years:
        return _Findings({}, 0, [], [], {})
    listed = ", ".join(str(int(y)) for y in years)  # whole numbers only: partition pruning needs literals
    rows: dict[int, dict[str, int]] = {y: dict.fromkeys(TABLES, 0) for y in years}
    with connect(db, read_only=True) as con:
        counts = con.execute(
            " UNION ALL ".join(
                f"SELECT '{t}', year, count(*) FROM {t} WHERE year IN ({listed}) GROUP BY year"
                for t in TABLES
            )
        ).fetchall()
        for table, year, n in counts:
            rows[year][table] = n
        failed_per_year = dict(
            con.execute(
                f"SELECT year, count(*) FROM checks WHERE passed = false AND year IN ({listed}) GROUP BY year"
            ).fetchall()
        )
        where = con.execute(
            "SELECT source_path, rule, subject, expected, actual FROM identity_failures "
            f"WHERE year IN ({listed}) ORDER BY source_path, rule, subject"
        ).fetchall()
        current = sorted({*years, *(y + 1 for y in years)})
        breaks = con.execute(
            _CONTINUITY_BREAKS.format(
                years=", ".join(str(int(y)) for y in sorted({*current, *(y - 1 for y in current)})),
                current=", ".join(str(int(y)) for y in current),
                previous=", ".join(str(int(y) - 1) for y in current),
            )
        ).fetchall()
    return _Findings(rows, sum(failed_per_year.values()), where, breaks, failed_per_year)


ingest_assets = [raw_files, extracted_reports, validated_frames, warehouse_year]
