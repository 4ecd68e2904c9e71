"""Getting data out: read-only SQL and exports of one table or view.

Everything here opens the warehouse read-only. Table and view names are checked against the
catalog (identifiers cannot be query parameters); ``--year``/``--agency`` values travel as
parameters, never as SQL text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from warehouse.db import connect
from warehouse.faults import guarded
from warehouse.health import check_published, name_damage

FORMATS = ("csv", "parquet", "xlsx")
LIST_SEPARATOR = "|"  # list columns (agencies.aliases, years) in csv and xlsx
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, minus the header row


class UsageError(ValueError):
    """A name, filter or format the warehouse does not have (exit status 2)."""


@dataclass(frozen=True)
class Relation:
    name: str
    kind: str  # table | view
    columns: tuple[str, ...]


def relations(con: duckdb.DuckDBPyConnection) -> dict[str, Relation]:
    """Every table and view of the warehouse's main schema, with its columns, in catalog order."""
    rows = con.execute(
        """
        SELECT c.table_name, coalesce(t.kind, 'view'), list(c.column_name ORDER BY c.column_index)
        FROM duckdb_columns() AS c
        LEFT JOIN (SELECT table_name, 'table' AS kind FROM duckdb_tables() WHERE schema_name = 'main') AS t
            USING (table_name)
        WHERE c.schema_name = 'main' AND c.database_name = current_database()
          AND c.table_name NOT LIKE '\\_%' ESCAPE '\\'
        GROUP BY ALL
        ORDER BY 2, 1
        """
    ).fetchall()
    return {name: Relation(name, kind, tuple(columns)) for name, kind, columns in rows}


def fetch_sql(db_path: Path, sql: str) -> pl.DataFrame:
    """The result of one query on a read-only connection (writes fail in DuckDB itself)."""
    _require(db_path)
    with _damage_named(db_path), connect(db_path, read_only=True) as con:
        result = con.sql(sql)
        return pl.DataFrame(result) if result is not None else pl.DataFrame()


@contextmanager
def _damage_named(db_path: Path) -> Iterator[None]:
    """A listed data file missing or cut short is found before the query (stat only); flipped
    bytes when DuckDB decodes them: either way one line naming the damage, not DuckDB's error."""
    check_published(db_path)
    try:
        yield
    except duckdb.Error as exc:
        fault = name_damage(db_path, exc)
        if fault is exc:
            raise
        raise fault from None


def _require(db_path: Path) -> None:
    if not db_path.is_file():
        raise FileNotFoundError(f"no warehouse at {db_path}: run `gongkai ingest` first")


def select_relation(
    db_path: Path, name: str, *, year: int | None = None, agency: str | None = None
) -> pl.DataFrame:
    """``SELECT * FROM name`` filtered by year and/or agency (when the relation has the column)."""
    _require(db_path)
    with _damage_named(db_path), connect(db_path, read_only=True) as con:
        catalog = relations(con)
        if name not in catalog:
            raise UsageError(f"no table or view {name!r} (known: {', '.join(sorted(catalog))})")
        relation = catalog[name]
        where, params = [], []
        for column, value in (("year", year), ("agency", agency)):
            if value is None:
                continue
            if column not in relation.columns:
                raise UsageError(f"{name} has no {column} column to filter on")
            where.append(f"{column} = ${len(params) + 1}")
            params.append(value)
        sql = f'SELECT * FROM "{relation.name}"' + (f" WHERE {' AND '.join(where)}" if where else "")
        return pl.DataFrame(con.sql(sql, params=params or None))


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists joined with '|' and structs as text: csv and xlsx cells hold one value each."""
    out = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.List | pl.Array):
            out.append(column.cast(pl.List(pl.String)).list.join(LIST_SEPARATOR).alias(name))
        elif isinstance(dtype, pl.Struct | pl.Object):
            out.append(column.map_elements(str, return_dtype=pl.String).alias(name))
        else:
            out.append(column)
    return frame.select(out)


def write_frame(frame: pl.DataFrame, out: Path, fmt: str, *, sheet: str = "data") -> None:
    if fmt not in FORMATS:
        raise UsageError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and frame.height > XLSX_MAX_ROWS:
        raise UsageError(f"{frame.height} rows do not fit one Excel sheet; export csv or parquet")
    # Written beside ``out`` and renamed: a full disk or a folder we may not write to gives one
    # line, leaves no half-written file and leaves an earlier export at ``out`` as it was.
    tmp = out.with_name(f".{out.name}.partial")
    with guarded("writing the export", out, needed=frame.estimated_size(), cleanup=[tmp]):
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            frame.write_parquet(tmp)
        elif fmt == "csv":
            _flat(frame).write_csv(tmp)
        else:
            _flat(frame).write_excel(tmp, worksheet=sheet[:31], autofit=False)
        os.replace(tmp, out)


def export(
    db_path: Path,
    name: str,
    fmt: str,
    out: Path | None = None,
    *,
    year: int | None = None,
    agency: str | None = None,
) -> tuple[Path, int]:
    """Write a table or view to ``out`` (default ``NAME[_YEAR].FORMAT`` in the current folder)."""
    if fmt not in FORMATS:
        raise UsageError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    frame = select_relation(db_path, name, year=year, agency=agency)
    if out is None:
        out = Path(f"{name}{f'_{year}' if year is not None else ''}.{fmt}")
    write_frame(frame, out, fmt, sheet=name)
    return out, frame.height
