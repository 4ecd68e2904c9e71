"""Nightly: re-ingest the current and the previous year (late filings and corrections land there),
but only those of the two whose files changed since they were loaded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from assets.partitions import FIRST_YEAR, TIMEZONE, range_tags, year_ranges
from assets.resources import GongkaiPaths

JOB_NAME = "ingest_job"


def nightly_years(when: datetime) -> tuple[int, int]:
    """(first, last) year to re-ingest for a run scheduled at ``when`` (China time decides the year)."""
    year = when.astimezone(ZoneInfo(TIMEZONE)).year
    return max(FIRST_YEAR, year - 1), year


@dg.schedule(
    job_name=JOB_NAME,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 China time: ingest the previous and the current report year, skipping a year whose "
    "files, manifest rows and agencies.csv are the ones it was loaded from (no run at all when neither changed).",
)
def nightly_ingest(
    context: dg.ScheduleEvaluationContext, paths: GongkaiPaths
) -> dg.RunRequest | dg.SkipReason:
    from pipelines.sensors import year_states  # the sensor module imports this one

    when = context.scheduled_execution_time or datetime.now(ZoneInfo(TIMEZONE))
    first, last = nightly_years(when)
    loaded, current = year_states(paths)
    changed = [y for y in range(first, last + 1) if current.get(str(y)) != loaded.get(str(y))]
    if not changed:
        return dg.SkipReason(f"nothing new for {first}–{last}: both years are as they were loaded")
    start, end = year_ranges(changed)[0][0], year_ranges(changed)[-1][1]
    # One run over the changed years (a partition range), so two loads never contend for the warehouse.
    return dg.RunRequest(
        run_key=f"nightly-{when.astimezone(ZoneInfo(TIMEZONE)):%Y-%m-%d}", tags=range_tags(start, end)
    )
