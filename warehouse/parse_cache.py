"""What the extractor made of each file, kept so that an unchanged file is never parsed twice.

An entry is keyed by the file's sha256, the parser version and the hints the extraction used
(suffix, manifest agency and year, partition year): the same bytes under the same hints give the
same report, so a nightly run with nothing new parses nothing, and a parser version bump
re-parses everything, on purpose. Entries live in a DuckDB file beside the warehouse
(``data/warehouse.parse-cache.duckdb``), written only under the warehouse's writer lock; it is a
cache: deleting it costs one full parse, never data.

The facts are stored long and columnar (one row per template cell), so that a year's fact
frames are one SQL join of the cache with the year's file list — no Python per fact row. The
same file also keeps each raw file's sha256 by its stat signature (size, mtime, ctime, inode),
so an unchanged file is not even read again to be hashed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from extract import Report
from extract.api import PARSER_VERSION, extract_bytes
from extract.report import REJECTED
from warehouse.arrow import registered
from warehouse.faults import guarded

CACHE_VERSION = (
    3  # the layout of this file; another is discarded and rebuilt (2: no duplicated entries; 3: null kinds)
)
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False, "memory_limit": "256MB"}

META_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.Int64(),
    "sha256": pl.String(),
    "parser_version": pl.String(),
    "partition_year": pl.Int64(),
    "status": pl.String(),
    "error": pl.String(),
    "agency": pl.String(),
    "year": pl.Int64(),
    "template": pl.String(),
    "format": pl.String(),
    "warnings": pl.String(),
    "null_cells": pl.Int64(),
    "agency_source": pl.String(),
    "year_source": pl.String(),
    "encoding": pl.String(),
    "parsed_at": pl.Datetime("us"),
}
# Per fact table: the cell's own columns after (key, seq); their order is the warehouse's.
FACT_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "applications": {"category": pl.String(), "applicant_type": pl.String(), "count": pl.Int64()},
    "proactive": {"item": pl.String(), "measure": pl.String(), "value": pl.Float64(), "unit": pl.String()},
    "appeals": {"proceeding": pl.String(), "outcome": pl.String(), "count": pl.Int64()},
    "checks": {
        "rule": pl.String(),
        "subject": pl.String(),
        "expected": pl.Float64(),
        "actual": pl.Float64(),
        "passed": pl.Boolean(),
    },
    "flags": {
        "table": pl.String(),
        "row": pl.String(),
        "column": pl.String(),
        "kind": pl.String(),
        "reason": pl.String(),
        "candidates": pl.List(pl.Float64()),
    },
}
_SQL_TYPES = {
    pl.Int64(): "BIGINT",
    pl.String(): "VARCHAR",
    pl.Float64(): "DOUBLE",
    pl.Boolean(): "BOOLEAN",
    pl.Datetime("us"): "TIMESTAMP",
    pl.List(pl.Float64()): "DOUBLE[]",
}


def cache_key(
    sha256: str,
    name: str,
    *,
    manifest_agency: str | None,
    manifest_year: int | None,
    folder_year: int | None,
) -> int:
    """The entry of one extraction: bytes, parser version and every hint the extractor reads."""
    suffix = os.path.splitext(name)[1].lower()
    text = "\x1f".join(
        str(v) for v in (sha256, PARSER_VERSION, suffix, manifest_agency, manifest_year, folder_year)
    )
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


# ------------------------------------------------------------------------------ one parsed file
def _int(value: object) -> int | None:
    # Counts are whole numbers; a fractional one is not a count we can store (the extractor flags it).
    if value is None or not float(value).is_integer():  # type: ignore[arg-type]
        return None
    return int(value)  # type: ignore[call-overload]


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


@dataclass
class ParsedFile:
    """One file's extraction in the cache's shape: what a worker sends back (compact to pickle)."""

    key: int
    sha256: str
    size: int
    meta: dict[str, Any]  # META_SCHEMA's columns except key/sha256/parsed_at
    facts: dict[str, tuple[list[Any], ...]] = field(default_factory=dict)  # table → columns

    @property
    def status(self) -> str:
        return str(self.meta["status"])


def parsed_from_report(
    report: Report, key: int, sha256: str, size: int, partition_year: int | None
) -> ParsedFile:
    meta = {
        "parser_version": report.parser_version,
        "partition_year": partition_year,
        "status": report.status,
        "error": report.error,
        "agency": report.agency,
        "year": report.year,
        "template": report.template,
        "format": report.format,
        "warnings": "; ".join(report.warnings) or None,
        "null_cells": report.null_cells,
        "agency_source": report.agency_source,
        "year_source": report.year_source,
        "encoding": report.encoding,
    }
    facts: dict[str, tuple[list[Any], ...]] = {}
    if report.status != REJECTED:
        apps, pro, app, chk = report.applications, report.proactive, report.appeals, report.checks
        facts = {
            "applications": (
                [a["category"] for a in apps],
                [a["applicant_type"] for a in apps],
                [_int(a["count"]) for a in apps],
            ),
            "proactive": (
                [p["item"] for p in pro],
                [p["measure"] for p in pro],
                [_float(p["value"]) for p in pro],
                [p.get("unit") for p in pro],
            ),
            "appeals": (
                [a["proceeding"] for a in app],
                [a["outcome"] for a in app],
                [_int(a["count"]) for a in app],
            ),
            "checks": (
                [c["rule"] for c in chk],
                [c["subject"] for c in chk],
                [_float(c["expected"]) for c in chk],
                [_float(c["actual"]) for c in chk],
                [c["passed"] for c in chk],
            ),
        }
    if report.flags:
        fl = report.flags
        facts["flags"] = (
            [f["table"] for f in fl],
            [f["row"] for f in fl],
            [f["column"] for f in fl],
            [f["kind"] for f in fl],
            [f["reason"] for f in fl],
            [[float(v) for v in f["candidates"]] for f in fl],
        )
    return ParsedFile(key=key, sha256=sha256, size=size, meta=meta, facts=facts)


def parse_file(
    path: str,
    name: str,
    *,
    manifest_agency: str | None,
    manifest_year: int | None,
    folder_year: int | None,
) -> ParsedFile:
    """Read, hash and extract one file (runs in a worker process). Never raises for bad input.

    The hash is of the bytes actually parsed, so a file edited after the scan is cached under
    its new content, never under the old one.
    """
    hints = {"manifest_agency": manifest_agency, "manifest_year": manifest_year, "folder_year": folder_year}
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        digest, size = "", 0
        report = Report(
            file=name,
            status=REJECTED,
            error=f"cannot read file: {exc.strerror or exc}",
            parser_version=PARSER_VERSION,
        )
    else:
        digest, size = hashlib.sha256(data).hexdigest(), len(data)
        report = extract_bytes(data, name, **hints)
    return parsed_from_report(report, cache_key(digest, name, **hints), digest, size, folder_year)


def parse_files(items: list[tuple[str, str, dict[str, Any]]]) -> list[ParsedFile]:
    """``parse_file`` for several (path, name, hints) at once: one task for a worker, so the
    per-task cost of the process pool is paid once per batch of small files, not per file."""
    return [parse_file(path, name, **hints) for path, name, hints in items]


# ---------------------------------------------------------------------------------- the cache
def _bytes_needed(con: duckdb.DuckDBPyConnection) -> int:
    """The file size the blocks in use need: the three headers, then at least as many blocks as
    are in use and every block up to the last one a table uses (metadata only, nothing decoded)."""
    # Used blocks are all in the file (free ones at its end are cut off at a checkpoint).
    block_size, used = con.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchone()  # type: ignore[misc]
    last = used - 1
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        found = con.execute(f"SELECT max(block_id) FROM pragma_storage_info('{table}')").fetchone()[0]  # type: ignore[index]
        last = max(last, found if found is not None else -1)
    return 3 * 4096 + (last + 1) * block_size


def _create_sql() -> str:
    statements = [
        "CREATE TABLE IF NOT EXISTS cache_info (version INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS parsed ("
        + ", ".join(f'"{c}" {_SQL_TYPES[t]}' for c, t in META_SCHEMA.items())
        + ")",
        "CREATE TABLE IF NOT EXISTS file_hashes (path VARCHAR, partition_year BIGINT, size BIGINT, "
        "mtime_ns BIGINT, ctime_ns BIGINT, inode BIGINT, sha256 VARCHAR)",
    ]
    for table, schema in FACT_SCHEMAS.items():
        columns = ", ".join(f'"{c}" {_SQL_TYPES[t]}' for c, t in schema.items())
        statements.append(f"CREATE TABLE IF NOT EXISTS parsed_{table} (key BIGINT, seq INTEGER, {columns})")
    return ";\n".join(statements)


@dataclass(frozen=True)
class StatSignature:
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


class ParseCache:
    """The cache file, open for one run (``path=None``: in memory, for tests and ``build_frames``).

    Parsed files are buffered and written in batches (``flush``); everything read back sees
    the buffer flushed first.
    """

    BATCH = 2000  # parsed files per insert: bounded memory, few transactions

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        with self._guarded("opening the parse cache"):
            self.con = self._open(path)
        self._buffer: list[ParsedFile] = []

    def _guarded(self, stage: str) -> AbstractContextManager[None]:
        """A full disk or a read-only folder under the cache: one line (warehouse.faults); the
        transaction was rolled back, so the cache holds what it held."""
        return guarded(stage, self.path) if self.path is not None else nullcontext()

    @staticmethod
    def _open(path: Path | None) -> duckdb.DuckDBPyConnection:
        if path is None:
            con = duckdb.connect(config=_CONFIG)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = None  # type: ignore[assignment]
            # Blocks a WAL replay allocates are not in the file yet: the size check needs no WAL.
            checkpointed = not path.with_name(path.name + ".wal").exists()
            try:
                con = duckdb.connect(str(path), config=_CONFIG)
                # A file cut short is found here (DuckDB would meet it at the first missing block,
                # mid-run): a table's data lies in a block past the end of the file.
                if checkpointed and path.stat().st_size < _bytes_needed(con):
                    raise duckdb.IOException(f"{path} is cut short")
                version = con.execute(
                    "SELECT max(version) FROM cache_info"
                    if con.execute(
                        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'cache_info'"
                    ).fetchone()[0]  # type: ignore[index]
                    else "SELECT NULL"
                ).fetchone()[0]  # type: ignore[index]
            except duckdb.IOException as exc:
                if "set lock" in str(exc).lower() or "conflicting lock" in str(exc).lower():
                    raise  # another process holds it: a real conflict, not a damaged file
                version = -1
            except duckdb.Error:
                version = -1
            if version == -1 and con is not None:
                con.close()
                con = None  # type: ignore[assignment]
            if version not in (None, CACHE_VERSION):
                # An older layout or a damaged file: it is only a cache, start again.
                if con is not None:
                    con.close()
                for stale in (path, path.with_name(path.name + ".wal")):
                    stale.unlink(missing_ok=True)
                con = duckdb.connect(str(path), config=_CONFIG)
        con.execute(_create_sql())
        if not con.execute("SELECT count(*) FROM cache_info").fetchone()[0]:  # type: ignore[index]
            con.execute("INSERT INTO cache_info VALUES (?)", [CACHE_VERSION])
        return con

    def close(self) -> None:
        self.flush()
        self.con.close()

    def __enter__(self) -> ParseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------------------- stat signatures
    def known_hashes(self, paths: Iterable[str]) -> dict[str, tuple[StatSignature, str]]:
        wanted = pl.DataFrame({"path": list(paths)}, schema={"path": pl.String()})
        with registered(self.con, wanted=wanted):
            rows = self.con.execute(
                "SELECT h.path, size, mtime_ns, ctime_ns, inode, sha256 FROM file_hashes AS h "
                "JOIN wanted USING (path)"
            ).fetchall()
        return {r[0]: (StatSignature(*r[1:5]), r[5]) for r in rows}

    def remember_hashes(self, year: int, rows: list[tuple[str, StatSignature, str]]) -> None:
        """The sha256 of every file now in partition ``year``; rows of files gone are dropped."""
        frame = pl.DataFrame(
            {
                "path": [r[0] for r in rows],
                "partition_year": [year] * len(rows),
                "size": [r[1].size for r in rows],
                "mtime_ns": [r[1].mtime_ns for r in rows],
                "ctime_ns": [r[1].ctime_ns for r in rows],
                "inode": [r[1].inode for r in rows],
                "sha256": [r[2] for r in rows],
            },
            schema={
                "path": pl.String(),
                "partition_year": pl.Int64(),
                "size": pl.Int64(),
                "mtime_ns": pl.Int64(),
                "ctime_ns": pl.Int64(),
                "inode": pl.Int64(),
                "sha256": pl.String(),
            },
        )
        with registered(self.con, frame=frame):
            self._transaction(
                (
                    "DELETE FROM file_hashes WHERE partition_year = ? OR path IN (SELECT path FROM frame)",
                    [year],
                ),
                ("INSERT INTO file_hashes SELECT * FROM frame", []),
            )

    # ------------------------------------------------------------------------------ parsed files
    def known_keys(self, keys: Iterable[int]) -> set[int]:
        self.flush()
        wanted = pl.DataFrame({"key": list(keys)}, schema={"key": pl.Int64()})
        with registered(self.con, wanted=wanted):
            return {
                r[0] for r in self.con.execute("SELECT key FROM parsed JOIN wanted USING (key)").fetchall()
            }

    def add(self, parsed: ParsedFile) -> None:
        self._buffer.append(parsed)
        if len(self._buffer) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        # One entry per key: two files with the same bytes and hints give the same entry.
        batch = list({p.key: p for p in self._buffer}.values())
        self._buffer = []
        now = datetime.now(UTC).replace(tzinfo=None)
        meta = pl.DataFrame(
            [
                {"key": p.key, "sha256": p.sha256, **p.meta, "parsed_at": now}
                for p in batch
                if p.sha256  # an unreadable file has no bytes to key a cache entry on
            ],
            schema=META_SCHEMA,
            orient="row",
        )
        facts = {table: _fact_frame(table, batch) for table in FACT_SCHEMAS}
        statements: list[tuple[str, list[Any]]] = [
            ("DELETE FROM parsed WHERE key IN (SELECT key FROM incoming_meta)", []),
            ("INSERT INTO parsed SELECT * FROM incoming_meta", []),
        ]
        for table in FACT_SCHEMAS:
            statements += [
                (f"DELETE FROM parsed_{table} WHERE key IN (SELECT key FROM incoming_meta)", []),
                (f"INSERT INTO parsed_{table} SELECT * FROM incoming_{table}", []),
            ]
        with registered(self.con, incoming_meta=meta, **{f"incoming_{t}": f for t, f in facts.items()}):
            self._transaction(*statements)

    def prune(self, year: int, keep: Iterable[int]) -> int:
        """Drop entries of partition ``year`` that no file of the year uses any more."""
        self.flush()
        kept = pl.DataFrame({"key": list(keep)}, schema={"key": pl.Int64()})
        with registered(self.con, kept=kept):
            stale = pl.DataFrame(
                self.con.sql(
                    "SELECT key FROM parsed WHERE partition_year = $1 AND key NOT IN (SELECT key FROM kept)",
                    params=[year],
                )
            )
        if not stale.height:
            return 0
        with registered(self.con, stale=stale):
            self._transaction(
                *(
                    (f"DELETE FROM {table} WHERE key IN (SELECT key FROM stale)", [])
                    for table in ("parsed", *(f"parsed_{t}" for t in FACT_SCHEMAS))
                )
            )
        return stale.height

    def _transaction(self, *statements: tuple[str, list[Any]]) -> None:
        with self._guarded("writing the parse cache"):
            self.con.begin()
            try:
                for sql, params in statements:
                    self.con.execute(sql, params)
                self.con.commit()
            except BaseException:
                self.con.rollback()
                raise

    def meta(self, keys: Iterable[int]) -> pl.DataFrame:
        """The cached report fields of ``keys`` (one row per key found)."""
        self.flush()
        wanted = pl.DataFrame({"key": list(keys)}, schema={"key": pl.Int64()})
        with registered(self.con, wanted=wanted):
            return pl.DataFrame(self.con.sql("SELECT parsed.* FROM parsed JOIN wanted USING (key)"))

    def statuses(self, entries: list[Any]) -> tuple[dict[str, int], list[tuple[str, str]]]:
        """Counts by status of ``entries`` (``warehouse.frames.FileEntry``) and the rejected files
        with their reasons, in path order."""
        meta = {
            row[0]: (row[1], row[2])
            for row in self.meta(e.key for e in entries if e.parsed is None)
            .select("key", "status", "error")
            .iter_rows()
        }
        counts = {"ok": 0, "warning": 0, "rejected": 0}
        rejected = []
        for entry in entries:
            status, error = (
                (entry.parsed.status, entry.parsed.meta["error"])
                if entry.parsed
                else meta.get(entry.key, (None, None))
            )
            if status is None:
                continue
            counts[status] = counts.get(status, 0) + 1
            if status == REJECTED:
                rejected.append((entry.raw.relative, error or ""))
        return counts, sorted(rejected)

    def facts(self, table: str, reports: pl.DataFrame, key_columns: list[str]) -> pl.DataFrame:
        """The cells of every report in ``reports`` (columns ``key`` + ``key_columns``), in the
        warehouse's column order: ``key_columns`` then the cell's own columns; sorted by
        agency (when it is a key column), report and template order."""
        self.flush()
        own = ", ".join(f'f."{c}"' for c in FACT_SCHEMAS[table])
        keys = ", ".join(f'r."{c}"' for c in key_columns)
        order = ", ".join(f'r."{c}"' for c in key_columns if c in ("agency", "report_id"))
        sql = (
            f"SELECT {keys}, {own} FROM reports AS r JOIN parsed_{table} AS f ON f.key = r.key "
            f"ORDER BY {order}, f.seq"
        )
        with registered(self.con, reports=reports):
            return pl.DataFrame(self.con.sql(sql))


def _fact_frame(table: str, batch: list[ParsedFile]) -> pl.DataFrame:
    schema = FACT_SCHEMAS[table]
    keys: list[int] = []
    seqs: list[int] = []
    columns: list[list[Any]] = [[] for _ in schema]
    for parsed in batch:
        cells = parsed.facts.get(table)
        if not cells or not parsed.sha256:
            continue
        n = len(cells[0])
        keys.extend([parsed.key] * n)
        seqs.extend(range(n))
        for column, values in zip(columns, cells, strict=True):
            column.extend(values)
    data = {"key": keys, "seq": seqs, **dict(zip(schema, columns, strict=True))}
    return pl.DataFrame(data, schema={"key": pl.Int64(), "seq": pl.Int32(), **schema})
