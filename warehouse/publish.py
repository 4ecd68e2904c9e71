"""One writer at a time, writing to a build catalog that is published by one rename.

- ``writer_lock``: an exclusive ``fcntl.flock`` on ``<db dir>/.<db name>.lock`` held for a whole
  ingest. A second ingest waits (and says who it is waiting for); the kernel drops the lock when
  its holder dies, so a killed run never leaves a lock behind.
- ``warehouse_build``: every write goes to ``<db dir>/.<db name>.build``, a fresh copy of the
  published *catalog* (a few MB: table and file lists, snapshots) made at the start; new data
  goes into new Parquet files beside the published ones, which no published snapshot lists yet.
  When the run finishes the build catalog is CHECKPOINTed, closed and ``os.replace``-d onto the
  published one: readers never wait for a writer, see either the old warehouse or the new one,
  and a run killed at any moment publishes nothing (its unlisted files are swept later,
  ``warehouse.maintenance``). No data file is copied or rewritten to publish.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.db import connect
from warehouse.faults import MachineFault, guarded, remove_quietly
from warehouse.filelock import exclusive_lock
from warehouse.health import keep_previous
from warehouse.lake import build_path, data_path
from warehouse.maintenance import maintain

_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
_guard = threading.Lock()
_held: dict[Path, int] = {}  # lock path → nesting depth in this process (run_ingest → asset)
_builds: dict[Path, Path] = {}  # published path → build path of the session open in this process


def lock_path(db: Path) -> Path:
    return db.parent / f".{db.name}.lock"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _key(path: Path) -> Path:
    return path.absolute()


@contextmanager
def writer_lock(db: Path, say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock; re-entrant within one process."""
    path = _key(lock_path(db))
    with _guard:
        if _held.get(path):
            _held[path] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _guard:
                _held[path] -= 1
        return

    def say_holder(fd: int) -> None:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "pid ?, started ?"
        (say or (lambda _m: None))(f"another ingest ({holder}) holds the warehouse; waiting…")

    with exclusive_lock(path, say_holder) as fd:
        os.ftruncate(fd, 0)
        os.pwrite(
            fd, f"pid {os.getpid()}, started {datetime.now().isoformat(timespec='seconds')}".encode(), 0
        )
        with _guard:
            _held[path] = 1
        try:
            yield
        finally:
            with _guard:
                _held.pop(path, None)
            os.ftruncate(fd, 0)


def lock_holder(db: Path) -> str | None:
    """``pid N, started T`` of the ingest holding the writer lock now, or None when it is free.

    Probes with a non-blocking ``flock`` taken and dropped at once, on a read-only descriptor:
    the lock file is never created or written here."""
    try:
        fd = os.open(lock_path(db), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "pid ?, started ?"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _data_files(db: Path) -> set[Path]:
    folder = data_path(db)
    return set(folder.rglob("*.parquet")) if folder.is_dir() else set()


def _start_build(db: Path) -> Path:
    build = build_path(db)
    for stale in (build, _wal(build)):  # left by a killed run: never reused
        stale.unlink(missing_ok=True)
    if _wal(db).exists():  # a published file with a WAL (written in place by an older version)
        con = duckdb.connect(str(db), config=_CONFIG)
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
    if db.exists():
        # The catalog only (data files are shared, never copied); then expired snapshots and
        # unneeded files go with this run. A full disk here leaves no partial build behind.
        with guarded(
            "copying the catalog to a build catalog",
            build,
            needed=2 * db.stat().st_size,
            cleanup=[build, _wal(build)],
        ):
            shutil.copyfile(db, build)
            with connect(build) as con:
                maintain(con)
    return build


def publish(build: Path, db: Path) -> None:
    """CHECKPOINT and close the build catalog, then atomically put it in place of ``db``.

    The catalog is a plain DuckDB file: it is checkpointed as one, without the DuckLake
    extension (whose CHECKPOINT would also run lake maintenance)."""
    wal = _wal(build)
    needed = wal.stat().st_size if wal.exists() else None
    # A fault here (the checkpoint writes the WAL into the catalog) discards the build: the
    # published catalog is only ever replaced whole, by the rename at the end.
    with guarded("publishing the build catalog", build, needed=needed, cleanup=[build, wal]):
        con = duckdb.connect(str(build), config=_CONFIG)
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()
        fd = os.open(build, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        wal.unlink(missing_ok=True)  # empty after the checkpoint; must not follow the file
        keep_previous(db)  # the last good state, for `gongkai ingest` to fall back on
        os.replace(build, db)
        _fsync_dir(db.parent)


def current_build(db: Path) -> Path | None:
    """The build catalog a session in this process is writing for ``db``, or None: a step that
    reads the warehouse after the load inside ``run_ingest`` (the report) must read what the run
    wrote, which is published only when the whole ingest ends."""
    with _guard:
        return _builds.get(_key(db))


@contextmanager
def warehouse_build(db: Path, say: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Yield the path to write to; publish it onto ``db`` when the block ends without error.

    Nested sessions (the warehouse_year asset inside ``run_ingest``) share the outer build
    catalog, which the outer session publishes once.
    """
    key = _key(db)
    with _guard:
        outer = _builds.get(key)
    if outer is not None:
        yield outer
        return
    with writer_lock(db, say):
        db.parent.mkdir(parents=True, exist_ok=True)
        before = _data_files(db)
        build = _start_build(db)
        with _guard:
            _builds[key] = build
        try:
            yield build
            with _guard:
                _builds.pop(key, None)
            if build.exists():
                publish(build, db)
        except BaseException as exc:
            with _guard:
                _builds.pop(key, None)
            for path in (build, _wal(build)):
                path.unlink(missing_ok=True)
            if isinstance(exc, MachineFault):
                # The disk is full or refuses writes: the Parquet files this run wrote (listed
                # by no published catalog) go now, not a day later.
                remove_quietly(sorted(_data_files(db) - before))
            raise
