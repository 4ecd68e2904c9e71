"""The warehouse is a DuckLake: a small catalog file (a DuckDB database) and Parquet data files.

``data/warehouse.ducklake`` is the catalog (tables, views, snapshots, the list of data files);
``data/warehouse.ducklake.files/`` holds the Parquet files, one folder per table and year.
Every connection here is an in-memory DuckDB that loads the ``ducklake`` extension from its PyPI
package (``duckdb-extension-ducklake``, pinned to DuckDB's version: nothing is downloaded) and
attaches the catalog as ``gongkai``, then ``USE``s it, so SQL written for the warehouse reads
the same as on a plain DuckDB file.

Why a lake and not one DuckDB file (docs/decisions.md): an ingest must not block readers, and a
DuckDB writer excludes every other process from its file, so the old design copied the whole
warehouse to a build file and renamed it into place — 5.5 GB per run at national scale. Here a
writer copies only the catalog (megabytes), writes new Parquet files beside the published ones,
and renames the catalog into place; old files stay until no retained snapshot needs them.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import duckdb

ALIAS = "gongkai"  # the attached catalog's name in every session
# The extension file comes from the locked PyPI package (uv.lock pins its hash), so DuckDB's own
# signature check is skipped: it costs ~180 ms on every connection, more than the queries.
CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_unsigned_extensions": True,
}
# DuckLake can keep inserts of up to N rows inside the catalog instead of a Parquet file (its
# default N is 10). Off: inlined DOUBLEs came back one unit in the last place off (3/19 stored as
# 0.15789473684210523), so a mart filled in one load differed from the same mart filled in two.
INLINING_ROW_LIMIT = 0


WRITER_MEMORY = "768MB"


class ExtensionMissing(RuntimeError):
    """The DuckLake extension package is not installed (run `make setup`)."""


@cache
def extension_file() -> Path:
    """``ducklake.duckdb_extension`` from the ``duckdb-extension-ducklake`` package."""
    spec = importlib.util.find_spec("duckdb_extension_ducklake")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        for path in sorted(Path(location).rglob("ducklake.duckdb_extension")):
            return path
    raise ExtensionMissing(
        "the DuckLake extension is not installed: run `make setup` (package duckdb-extension-ducklake)"
    )


_BUILD = ".build"


def build_path(catalog: Path) -> Path:
    """The catalog a run writes to (``.<name>.build`` beside it), renamed onto it to publish."""
    return catalog.with_name(f".{catalog.name}{_BUILD}")


def published_path(catalog: Path) -> Path:
    """The published catalog of a build catalog (itself for a published one)."""
    name = catalog.name
    if name.startswith(".") and name.endswith(_BUILD):
        return catalog.with_name(name[1 : -len(_BUILD)])
    return catalog


def data_path(catalog: Path) -> Path:
    """Where the Parquet files live: ``<catalog>.files/`` beside the published catalog — a build
    catalog writes its new files straight into the published folder, so publishing renames one
    small file and copies no data."""
    published = published_path(catalog)
    return published.with_name(published.name + ".files")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_lake(
    catalog: Path,
    *,
    read_only: bool,
    files: Path | None = None,
    snapshot: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake at ``catalog`` attached as ``gongkai`` and in use.

    ``files`` is the data folder (default ``<catalog>.files``; a build catalog writes into the
    published one's). ``snapshot`` opens the warehouse as it was at that snapshot (read-only).
    The data folder is given on every attach, so moving ``data/`` keeps the warehouse working.
    """
    # A writer stays within 768 MB (the ingest's whole process tree is to fit in 2 GB at national
    # scale; DuckDB would otherwise cache up to 80 % of RAM); readers keep DuckDB's default.
    con = duckdb.connect(config=CONFIG if read_only else CONFIG | {"memory_limit": WRITER_MEMORY})
    try:
        # DuckDB draws a progress bar on stdout for a query over ~2 s: into `gongkai sql --csv > f`.
        con.execute("SET enable_progress_bar = false")
        con.execute(f"LOAD {_literal(str(extension_file()))}")
        options = [f"DATA_PATH {_literal(str((files or data_path(catalog)).absolute()) + '/')}"]
        if read_only or snapshot is not None:
            options.append("READ_ONLY")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        if not read_only:
            options.append(f"DATA_INLINING_ROW_LIMIT {INLINING_ROW_LIMIT}")
        con.execute(f"ATTACH {_literal('ducklake:' + str(catalog))} AS {ALIAS} ({', '.join(options)})")
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con


def close_lake(con: duckdb.DuckDBPyConnection) -> None:
    """Detach before closing, so the catalog file is released at once."""
    try:
        con.execute("USE memory")
        con.execute(f"DETACH {ALIAS}")
    except duckdb.Error:
        pass
    finally:
        con.close()
