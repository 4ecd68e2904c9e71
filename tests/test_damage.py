"""A damaged warehouse (truncated or flipped bytes, in the catalog or a Parquet file) is named as
such by every command that opens it, and `gongkai ingest` finds its way back: the damage moved
aside, never deleted; the last good published state restored, else every year rebuilt."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from pipelines.ingest import run_ingest
from synth.corpus import write_corpus
from warehouse.db import connect, table_checksums
from warehouse.frames import FACT_TABLES
from warehouse.health import file_problems, previous_path
from warehouse.lake import data_path

BLOCK, HEADERS = 262144, 3 * 4096  # DuckDB's block size; its three file headers come first


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_catalog(path: Path) -> None:
    """Flip one byte inside every block: the block checksums no longer match."""
    data = bytearray(path.read_bytes())
    for i in range(HEADERS + 300, len(data), BLOCK):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _flip_parquet(path: Path) -> None:
    """Flip ten bytes in the middle of the compressed pages (size and PAR1 marks unchanged)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    for i in range(middle, middle + 10):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _applications_file(db: Path, year: int) -> Path:
    return sorted((data_path(db) / "main" / "applications" / f"year={year}").glob("*.parquet"))[0]


DAMAGE: dict[str, tuple[Callable[[Path], Path], Callable[[Path], None]]] = {
    "catalog truncated": (lambda db: db, _truncate),
    "catalog bytes flipped": (lambda db: db, _flip_catalog),
    "parquet truncated": (lambda db: _applications_file(db, 2021), _truncate),
    "parquet bytes flipped": (lambda db: _applications_file(db, 2021), _flip_parquet),
}


def _two_publishes(base: Path) -> tuple[Path, Path]:
    """2021 and 2022 loaded, then one 2022 report changed and loaded: a previous state is kept."""
    raw, db = base / "raw", base / "wh.ducklake"
    write_corpus(raw, agencies=2, years=[2021, 2022])
    assert run_ingest(raw_dir=raw, db_path=db).success
    path = sorted((raw / "2022").glob("*.txt"))[0]
    path.write_bytes(path.read_bytes().rstrip(b"\n") + b"\nrevised\n")
    assert run_ingest(raw_dir=raw, db_path=db).success
    assert previous_path(db).is_file()
    return raw, db


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _two_publishes(tmp_path_factory.mktemp("damage"))


@pytest.fixture
def damaged(request: pytest.FixtureRequest, lake: tuple[Path, Path]) -> Iterator[tuple[Path, Path, Path]]:
    """The module's warehouse with one kind of damage, undone afterwards."""
    raw, db = lake
    target_of, damage = DAMAGE[request.param]
    target = target_of(db)
    original = target.read_bytes()
    damage(target)
    try:
        yield raw, db, target
    finally:
        target.write_bytes(original)


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, raw: Path, db: Path, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("GONGKAI_RAW", str(raw))
    monkeypatch.setenv("GONGKAI_DB", str(db))
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("damaged", list(DAMAGE), indirect=True)
def test_every_command_names_the_damage(
    damaged: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    raw, db, target = damaged
    prefix = f"gongkai: the warehouse at {db} is damaged: "
    suffix = "; run `gongkai ingest` to recover (damaged files are moved aside, never deleted)"
    for argv in (
        ("sql", "SELECT * FROM applications"),
        ("export", "applications", "--out", str(tmp_path / "a.csv")),
        ("summary",),
    ):
        code, _out, err = _run(monkeypatch, capsys, raw, db, *argv)
        [line] = err.strip().splitlines()
        assert (code, line.startswith(prefix), line.endswith(suffix)) == (1, True, True), (argv, line)
        if target != db:
            assert str(target) in line  # the damaged data file is named
    assert not (tmp_path / "a.csv").exists()
    code, out, _err = _run(monkeypatch, capsys, raw, db, "verify")
    assert code == 1
    first, last = out.strip().splitlines()
    what = "the catalog is damaged: 1" if target == db else "damaged data files: 1"
    assert first.startswith(what) and last == f"{db}: 1 invariant broken"


def _facts(db: Path) -> dict[str, tuple[int, str]]:
    return table_checksums(db, FACT_TABLES)


def _report_rows(db: Path) -> list[tuple]:
    with connect(db, read_only=True) as con:
        return con.execute(
            "SELECT report_id, year, agency, source_path, sha256, status, null_cells FROM reports ORDER BY ALL"
        ).fetchall()


def test_ingest_restores_the_last_good_state(tmp_path: Path) -> None:
    raw, db = _two_publishes(tmp_path)
    facts, reports = _facts(db), _report_rows(db)
    _truncate(db)
    cut = db.read_bytes()
    summary = run_ingest(raw_dir=raw, db_path=db)
    assert summary.success
    [aside] = tmp_path.glob("wh.ducklake.damaged-*")
    assert aside.read_bytes() == cut  # moved aside, byte for byte, never deleted
    assert [w for w in summary.warnings if w.startswith("recovery:")][1:] == [
        f"recovery: moved aside: {aside}",
        "recovery: restored the last good published state (previous publish), then brought it up to date",
        "recovery: nothing was lost: every report loaded before is loaded again",
    ]
    assert summary.warnings[0].startswith(f"recovery: the warehouse at {db} is damaged: ")
    assert summary.years[2022].loaded and summary.years[2021].up_to_date  # only what changed since
    assert (_facts(db), _report_rows(db)) == (facts, reports)


def test_ingest_rebuilds_when_no_good_state_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """A 2021 Parquet file both the published and the previous catalog list has flipped bytes (a
    query meets them first), a loaded report's file has been deleted since, and the parse cache
    is cut short too."""
    raw, db = _two_publishes(tmp_path)
    facts = _facts(db)
    gone = sorted((raw / "2021").glob("*.txt"))[0]
    with connect(db, read_only=True) as con:
        [(cells,)] = con.execute(
            "SELECT count(*) FROM applications JOIN reports USING (report_id) WHERE source_path = ?",
            [gone.relative_to(raw).as_posix()],
        ).fetchall()
    gone.unlink()
    damaged_file = _applications_file(db, 2021)
    _flip_parquet(damaged_file)
    _truncate(tmp_path / "wh.parse-cache.duckdb")
    monkeypatch.setenv("GONGKAI_DB", str(db))
    assert main(["sql", "SELECT * FROM applications"]) == 1  # a reader meets it first
    assert str(damaged_file) in capsys.readouterr().err
    summary = run_ingest(raw_dir=raw, db_path=db)
    assert summary.success
    stamp = next(tmp_path.glob("wh.ducklake.damaged-*")).name.split(".damaged-")[1]
    relative = damaged_file.relative_to(data_path(db))
    assert [w for w in summary.warnings if w.startswith("recovery:")][1:] == [
        f"recovery: moved aside: {db}.damaged-{stamp}, {data_path(db)}.damaged-{stamp}/{relative}, "
        f"{previous_path(db)}.damaged-{stamp}",
        "recovery: no good earlier state was kept: rebuilt every year from the raw folder",
        "recovery: could not be recovered: the facts of 1 reports whose files are gone or unreadable "
        f"since: {gone.relative_to(raw).as_posix()}",
    ]
    assert summary.totals()["parsed"] == 3  # the damaged cache was discarded: every file parsed
    assert cells > 0 and _facts(db)["applications"][0] == facts["applications"][0] - cells


def test_maintenance_never_sweeps_files_the_kept_catalog_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshots expire at once and days pass between runs (times moved back): the files the
    previous catalog lists are all there after every build, while older files are swept."""
    monkeypatch.setenv("GONGKAI_SNAPSHOT_DAYS", "0")
    raw, db = tmp_path / "raw", tmp_path / "wh.ducklake"
    write_corpus(raw, agencies=2, years=[2021])
    report = sorted((raw / "2021").glob("*.txt"))[0]
    swept = 0
    for run in range(4):
        report.write_bytes(report.read_bytes().rstrip(b"\n") + f"\nrun {run}\n".encode())
        before = set(data_path(db).rglob("*.parquet")) if db.exists() else set()
        assert run_ingest(raw_dir=raw, db_path=db).success
        swept += len(before - set(data_path(db).rglob("*.parquet")))
        if previous_path(db).exists():
            assert file_problems(previous_path(db), files=data_path(db)) == []
        _days_pass(db, 3)
    assert swept > 0  # the test is not vacuous: maintenance did delete files


def _days_pass(db: Path, days: int) -> None:
    """Move the published catalog's snapshot and deletion-schedule times, and the data files'
    mtimes, ``days`` back (DuckLake's catalog tables, as its specification names them)."""
    con = duckdb.connect(str(db))
    try:
        for table, column in (
            ("ducklake_snapshot", "snapshot_time"),
            ("ducklake_files_scheduled_for_deletion", "schedule_start"),
        ):
            con.execute(f"UPDATE {table} SET {column} = {column} - INTERVAL ({int(days)}) DAY")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    for path in data_path(db).rglob("*.parquet"):
        stat = path.stat()
        os.utime(path, (stat.st_atime - days * 86400, stat.st_mtime - days * 86400))
