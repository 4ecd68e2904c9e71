"""A query result as a readable terminal table (``gongkai sql`` without --csv/--json)."""

from __future__ import annotations

import polars as pl
from rich.console import Console
from rich.table import Table

NULL = "·"  # NULL, as in `gongkai extract`


def _cell(value: object) -> str:
    if value is None:
        return NULL
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "|".join(map(str, value))
    return str(value)


def print_frame(frame: pl.DataFrame, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    table = Table(caption=f"{frame.height} row{'s' if frame.height != 1 else ''}", caption_justify="left")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    console.print(table)
