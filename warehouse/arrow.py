"""Polars frames handed to DuckDB through the Arrow C stream interface, without pyarrow.

DuckDB's own Polars path calls ``to_arrow()``, which needs pyarrow (not a dependency); the
PyCapsule protocol moves the same buffers without a copy and without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl


class ArrowStream:
    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._frame.__arrow_c_stream__(requested_schema)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: pl.DataFrame) -> Iterator[None]:
    """``frames`` visible to SQL on ``con`` under their keyword names for the block."""
    for name, frame in frames.items():
        con.register(name, ArrowStream(frame))
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)
