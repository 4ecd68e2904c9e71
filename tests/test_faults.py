"""Faults of the machine at every stage that writes: one line naming the path, what was needed
and what to do; exit 1; temporary files removed; the published warehouse untouched.

Real faults where the test can make them (a small tmpfs: a full disk; a read-only tmpfs), an
injected ``OSError`` / DuckDB / SQLite error at the stage's own write elsewhere.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pytest
from faultkit import State, fill, tmpfs

import warehouse.db
import warehouse.parse_cache
import warehouse.publish
from pipelines.cli import main
from pipelines.ingest import run_ingest
from synth.corpus import write_corpus
from warehouse.faults import DiskFull, NoPermission, ReadOnly, fault_errno, guarded
from warehouse.lake import build_path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One warehouse for the module: every test's failed run must leave it as it is."""
    base = tmp_path_factory.mktemp("faults")
    raw, db = base / "raw", base / "wh.ducklake"
    write_corpus(raw, agencies=2, years=[2021])
    assert run_ingest(raw_dir=raw, db_path=db).success
    return raw, db


def _touch_a_report(raw: Path, tag: str) -> None:
    """New bytes for one report, so the next ingest has a year to load."""
    path = sorted((raw / "2021").glob("*.txt"))[0]
    path.write_bytes(path.read_bytes().rstrip(b"\n") + f"\n{tag}\n".encode())


def _cli(monkeypatch: pytest.MonkeyPatch, raw: Path, db: Path, *argv: str) -> int:
    monkeypatch.setenv("GONGKAI_RAW", str(raw))
    monkeypatch.setenv("GONGKAI_DB", str(db))
    return main(list(argv))


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    return line


def test_errno_is_found_in_duckdb_and_sqlite_messages() -> None:
    assert (
        fault_errno(duckdb.IOException('IO Error: Could not write file "x": No space left on device'))
        == errno.ENOSPC
    )
    assert fault_errno(sqlite3.OperationalError("database or disk is full")) == errno.ENOSPC
    assert fault_errno(OSError(errno.EROFS, "Read-only file system")) == errno.EROFS
    assert fault_errno(RuntimeError("wrapped")) is None
    quota = r"^disk quota exceeded at /q/x \(writing\): needs about 2\.0 KB"
    with pytest.raises(DiskFull, match=quota), guarded("writing", Path("/q/x"), needed=2048):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")


def test_build_copy_on_a_full_disk(
    loaded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    raw, db = loaded
    before = State.of(db)
    _touch_a_report(raw, "build")

    def half_a_copy(src: Path, dst: Path) -> None:
        Path(dst).write_bytes(Path(src).read_bytes()[:4096])  # what a full disk leaves
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(warehouse.publish.shutil, "copyfile", half_a_copy)
    assert _cli(monkeypatch, raw, db, "ingest") == 1
    line = _one_line(capsys)
    assert line.startswith(
        f"gongkai: no space left on device at {build_path(db)} (copying the catalog to a build catalog): needs about "
    )
    assert line.endswith("run again — the published warehouse is unchanged")
    before.assert_unchanged(db)


def test_load_on_a_full_disk(loaded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    raw, db = loaded
    before = State.of(db)
    _touch_a_report(raw, "load")
    real = warehouse.db.insert_frame

    def insert_then_fail(con: Any, table: str, frame: Any, **kw: Any) -> int:
        written = real(con, table, frame, **kw)  # a Parquet file is written, then the disk is full
        if table == "applications":
            raise duckdb.IOException('IO Error: Could not write file "x.parquet": No space left on device')
        return written

    monkeypatch.setattr(warehouse.db, "insert_frame", insert_then_fail)
    with pytest.raises(
        DiskFull,
        match=r"^no space left on device at .*wh\.ducklake\.files \(loading into the warehouse\): needs about",
    ):
        run_ingest(raw_dir=raw, db_path=db)
    before.assert_unchanged(db)


def test_publish_on_a_read_only_file_system(
    loaded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, db = loaded
    before = State.of(db)
    _touch_a_report(raw, "publish")

    def read_only(catalog: Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(catalog))

    monkeypatch.setattr(warehouse.publish, "keep_previous", read_only)
    with pytest.raises(ReadOnly) as caught:
        run_ingest(raw_dir=raw, db_path=db)
    assert str(caught.value) == (
        f"read-only file system at {db} (publishing the build catalog): remount it read-write, or point "
        "GONGKAI_DB at a writable folder, and run again — the published warehouse is unchanged"
    )
    before.assert_unchanged(db)


def test_parse_cache_without_permission(loaded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    raw, db = loaded
    before = State.of(db)
    _touch_a_report(raw, "cache")
    cache = db.with_name("wh.parse-cache.duckdb")

    def refused(path: Path | None) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(warehouse.parse_cache.ParseCache, "_open", staticmethod(refused))
    with pytest.raises(
        NoPermission,
        match=rf"^permission denied at {cache} \(opening the parse cache\): give user \w+ write access",
    ):
        run_ingest(raw_dir=raw, db_path=db)
    before.assert_unchanged(db)


def test_run_outputs_over_quota(loaded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    raw, db = loaded
    before = State.of(db)
    _touch_a_report(raw, "outputs")
    real = Path.write_bytes

    def over_quota(self: Path, data: bytes) -> int:
        if self.suffix == ".tmp" and "dagster_home" in self.parts:
            real(self, data[:10])
            raise OSError(errno.EDQUOT, "Disk quota exceeded", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", over_quota)
    with pytest.raises(
        DiskFull,
        match=r"^disk quota exceeded at .*dagster_home/io/raw_files/2021\.tmp \(storing a run output\)",
    ):
        run_ingest(raw_dir=raw, db_path=db)
    monkeypatch.undo()
    assert list((db.parent / "dagster_home").rglob("*.tmp")) == []
    before.assert_unchanged(db)


def test_dagster_instance_storage_full(
    loaded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw, db = loaded
    before = State.of(db)
    _touch_a_report(raw, "instance")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    import pipelines.ingest

    def full(_db: Path) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(pipelines.ingest, "open_instance", full)
    with pytest.raises(
        DiskFull,
        match=rf"^no space left on device at {tmp_path} \(recording the runs in Dagster's instance storage\)",
    ):
        run_ingest(raw_dir=raw, db_path=db)
    before.assert_unchanged(db)


@pytest.mark.parametrize("leave", [96 * 1024, 3 * 2**20])
def test_ingest_on_a_really_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, leave: int
) -> None:
    """A real tmpfs: a warehouse is loaded, the disk is filled, a changed year is ingested."""
    raw = tmp_path / "raw"
    write_corpus(raw, agencies=2, years=[2021, 2022])
    with tmpfs(tmp_path / "disk", "40m") as disk:
        db = disk / "wh.ducklake"
        assert _cli(monkeypatch, raw, db, "ingest") == 0
        capsys.readouterr()
        before = State.of(db)
        _touch_a_report(raw, "full")
        filler = fill(disk, leave)
        assert _cli(monkeypatch, raw, db, "ingest") == 1
        line = _one_line(capsys)
        assert line.startswith(f"gongkai: no space left on device at {disk}/"), line
        assert line.endswith("run again — the published warehouse is unchanged")
        before.assert_unchanged(db)
        assert list(disk.rglob("*.tmp")) == []
        filler.unlink()
        assert _cli(monkeypatch, raw, db, "ingest") == 0  # room again: the run goes through
        assert State.of(db).catalog != before.catalog


def test_export_on_a_full_and_a_read_only_disk(
    loaded: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: Any, tmp_path: Path
) -> None:
    raw, db = loaded
    with tmpfs(tmp_path / "small", "256k") as small:
        filler = fill(small, 8192)
        out = small / "applications.csv"
        assert _cli(monkeypatch, raw, db, "export", "applications", "--format", "csv", "--out", str(out)) == 1
        line = _one_line(capsys)
        assert line.startswith(
            f"gongkai: no space left on device at {out} (writing the export): needs about "
        )
        assert list(small.iterdir()) == [filler]  # no partial file
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as ro:
        out = ro / "applications.parquet"
        assert (
            _cli(monkeypatch, raw, db, "export", "applications", "--format", "parquet", "--out", str(out))
            == 1
        )
        assert _one_line(capsys).startswith(f"gongkai: read-only file system at {ro}/")
