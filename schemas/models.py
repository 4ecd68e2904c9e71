"""Pandera models of the warehouse fact frames, with code domains taken from the taxonomy.

Validation is lazy and total: ``validate_frames`` collects every failure as a plain row
(table, column, check, failure_case, index) and never raises, so one run reports them all.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.errors import SchemaError, SchemaErrors

from schemas.taxonomy import CELL_TABLES, NULL_KINDS, TEMPLATES, taxonomy

_TAX = taxonomy()
CATEGORY_CODES = [c.code for c in _TAX.categories]
APPLICANT_CODES = _TAX.applicant_codes
PROCEEDING_CODES = _TAX.proceeding_codes
OUTCOME_CODES = _TAX.outcome_codes
PROACTIVE_ITEMS = sorted({item.code for t in TEMPLATES for item in _TAX.proactive[t]})
PROACTIVE_MEASURES = sorted({m.code for t in TEMPLATES for _, m in _TAX.proactive_cells(t)})
# item/measure pairs that exist in some template: `fees`/`decisions` does not, for instance.
PROACTIVE_PAIRS = sorted({f"{item}/{m.code}" for t in TEMPLATES for item, m in _TAX.proactive_cells(t)})
SIGNED_MEASURES = sorted({m.code for t in TEMPLATES for _, m in _TAX.proactive_cells(t) if m.signed})
STATUSES = ["ok", "warning", "rejected", "superseded"]
RULES = ["A", "B", "C", "D", "E"]  # TAXONOMY.md identities
FACT_TABLE_NAMES = list(CELL_TABLES)  # the tables a cell flag or correction names
CORRECTION_STATUSES = ["applied", "stale", "needs_override", "unknown_cell", "conflict", "duplicate"]
FIRST_YEAR, LAST_YEAR = 2019, 2100  # no national table before 2019


class _Keyed(pa.DataFrameModel):
    report_id: str = pa.Field(str_length={"min_value": 16, "max_value": 16})

    class Config:
        strict = True  # an unexpected column means the frame builder and the DDL disagree
        coerce = False  # the builder sets dtypes; a wrong dtype is a bug to see, not to hide


class _Fact(_Keyed):
    agency: str = pa.Field(str_length={"min_value": 1})
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)


class Applications(_Fact):
    category: str = pa.Field(isin=CATEGORY_CODES)
    applicant_type: str = pa.Field(isin=APPLICANT_CODES)
    count: int = pa.Field(ge=0, nullable=True)  # null = blank/dash cell, not zero

    class Config:
        unique: ClassVar[list[str]] = ["report_id", "category", "applicant_type"]


class Proactive(_Fact):
    item: str = pa.Field(isin=PROACTIVE_ITEMS)
    measure: str = pa.Field(isin=PROACTIVE_MEASURES)
    value: float = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=True)

    class Config:
        unique: ClassVar[list[str]] = ["report_id", "item", "measure"]

    @pa.dataframe_check(error="value < 0 on a measure that cannot be negative")
    def value_non_negative(cls, data: PolarsData) -> pl.LazyFrame:
        # Only the 2019 format's 本年增/减 (`change`) may go down.
        return data.lazyframe.select(
            pl.col("value").is_null() | (pl.col("value") >= 0) | pl.col("measure").is_in(SIGNED_MEASURES)
        )

    @pa.dataframe_check(error="item/measure pair not in any template")
    def known_pair(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.concat_str("item", pl.lit("/"), "measure").is_in(PROACTIVE_PAIRS))


class Appeals(_Fact):
    proceeding: str = pa.Field(isin=PROCEEDING_CODES)
    outcome: str = pa.Field(isin=OUTCOME_CODES)
    count: int = pa.Field(ge=0, nullable=True)

    class Config:
        unique: ClassVar[list[str]] = ["report_id", "proceeding", "outcome"]


class Checks(_Keyed):
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)  # lets a reload delete a year without a join
    rule: str = pa.Field(isin=RULES)
    subject: str
    expected: float = pa.Field(nullable=True)
    actual: float = pa.Field(nullable=True)
    passed: bool = pa.Field(nullable=True)  # null = not checkable (a null input)

    class Config:
        unique: ClassVar[list[str]] = ["report_id", "rule", "subject"]


class Reports(_Keyed):
    agency: str = pa.Field(str_length={"min_value": 1})
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    template: str = pa.Field(isin=list(TEMPLATES), nullable=True)
    format: str = pa.Field(nullable=True)
    source_path: str
    sha256: str = pa.Field(str_length={"min_value": 64, "max_value": 64})
    size: int = pa.Field(ge=0)
    status: str = pa.Field(isin=STATUSES)
    error: str = pa.Field(nullable=True)
    warnings: str = pa.Field(nullable=True)
    null_cells: int = pa.Field(ge=0)
    agency_source: str = pa.Field(nullable=True)
    year_source: str = pa.Field(nullable=True)
    encoding: str = pa.Field(nullable=True)
    parser_version: str = pa.Field(nullable=True)
    agency_printed: str = pa.Field(str_length={"min_value": 1})
    published: pl.Date = pa.Field(nullable=True)
    file_mtime: pl.Datetime = pa.Field(nullable=True)
    superseded_by: str = pa.Field(nullable=True)

    class Config:
        unique: ClassVar[list[str]] = ["report_id"]

    @pa.dataframe_check(error="a superseded report must name the report that replaces it")
    def superseded_names_successor(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("status") == "superseded") == pl.col("superseded_by").is_not_null()
        )

    @pa.dataframe_check(error="a rejected report must say why")
    def rejected_has_error(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("status") != "rejected") | pl.col("error").is_not_null())


class CellFlags(_Keyed):
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    table_name: str = pa.Field(isin=FACT_TABLE_NAMES)
    row_code: str
    column_code: str
    kind: str = pa.Field(isin=list(NULL_KINDS))
    reason: str
    candidates: list[float] = pa.Field(nullable=True)

    class Config:
        unique: ClassVar[list[str]] = ["report_id", "table_name", "row_code", "column_code"]


class Corrections(_Keyed):
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    source_path: str
    table_name: str = pa.Field(isin=FACT_TABLE_NAMES)
    row_code: str
    column_code: str
    printed_value: float = pa.Field(nullable=True)
    printed_kind: str = pa.Field(isin=["read", *NULL_KINDS], nullable=True)
    corrected_value: float = pa.Field(nullable=True)
    status: str = pa.Field(isin=CORRECTION_STATUSES)
    reason: str = pa.Field(nullable=True)
    override: bool
    note: str = pa.Field(nullable=True)
    who: str = pa.Field(nullable=True)
    line: int = pa.Field(ge=1)

    class Config:
        unique: ClassVar[list[str]] = ["line"]

    @pa.dataframe_check(error="an applied correction carries its value")
    def applied_has_value(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("status") != "applied") | pl.col("corrected_value").is_not_null()
        )


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "reports": Reports,
    "applications": Applications,
    "proactive": Proactive,
    "appeals": Appeals,
    "checks": Checks,
    "cell_flags": CellFlags,
    "corrections": Corrections,
}


def _check_name(value: Any) -> Any:
    # "isin([...26 codes...])" says nothing the column name does not; keep rows readable.
    if isinstance(value, str) and value.startswith("isin("):
        return "isin(taxonomy codes)"
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def failure_rows(table: str, model: type[pa.DataFrameModel], frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Every failure of ``frame`` against ``model`` as rows; [] when it is valid."""
    try:
        model.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        return [
            {
                "table": table,
                "column": _jsonable(row.get("column")),
                "check": _check_name(row.get("check")),
                "failure_case": _jsonable(row.get("failure_case")),
                "index": _jsonable(row.get("index")),
            }
            for row in cases.to_dicts()
        ]
    except SchemaError as exc:  # should not happen with lazy=True; keep the promise anyway
        return [
            {"table": table, "column": None, "check": str(exc.check), "failure_case": str(exc), "index": None}
        ]
    except Exception as exc:  # a pandera/polars bug must not take the run down
        return [
            {
                "table": table,
                "column": None,
                "check": "validation crashed",
                "failure_case": repr(exc),
                "index": None,
            }
        ]
    return []


def validate_frames(frames: dict[str, pl.DataFrame]) -> list[dict[str, Any]]:
    """Validate each named frame with its model; all failures of all frames, never raises."""
    failures: list[dict[str, Any]] = []
    for table, model in MODELS.items():
        if table not in frames:
            failures.append(
                {
                    "table": table,
                    "column": None,
                    "check": "frame missing",
                    "failure_case": None,
                    "index": None,
                }
            )
            continue
        failures += failure_rows(table, model, frames[table])
    return failures
