"""The one Dagster code location: ``uv run dagster dev`` loads ``defs`` via workspace.yaml."""

from __future__ import annotations

import dagster as dg

from assets.fetch import fetched_files
from assets.ingest import ingest_assets, report_files
from assets.partitions import years_partitions
from assets.report import html_report
from assets.resources import FetchSettings, GongkaiPaths, YearPickleIOManager
from pipelines.schedules import JOB_NAME, nightly_ingest
from pipelines.sensors import raw_dir_sensor

ingest_job = dg.define_asset_job(
    JOB_NAME,
    # Fetching comes first (it does nothing without data/sources.csv); the report follows the
    # load in the same run, so the nightly run refreshes it.
    selection=dg.AssetSelection.assets(fetched_files, *ingest_assets, html_report),
    partitions_def=years_partitions,
    # In-process: the steps share one process, DuckDB gets one writer, and runs start fast.
    executor_def=dg.in_process_executor,
    description="Ingest one report year (a partition) per run: fetch what data/sources.csv lists for it, list its files, extract those the parse "
    "cache does not know, check the year's rows and replace the year in the warehouse. A year whose "
    "files, manifest rows and agencies.csv are the ones it was loaded from is skipped.",
)


def build_definitions(
    paths: GongkaiPaths | None = None, fetch: FetchSettings | None = None
) -> dg.Definitions:
    """Definitions bound to ``paths`` (default: GONGKAI_RAW / GONGKAI_DB, else data/) and the
    fetch settings (default: fetch.client.Politeness's, GONGKAI_FETCH_CONTACT, GONGKAI_SOURCES)."""
    paths = paths or GongkaiPaths()
    return dg.Definitions(
        assets=[report_files, fetched_files, *ingest_assets, html_report],
        jobs=[ingest_job],
        schedules=[nightly_ingest],
        sensors=[raw_dir_sensor],
        resources={
            "paths": paths,
            "fetch": fetch or FetchSettings(),
            "year_io": YearPickleIOManager(paths=paths),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions()
