"""Table ``fetch_log`` and view ``fetch_urls`` (schemas/sql/fetch.sql): what each fetch run
asked for and got, and the conditional state of every URL.

The log is the fetch's only state: the latest good row of a URL gives the ETag and
Last-Modified to send back and the sha256 and path of the file kept. It is appended through a
build catalog and published like a year load (``warehouse.publish``): a run killed before it
publishes leaves the log as it was, and the next run asks unconditionally and finds the bytes
it already has by their sha256 (nothing is written twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from warehouse.arrow import registered
from warehouse.db import SQL_DIR, connect, init_schema, query
from warehouse.faults import guarded
from warehouse.lake import data_path
from warehouse.publish import warehouse_build

OUTCOMES = ("new", "changed", "unchanged", "failed", "not_report")
# Outcomes whose row names a file on disk: the state a next conditional request starts from.
_FETCHED = "outcome IN ('new', 'changed', 'unchanged')"
GOOD = ("new", "changed", "unchanged")  # a row whose file is on disk: the URL's state
BROKEN_AFTER = 3  # failed runs in a row that make a URL broken


@dataclass
class LogRow:
    run_id: str
    attempted_at: datetime  # UTC, naive (as DuckDB stores TIMESTAMP)
    year: int
    agency: str
    source_url: str
    url: str
    role: str  # report | page | attachment
    http_status: int | None
    bytes: int
    sha256: str | None
    outcome: str
    error: str | None
    path: str | None
    etag: str | None
    last_modified: str | None
    requests: int


_SCHEMA = {
    "run_id": pl.String(),
    "attempted_at": pl.Datetime("us"),
    "year": pl.Int32(),
    "agency": pl.String(),
    "source_url": pl.String(),
    "url": pl.String(),
    "role": pl.String(),
    "http_status": pl.Int32(),
    "bytes": pl.Int64(),
    "sha256": pl.String(),
    "outcome": pl.String(),
    "error": pl.String(),
    "path": pl.String(),
    "etag": pl.String(),
    "last_modified": pl.String(),
    "requests": pl.Int32(),
}
_COLUMNS = [f.name for f in fields(LogRow)]


@dataclass(frozen=True)
class UrlState:
    """A URL's latest good fetch (what a conditional request sends back)."""

    url: str
    source_url: str
    role: str
    sha256: str
    path: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class UrlHealth:
    """A row of ``fetch_urls``: the latest attempt of a URL and its run of failures."""

    url: str
    agency: str
    year: int
    last_outcome: str
    last_error: str | None
    failures_in_a_row: int
    broken: bool


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = ?",
            [name],
        ).fetchone()[0]  # type: ignore[index]
    )


def append_log(db: Path, rows: list[LogRow], say: Callable[[str], None] | None = None) -> None:
    """Append ``rows`` to fetch_log in one published snapshot (creating the warehouse if needed)."""
    if not rows:
        return
    frame = pl.DataFrame([asdict(r) for r in rows], schema=_SCHEMA, orient="row")
    with (
        warehouse_build(db, say) as build,
        guarded("writing the fetch log", data_path(db)),
        connect(build) as con,
    ):
        if _has_table(con, "catalog_version"):
            # An existing warehouse, perhaps of an older schema: only the fetch objects are
            # added, so its views and marts stay as the last load left them (the next load
            # upgrades them and refills the marts).
            con.execute((SQL_DIR / "fetch.sql").read_text(encoding="utf-8"))
        else:
            init_schema(con)  # a new warehouse: the whole schema, empty marts are right
        con.begin()
        try:
            with registered(con, incoming=frame):
                columns = ", ".join(_COLUMNS)
                con.execute(f"INSERT INTO fetch_log ({columns}) SELECT {columns} FROM incoming")
            con.commit()
        except BaseException:
            con.rollback()
            raise


def _readable(db: Path) -> bool:
    if not db.is_file():
        return False
    rows = query(
        db,
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND table_name = 'fetch_log'",
    )
    return bool(rows[0][0])


def url_states(db: Path) -> dict[str, UrlState]:
    """url → its latest good fetch; {} without a warehouse or a fetch log."""
    if not _readable(db):
        return {}
    rows = query(
        db,
        "SELECT url, source_url, role, sha256, path, etag, last_modified FROM fetch_log "
        f"WHERE {_FETCHED} AND sha256 IS NOT NULL AND path IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY url ORDER BY attempted_at DESC, run_id DESC) = 1",
    )
    return {r[0]: UrlState(*r) for r in rows}


def page_attachments(db: Path) -> dict[str, str]:
    """page URL → the attachment URL its latest good fetch led to."""
    if not _readable(db):
        return {}
    rows = query(
        db,
        f"SELECT source_url, url FROM fetch_log WHERE role = 'attachment' AND {_FETCHED} "
        "QUALIFY row_number() OVER (PARTITION BY source_url ORDER BY attempted_at DESC, "
        "run_id DESC) = 1",
    )
    return dict(rows)


def url_health(db: Path, urls: list[str] | None = None) -> list[UrlHealth]:
    """``fetch_urls`` rows (of ``urls`` only, when given), broken ones first."""
    if not _readable(db):
        return []
    rows = query(
        db,
        "SELECT url, agency, year, last_outcome, last_error, failures_in_a_row, broken FROM fetch_urls "
        "WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], url) "
        "ORDER BY broken DESC, failures_in_a_row DESC, year, agency, url",
        [urls, urls],
    )
    return [UrlHealth(*r) for r in rows]


@dataclass(frozen=True)
class RunFigures:
    run_id: str
    finished: datetime
    counts: dict[str, int]  # outcome → URLs


def last_runs(db: Path, limit: int = 1) -> list[RunFigures]:
    """The latest fetch runs, newest first, with their URLs by outcome."""
    if not _readable(db):
        return []
    rows = query(
        db,
        "SELECT run_id, max(attempted_at) AS finished_at, list(outcome) FROM fetch_log GROUP BY run_id "
        "ORDER BY finished_at DESC LIMIT ?",
        [limit],
    )
    return [
        RunFigures(run_id, at, {o: outcomes.count(o) for o in OUTCOMES if outcomes.count(o)})
        for run_id, at, outcomes in rows
    ]
