"""Marts: tables computed per year at load time from the hidden views ``_<mart>_query``.

A mart row of year Y depends only on year Y's facts and the agency table (regions, levels), so a
load recomputes its own year's rows (every year's when the agencies changed), in the load's
transaction: readers never see facts and marts of different loads.
"""

from __future__ import annotations

import duckdb

# In dependency order: each reads the ones before it.
MARTS = ("agency_reports", "agency_year_metrics", "group_year_metrics", "agency_rankings")
# Rows sorted so that a question about one agency reads few row groups of a year's file.
_ORDER = {
    "agency_reports": "agency, report_id",
    "agency_year_metrics": "agency, report_id",
    "group_year_metrics": "grouping_set, province, city, county, level",
    "agency_rankings": "level, agency",
}


def refresh_marts(con: duckdb.DuckDBPyConnection, years: list[int]) -> None:
    """Replace the rows of ``years`` in every mart (inside the caller's transaction)."""
    if not years:
        return
    for mart in MARTS:
        con.execute(f"DELETE FROM {mart} WHERE list_contains(?, year)", [years])
        con.execute(
            f"INSERT INTO {mart} SELECT * FROM _{mart}_query WHERE list_contains(?, year) "
            f"ORDER BY year, {_ORDER[mart]}",
            [years],
        )
