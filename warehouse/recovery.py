"""Finding the way back from a damaged warehouse, before an ingest writes anything.

The warehouse is derived from ``data/raw``: nothing in it is lost for good while the files are
there. ``recover`` (under the writer lock) checks the published catalog whole and every data
file it lists; when something is damaged it moves the damaged files aside
(``<name>.damaged-<UTC time>``, never deleted), then restores the last good published state
(``<catalog>.previous``, kept by every publish) if that one is whole, else leaves no catalog so
that the ingest rebuilds every year from the raw folder (the parse cache makes that a matter of
seconds, not a full parse). What cannot come back is what only the warehouse still had: facts of
reports whose files are gone or unreadable since; ``unrecovered`` names them after the run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse.db import connect
from warehouse.faults import DamagedWarehouse, MachineFault
from warehouse.health import (
    check_catalog,
    file_problems,
    move_aside,
    previous_path,
    raise_for,
    suspects,
    suspects_path,
    utc_stamp,
)
from warehouse.lake import data_path, published_path

_LOADED = "SELECT source_path FROM reports WHERE status IN ('ok', 'warning', 'superseded')"


@dataclass
class Recovery:
    reason: str  # the damage found, one line
    action: str  # "restored" (the previous published state) or "rebuilt" (from the raw folder)
    moved: list[Path] = field(default_factory=list)  # damaged files, renamed aside
    known: set[str] | None = None  # source paths loaded in the last state we could read

    def lines(self) -> list[str]:
        moved = ", ".join(str(p) for p in self.moved)
        done = (
            "restored the last good published state (previous publish), then brought it up to date"
            if self.action == "restored"
            else "no good earlier state was kept: rebuilt every year from the raw folder"
        )
        return [self.reason.split("; run `gongkai ingest`")[0], f"moved aside: {moved}", done]


def check_warehouse(
    catalog: Path, files: Path | None = None, noted: set[Path] | None = None
) -> list[tuple[Path, str]]:
    """Raise ``DamagedWarehouse`` for a damaged catalog; return the listed data files that are
    missing, cut short or no longer Parquet (stat and 8 bytes each), or among ``noted`` (default:
    the files readers could not decode) and undecodable."""
    check_catalog(catalog)
    decode = suspects(published_path(catalog)) if noted is None else noted
    return file_problems(catalog, files=files, decode=decode)


def _loaded_paths(catalog: Path, files: Path) -> set[str] | None:
    try:
        with connect(catalog, read_only=True, wait=0, files=files) as con:
            return {r[0] for r in con.execute(_LOADED).fetchall()}
    except (duckdb.Error, MachineFault):
        return None


def _cached_paths(cache: Path) -> set[str] | None:
    """Files the last scan saw whose cached extraction was loadable (ok or warning)."""
    if not cache.is_file():
        return None
    try:
        con = duckdb.connect(str(cache), read_only=True)
    except duckdb.Error:
        return None
    try:
        rows = con.execute(
            "SELECT DISTINCT h.path FROM file_hashes AS h JOIN parsed AS p "
            "ON p.sha256 = h.sha256 AND p.status IN ('ok', 'warning')"
        ).fetchall()
        return {r[0] for r in rows}
    except duckdb.Error:
        return None
    finally:
        con.close()


def _whole(catalog: Path, files: Path, noted: set[Path]) -> bool:
    try:
        problems = check_warehouse(catalog, files, noted)
    except (DamagedWarehouse, duckdb.Error):
        return False
    return not problems


def damaged(catalog: Path) -> bool:
    """Is the published warehouse there and damaged (catalog, or a listed data file)?"""
    if not catalog.exists():
        return False
    try:
        return bool(check_warehouse(catalog, data_path(catalog)))
    except DamagedWarehouse:
        return True


def recover(catalog: Path, cache: Path) -> Recovery | None:
    """Check the published warehouse; if it is damaged, move the damage aside and put back the
    last good state (or nothing, for a rebuild). None when the warehouse is whole or absent."""
    if not catalog.exists():
        return None
    files = data_path(catalog)
    noted = suspects(catalog)
    problems: list[tuple[Path, str]] = []
    try:
        problems = check_warehouse(catalog, files, noted)
        raise_for(catalog, problems)
        return None
    except DamagedWarehouse as exc:
        reason = str(exc)
    stamp = utc_stamp()
    known = _loaded_paths(catalog, files)
    moved = []
    # Damaged data files leave the data folder (whose unlisted files maintenance sweeps).
    for path, _problem in problems:
        if path.exists():
            target = files.with_name(f"{files.name}.damaged-{stamp}") / path.relative_to(files)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            moved.append(target)
    moved.insert(0, move_aside(catalog, stamp))
    previous = previous_path(catalog)
    action = "rebuilt"
    if previous.exists():
        if _whole(previous, files, noted):
            staging = catalog.with_name(f".{catalog.name}.restoring")
            shutil.copyfile(previous, staging)
            os.replace(staging, catalog)
            action = "restored"
            if known is None:
                known = _loaded_paths(previous, files)
        else:
            moved.append(move_aside(previous, stamp))
    if known is None:
        known = _cached_paths(cache)
    suspects_path(catalog).unlink(missing_ok=True)
    return Recovery(reason=reason, action=action, moved=moved, known=known)


def unrecovered(catalog: Path, known: set[str] | None) -> list[str] | None:
    """Source paths loaded before the damage that the recovered warehouse does not have (their
    files are gone or unreadable since). None when what was loaded before is unknown."""
    if known is None:
        return None
    now = _loaded_paths(catalog, data_path(catalog)) or set()
    return sorted(known - now)
