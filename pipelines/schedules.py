"""Nightly: re-ingest the current and the previous year (late filings and corrections land there),
but only those of the two whose files changed since they were loaded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from assets.partitions import FIRST_YEAR, TIMEZONE
from assets.resources import FetchSettings, GongkaiPaths
from fetch.sources import SourcesError, read_sources

JOB_NAME = "ingest_job"


def fetch_years(fetch: FetchSettings, paths: GongkaiPaths, first: int, last: int) -> list[int]:
    """Years of ``first..last`` that data/sources.csv lists URLs for: their run must happen
    whatever the raw folder says, since fetching is what finds new reports. A sources.csv that
    cannot be read asks for both years, so the run's fetched_files says what is wrong."""
    wanted = list(range(first, last + 1))
    try:
        return sorted({s.year for s in read_sources(fetch.sources(paths.raw)).for_years(wanted)})
    except SourcesError:
        return wanted


def nightly_years(when: datetime) -> tuple[int, int]:
    """(first, last) year to re-ingest for a run scheduled at ``when`` (China time decides the year)."""
    year = when.astimezone(ZoneInfo(TIMEZONE)).year
    return max(FIRST_YEAR, year - 1), year


@dg.schedule(
    job_name=JOB_NAME,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 China time: fetch the previous and the current report year's URLs from "
    "data/sources.csv, then ingest them, skipping a year whose files, manifest rows and agencies.csv are "
    "the ones it was loaded from (no run at all when neither changed and sources.csv lists neither).",
)
def nightly_ingest(
    context: dg.ScheduleEvaluationContext, paths: GongkaiPaths, fetch: FetchSettings
) -> list[dg.RunRequest] | dg.SkipReason:
    from pipelines.sensors import year_states  # the sensor module imports this one

    when = context.scheduled_execution_time or datetime.now(ZoneInfo(TIMEZONE))
    first, last = nightly_years(when)
    loaded, current = year_states(paths)
    changed = [y for y in range(first, last + 1) if current.get(str(y)) != loaded.get(str(y))]
    changed = sorted({*changed, *fetch_years(fetch, paths, first, last)})
    if not changed:
        return dg.SkipReason(
            f"nothing new for {first}–{last}: both years are as they were loaded, and sources.csv lists neither"
        )
    # One run per changed year (each year's materialisation carries its data version); two runs
    # take turns at the warehouse's writer lock.
    day = f"{when.astimezone(ZoneInfo(TIMEZONE)):%Y-%m-%d}"
    return [dg.RunRequest(run_key=f"nightly-{day}-{year}", partition_key=str(year)) for year in changed]
