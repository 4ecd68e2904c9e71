"""What the UI shows beside the assets: the warehouse's columns and each check in plain words.

The columns are read from the warehouse's own DDL (``schemas/sql/warehouse.sql``, run on an
in-memory DuckDB) and described by the data dictionary (``schemas/dictionary.toml``), so the
UI, docs/data-dictionary.md and the tables cannot disagree.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from warehouse.db import SQL_DIR
from warehouse.dictionary import describe
from warehouse.frames import TABLES

PANDERA_DESCRIPTION = (
    "Before anything is written, every row the year would load is checked against the warehouse's "
    "rules: known codes, no duplicate keys, no negative counts. If a single row fails, the year is "
    "not loaded and the warehouse keeps what it held for that year."
)
IDENTITY_DESCRIPTION = (
    "The sums printed in each report add up: requests received plus those carried over equal those "
    "handled plus those carried forward, the results add up to the total handled, each row's "
    "applicant columns add up to its total, and each appeal total is the sum of its outcomes "
    "(identities A–D). A report that fails is still loaded as printed: this check only warns and "
    "lists where the arithmetic is off."
)
CONTINUITY_DESCRIPTION = (
    "Requests an agency carried over into a year equal those its previous year's report carried "
    "forward (identity E, 总计 column). A mismatch means two of its reports disagree; this check "
    "only warns and lists the agencies and years."
)


def warehouse_columns() -> dg.TableSchema:
    """Every column of every table a year's load writes, as ``table.column``, with its type and
    the data dictionary's description (one asset writes all of them)."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute((SQL_DIR / "warehouse.sql").read_text(encoding="utf-8"))
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE list_contains(?, table_name) ORDER BY list_position(?, table_name), column_index",
            [list(TABLES), list(TABLES)],
        ).fetchall()
    finally:
        con.close()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=f"{table}.{column}", type=dtype, description=describe(table, column))
            for table, column, dtype in rows
        ]
    )
