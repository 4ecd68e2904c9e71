"""Getting data out: read-only SQL and exports of one table or view.

Everything here opens the warehouse read-only. Table and view names are checked against the
catalog (identifiers cannot be query parameters); ``--year``/``--agency`` values travel as
parameters, never as SQL text.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from warehouse.db import connect
from warehouse.faults import guarded
from warehouse.health import check_published, name_damage
from warehouse.paths import missing_warehouse

FORMATS = ("csv", "parquet", "xlsx")
LIST_SEPARATOR = "|"  # list columns (agencies.aliases, years) in csv and xlsx
# A spreadsheet runs a cell starting with one of these as a formula (a name from a manifest can be
# `=cmd|…`): OWASP's advice for CSV injection is to prefix such a text cell with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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


@dataclass(frozen=True)
class StatementResult:
    sql: str
    frame: pl.DataFrame | None  # None: the statement returns no rows (SET, PRAGMA …)
    renamed: dict[str, str] = field(default_factory=dict)  # printed name → the name it repeats


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique as DuckDB compares them (case-insensitively): a repeated ``a``
    becomes ``a_2``, then ``a_3`` (skipping names already taken)."""
    taken = {n.lower() for n in names}
    seen: set[str] = set()
    out = []
    for name in names:
        new, n = name, 1
        while new.lower() in seen or (new != name and new.lower() in taken):
            n += 1
            new = f"{name}_{n}"
        seen.add(new.lower())
        out.append(new)
    return out


def _frame(relation: duckdb.DuckDBPyRelation) -> tuple[pl.DataFrame, dict[str, str]]:
    names = list(relation.columns)
    unique = unique_names(names)
    if unique == names:
        return pl.DataFrame(relation), {}
    # Polars refuses repeated names (`SELECT 1 AS a, 2 AS a`, `JOIN … USING`): rename by position.
    quoted = ", ".join('"' + n.replace('"', '""') + '"' for n in unique)
    renamed = pl.DataFrame(relation.query("result", f"SELECT * FROM result AS r({quoted})"))
    return renamed, {new: old for new, old in zip(unique, names, strict=True) if new != old}


def split_statements(sql: str) -> list[str]:
    """The statements of ``sql`` as DuckDB's parser splits them (a syntax error raises)."""
    with duckdb.connect() as con:
        return [s.query.strip() for s in con.extract_statements(sql)]


def _text(statement: str) -> str:
    return statement.strip().rstrip(";").rstrip()


def run_sql(db_path: Path, sql: str) -> Iterator[StatementResult]:
    """Every statement of ``sql`` in turn on one read-only connection (writes fail in DuckDB),
    each result as soon as it is there: an error in a later statement leaves the earlier shown."""
    _require(db_path)
    with _damage_named(db_path), connect(db_path, read_only=True) as con:
        for statement in con.extract_statements(sql):
            relation = con.sql(statement.query)
            if relation is None:
                yield StatementResult(_text(statement.query), None)
            else:
                frame, renamed = _frame(relation)
                yield StatementResult(_text(statement.query), frame, renamed)


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
        raise FileNotFoundError(missing_warehouse(db_path))


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


def escape_formula(column: pl.Expr) -> pl.Expr:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (numbers untouched)."""
    starts = pl.any_horizontal(*(column.str.starts_with(c) for c in FORMULA_STARTS))
    return pl.when(starts).then(pl.lit("'") + column).otherwise(column)


def flat_for_spreadsheet(frame: pl.DataFrame) -> pl.DataFrame:
    """One value per cell for csv and xlsx: lists joined with '|' (a NULL list is an empty cell, a
    NULL element an empty string between separators), structs as text, and every text cell that
    a spreadsheet would run as a formula escaped."""
    out = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.List | pl.Array):
            text = column.cast(pl.List(pl.String)).list.eval(pl.element().fill_null(""))
            out.append(escape_formula(text.list.join(LIST_SEPARATOR)).alias(name))
        elif isinstance(dtype, pl.Struct | pl.Object):
            out.append(escape_formula(column.map_elements(str, return_dtype=pl.String)).alias(name))
        elif dtype == pl.String:
            out.append(escape_formula(column).alias(name))
        else:
            out.append(column)
    return frame.select(out)


def write_frame(frame: pl.DataFrame, out: Path, fmt: str, *, sheet: str = "data") -> None:
    if fmt not in FORMATS:
        raise UsageError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if out.is_dir():  # said before anything is written (the rename would name the temporary file)
        raise IsADirectoryError(errno.EISDIR, "is a directory: give --out a file name", str(out))
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
            flat_for_spreadsheet(frame).write_csv(tmp)
        else:
            flat_for_spreadsheet(frame).write_excel(tmp, worksheet=sheet[:31], autofit=False)
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
