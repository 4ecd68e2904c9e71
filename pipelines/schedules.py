"""Nightly: re-ingest the current and the previous year (late filings and corrections land there)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from assets.partitions import FIRST_YEAR, TIMEZONE, range_tags

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
)
def nightly_ingest(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time or datetime.now(ZoneInfo(TIMEZONE))
    first, last = nightly_years(when)
    # One run over both years (a partition range), so the two loads never contend for the DuckDB file.
    return dg.RunRequest(
        run_key=f"nightly-{when.astimezone(ZoneInfo(TIMEZONE)):%Y-%m-%d}", tags=range_tags(first, last)
    )
