"""The warehouse: schema, lookup tables and the per-year load, on the DuckLake (warehouse.lake).

Connections are short-lived (open, do one thing, close). Writers work on a build catalog under
the writer lock (warehouse.publish); readers attach the published catalog read-only.
"""

from __future__ import annotations

import hashlib
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
from warehouse.arrow import registered
from warehouse.frames import SCHEMAS, TABLES, Frames
from warehouse.health import from_error, name_damage
from warehouse.lake import ALIAS, close_lake, open_lake
from warehouse.marts import refresh_marts

SQL_DIR = Path(__file__).resolve().parents[1] / "schemas" / "sql"
# The fetch log comes after the base tables and before the views (its own view reads it).
SCHEMA_FILES = ("warehouse.sql", "fetch.sql", "views.sql")
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
_DELETE_ORDER = ("corrections", "cell_flags", "checks", "appeals", "proactive", "applications", "reports")


LOCK_WAIT_SECONDS = 120.0


def _open(
    db_path: Path, read_only: bool, wait: float, files: Path | None, snapshot: int | None
) -> duckdb.DuckDBPyConnection:
    # Another process (a second run, a notebook) may hold the file: wait for it rather than fail
    # the nightly run, since every holder here keeps its connection for seconds at most.
    deadline = time.monotonic() + wait
    delay = 0.1
    while True:
        try:
            return open_lake(db_path, read_only=read_only, files=files, snapshot=snapshot)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@contextmanager
def connect(
    db_path: Path,
    *,
    read_only: bool = False,
    wait: float = LOCK_WAIT_SECONDS,
    files: Path | None = None,
    snapshot: int | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived session on the warehouse at ``db_path`` (its catalog), attached as
    ``gongkai`` and in use; extensions are never installed or loaded behind our back."""
    if not read_only:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = _open(db_path, read_only, wait, files, snapshot)
    except duckdb.Error as exc:  # a damaged catalog, or a disk that refuses: one line, not DuckDB's
        raise from_error(db_path, exc, "opening the warehouse") from None
    try:
        yield con
    finally:
        close_lake(con)


def _schema_sql() -> str:
    # The lookups are filled with the schema: a taxonomy edit is a new schema version.
    parts = [(SQL_DIR / name).read_text(encoding="utf-8") for name in SCHEMA_FILES]
    return "\n".join([*parts, repr(sorted((t, f.rows()) for t, f in lookup_frames().items()))])


def schema_digest() -> str:
    return hashlib.sha256(_schema_sql().encode()).hexdigest()[:16]


# Fact and mart tables are stored one folder per year: a year's reload replaces whole files.
PARTITIONED = (*TABLES, "agency_reports", "agency_year_metrics", "group_year_metrics", "agency_rankings")
_VIEW_NAME = re.compile(r"CREATE OR REPLACE VIEW (\w+)", re.I)
_MART_NAME = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) AS FROM _\w+", re.I)


def init_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """Create the tables, views and marts unless this catalog already has this version of them.

    A catalog of an older version gets its views and marts replaced (the marts empty: the
    caller refills them, ``refresh_marts``); base tables are only ever added. Returns True when
    the views and marts were (re)created.
    """
    digest = schema_digest()
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND table_name = 'catalog_version'"
    ).fetchone()[0]  # type: ignore[index]
    if exists and con.execute("SELECT max(digest) FROM catalog_version").fetchone()[0] == digest:  # type: ignore[index]
        return False
    views = (SQL_DIR / "views.sql").read_text(encoding="utf-8")
    con.begin()  # one snapshot for the whole schema
    try:
        # Views first (they read the marts), then the marts, in reverse order of creation.
        for name in reversed(_VIEW_NAME.findall(views)):
            con.execute(f"DROP VIEW IF EXISTS {name}")
        for name in reversed(_MART_NAME.findall(views)):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute((SQL_DIR / "warehouse.sql").read_text(encoding="utf-8"))
        con.execute((SQL_DIR / "fetch.sql").read_text(encoding="utf-8"))
        con.execute(views)
        for table in PARTITIONED:
            con.execute(f"ALTER TABLE {table} SET PARTITIONED BY (year)")
        # zstd: about a third smaller than DuckLake's default snappy for these columns, as fast to read.
        con.execute(f"CALL {ALIAS}.set_option('parquet_compression', 'zstd')")

        con.execute("DELETE FROM catalog_version")
        con.execute("INSERT INTO catalog_version VALUES (?)", [digest])
        for table, frame in lookup_frames().items():
            con.execute(f"DELETE FROM {table}")
            insert_frame(con, table, frame)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    # Wide marts are read one agency at a time: small row groups decode ~80 columns of 4,096 rows
    # instead of 122,880 (agency_year_metrics for one agency at 300,000 reports: 41 → 20 ms).
    # (A table's options cannot be set in the transaction that created it.)
    for table in ("agency_reports", "agency_year_metrics"):
        con.execute(f"CALL {ALIAS}.set_option('parquet_row_group_size', 4096, table_name => '{table}')")
    return True


def insert_frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame | Path | list[Path],
    *,
    skip: str | None = None,
) -> int:
    """INSERT the frame's rows (or staged Parquet files'); values travel as data, never as SQL.
    ``skip``: a (temporary) table of report ids whose rows are left out."""
    if (
        table not in TABLES and table not in LOOKUP_TABLES and table not in AGENCY_TABLES
    ):  # identifiers cannot be parameters
        raise ValueError(f"unknown table {table!r}")
    where = f" WHERE report_id NOT IN (SELECT report_id FROM {skip})" if skip else ""
    if isinstance(frame, Path | list):
        files = [str(p) for p in ([frame] if isinstance(frame, Path) else frame)]
        if not files:
            return 0
        columns = ", ".join(f'"{c}"' for c in SCHEMAS[table])
        return con.execute(  # type: ignore[index]
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM read_parquet(?){where}", [files]
        ).fetchone()[0]
    if frame.height == 0:
        return 0
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with registered(con, incoming=frame):
        return con.execute(  # type: ignore[index]
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming{where}"
        ).fetchone()[0]


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


def ensure_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """The schema of this version, lookups filled; True when views and marts were (re)made
    (the marts are then empty: refill every year)."""
    return init_schema(con)


# --------------------------------------------------------------------------------------- load
_AGENCY_SCHEMA = {
    "agency": pl.String(),
    "aliases": pl.List(pl.String()),
    "region": pl.String(),
    "province": pl.String(),
    "city": pl.String(),
    "county": pl.String(),
    "level": pl.String(),
    "source": pl.String(),
}
_ALIAS_SCHEMA = {"alias": pl.String(), "agency": pl.String(), "source": pl.String()}


def _table_digest(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    return con.execute(  # type: ignore[index]
        f"SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR)) FROM {table} AS t"
    ).fetchone()[0]


def refresh_agencies(con: duckdb.DuckDBPyConnection, directory: AgencyDirectory) -> int:
    """Rebuild ``agencies`` and ``agency_aliases`` from the directory and every loaded report's names.

    The agencies whose row changed (added, removed, new region or level) are left in the
    temporary table ``changed_agency_rows``: their metrics rows of every year carry those
    regions and levels. Returns how many."""
    # A rejected file names no agency anyone vouched for (an empty file, a scan: its agency is
    # the file stem), so only loaded reports add agencies; rejected ones stay listed in reports.
    seen = con.execute(
        "SELECT DISTINCT agency, coalesce(agency_printed, agency) FROM reports "
        "WHERE status <> 'rejected' ORDER BY ALL"
    ).fetchall()
    rows = agency_rows(directory, seen)
    agencies = pl.DataFrame([r.__dict__ for r in rows], schema=_AGENCY_SCHEMA, orient="row")
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
        schema=_ALIAS_SCHEMA,
        orient="row",
    )
    with registered(con, incoming=agencies):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE changed_agency_rows AS SELECT DISTINCT agency FROM ("
            "(FROM agencies EXCEPT FROM incoming) UNION ALL (FROM incoming EXCEPT FROM agencies))"
        )
    for table, frame in (("agencies", agencies), ("agency_aliases", aliases)):
        before = _table_digest(con, table)
        with registered(con, incoming=frame):
            new = con.execute(
                "SELECT md5(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR)) FROM incoming AS t"
            ).fetchone()[0]  # type: ignore[index]
        if new == before:  # rewriting identical rows would only add files and a snapshot
            continue
        con.execute(f"DELETE FROM {table}")
        insert_frame(con, table, frame)
    return con.execute("SELECT count(*) FROM changed_agency_rows").fetchone()[0]  # type: ignore[index]


@dataclass(frozen=True)
class LoadResult:
    year: int
    rows: dict[str, int]  # rows now in each table for that year
    unchanged_reports: int  # reports whose row was identical before (ingested_at kept)
    moved: list[tuple[str, int]] = field(default_factory=list)  # (report_id, old year) left behind
    elsewhere: list[str] = field(default_factory=list)  # rejected copies of a report loaded in another year
    marts_years: list[int] = field(default_factory=list)  # years whose marts were recomputed


_REPORT_COLUMNS = list(SCHEMAS["reports"])


# A report row identical to the stored one keeps its ingested_at.
_SAME_ROW = " AND ".join(f'n."{c}" IS NOT DISTINCT FROM o."{c}"' for c in _REPORT_COLUMNS)
# A loaded report whose row agrees with the stored one on these has the stored facts: the same
# bytes (sha256) read by the same parser (the cache key's parts, and what they gave), filed under
# the same agency and year. Its file's mtime or publication date may differ: they decide which
# revision is current (the status), not what a report's cells say.
_FACT_IDENTITY = (
    "report_id",
    "agency",
    "year",
    "sha256",
    "parser_version",
    "template",
    "format",
    "null_cells",
    "warnings",  # a report corrected by hand says so here: a changed correction reloads it
    "agency_printed",
    "agency_source",
    "year_source",
    "encoding",
)
_SAME_FACTS = " AND ".join(f'n."{c}" IS NOT DISTINCT FROM o."{c}"' for c in _FACT_IDENTITY) + (
    " AND n.status IN ('ok', 'warning') AND o.status IN ('ok', 'warning')"
)


def _with_ingested_at(
    con: duckdb.DuckDBPyConnection, year: int, reports: pl.DataFrame
) -> tuple[pl.DataFrame, int, set[str]]:
    """Add ``ingested_at``: the old timestamp where the report row is unchanged, else now.
    Also returns how many rows are unchanged, and the ids of the reports whose stored facts are
    theirs (``_SAME_FACTS``)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with registered(con, incoming=reports.select(_REPORT_COLUMNS)):
        stamped = pl.DataFrame(
            con.sql(
                f"""
                SELECT n.*,
                       CASE WHEN {_SAME_ROW} THEN o.ingested_at ELSE $now END AS ingested_at,
                       coalesce({_SAME_ROW}, false) AS same_row,
                       coalesce({_SAME_FACTS}, false) AS same_facts
                FROM incoming AS n
                LEFT JOIN (FROM reports WHERE year = $year) AS o ON o.report_id = n.report_id
                """,
                params={"now": now, "year": year},
            )
        )
    same_facts = set(stamped.filter(pl.col("same_facts"))["report_id"].to_list())
    unchanged = int(stamped["same_row"].sum())
    return (
        stamped.drop("same_row", "same_facts").cast({"ingested_at": pl.Datetime("us")}),
        unchanged,
        same_facts,
    )


def _check_coverage(
    con: duckdb.DuckDBPyConnection, reports: pl.DataFrame, frames: Frames, keep: set[str]
) -> None:
    """Every loaded report either keeps its stored facts or has them in the frames."""
    loaded = set(reports.filter(pl.col("status").is_in(["ok", "warning"]))["report_id"].to_list())
    given = frames.tables["applications"]
    if isinstance(given, pl.DataFrame):
        provided = set(given["report_id"].unique().to_list())
    else:
        files = [str(p) for p in ([given] if isinstance(given, Path) else given)]
        provided = (
            {r[0] for r in con.execute("SELECT DISTINCT report_id FROM read_parquet(?)", [files]).fetchall()}
            if files
            else set()
        )
    missing = loaded - keep - provided
    if missing:
        raise StaleFrames(f"{len(missing)} reports have no facts in the frames (e.g. {min(missing)})")


def unchanged_reports(db_path: Path, year: int, reports: pl.DataFrame) -> set[str]:
    """Ids of ``reports`` rows (ok or warning) stored for ``year`` exactly as they are: their
    facts need not be built, validated or written again."""
    if not db_path.is_file():
        return set()
    loaded = reports.filter(pl.col("status").is_in(["ok", "warning"])).select(_REPORT_COLUMNS)
    with connect(db_path, read_only=True) as con, registered(con, incoming=loaded):
        rows = con.execute(
            f"SELECT n.report_id FROM incoming AS n JOIN (FROM reports WHERE year = ?) AS o "
            f"ON o.report_id = n.report_id AND {_SAME_FACTS}",
            [year],
        ).fetchall()
    return {r[0] for r in rows}


class StaleFrames(RuntimeError):
    """The frames leave out facts of reports that are not stored as they are (the warehouse
    changed since the frames were built): build them whole and load again."""


_UNREADABLE = re.compile(r"newer version is unreadable: .*? \(sha256 [0-9a-f]{12}…, ingested [0-9-]+\)(; )?")


def _keep_last_good(con: duckdb.DuckDBPyConnection, year: int, reports: pl.DataFrame) -> list[str]:
    """Quarantine: a loaded report whose file now gives a rejected version (same path, new
    bytes) keeps its row and facts, with a warning saying so, until a good version arrives.
    Returns the report ids kept."""
    rejected = {
        r["source_path"]: r["error"]
        for r in reports.filter(pl.col("status") == "rejected").iter_rows(named=True)
    }
    if not rejected:
        return []
    loaded = set(reports.filter(pl.col("status") != "rejected")["source_path"].to_list())
    incoming = set(reports["report_id"].to_list())
    kept = []
    for rid, path, sha, warnings_, ingested in con.execute(
        "SELECT report_id, source_path, sha256, warnings, ingested_at FROM reports "
        "WHERE year = ? AND status IN ('ok', 'warning') AND list_contains(?, source_path) "
        "ORDER BY ingested_at DESC",
        [year, list(rejected)],
    ).fetchall():
        if path in loaded or rid in incoming or any(k[1] == path for k in kept):
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
    for table in frames.tables:
        if frames.scan(table).filter(pl.col("year") != year).select(pl.len()).collect().item():
            raise ValueError(f"{table}: rows of another year in the frames for {year}")


@dataclass(frozen=True)
class LoadRecord:
    """What a year was loaded from (table ``loads``): the fingerprints of its inputs."""

    fingerprint: str
    stat_fingerprint: str | None
    files: int


def load_year(
    db_path: Path,
    year: int,
    frames: Frames,
    directory: AgencyDirectory | None = None,
    *,
    record: LoadRecord | None = None,
    files: Path | None = None,
    keep_facts_of: set[str] | None = None,
) -> LoadResult:
    """Replace every table's rows for ``year`` with ``frames``, all or nothing.

    ``keep_facts_of``: report ids whose facts the frames leave out because they are stored as
    they are (``unchanged_reports``); their stored facts stay and only the other reports' facts
    are rewritten — a year with one new file writes one report's facts. Raises ``StaleFrames``
    when a report that is not stored as it is has no facts in the frames.

    One transaction: if anything fails the previous rows stay exactly as they were. Loading the
    same frames twice changes nothing (``ingested_at`` is kept for unchanged report rows).

    A report (one sha256) lives in one year: a report loaded here is removed from any other
    year it was in before (its manifest year was corrected, or the file moved folder), and a
    *rejected* copy here of a report loaded in another year is not stored twice. The agency
    tables are rebuilt from ``directory`` and every year's report names; the marts of this year
    (and of every year, when the agencies changed or the catalog was new) are recomputed.
    ``record`` is stored in ``loads``; ``files`` is the data folder (default beside the catalog).
    """
    _check_year(year, frames)
    with connect(db_path, files=files) as con:
        remade = ensure_schema(con)
        con.begin()
        try:
            reports, unchanged, same_facts = _with_ingested_at(con, year, frames["reports"])
            # The year's report rows as they were: the agencies whose rows change are the only
            # ones whose per-agency mart rows need computing again.
            con.execute("CREATE OR REPLACE TEMP TABLE rows_before AS FROM reports WHERE year = ?", [year])
            # The year's report ids as a temporary table: lists of thousands of ids as query
            # parameters cost DuckDB's Python binding a failed module import per element.
            with registered(con, incoming_ids=reports.select("report_id", "status")):
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE placed AS SELECT report_id FROM incoming_ids WHERE status <> 'rejected'"
                )
                elsewhere = [
                    r[0]
                    for r in con.execute(
                        "SELECT DISTINCT report_id FROM reports WHERE year <> ? AND status <> 'rejected' "
                        "AND report_id IN (SELECT report_id FROM incoming_ids WHERE status = 'rejected') ORDER BY 1",
                        [year],
                    ).fetchall()
                ]
            if elsewhere:
                reports = reports.filter(~pl.col("report_id").is_in(elsewhere))
            moved = [
                (r[0], r[1])
                for r in con.execute(
                    "SELECT report_id, year FROM reports WHERE year <> ? AND report_id IN (SELECT report_id FROM placed) "
                    "ORDER BY ALL",
                    [year],
                ).fetchall()
            ]
            kept = _keep_last_good(con, year, reports)
            # Facts that stay: the quarantined reports' (last good version) and, in a partial
            # load, those of reports stored exactly as they are.
            keep_facts = set(kept) | (same_facts & keep_facts_of if keep_facts_of is not None else set())
            if keep_facts_of is not None:
                _check_coverage(con, reports, frames, keep_facts)
            with registered(
                con,
                keep_ids=pl.DataFrame({"report_id": sorted(keep_facts)}, schema={"report_id": pl.String()}),
            ):
                con.execute("CREATE OR REPLACE TEMP TABLE keep_facts AS SELECT report_id FROM keep_ids")
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE keep_rows AS SELECT unnest(?::VARCHAR[]) AS report_id",
                    [kept],
                )
            for table in _DELETE_ORDER:
                keep = "keep_rows" if table == "reports" else "keep_facts"
                con.execute(
                    f"DELETE FROM {table} WHERE year = ? AND report_id NOT IN (SELECT report_id FROM {keep})",
                    [year],
                )
                if moved:
                    con.execute(
                        f"DELETE FROM {table} WHERE year <> ? AND report_id IN (SELECT report_id FROM placed)",
                        [year],
                    )
            for table in reversed(_DELETE_ORDER):
                if table == "reports":
                    insert_frame(con, table, reports)
                elif table in frames.tables:
                    insert_frame(con, table, frames.tables[table], skip="keep_facts")
            agencies_changed = refresh_agencies(con, directory or AgencyDirectory())
            every_year = [
                r[0] for r in con.execute("SELECT DISTINCT year FROM reports ORDER BY 1").fetchall()
            ]
            if remade:  # new views and marts: everything computed afresh
                marts_years = every_year
                refresh_marts(con, every_year)
            else:
                old_years = sorted({old for _rid, old in moved} - {year})
                refresh_marts(con, old_years)  # a moved report's old year, whole
                # This year: the agencies whose report rows changed, or whose own row did.
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE changed_agencies AS SELECT DISTINCT agency FROM ("
                    "(FROM rows_before EXCEPT FROM reports WHERE year = $1) UNION ALL "
                    "(FROM reports WHERE year = $1 EXCEPT FROM rows_before)) "
                    "UNION SELECT agency FROM changed_agency_rows",
                    [year],
                )
                refresh_marts(con, [year], agencies="changed_agencies")
                # Other years: only where an agency's region or level changed.
                others = (
                    [y for y in every_year if y != year and y not in old_years] if agencies_changed else []
                )
                refresh_marts(con, others, agencies="changed_agency_rows")
                marts_years = sorted({year, *old_years, *others})
            con.execute("DELETE FROM loads WHERE year = ?", [year])
            if record is not None:
                con.execute(
                    "INSERT INTO loads VALUES (?, ?, ?, ?, ?)",
                    [
                        year,
                        record.fingerprint,
                        record.stat_fingerprint,
                        record.files,
                        datetime.now(UTC).replace(tzinfo=None),
                    ],
                )
            rows = {
                t: con.execute(f"SELECT count(*) FROM {t} WHERE year = ?", [year]).fetchone()[0]  # type: ignore[index]
                for t in TABLES
            }
            con.commit()
        except BaseException:
            con.rollback()
            raise
    return LoadResult(
        year=year,
        rows=rows,
        unchanged_reports=unchanged,
        moved=moved,
        elsewhere=elsewhere,
        marts_years=marts_years,
    )


# ------------------------------------------------------------------------------------ reading
def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """Run one read-only query and return its rows (the file is not held afterwards)."""
    with connect(db_path, read_only=True) as con:
        try:
            return con.execute(sql, params or []).fetchall()
        except duckdb.Error as exc:  # a damaged data file says so, in one line
            fault = name_damage(db_path, exc)
            if fault is exc:
                raise
            raise fault from None


def remember_stat_fingerprints(db_path: Path, stat_fingerprints: dict[int, str]) -> None:
    """Record the stat fingerprints of years found unchanged by content (files touched only)."""
    with connect(db_path) as con:
        con.begin()
        for year, fingerprint in stat_fingerprints.items():
            con.execute("UPDATE loads SET stat_fingerprint = ? WHERE year = ?", [fingerprint, year])
        con.commit()


def loaded_fingerprints(db_path: Path) -> dict[int, LoadRecord]:
    """What each loaded year was loaded from; {} when there is no warehouse yet."""
    if not db_path.is_file():
        return {}
    rows = query(db_path, "SELECT year, fingerprint, stat_fingerprint, files FROM loads")
    return {r[0]: LoadRecord(r[1], r[2], r[3]) for r in rows}


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
