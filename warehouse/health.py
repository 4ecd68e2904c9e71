"""Is the warehouse readable as written? Damage found early, named in one line, moved aside.

A catalog cut short or with flipped bytes fails DuckDB's block checksums or its header when it
is opened or read; a Parquet file cut short no longer has the size the catalog recorded, or its
``PAR1`` marks; flipped bytes inside a Parquet file fail when its pages are decoded. Three
depths: ``check_files`` (stat and 8 bytes per listed file; every command that opens the
warehouse), ``check_catalog`` (every catalog table read whole; ingest and verify) and
``deep=True`` (every listed Parquet file decoded; verify).

The last good published state is kept: every publish hard-links the catalog it replaces to
``<catalog>.previous`` (no copy; the Parquet files it lists are shared and kept, see
warehouse.maintenance). ``move_aside`` renames a damaged file to ``<name>.damaged-<UTC time>``,
never deleting it.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.faults import DamagedWarehouse, damage_line, describe, fault_errno, is_damage
from warehouse.lake import data_path

_MAGIC = b"PAR1"
_PLAIN = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
_RECOVER = "run `gongkai ingest` to recover (damaged files are moved aside, never deleted)"


def previous_path(catalog: Path) -> Path:
    """The published catalog as it was before the last publish (``<catalog>.previous``)."""
    return catalog.with_name(catalog.name + ".previous")


def damaged(catalog: Path, reason: str) -> DamagedWarehouse:
    return DamagedWarehouse(f"the warehouse at {catalog} is damaged: {reason}; {_RECOVER}")


def from_error(catalog: Path, exc: BaseException, stage: str) -> Exception:
    """The fault an error met while reading the warehouse stands for (or ``exc`` itself)."""
    code = fault_errno(exc)
    if code is not None:
        return describe(code, catalog, stage)
    text = str(exc)
    if isinstance(exc, duckdb.Error) and (
        is_damage(exc) or "No such file" in text or "No files found" in text
    ):
        return damaged(catalog, damage_line(exc))
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def check_catalog(catalog: Path) -> None:
    """Read every table of the catalog (a plain DuckDB file) whole: each block's checksum is
    verified on the way. Raises ``DamagedWarehouse``."""
    try:
        con = duckdb.connect(str(catalog), read_only=True, config=_PLAIN)
    except duckdb.Error as exc:
        raise damaged(catalog, damage_line(exc)) from None
    try:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall():
            con.execute(f'SELECT sum(hash(t)) FROM "{table}" AS t').fetchall()
    except duckdb.Error as exc:
        raise damaged(catalog, damage_line(exc)) from None
    finally:
        con.close()


# The live data and delete files with their full paths, from the catalog's own tables (DuckLake
# specification: ducklake_data_file / ducklake_delete_file / ducklake_table / ducklake_schema):
# one query, ~10 ms, where ducklake_list_files per table costs a lake attach and ~20 calls.
_FILES = """
WITH live_tables AS (
    SELECT t.table_id,
           CASE WHEN t.path_is_relative
                THEN (CASE WHEN s.path_is_relative THEN $root || s.path ELSE s.path END) || t.path
                ELSE t.path END AS dir
    FROM ducklake_table AS t JOIN ducklake_schema AS s USING (schema_id)
    WHERE t.end_snapshot IS NULL AND s.end_snapshot IS NULL
)
SELECT CASE WHEN f.path_is_relative THEN l.dir || f.path ELSE f.path END, f.file_size_bytes
FROM (SELECT table_id, path, path_is_relative, file_size_bytes FROM ducklake_data_file WHERE end_snapshot IS NULL
      UNION ALL
      SELECT table_id, path, path_is_relative, file_size_bytes FROM ducklake_delete_file WHERE end_snapshot IS NULL) AS f
JOIN live_tables AS l USING (table_id)
ORDER BY 1
"""


def listed_files(catalog: Path, files: Path | None = None) -> list[tuple[Path, int]]:
    """(path, recorded size) of every data and delete file the catalog's current state lists;
    ``files`` is the data folder (default ``<published catalog>.files``)."""
    root = str((files or data_path(catalog)).absolute()) + "/"
    try:
        con = duckdb.connect(str(catalog), read_only=True, config=_PLAIN)
    except duckdb.Error as exc:
        raise damaged(catalog, damage_line(exc)) from None
    try:
        rows = con.execute(_FILES, {"root": root}).fetchall()
    except duckdb.Error as exc:
        raise damaged(catalog, damage_line(exc)) from None
    finally:
        con.close()
    return [(Path(path), int(size)) for path, size in rows]


def file_problem(path: Path, size: int) -> str | None:
    """Why a listed Parquet file is not the one written, or None (stat and 8 bytes read)."""
    try:
        actual = path.stat().st_size
        if actual != size:
            return f"data file {path} has {actual} bytes, the catalog recorded {size} (truncated?)"
        with path.open("rb") as f:
            head = f.read(4)
            f.seek(-4, os.SEEK_END)
            tail = f.read(4)
    except FileNotFoundError:
        return f"data file {path} is missing"
    except OSError as exc:
        return f"data file {path} cannot be read ({exc.strerror or exc})"
    if head != _MAGIC or tail != _MAGIC:
        return f"data file {path} is not a Parquet file any more (its PAR1 marks are gone)"
    return None


def decode_problem(path: Path) -> str | None:
    """Decode every column of every row of one Parquet file: flipped bytes fail here."""
    con = duckdb.connect(config=_PLAIN)
    try:
        con.execute("SELECT sum(hash(t)) FROM read_parquet(?) AS t", [str(path)]).fetchall()
    except duckdb.Error as exc:
        return f"data file {path} cannot be decoded ({damage_line(exc)})"
    finally:
        con.close()
    return None


def file_problems(
    catalog: Path, *, files: Path | None = None, deep: bool = False, decode: set[Path] | None = None
) -> list[tuple[Path, str]]:
    """Every listed file that is missing, cut short, not Parquet, or undecodable (every file
    with ``deep``, those in ``decode`` otherwise)."""
    out = []
    for path, size in listed_files(catalog, files):
        problem = file_problem(path, size)
        if problem is None and (deep or (decode is not None and path in decode)):
            problem = decode_problem(path)
        if problem:
            out.append((path, problem))
    return out


def check_published(catalog: Path) -> None:
    """The check of every command that opens the warehouse: every data file the catalog lists is
    there with its recorded size and its PAR1 marks (a block of the catalog that fails its
    checksum on the way fails here too). Raises ``DamagedWarehouse``."""
    raise_for(catalog, file_problems(catalog))


def suspects_path(catalog: Path) -> Path:
    """Data files a reader found undecodable, for the next ingest to check whole and recover
    (readers cannot repair; the ingest's own check reads 8 bytes per file, not every page)."""
    return catalog.with_name(f".{catalog.name}.suspects")


def note_suspects(catalog: Path, paths: list[Path]) -> None:
    try:
        with suspects_path(catalog).open("a", encoding="utf-8") as f:
            f.writelines(f"{p}\n" for p in paths)
    except OSError:
        pass  # a read-only folder: the message still names the file


def suspects(catalog: Path) -> set[Path]:
    try:
        return {
            Path(line) for line in suspects_path(catalog).read_text(encoding="utf-8").splitlines() if line
        }
    except OSError:
        return set()


def name_damage(catalog: Path, exc: BaseException) -> Exception:
    """The fault a failed read stands for; for damage, every listed file is decoded to name the
    damaged ones (DuckDB's 'Out of buffer' names none), which are noted for the next ingest."""
    fault = from_error(catalog, exc, "reading the warehouse")
    if not isinstance(fault, DamagedWarehouse):
        return fault
    try:
        problems = file_problems(catalog, deep=True)
    except (duckdb.Error, DamagedWarehouse):
        return fault
    if not problems:
        return fault
    note_suspects(catalog, [p for p, _ in problems])
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return damaged(catalog, problems[0][1] + more)


def raise_for(catalog: Path, problems: list[tuple[Path, str]]) -> None:
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise damaged(catalog, problems[0][1] + more)


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def move_aside(path: Path, stamp: str | None = None) -> Path:
    """Rename a damaged file to ``<name>.damaged-<UTC time>`` beside it (never deleted)."""
    target = path.with_name(f"{path.name}.damaged-{stamp or utc_stamp()}")
    os.replace(path, target)
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        os.replace(wal, target.with_name(target.name + ".wal"))
    return target


def keep_previous(catalog: Path) -> None:
    """Before a publish replaces ``catalog``: keep it as ``<catalog>.previous`` (a hard link,
    no copy; a copy where the file system has no hard links)."""
    if not catalog.exists():
        return
    previous = previous_path(catalog)
    staging = previous.with_name(f".{previous.name}.tmp")
    staging.unlink(missing_ok=True)
    try:
        os.link(catalog, staging)
    except OSError:
        shutil.copyfile(catalog, staging)
    os.replace(staging, previous)
