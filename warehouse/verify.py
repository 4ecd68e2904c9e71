"""``gongkai verify``: the warehouse's own invariants, each a query that lists what breaks it.

What the schema and the loader promise (schemas/sql/warehouse.sql, warehouse.db.load_year):
every file the catalog lists is there and decodes; facts exist only for ok/warning reports; no
row without its report; one fact per template cell per report (the cells of its template, from
schemas.taxonomy); the identity checks are the ones its facts give (extract.identities); a null
fact has exactly one flag and a flag only a null fact; ``null_cells`` counts them; report ids
are unique; every agency is in the agency table; a superseded report names a loaded one; every
year with reports has its load recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from extract.identities import compute_checks
from extract.matcher import Cell, Tables
from schemas.taxonomy import CELL_TABLES, TEMPLATES, taxonomy
from warehouse.arrow import registered
from warehouse.db import connect
from warehouse.faults import DamagedWarehouse
from warehouse.health import check_catalog, file_problems

FACT_TABLES = tuple(CELL_TABLES)
_LOADED = "('ok', 'warning')"
EXAMPLES = 3  # offending rows shown per broken invariant


@dataclass(frozen=True)
class Breach:
    invariant: str
    count: int
    examples: list[str]

    def line(self) -> str:
        shown = "; ".join(self.examples)
        return f"{self.invariant}: {self.count} ({shown})" if shown else f"{self.invariant}: {self.count}"


def template_cells() -> pl.DataFrame:
    """Every cell of every template: (fact table, variant, row code, column code). Table 三 has
    two variants (（六） as one row or as three), either is a whole report."""
    tax = taxonomy()
    rows = []
    for single, variant in ((True, "single"), (False, "split")):
        for t in TEMPLATES:
            rows += [
                ("applications", f"{t}/{variant}", c, a)
                for c in tax.category_codes(single_other_row=single)
                for a in tax.applicant_codes
            ]
    for t in TEMPLATES:
        rows += [("proactive", t, item, m.code) for item, m in tax.proactive_cells(t)]
        rows += [("appeals", t, p, o) for p in tax.proceeding_codes for o in tax.outcome_codes]
    return pl.DataFrame(rows, schema=["table_name", "variant", "row_code", "column_code"], orient="row")


def _query(name: str, sql: str) -> tuple[str, str]:
    return name, sql


def _fact_sql(table: str) -> str:
    """A fact table with its cell as (table_name, row_code, column_code, value)."""
    (row, column), value = CELL_TABLES[table]
    return (
        f"SELECT report_id, year, agency, '{table}' AS table_name, {row} AS row_code, "
        f"{column} AS column_code, {value}::DOUBLE AS value FROM {table}"
    )


def _invariants() -> list[tuple[str, str]]:
    facts = " UNION ALL ".join(_fact_sql(t) for t in FACT_TABLES)
    keyed = ("applications", "proactive", "appeals", "checks", "cell_flags", "corrections")
    out = [
        _query(
            f"{t} rows of a report that is not ok or warning",
            f"SELECT f.report_id || ' (' || r.status || ')' FROM {t} AS f JOIN reports AS r "
            f"USING (report_id, year) WHERE r.status NOT IN {_LOADED}",
        )
        for t in keyed
        if t != "corrections"
    ]
    out += [
        _query(
            f"{t} rows without their report (orphans)",
            f"SELECT f.report_id || ' ' || f.year FROM {t} AS f ANTI JOIN reports AS r USING (report_id, year)",
        )
        for t in (*keyed, "agency_reports")
    ]
    out += [
        _query(
            "reports whose facts are not one per template cell",
            f"""
            WITH f AS ({facts}),
            per AS (
                SELECT r.report_id, r.template, f.table_name, count(f.row_code) AS n,
                       count(DISTINCT (f.row_code, f.column_code)) AS distinct_cells,
                       list(DISTINCT f.row_code || '/' || f.column_code) AS cells
                FROM reports AS r JOIN f USING (report_id, year)
                WHERE r.status IN {_LOADED} GROUP BY ALL
            ),
            fits AS (
                SELECT per.report_id, per.table_name, per.n, per.distinct_cells,
                       bool_or(per.n = t.n AND list_sort(per.cells) = t.cells) AS fits
                FROM per JOIN (
                    SELECT table_name, variant, count(*) AS n,
                           list_sort(list(row_code || '/' || column_code)) AS cells
                    FROM template_cells GROUP BY ALL
                ) AS t ON t.table_name = per.table_name
                      AND split_part(t.variant, '/', 1) = per.template
                GROUP BY ALL
            ),
            expected AS (
                SELECT DISTINCT r.report_id, t.table_name FROM reports AS r
                CROSS JOIN (SELECT DISTINCT table_name FROM template_cells) AS t
                WHERE r.status IN {_LOADED}
            )
            SELECT e.report_id || ' ' || e.table_name || ': ' ||
                   coalesce(fits.n::VARCHAR || ' rows, ' || fits.distinct_cells::VARCHAR || ' distinct cells', 'no rows')
            FROM expected AS e LEFT JOIN fits USING (report_id, table_name)
            WHERE fits.fits IS NOT TRUE OR fits.n <> fits.distinct_cells
            """,
        ),
        _query(
            "cell_flags rows for a cell that is not null",
            f"""
            SELECT c.report_id || ' ' || c.table_name || ' ' || c.row_code || '/' || c.column_code
            FROM cell_flags AS c LEFT JOIN ({facts}) AS f USING (report_id, year, table_name, row_code, column_code)
            WHERE f.report_id IS NULL OR f.value IS NOT NULL
            """,
        ),
        _query(
            "null cells without exactly one cell_flags row",
            f"""
            SELECT f.report_id || ' ' || f.table_name || ' ' || f.row_code || '/' || f.column_code || ': '
                   || count(c.kind) || ' flags'
            FROM ({facts}) AS f LEFT JOIN cell_flags AS c USING (report_id, year, table_name, row_code, column_code)
            WHERE f.value IS NULL
            GROUP BY f.report_id, f.table_name, f.row_code, f.column_code HAVING count(c.kind) <> 1
            """,
        ),
        _query(
            "reports whose null_cells is not the number of their null facts",
            f"""
            SELECT r.report_id || ': null_cells ' || r.null_cells || ', null facts ' || count(f.report_id)
            FROM reports AS r LEFT JOIN (SELECT * FROM ({facts}) WHERE value IS NULL) AS f USING (report_id, year)
            WHERE r.status IN {_LOADED} GROUP BY r.report_id, r.null_cells HAVING r.null_cells <> count(f.report_id)
            """,
        ),
        _query(
            "report ids stored more than once",
            "SELECT report_id || ' ×' || count(*) FROM reports GROUP BY report_id HAVING count(*) > 1",
        ),
        _query(
            "agencies not in the agency table",
            # A rejected file's agency is its file stem, vouched for by nobody: not an agency.
            " UNION ".join(
                f"SELECT DISTINCT '{t}: ' || agency FROM {t} ANTI JOIN agencies USING (agency)"
                + (" WHERE status <> 'rejected'" if t == "reports" else "")
                for t in ("reports", *FACT_TABLES)
            ),
        ),
        _query(
            "facts whose agency is not their report's",
            " UNION ALL ".join(
                f"SELECT '{t}: ' || f.report_id FROM {t} AS f JOIN reports AS r USING (report_id, year) "
                "WHERE f.agency <> r.agency"
                for t in FACT_TABLES
            ),
        ),
        _query(
            "superseded reports that name no loaded report",
            f"SELECT s.report_id || ' → ' || coalesce(s.superseded_by, 'nothing') FROM reports AS s "
            f"LEFT JOIN reports AS r ON r.report_id = s.superseded_by AND r.status IN {_LOADED} "
            "WHERE s.status = 'superseded' AND r.report_id IS NULL",
        ),
        _query(
            "years with reports but no load recorded",
            "SELECT DISTINCT year::VARCHAR FROM reports ANTI JOIN loads USING (year)",
        ),
    ]
    return out


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-9))


def _check_breaches(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Reports whose stored identity checks differ from the ones their facts give."""
    loaded = pl.DataFrame(con.sql(f"SELECT report_id, year, template FROM reports WHERE status IN {_LOADED}"))
    cells = {
        t: pl.DataFrame(
            con.sql(
                _fact_sql(t)
                + f" WHERE report_id IN (SELECT report_id FROM reports WHERE status IN {_LOADED})"
            )
        )
        for t in ("applications", "appeals")
    }
    stored = pl.DataFrame(con.sql("SELECT report_id, rule, subject, expected, actual, passed FROM checks"))
    by_report = {
        t: {k[0]: g for k, g in frame.group_by("report_id")} if frame.height else {}
        for t, frame in cells.items()
    }
    stored_by = {k[0]: g for k, g in stored.group_by("report_id")} if stored.height else {}
    tax = taxonomy()
    single = set(tax.category_codes(single_other_row=True))
    out = []
    for rid, _year, template in loaded.iter_rows():
        app = by_report["applications"].get(rid)
        apl = by_report["appeals"].get(rid)
        if app is None or apl is None:
            continue  # no facts at all: the template-cell invariant names it

        def as_cells(frame: pl.DataFrame) -> dict[tuple[str, str], Cell]:
            return {
                (r, c): Cell(v) for r, c, v in frame.select("row_code", "column_code", "value").iter_rows()
            }

        applications = as_cells(app)
        tables = Tables(
            template=template or TEMPLATES[-1],
            single_other_row={r for r, _c in applications} == single,
            applications=applications,
            proactive={},
            appeals=as_cells(apl),
        )
        try:
            expected = {(c.rule, c.subject): c for c in compute_checks(tables)}
        except KeyError:  # a cell is missing: the template-cell invariant names it
            continue
        got = stored_by.get(rid)
        have = {(r, s): (e, a, p) for _rid, r, s, e, a, p in got.iter_rows()} if got is not None else {}
        wrong = [
            f"{rule}/{subject}"
            for (rule, subject), c in expected.items()
            if (rule, subject) not in have
            or not _same(have[(rule, subject)][0], None if c.expected is None else float(c.expected))
            or not _same(have[(rule, subject)][1], None if c.actual is None else float(c.actual))
            or have[(rule, subject)][2] != c.passed
        ] + [f"{r}/{s} (extra)" for r, s in have if (r, s) not in expected]
        if wrong:
            out.append(f"{rid}: {', '.join(wrong[:3])}{' …' if len(wrong) > 3 else ''}")
    return out


def verify(catalog: Path, *, deep: bool = True) -> list[Breach]:
    """Every broken invariant of the warehouse at ``catalog`` (empty: it verifies). A damaged
    catalog is one breach; damaged data files are one breach listing them (``deep``: every
    file decoded, not only its size and marks checked)."""
    try:
        check_catalog(catalog)
    except DamagedWarehouse as exc:
        return [Breach("the catalog is damaged", 1, [str(exc)])]
    damaged = file_problems(catalog, deep=deep)
    if damaged:  # queries over damaged files would only fail
        return [Breach("damaged data files", len(damaged), [p for _f, p in damaged[:EXAMPLES]])]
    with connect(catalog, read_only=True) as con:
        breaches = []
        with registered(con, template_cells=template_cells()):
            for name, sql in _invariants():
                rows = con.execute(
                    f"SELECT count(*) OVER (), * FROM ({sql}) ORDER BY 2 LIMIT {EXAMPLES}"
                ).fetchall()
                if rows:
                    breaches.append(Breach(name, rows[0][0], [str(r[1]) for r in rows]))
        wrong = _check_breaches(con)
        if wrong:
            breaches.append(
                Breach("identity checks that are not the ones the facts give", len(wrong), wrong[:EXAMPLES])
            )
    return breaches
