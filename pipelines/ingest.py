"""Run the Dagster ingest job in-process for some years and summarise what happened.

The CLI calls ``run_ingest``; it needs no daemon and no webserver. Each year is one run (as a
backfill runs them), all published together at the end, recorded in the instance `make dev`
shows (``pipelines.instance``).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from assets.faults import FAULT_KEY
from assets.ingest import PANDERA_CHECK, ingest_assets
from assets.partitions import partition_years
from assets.readahead import reading_ahead
from assets.report import html_report
from assets.resources import GongkaiPaths
from pipelines.definitions import JOB_NAME, build_definitions
from pipelines.instance import InstanceError, dagster_home, open_instance
from warehouse.changes import FileChanges, untouched_years
from warehouse.corrections import CorrectionsFileError, read_corrections
from warehouse.db import connect, query
from warehouse.faults import FAULT_TYPES, MachineFault, guarded, remove_quietly
from warehouse.frames import TABLES
from warehouse.inventory import years_present
from warehouse.publish import warehouse_build, writer_lock
from warehouse.recovery import Recovery, damaged, recover, unrecovered


@dataclass
class YearSummary:
    year: int
    ok: int = 0
    warning: int = 0
    rejected: int = 0
    loaded: bool = False  # the year's rows were replaced in the warehouse
    up_to_date: bool = False  # unchanged since its last load: skipped, nothing parsed or written
    changes: FileChanges = field(default_factory=FileChanges)  # files against the last load
    parsed: int = 0  # files extracted in this run (the others came from the parse cache)
    kept_as_stored: int = 0  # reports stored exactly as they are: their facts were not rewritten
    files_seen: int = 0  # report files in the partition
    rows: dict[str, int] = field(default_factory=dict)  # rows in each table for this year, after the run
    rejected_files: list[tuple[str, str]] = field(default_factory=list)  # (path under raw, reason)
    validation_failures: list[dict[str, Any]] = field(default_factory=list)  # pandera rows; block the load
    failed_identities: int = 0  # identities A–D that fail in loaded reports (a warning)
    duplicates: list[str] = field(default_factory=list)  # files skipped: same bytes as another file
    problems: list[str] = field(default_factory=list)  # manifest/layout problems
    corrections: dict[str, int] = field(default_factory=dict)  # corrections.csv lines by status, this run

    @property
    def files(self) -> int:
        return self.files_seen or (self.ok + self.warning + self.rejected)

    @property
    def done(self) -> bool:
        return self.loaded or self.up_to_date


@dataclass
class IngestSummary:
    raw_dir: Path
    db_path: Path
    years: dict[int, YearSummary] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failed steps, skipped years
    warnings: list[str] = field(default_factory=list)  # worth a look, the run succeeded (corrections)
    corrections: dict[str, int] = field(default_factory=dict)  # corrections.csv lines by status
    skipped_years: list[int] = field(default_factory=list)  # folders outside the partitions
    read_ahead: int = 0  # files parsed while the year before them was staged and loaded

    @property
    def success(self) -> bool:
        return not self.errors and all(y.done for y in self.years.values())

    def totals(self) -> dict[str, int]:
        ys = self.years.values()
        return {
            "files": sum(y.files for y in ys),
            "ok": sum(y.ok for y in ys),
            "warning": sum(y.warning for y in ys),
            "rejected": sum(y.rejected for y in ys),
            "parsed": sum(y.parsed for y in ys),
            **{k: sum(getattr(y.changes, k) for y in ys) for k in ("new", "changed", "unchanged", "gone")},
            **{f"rows_{t}": sum(y.rows.get(t, 0) for y in ys) for t in TABLES},
        }


# Dagster's console logger would print every step at INFO; the caller gets on_progress instead.
# Failed steps reach the summary as one line each; Dagster's own ERROR records carry stack traces.
_QUIET: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


# The job without html_report, and without fetched_files: `gongkai ingest` reads the raw folder
# as it is and never goes on the network (`gongkai fetch` does, when asked).
YEAR_ASSET_KEYS = [a.key for a in ingest_assets]
REPORT_ASSET_KEYS = [*YEAR_ASSET_KEYS, html_report.key]


def _run_config(force: bool, folders: list[int]) -> dict[str, Any]:
    return _QUIET | {"ops": {"raw_files": {"config": {"force": force, "folders_at_start": folders}}}}


def _dagster_home(paths: GongkaiPaths) -> Path:
    return dagster_home(paths.db)


def _step_errors(result: dg.ExecuteInProcessResult) -> tuple[list[str], MachineFault | None]:
    """One line per failed step, and the first fault of the machine among them (an asset's
    ``dg.Failure`` from assets.faults, or a fault raised where Dagster stores an output)."""
    errors: list[str] = []
    fault: MachineFault | None = None
    for event in result.all_events:
        if event.is_step_failure and event.step_key:
            data = event.step_failure_data
            found = _fault_of(data) if data else None
            fault = fault or found
            message = str(found) if found else _cause_message(data)
            errors.append(f"{event.step_key}: {message.splitlines()[0] if message else 'failed'}")
    return errors, fault


def _cause_message(data: Any) -> str:
    """A ``dg.Failure``'s own description, else the innermost error's message: Dagster's wrapper
    says only which step failed."""
    if data is not None and data.user_failure_data is not None and data.user_failure_data.description:
        return str(data.user_failure_data.description)
    error = data.error if data else None
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else "failed"


def _fault_of(data: Any) -> MachineFault | None:
    user = data.user_failure_data
    if user is not None and FAULT_KEY in (user.metadata or {}):
        return FAULT_TYPES.get(str(user.metadata[FAULT_KEY].value), MachineFault)(user.description or "")
    error = data.error
    while error is not None:  # raised outside the asset body (the IO manager): in the causes
        if error.cls_name in FAULT_TYPES:
            return FAULT_TYPES[error.cls_name](error.message.split(": ", 1)[-1].strip())
        error = error.cause
    return None


Metadata = dict[tuple[str, str], dict[str, Any]]  # (asset, partition) → its materialisation's metadata


def _materialized(result: dg.ExecuteInProcessResult) -> Metadata:
    """The metadata of each (asset, partition) this run materialised (each partition carries its
    own figures): the summary reads these, never the run's stored outputs."""
    return {
        (e.asset_key.to_user_string(), e.partition): {
            k: v.value for k, v in e.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
        if e.asset_key is not None and e.partition
    }


def _summarise_year(year: int, done: Metadata) -> YearSummary:
    key = str(year)
    summary = YearSummary(year=year)
    found = done.get(("raw_files", key))
    if found is not None:
        summary.up_to_date = bool(found["up_to_date"])
        summary.changes = FileChanges(**{k: int(found[k]) for k in ("new", "changed", "unchanged", "gone")})
        summary.files_seen = int(found["files"])
        summary.problems = list(found["problem_list"])
    extracted = done.get(("extracted_reports", key))
    if extracted is not None:
        summary.ok, summary.warning, summary.rejected = (
            int(extracted.get(s, 0)) for s in ("ok", "warning", "rejected")
        )
        summary.rejected_files = [(p, r) for p, r in extracted["rejected_list"]]
        summary.parsed = int(extracted["parsed"])
        summary.problems += list(extracted.get("changed_during_run", []))
    staged = done.get(("validated_frames", key))
    if staged is not None:
        summary.validation_failures = list(staged.get("failure_list", []))
        summary.duplicates = list(staged.get("duplicate_list", []))
        summary.kept_as_stored = int(staged.get("reports_kept_as_stored", 0))
        summary.corrections = {
            k.removeprefix("corrections_"): int(v) for k, v in staged.items() if k.startswith("corrections_")
        }
    stored = done.get(("warehouse_year", key))
    if stored is not None:
        summary.loaded = bool(stored["loaded"])
        summary.rows = {t: int(stored.get(f"rows_{t}", 0)) for t in TABLES}
        summary.failed_identities = int(stored["failed_identities"])
    return summary


def _untouched_summaries(db: Path, untouched: dict[int, int]) -> dict[int, YearSummary]:
    """Summaries of years skipped before any run, from what the warehouse holds."""
    if not untouched:
        return {}
    years = sorted(untouched)
    listed = ", ".join(str(int(y)) for y in years)
    out = {
        y: YearSummary(
            year=y,
            up_to_date=True,
            files_seen=n,
            changes=FileChanges(unchanged=n),
            rows=dict.fromkeys(TABLES, 0),  # a table with no rows of the year is in no group below
        )
        for y, n in untouched.items()
    }
    with connect(db, read_only=True) as con:
        counts = con.execute(
            " UNION ALL ".join(
                f"SELECT '{t}', year, count(*) FROM {t} WHERE year IN ({listed}) GROUP BY year"
                for t in TABLES
            )
            + f" UNION ALL SELECT 'failed_identities', year, count(*) FROM checks WHERE passed = false AND year IN ({listed}) GROUP BY year"
            + f" UNION ALL SELECT 'status:' || status, year, count(*) FROM reports WHERE year IN ({listed}) GROUP BY ALL"
        ).fetchall()
    for name, year, n in counts:
        ys = out[year]
        if name == "failed_identities":
            ys.failed_identities = n
        elif name.startswith("status:"):
            status = name.removeprefix("status:")
            if status in ("ok", "superseded"):  # superseded reports were loaded once
                ys.ok += n
            elif status == "warning":
                ys.warning += n
            elif status == "rejected":
                ys.rejected += n
        else:
            ys.rows[name] = n
    return out


def _stored_statuses(db: Path, years: list[int]) -> dict[int, dict[str, int]]:
    """Report counts by status of years this run found unchanged (nothing was extracted)."""
    if not years or not db.is_file():
        return {}
    out: dict[int, dict[str, int]] = {}
    for year, status, n in query(
        db, "SELECT year, status, count(*) FROM reports WHERE list_contains(?, year) GROUP BY ALL", [years]
    ):
        out.setdefault(year, {})[status] = n
    return out


def run_ingest(
    years: list[int] | None = None,
    *,
    raw_dir: Path | None = None,
    db_path: Path | None = None,
    on_progress: Callable[[str], None] | None = None,
    force: bool = False,
    report: bool = False,
) -> IngestSummary:
    """Ingest ``years`` (default: every year folder in the raw folder) into the warehouse.

    Never raises for bad reports: rejected files, validation failures and failed steps are in
    the summary. A year whose frames fail validation is not loaded (its previous rows stay). A
    year whose inputs are unchanged since its last load is skipped, unless ``force``. With
    ``report``, the last run also writes the HTML report (asset html_report).
    """
    say = on_progress or (lambda _message: None)
    paths = GongkaiPaths(
        raw_dir=str(raw_dir) if raw_dir else None,
        db_path=str(db_path) if db_path else None,
    )
    summary = IngestSummary(raw_dir=paths.raw, db_path=paths.db)
    wanted = sorted(set(years if years is not None else years_present(paths.raw)))
    allowed = set(partition_years())
    summary.skipped_years = [y for y in wanted if y not in allowed]
    if summary.skipped_years:
        summary.errors.append(
            f"years outside {min(allowed)}–{max(allowed)} skipped: {', '.join(map(str, summary.skipped_years))}"
        )
    wanted = [y for y in wanted if y in allowed]
    if not wanted:
        say(f"nothing to ingest in {paths.raw}")
        return summary
    try:  # a corrections.csv that cannot be read stops the ingest before any run, in one line
        read_corrections(paths.corrections)
    except CorrectionsFileError as exc:
        summary.errors.append(f"{exc}; nothing was loaded, the warehouse is as it was")
        return summary
    recovery = _recover(paths, summary, say)
    if recovery is not None:  # every year present, whatever was asked: the warehouse was lost
        wanted = sorted({*wanted, *(y for y in years_present(paths.raw) if y in allowed)})
    if not force and paths.raw.is_dir():
        # Years whose files are untouched since their load (names, sizes, mtimes: no file read)
        # need no run at all; the others go through the job, which compares contents.
        untouched = untouched_years(paths.raw, paths.db, wanted, paths.side_files)
        for year, ys in _untouched_summaries(paths.db, untouched).items():
            summary.years[year] = ys
            say(f"{year}: {ys.files} files, untouched since its last load: skipped")
        wanted = [y for y in wanted if y not in untouched]
        if not wanted:
            _check_corrections(paths.corrections, paths.db, summary, say)
            if recovery is not None:
                _report_unrecovered(paths.db, recovery, summary, say)
            return summary

    job = build_definitions(paths).resolve_job_def(JOB_NAME)
    # Year folders there now: one that is gone when its run scans it vanished during the ingest,
    # and must not empty its year in the warehouse (assets.ingest.raw_files).
    folders = [y for y in wanted if (paths.raw / str(y)).is_dir()]
    runs: list[tuple[str, int, int, Metadata]] = []
    # One writer at a time (the lock), and readers never wait: every run of this ingest writes to
    # the build file, published whole onto the warehouse when the last run is done.
    # With several years, the extraction workers parse the next year while one is staged and
    # loaded (assets.readahead); with one, there is nothing to read ahead.
    ahead = reading_ahead(paths.raw, wanted) if len(wanted) > 1 else contextlib.nullcontext()
    try:
        # The instance `make dev` shows (pipelines.instance): opened under the writer lock, so two
        # ingests at once take turns at its SQLite files as they do at the warehouse.
        with (
            guarded("recording the runs in Dagster's instance storage", _dagster_home(paths)),
            warehouse_build(paths.db, say),
            open_instance(paths.db) as instance,
            ahead as reader,
        ):
            # One run per year, as a backfill does (BackfillPolicy.multi_run): each year's
            # materialisations carry that year's data version; all publish together, at the end.
            for n, year in enumerate(wanted):
                first, last, span = year, year, str(year)
                say(f"ingesting {span} from {paths.raw}")
                result = job.execute_in_process(
                    instance=instance,
                    partition_key=span,
                    run_config=_run_config(force, folders),
                    raise_on_error=False,
                    # The report (html_report) reads every year: written once, by the last run, and
                    # only when asked (seconds at national scale; `gongkai report` writes it any time).
                    asset_selection=REPORT_ASSET_KEYS if report and n == len(wanted) - 1 else YEAR_ASSET_KEYS,
                )
                summary.run_ids.append(result.run_id)
                errors, fault = _step_errors(result)
                if fault is not None:
                    # The disk or the warehouse failed, not the data: no further year can do better.
                    # Raised inside the build session, which discards the build and this run's files.
                    remove_quietly([paths.io_dir / "staged"])
                    raise fault
                summary.errors += [f"{span} {e}" for e in errors]
                runs.append((span, first, last, _materialized(result)))
            summary.read_ahead = reader.used_files if reader else 0
    except InstanceError as exc:
        summary.errors.append(f"{exc}; nothing was loaded, the warehouse is as it was")
        return summary
    for _span, first, last, done in runs:
        for year in range(first, last + 1):
            summary.years[year] = _summarise_year(year, done)
    unchanged = _stored_statuses(paths.db, [y for y, ys in summary.years.items() if ys.up_to_date])
    for year, ys in sorted(summary.years.items()):
        if year in unchanged:  # as stored: superseded reports were loaded (ok or warning) once
            stored = unchanged[year]
            ys.ok = stored.get("ok", 0) + stored.get("superseded", 0)
            ys.warning, ys.rejected = stored.get("warning", 0), stored.get("rejected", 0)
        if ys.validation_failures and not ys.loaded:
            summary.errors.append(
                f"{year}: {len(ys.validation_failures)} {PANDERA_CHECK} failures; not loaded"
            )
        state = "unchanged, skipped" if ys.up_to_date else "loaded" if ys.loaded else "NOT loaded"
        c = ys.changes
        say(
            f"{year}: {ys.files} files ({c.new} new, {c.changed} changed, {c.unchanged} unchanged, "
            f"{c.gone} gone; {ys.parsed} parsed), {ys.rows.get('applications', 0)} application rows, {state}"
        )
    _check_corrections(paths.corrections, paths.db, summary, say)
    if recovery is not None:
        _report_unrecovered(paths.db, recovery, summary, say)
    return summary


def _recover(paths: GongkaiPaths, summary: IngestSummary, say: Callable[[str], None]) -> Recovery | None:
    """A damaged warehouse is moved aside and restored or left for a rebuild (warehouse.recovery).
    The check reads only (readers need no lock); the writer lock is taken when there is damage."""
    if not damaged(paths.db):
        return None
    with writer_lock(paths.db, say):
        recovery = recover(paths.db, paths.cache)
    if recovery is not None:
        for line in recovery.lines():
            say(f"recovery: {line}")
            summary.warnings.append(f"recovery: {line}")
    return recovery


def _report_unrecovered(
    db: Path, recovery: Recovery, summary: IngestSummary, say: Callable[[str], None]
) -> None:
    lost = unrecovered(db, recovery.known)
    if lost is None:
        line = (
            "what the damaged warehouse held beyond the raw folder is unknown (no earlier state was readable)"
        )
    elif lost:
        shown = ", ".join(lost[:10]) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
        line = f"could not be recovered: the facts of {len(lost)} reports whose files are gone or unreadable since: {shown}"
    else:
        line = "nothing was lost: every report loaded before is loaded again"
    say(f"recovery: {line}")
    summary.warnings.append(f"recovery: {line}")


def _check_corrections(
    csv_path: Path, db_path: Path, summary: IngestSummary, say: Callable[[str], None]
) -> None:
    """What became of each line of corrections.csv (table ``corrections``); a line that names no
    loaded report, or cannot be read, is a warning: a typo must never pass in silence."""
    try:
        lines = read_corrections(csv_path)
    except CorrectionsFileError as exc:
        summary.errors.append(str(exc))
        return
    if not lines:
        return
    stored = dict(query(db_path, "SELECT line, status FROM corrections")) if db_path.exists() else {}
    summary.corrections = dict(Counter(stored.values()))
    for c in lines:
        if c.line not in stored:
            what = c.problem or f"names no loaded report ({c.file or c.sha256})"
            summary.warnings.append(f"{csv_path.name} line {c.line}: {what}")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.corrections.items()))
    say(f"{csv_path.name}: {len(lines)} line{'' if len(lines) == 1 else 's'} ({counts or 'none applied'})")
