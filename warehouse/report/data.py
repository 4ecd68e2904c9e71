"""The numbers behind the HTML report: one SQL question per panel, on the warehouse's views.

Every rate is the one docs/metrics.md defines, read from the views that define it: per agency
from ``agency_year_metrics``, across agencies as Σ numerator / Σ denominator of ``metric_parts``
(what ``level_year_metrics`` and ``region_year_metrics`` compute), year-over-year from
``metrics_yoy``, rankings from ``agency_rankings_min``. Filters travel as query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from schemas.taxonomy import taxonomy

MOVERS = 10  # agencies listed as the year's biggest movers
HIGHEST = 10  # agencies in each "highest rate" list
RANKED_RATES = ("disclosure_rate", "withheld_rate")  # the "highest rate" lists (thresholded ranks)


class NothingToReport(ValueError):
    """The warehouse holds no loaded report for the years, region and level asked for."""


@dataclass(frozen=True)
class ReportOptions:
    years: list[int] | None = None  # default: every year with a report
    region: str | None = None  # a 省/市/县 path or its start: 江苏省, 江苏省/宿迁市
    level: str | None = None  # province | city | county | township
    min_requests: int | None = None  # default: the warehouse's ranking_min_requests()


@dataclass(frozen=True)
class ReportData:
    first: int
    last: int
    region: str | None
    level: str | None
    min_requests: int
    default_min_requests: int
    totals: dict[str, int]  # agencies, reports loaded, requests received over the range
    requests_by_year: pl.DataFrame  # year, agencies, requests_received
    rates_by_level: pl.DataFrame  # year, level, agencies, disclosure_rate, withheld_rate
    withheld_mix: pl.DataFrame  # year, category, withheld, share
    movers: pl.DataFrame  # agency, level, region, previous_value, value, change (year = last)
    highest: dict[str, pl.DataFrame] = field(default_factory=dict)  # rate → agency, level, …, rank
    correction_rates: pl.DataFrame = field(default_factory=pl.DataFrame)  # year, rates, decided cases
    quality: pl.DataFrame = field(default_factory=pl.DataFrame)  # year, reports by status, failures…
    null_cells: pl.DataFrame = field(default_factory=pl.DataFrame)  # year, kind, cells

    @property
    def years(self) -> list[int]:
        return list(range(self.first, self.last + 1))


# Rows of a relation with agency, region and level columns that the options select.
_SELECTED = (
    "{y}.year BETWEEN $first AND $last"
    " AND ($region IS NULL OR {t}.region = $region OR starts_with({t}.region, $region || '/'))"
    " AND ($level IS NULL OR {t}.level = $level)"
)


def _where(alias: str, year_from: str | None = None) -> str:
    """The options' filter on ``alias`` (region, level; the year from ``year_from`` if given)."""
    return _SELECTED.format(t=alias, y=year_from or alias)


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pl.DataFrame:
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return pl.DataFrame(con.sql(sql, params=used))


def _years(con: duckdb.DuckDBPyConnection, options: ReportOptions) -> tuple[int, int]:
    """The years asked for, else the first and last year with a report in the region and level."""
    if options.years:
        return min(options.years), max(options.years)
    every_year = {"first": 0, "last": 9999, "region": options.region, "level": options.level}
    first, last = con.execute(
        "SELECT min(r.year), max(r.year) FROM agency_reports AS r LEFT JOIN agencies AS a USING (agency) "
        f"WHERE {_where('a', 'r')}",
        every_year,
    ).fetchone()  # type: ignore[misc]
    if first is None:
        raise NothingToReport(_nothing(options))
    return int(first), int(last)


def _nothing(options: ReportOptions, first: int | None = None, last: int | None = None) -> str:
    where = [f"region {options.region}"] if options.region else []
    where += [f"level {options.level}"] if options.level else []
    span = "" if first is None else (f" for {first}" if first == last else f" for {first}–{last}")
    return f"the warehouse holds no loaded report{span}{' in ' + ', '.join(where) if where else ''}"


def gather(con: duckdb.DuckDBPyConnection, options: ReportOptions) -> ReportData:
    """Every panel's numbers, from one read-only session on the warehouse."""
    first, last = _years(con, options)
    default_min = int(con.execute("SELECT ranking_min_requests()").fetchone()[0])  # type: ignore[index]
    min_requests = default_min if options.min_requests is None else options.min_requests
    p: dict[str, Any] = {
        "first": first,
        "last": last,
        "region": options.region,
        "level": options.level,
        "min_requests": min_requests,
    }
    requests = _frame(
        con,
        f"""
        SELECT year, count(*) AS agencies, sum(requests_received)::BIGINT AS requests_received
        FROM agency_year_metrics AS m
        WHERE {_where("m")}
        GROUP BY year ORDER BY year
        """,
        p,
    )
    if requests.is_empty():
        raise NothingToReport(_nothing(options, first, last))
    totals = dict(
        zip(
            ("agencies", "reports_loaded", "requests_received"),
            con.execute(
                f"SELECT count(DISTINCT agency), count(*), coalesce(sum(requests_received), 0)::BIGINT "
                f"FROM agency_year_metrics AS m WHERE {_where('m')}",
                {k: p[k] for k in ("first", "last", "region", "level")},
            ).fetchone(),  # type: ignore[arg-type]
            strict=True,
        )
    )
    return ReportData(
        first=first,
        last=last,
        region=options.region,
        level=options.level,
        min_requests=min_requests,
        default_min_requests=default_min,
        totals=totals,
        requests_by_year=requests,
        rates_by_level=_frame(con, _RATES_BY_LEVEL, p),
        withheld_mix=_frame(con, _withheld_mix_sql(), p),
        movers=_frame(con, _MOVERS, p | {"limit": MOVERS}),
        highest={rate: _frame(con, _highest_sql(rate), p | {"limit": HIGHEST}) for rate in RANKED_RATES},
        correction_rates=_frame(con, _CORRECTION_RATES, p),
        quality=_frame(con, _QUALITY, p),
        null_cells=_frame(con, _NULL_CELLS, p),
    )


# Disclosure and withholding rates by level: ratios of sums over metric_parts, as
# level_year_metrics computes them (the same numbers when no region is chosen).
_RATES_BY_LEVEL = f"""
SELECT year, level, count(*) AS agencies,
       sum(disclosure_num) / nullif(sum(disclosure_den), 0) AS disclosure_rate,
       sum(withheld_num) / nullif(sum(withheld_den), 0)     AS withheld_rate
FROM metric_parts AS m
WHERE {_where("m")}
GROUP BY year, level
ORDER BY year, level
"""


def _withheld_mix_sql() -> str:
    """Each reason's share of 不予公开: Σ withheld_<reason> / Σ withheld over the agency-years
    whose withheld is known (it is NULL when any reason is blank, so the shares add up to 1)."""
    reasons = ", ".join(c.code for c in taxonomy().categories if c.group == "withheld")
    return f"""
    SELECT year, category, sum(count)::BIGINT AS withheld,
           sum(count) / nullif(sum(sum(count)) OVER (PARTITION BY year), 0) AS share
    FROM (
        SELECT * FROM agency_year_metrics AS m WHERE m.withheld IS NOT NULL AND {_where("m")}
    ) UNPIVOT (count FOR category IN ({reasons}))
    GROUP BY year, category
    ORDER BY year, category
    """


# The last year's biggest changes in requests received against the same agency's previous year.
_MOVERS = f"""
SELECT agency, level, region, previous_value::BIGINT AS previous_value, value::BIGINT AS value,
       change::BIGINT AS change
FROM metrics_yoy AS m
WHERE metric = 'requests_received' AND change IS NOT NULL AND {_where("m")} AND m.year = $last
ORDER BY abs(change) DESC, agency
LIMIT $limit
"""


def _highest_sql(rate: str) -> str:
    """The last year's highest ``rate``, among agencies ranked on rates (≥ min_requests requests)."""
    return f"""
    SELECT agency, level, requests_received, {rate} AS rate, {rate}_rank AS rank_in_level,
           agencies_ranked_by_rate
    FROM agency_rankings_min($min_requests) AS m
    WHERE {rate}_rank IS NOT NULL AND {_where("m")} AND m.year = $last
    ORDER BY {rate} DESC, requests_received DESC, agency
    LIMIT $limit
    """


_CORRECTION_RATES = f"""
SELECT year,
       sum(reconsideration_correction_num) / nullif(sum(reconsideration_correction_den), 0)
           AS reconsideration_correction_rate,
       sum(reconsideration_correction_den)::BIGINT AS reconsiderations_decided,
       sum(litigation_correction_num) / nullif(sum(litigation_correction_den), 0) AS litigation_correction_rate,
       sum(litigation_correction_den)::BIGINT AS lawsuits_decided
FROM metric_parts AS m
WHERE {_where("m")}
GROUP BY year ORDER BY year
"""

# Per year: reports by status (rejected and superseded ones included), identities A–D that fail,
# and identity E breaks in the 总计 column (what the carryover_continuity asset check warns on).
_QUALITY = f"""
WITH selected_reports AS (
    SELECT r.* FROM reports AS r LEFT JOIN agencies AS a USING (agency)
    WHERE {_where("a", "r")}
),
statuses AS (
    SELECT year,
           count(*) FILTER (WHERE status = 'ok')         AS ok,
           count(*) FILTER (WHERE status = 'warning')    AS warning,
           count(*) FILTER (WHERE status = 'rejected')   AS rejected,
           count(*) FILTER (WHERE status = 'superseded') AS superseded
    FROM selected_reports GROUP BY year
),
failures AS (
    SELECT f.year, count(*) AS failed_identities, count(DISTINCT f.source_path) AS reports_failing
    FROM identity_failures AS f SEMI JOIN selected_reports AS r USING (year, source_path)
    GROUP BY f.year
),
breaks AS (
    SELECT c.year, count(*) AS continuity_breaks
    FROM carryover_continuity AS c LEFT JOIN agencies AS a USING (agency)
    WHERE c.state = 'break' AND c.applicant_type = 'total' AND {_where("a", "c")}
    GROUP BY c.year
)
SELECT s.year, s.ok, s.warning, s.rejected, s.superseded,
       coalesce(f.failed_identities, 0) AS failed_identities,
       coalesce(f.reports_failing, 0) AS reports_failing,
       coalesce(b.continuity_breaks, 0) AS continuity_breaks
FROM statuses AS s
LEFT JOIN failures AS f USING (year)
LEFT JOIN breaks AS b USING (year)
ORDER BY s.year
"""

# Null cells by why they are null (cell_flags: one row per null fact of a loaded report).
_NULL_CELLS = f"""
SELECT f.year, f.kind, count(*) AS cells
FROM cell_flags AS f
JOIN reports AS r ON r.year = f.year AND r.report_id = f.report_id
LEFT JOIN agencies AS a ON a.agency = r.agency
WHERE {_where("a", "f")}
GROUP BY f.year, f.kind
ORDER BY f.year, f.kind
"""
