"""What the UI shows beside the assets: the warehouse's columns and each check in plain words.

The columns are read from the warehouse's own definitions (``warehouse.frames.SCHEMAS``, the
frames every load writes) and described by the data dictionary (``schemas/dictionary.toml``),
so the UI, docs/data-dictionary.md and the tables cannot disagree.
"""

from __future__ import annotations

import dagster as dg

from warehouse.dictionary import describe
from warehouse.frames import SCHEMAS, TABLES

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
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=f"{table}.{column}", type=str(dtype), description=describe(table, column))
            for table in TABLES
            for column, dtype in SCHEMAS[table].items()
        ]
    )
