"""Helpers of the machine-fault tests: a small tmpfs, a warehouse to break, its state to compare."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from warehouse.lake import build_path, data_path


@contextmanager
def tmpfs(folder: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (a real full disk / read-only file system);
    skips the test where mounting is not permitted (not root, no CAP_SYS_ADMIN)."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    import shutil

    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free
    with filler.open("wb") as f:
        remaining = max(0, free - leave)
        chunk = b"\0" * 2**20
        while remaining > 0:
            n = min(len(chunk), remaining)
            try:
                f.write(chunk[:n])
                f.flush()
            except OSError:
                break
            remaining -= n
    return filler


@dataclass(frozen=True)
class State:
    """What must not change when a run fails: the published catalog's bytes and the data files."""

    catalog: bytes
    files: frozenset[Path]

    @classmethod
    def of(cls, db: Path) -> State:
        folder = data_path(db)
        return cls(db.read_bytes(), frozenset(folder.rglob("*.parquet")))

    def assert_unchanged(self, db: Path) -> None:
        now = State.of(db)
        assert now.catalog == self.catalog, "the published catalog changed"
        assert sorted(now.files - self.files) == [], "the failed run left Parquet files"
        assert (
            not build_path(db).exists()
            and not build_path(db).with_name(build_path(db).name + ".wal").exists()
        )
