"""One partition per report year, 2019 (the first national table) through the current year."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

FIRST_YEAR = 2019
TIMEZONE = "Asia/Shanghai"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# Yearly windows in China time; end_offset=1 opens the current year's partition on 1 January
# rather than a year later, since reports on the year just begun are filed into it early.
years_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *",
    start=str(FIRST_YEAR),
    fmt="%Y",
    timezone=TIMEZONE,
    end_offset=1,
)


def partition_years() -> list[int]:
    return [int(k) for k in years_partitions.get_partition_keys()]


def year_ranges(years: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive years grouped: [2019, 2020, 2022] → [(2019, 2020), (2022, 2022)]."""
    ranges: list[tuple[int, int]] = []
    for year in sorted(set(years)):
        if ranges and year == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], year)
        else:
            ranges.append((year, year))
    return ranges


def range_tags(first: int, last: int) -> dict[str, str]:
    """Run tags for one run over ``first..last`` (how Dagster spells a single-run backfill)."""
    return {RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)}
