"""Marts: tables computed per year at load time from the hidden views ``_<mart>_query`` (and the
table macro ``_agency_year_metrics_for(years, agencies)``).

A mart row of year Y depends only on year Y's facts and the agency table (regions, levels), so a
load recomputes its own year's rows — of the per-agency marts only those of agencies whose
reports changed — and every year's when the agency table changed, in the load's transaction:
readers never see facts and marts of different loads.
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


# Marts with one row per agency-year: a load that changes a few agencies' reports recomputes
# only their rows; the others are aggregates over a whole year, recomputed from the former.
PER_AGENCY = ("agency_reports", "agency_year_metrics")
# Where each mart's rows come from: a hidden view, or a table macro that filters the years and
# agencies itself (its parts are grouped and joined before a filter on the result could reach a
# scan: one agency of a 20,000-report year took 3 s through a view, 0.7 s with the years inside,
# less again with the agencies inside too).
_SOURCE = {"agency_year_metrics": "_agency_year_metrics_for([{years}], {agencies})"}
MAX_LISTED_AGENCIES = 2000


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def refresh_marts(con: duckdb.DuckDBPyConnection, years: list[int], *, agencies: str | None = None) -> None:
    """Replace the rows of ``years`` in every mart (inside the caller's transaction).

    ``agencies``: a (temporary) table of the agencies whose report rows changed; then only their
    rows of the per-agency marts are computed again (one new file among 20,000: one agency)."""
    if not years:
        return
    only_agencies, agency_list = "", "NULL"
    if agencies:
        names = [r[0] for r in con.execute(f"SELECT agency FROM {agencies} ORDER BY 1").fetchall()]
        if len(names) > MAX_LISTED_AGENCIES:
            agencies = None  # so many: the whole years are as quick
        else:
            # Literals, not a subquery: a constant filter reaches the Parquet scans (files are
            # sorted by agency), a semi-join would read every fact of the year.
            only_agencies = (
                " AND agency IN (" + ", ".join(_literal(n) for n in names) + ")" if names else " AND false"
            )
            agency_list = "[" + ", ".join(_literal(n) for n in names) + "]::VARCHAR[]"
    listed = ", ".join(str(int(y)) for y in years)  # whole numbers: literals reach the scans
    for mart in MARTS:
        only = only_agencies if agencies and mart in PER_AGENCY else ""
        source = _SOURCE.get(mart, f"_{mart}_query").format(
            years=listed, agencies=agency_list if only else "NULL"
        )
        con.execute(f"DELETE FROM {mart} WHERE year IN ({listed}){only}")
        con.execute(
            f"INSERT INTO {mart} SELECT * FROM {source} WHERE year IN ({listed}){only} "
            f"ORDER BY year, {_ORDER[mart]}"
        )
