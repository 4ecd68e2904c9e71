"""The warehouse as a DuckLake: a publish copies only the catalog, old states stay readable
(time travel) until they expire, and maintenance removes only files nobody can read any more."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from test_warehouse_db import _item

from warehouse import db
from warehouse.frames import build_frames
from warehouse.lake import build_path, data_path
from warehouse.maintenance import maintain
from warehouse.publish import warehouse_build


def _load(path: Path, agency: str) -> None:
    with warehouse_build(path) as build:
        db.load_year(build, 2022, build_frames([_item(agency, 2022, {})]))


def _agencies(path: Path, **kw: object) -> list[str]:
    with db.connect(path, read_only=True, **kw) as con:  # type: ignore[arg-type]
        return [r[0] for r in con.execute("SELECT agency FROM reports ORDER BY 1").fetchall()]


def _parquet(path: Path) -> set[Path]:
    return set(data_path(path).rglob("*.parquet"))


def test_publish_renames_the_catalog_and_copies_no_data(tmp_path: Path) -> None:
    path = tmp_path / "wh.ducklake"
    _load(path, "甲局")
    files = _parquet(path)
    assert files and not build_path(path).exists()
    inode = {p: p.stat().st_ino for p in files}
    _load(path, "乙局")
    # The first state's files are still where they were, untouched; the new state added its own.
    assert all(p.exists() and p.stat().st_ino == inode[p] for p in files)
    assert _parquet(path) > files
    assert _agencies(path) == ["乙局"]


def test_time_travel_to_an_earlier_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "wh.ducklake"
    _load(path, "甲局")
    with db.connect(path, read_only=True) as con:
        first = con.execute("SELECT max(snapshot_id) FROM gongkai.snapshots()").fetchone()[0]  # type: ignore[index]
    _load(path, "乙局")
    assert _agencies(path) == ["乙局"]
    assert _agencies(path, snapshot=first) == ["甲局"]
    with db.connect(path, read_only=True) as con:  # the same, as one query in a current session
        assert con.execute(f"SELECT agency FROM reports AT (VERSION => {first})").fetchall() == [("甲局",)]


def test_maintenance_keeps_what_can_be_read_and_deletes_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "wh.ducklake"
    _load(path, "甲局")
    first_files = _parquet(path)
    _load(path, "乙局")
    stray = data_path(path) / "main" / "stray.parquet"  # as a killed run leaves it: listed nowhere
    stray.write_bytes(b"PAR1")
    # Within the retention and grace periods nothing goes.
    with db.connect(path) as con:
        assert maintain(con) == {"snapshots_expired": 0, "files_deleted": 0, "orphans_deleted": 0}
    assert first_files <= _parquet(path) and stray.exists()
    # Past them: the first state's files, only ever read by expired snapshots, and the stray go.
    old = time.time() - 3 * 86400
    os.utime(stray, (old, old))
    with db.connect(path) as con:
        expired = maintain(con, keep_days=-1, grace_days=-1)
    assert expired["snapshots_expired"] > 0 and expired["orphans_deleted"] == 1
    with db.connect(path) as con:  # scheduled by the expiry above, deleted by the next pass
        maintain(con, keep_days=-1, grace_days=-1)
    assert not stray.exists()
    gone = {p for p in first_files if not p.exists()}
    assert gone and gone < first_files  # the replaced year's files went; the lookups' stayed
    assert _agencies(path) == ["乙局"]  # the current state reads as before, every file it needs there
    with db.connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM applications").fetchone()[0] == 175  # type: ignore[index]


@pytest.mark.parametrize("days", ["3", "x"])
def test_snapshot_retention_setting(monkeypatch: pytest.MonkeyPatch, days: str) -> None:
    from warehouse.maintenance import SNAPSHOT_DAYS, snapshot_days

    monkeypatch.setenv("GONGKAI_SNAPSHOT_DAYS", days)
    assert snapshot_days() == (3 if days == "3" else SNAPSHOT_DAYS)
