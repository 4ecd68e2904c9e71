"""DuckDB: schema, lookup tables and the per-year load.

Connections are short-lived (open, do one thing, close) because DuckDB allows one writer per
file and ``dagster dev`` or an analyst's notebook may hold the file between runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from schemas.taxonomy import TEMPLATES, taxonomy
from warehouse.agencies import AgencyDirectory, agency_rows
from warehouse.frames import SCHEMAS, TABLES, Frames

SQL_DIR = Path(__file__).resolve().parents[1] / "schemas" / "sql"
LOOKUP_TABLES = (
    "categories",
    "category_groups",
    "applicant_types",
    "appeal_proceedings",
    "appeal_outcomes",
    "proactive_measures",
)
AGENCY_TABLES = ("agencies", "agency_aliases")
# Facts before reports: deletes run in this order, inserts in reverse, so no moment inside
# the transaction has facts without their report (there are no FK constraints, but readers
# of a half-written state would be confused if we ever relaxed isolation).
_DELETE_ORDER = ("checks", "appeals", "proactive", "applications", "reports")


LOCK_WAIT_SECONDS = 120.0


def _open(db_path: Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    # Another process (a second run, a notebook) may hold the file: wait for it rather than fail
    # the nightly run, since every holder here keeps its connection for seconds at most.
    deadline = time.monotonic() + wait
    delay = 0.1
    while True:
        try:
            return duckdb.connect(
                str(db_path),
                read_only=read_only,
                config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
            )
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@contextmanager
def connect(
    db_path: Path, *, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection that never installs or loads extensions behind our back."""
    if not read_only:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(db_path, read_only, wait)
    try:
        yield con
    finally:
        con.close()


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute((SQL_DIR / "warehouse.sql").read_text(encoding="utf-8"))
    con.execute((SQL_DIR / "views.sql").read_text(encoding="utf-8"))


class _ArrowStream:
    """Hands a Polars frame to DuckDB through the Arrow C stream interface.

    DuckDB's Polars path calls ``to_arrow()``, which needs pyarrow (not a dependency); the
    PyCapsule protocol moves the same buffers without it.
    """

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._frame.__arrow_c_stream__(requested_schema)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """INSERT the frame's rows; values travel as data, never as SQL text."""
    if frame.height == 0:
        return 0
    if (
        table not in TABLES and table not in LOOKUP_TABLES and table not in AGENCY_TABLES
    ):  # identifiers cannot be parameters
        raise ValueError(f"unknown table {table!r}")
    view = f"_incoming_{table}"
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    con.register(view, _ArrowStream(frame))
    try:
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {view}")
    finally:
        con.unregister(view)
    return frame.height


# ------------------------------------------------------------------------------------ lookups
def lookup_frames() -> dict[str, pl.DataFrame]:
    tax = taxonomy()
    measures = [
        {
            "template": t,
            "item": item.code,
            "item_label": item.label,
            "measure": m.code,
            "measure_label": m.label,
            "unit": m.unit,
            "order": i,
        }
        for t in TEMPLATES
        for i, (item, m) in enumerate((item, m) for item in tax.proactive[t] for m in item.measures)
    ]

    def coded(rows: list[Any], *, group: bool) -> pl.DataFrame:
        data = [
            {"code": r.code, "label": r.label} | ({"group": r.group} if group else {}) | {"order": r.order}
            for r in rows
        ]
        return pl.DataFrame(data)

    return {
        "categories": coded(list(tax.categories), group=True),
        "category_groups": pl.DataFrame([{"code": k, "label": v} for k, v in tax.groups.items()]),
        "applicant_types": coded(list(tax.applicant_types), group=True),
        "appeal_proceedings": coded(list(tax.appeal_proceedings), group=False),
        "appeal_outcomes": coded(list(tax.appeal_outcomes), group=False),
        "proactive_measures": pl.DataFrame(measures),
    }


def refresh_lookups(con: duckdb.DuckDBPyConnection) -> None:
    for table, frame in lookup_frames().items():
        con.execute(f"DELETE FROM {table}")
        insert_frame(con, table, frame)


# --------------------------------------------------------------------------------------- load
def refresh_agencies(con: duckdb.DuckDBPyConnection, directory: AgencyDirectory) -> None:
    """Rebuild ``agencies`` and ``agency_aliases`` from the directory and every report's names."""
    seen = con.execute(
        "SELECT DISTINCT agency, coalesce(agency_printed, agency) FROM reports ORDER BY ALL"
    ).fetchall()
    rows = agency_rows(directory, seen)
    agencies = pl.DataFrame(
        [r.__dict__ for r in rows],
        schema={
            "agency": pl.String(),
            "aliases": pl.List(pl.String()),
            "region": pl.String(),
            "province": pl.String(),
            "city": pl.String(),
            "county": pl.String(),
            "level": pl.String(),
            "source": pl.String(),
        },
        orient="row",
    )
    csv_aliases = {(a, c) for c, e in directory.entries.items() for a in e.aliases}
    aliases = pl.DataFrame(
        [
            {
                "alias": a,
                "agency": r.agency,
                "source": "agencies.csv" if (a, r.agency) in csv_aliases else "reports",
            }
            for r in rows
            for a in r.aliases
        ],
        schema={"alias": pl.String(), "agency": pl.String(), "source": pl.String()},
        orient="row",
    )
    for table, frame in (("agencies", agencies), ("agency_aliases", aliases)):
        con.execute(f"DELETE FROM {table}")
        insert_frame(con, table, frame)


@dataclass(frozen=True)
class LoadResult:
    year: int
    rows: dict[str, int]  # rows now in each table for that year
    unchanged_reports: int  # reports whose row was identical before (ingested_at kept)
    moved: list[tuple[str, int]] = field(default_factory=list)  # (report_id, old year) left behind
    elsewhere: list[str] = field(default_factory=list)  # rejected copies of a report loaded in another year


_REPORT_COLUMNS = list(SCHEMAS["reports"])


def _with_ingested_at(
    con: duckdb.DuckDBPyConnection, year: int, reports: pl.DataFrame
) -> tuple[pl.DataFrame, int]:
    """Add ``ingested_at``: the old timestamp where the report row is unchanged, else now."""
    columns = ", ".join(f'"{c}"' for c in _REPORT_COLUMNS)
    previous = {
        row[0]: (row[:-1], row[-1])
        for row in con.execute(
            f"SELECT {columns}, ingested_at FROM reports WHERE year = ?", [year]
        ).fetchall()
    }
    now = datetime.now(UTC).replace(tzinfo=None)
    stamps, unchanged = [], 0
    for row in reports.select(_REPORT_COLUMNS).iter_rows():
        old = previous.get(row[0])
        if old is not None and old[0] == row:
            stamps.append(old[1])
            unchanged += 1
        else:
            stamps.append(now)
    return reports.with_columns(pl.Series("ingested_at", stamps, dtype=pl.Datetime("us"))), unchanged


_UNREADABLE = re.compile(r"newer version is unreadable: .*? \(sha256 [0-9a-f]{12}…, ingested [0-9-]+\)(; )?")


def _keep_last_good(con: duckdb.DuckDBPyConnection, year: int, reports: pl.DataFrame) -> list[str]:
    """Quarantine: a loaded report whose file now gives a rejected version (same path, new
    bytes) keeps its row and facts, with a warning saying so, until a good version arrives.
    Returns the report ids kept."""
    rejected = {
        r["source_path"]: r["error"]
        for r in reports.filter(pl.col("status") == "rejected").iter_rows(named=True)
    }
    loaded = set(reports.filter(pl.col("status") != "rejected")["source_path"].to_list())
    incoming = set(reports["report_id"].to_list())
    kept = []
    for rid, path, sha, warnings_, ingested in con.execute(
        "SELECT report_id, source_path, sha256, warnings, ingested_at FROM reports "
        "WHERE year = ? AND status IN ('ok', 'warning') ORDER BY ingested_at DESC",
        [year],
    ).fetchall():
        if path not in rejected or path in loaded or rid in incoming or any(k[1] == path for k in kept):
            continue
        note = (
            f"newer version is unreadable: {rejected[path]}; facts kept from the last good version "
            f"(sha256 {sha[:12]}…, ingested {ingested:%Y-%m-%d})"
        )
        rest = _UNREADABLE.sub("", warnings_ or "").strip("; ")
        con.execute(
            "UPDATE reports SET warnings = ? WHERE report_id = ? AND year = ?",
            ["; ".join(w for w in (note, rest) if w), rid, year],
        )
        kept.append((rid, path))
    return [rid for rid, _ in kept]


def _check_year(year: int, frames: Frames) -> None:
    for table, frame in frames.tables.items():
        if frame.height and frame.filter(pl.col("year") != year).height:
            raise ValueError(f"{table}: rows of another year in the frames for {year}")


def load_year(
    db_path: Path, year: int, frames: Frames, directory: AgencyDirectory | None = None
) -> LoadResult:
    """Replace every table's rows for ``year`` with ``frames``, all or nothing.

    One transaction: if anything fails the previous rows stay exactly as they were. Loading the
    same frames twice changes nothing (``ingested_at`` is kept for unchanged report rows).

    A report (one sha256) lives in one year: a report loaded here is removed from any other
    year it was in before (its manifest year was corrected, or the file moved folder), and a
    *rejected* copy here of a report loaded in another year is not stored twice. The agency
    tables are rebuilt from ``directory`` and every year's report names.
    """
    _check_year(year, frames)
    with connect(db_path) as con:
        init_schema(con)
        con.begin()
        try:
            refresh_lookups(con)
            reports, unchanged = _with_ingested_at(con, year, frames["reports"])
            placed = reports.filter(pl.col("status") != "rejected")["report_id"].to_list()
            rejected = reports.filter(pl.col("status") == "rejected")["report_id"].to_list()
            elsewhere = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT report_id FROM reports "
                    "WHERE year <> ? AND status <> 'rejected' AND list_contains(?, report_id) ORDER BY 1",
                    [year, rejected],
                ).fetchall()
            ]
            if elsewhere:
                reports = reports.filter(~pl.col("report_id").is_in(elsewhere))
            moved = [
                (r[0], r[1])
                for r in con.execute(
                    "SELECT report_id, year FROM reports WHERE year <> ? AND list_contains(?, report_id) "
                    "ORDER BY ALL",
                    [year, placed],
                ).fetchall()
            ]
            kept = _keep_last_good(con, year, reports)
            for table in _DELETE_ORDER:
                con.execute(
                    f"DELETE FROM {table} WHERE year = ? AND NOT list_contains(?, report_id)", [year, kept]
                )
                if moved:
                    con.execute(
                        f"DELETE FROM {table} WHERE year <> ? AND list_contains(?, report_id)", [year, placed]
                    )
            for table in reversed(_DELETE_ORDER):
                insert_frame(con, table, reports if table == "reports" else frames[table])
            refresh_agencies(con, directory or AgencyDirectory())
            rows = {
                t: con.execute(f"SELECT count(*) FROM {t} WHERE year = ?", [year]).fetchone()[0]  # type: ignore[index]
                for t in TABLES
            }
            con.commit()
        except BaseException:
            con.rollback()
            raise
    return LoadResult(year=year, rows=rows, unchanged_reports=unchanged, moved=moved, elsewhere=elsewhere)


# ------------------------------------------------------------------------------------ reading
def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """Run one read-only query and return its rows (the file is not held afterwards)."""
    with connect(db_path, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def table_checksums(db_path: Path, tables: tuple[str, ...] = TABLES) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the sorted rows) per table: equal checksums = equal contents."""
    out = {}
    with connect(db_path, read_only=True) as con:
        for table in tables:
            out[table] = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR), '')) FROM {table} AS t"
            ).fetchone()
    return out  # type: ignore[return-value]


def failed_identities(db_path: Path, years: list[int]) -> int:
    with connect(db_path, read_only=True) as con:
        return con.execute(
            "SELECT count(*) FROM checks WHERE passed = false AND list_contains(?, year)", [years]
        ).fetchone()[0]  # type: ignore[index]
