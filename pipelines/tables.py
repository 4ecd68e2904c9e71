"""A query result as a readable table (``gongkai sql``, ``tables``, ``describe``), CSV or JSON lines.

In a terminal the table fits the window (rich cuts a cell by display width, a CJK character
counting 2 columns); piped or redirected nothing is cut: the table is as wide as its widest rows.
"""

from __future__ import annotations

import csv
import json
import sys
from typing import TextIO

import polars as pl
from rich.console import Console
from rich.table import Table

from warehouse.access import flat_for_spreadsheet

NULL = "·"  # NULL, as in `gongkai extract`
# Every float of a table printed alike: 1.000 beside 0.679 (full precision with --csv/--json).
FLOAT_DECIMALS = 3
_UNBOUNDED = 1_000_000  # columns for a non-terminal: rich never needs to cut a cell


def output_console(stream: TextIO | None = None) -> Console:
    """A console that cuts nothing when its output is not a terminal (a pipe, a file, a notebook)."""
    # Without a stream rich writes to whatever sys.stdout is at print time (pytest swaps it).
    terminal = (stream or sys.stdout).isatty()
    width = None if terminal else _UNBOUNDED
    return Console(file=stream, highlight=False, width=width, soft_wrap=not terminal)


def cell_text(value: object) -> str:
    if value is None:
        return NULL
    if isinstance(value, float):
        return f"{value:.{FLOAT_DECIMALS}f}"
    if isinstance(value, list):
        return "|".join(cell_text(v) for v in value)
    return str(value)


def print_frame(frame: pl.DataFrame, console: Console | None = None, *, caption: str | None = None) -> None:
    console = console or output_console()
    rows = f"{frame.height} row{'s' if frame.height != 1 else ''}"
    table = Table(caption=f"{rows}; {caption}" if caption else rows, caption_justify="left")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*(cell_text(v) for v in row))
    console.print(table)


def write_csv(frame: pl.DataFrame, out: TextIO) -> None:
    """CSV with a header row, cells as `gongkai export` writes them (formula-escaped, lists '|')."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(frame.columns)
    writer.writerows(("" if v is None else v for v in row) for row in flat_for_spreadsheet(frame).iter_rows())


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    return float(value) if hasattr(value, "as_integer_ratio") else str(value)  # Decimal → float


def write_json_lines(frame: pl.DataFrame, out: TextIO) -> None:
    for row in frame.iter_rows(named=True):
        out.write(json.dumps(_jsonable(row), ensure_ascii=False) + "\n")
