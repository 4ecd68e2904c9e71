"""Files changing under a run: deleted or cut short between the scan and the read, a year folder
removed mid-run, the raw folder on a share that goes away. The files are reported, and no year
loses its previous facts because its files could not be read.

The fault is injected right after a year's scan (``assets.ingest.scan_hashed``), where the run
has listed and hashed the files and the extraction workers have not read them yet.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import assets.ingest
from pipelines.ingest import run_ingest
from synth.corpus import write_corpus
from warehouse.db import table_checksums
from warehouse.frames import FACT_TABLES


def _after_scan(monkeypatch: pytest.MonkeyPatch, year: int, action: Callable[[], None]) -> None:
    real = assets.ingest.scan_hashed

    def scan_then_act(raw: Path, scanned: int, *args: Any, **kwargs: Any) -> Any:
        result = real(raw, scanned, *args, **kwargs)
        if scanned == year:
            action()
        return result

    monkeypatch.setattr(assets.ingest, "scan_hashed", scan_then_act)


def _loaded(tmp_path: Path) -> tuple[Path, Path, dict[str, tuple[int, str]]]:
    raw, db = tmp_path / "raw", tmp_path / "wh.ducklake"
    write_corpus(raw, agencies=2, years=[2021, 2022])
    assert run_ingest(raw_dir=raw, db_path=db).success
    return raw, db, table_checksums(db, FACT_TABLES)


def _edit(path: Path) -> bytes:
    """New bytes (a later version of the report): the next run must read the file."""
    data = path.read_bytes().rstrip(b"\n") + b"\nrevised\n"
    path.write_bytes(data)
    return data


def test_a_file_deleted_between_the_scan_and_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, db, facts = _loaded(tmp_path)
    victim = sorted((raw / "2021").glob("*.txt"))[0]
    _edit(victim)
    _after_scan(monkeypatch, 2021, victim.unlink)
    summary = run_ingest(raw_dir=raw, db_path=db, years=[2021])
    rel = victim.relative_to(raw).as_posix()
    assert summary.years[2021].problems == [
        f"{rel}: could not be read any more during the run (deleted, moved or on a share that went away?)"
    ]
    [(path, reason)] = summary.years[2021].rejected_files
    assert (
        path,
        reason.startswith("cannot read file: No such file or directory (listed when the run started"),
    ) == (
        rel,
        True,
    )
    assert table_checksums(db, FACT_TABLES) == facts  # its last good facts are kept


def test_a_file_cut_short_between_the_scan_and_the_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, db, facts = _loaded(tmp_path)
    victim = sorted((raw / "2021").glob("*.txt"))[0]
    data = _edit(victim)
    _after_scan(monkeypatch, 2021, lambda: victim.write_bytes(data[: len(data) // 3]))
    summary = run_ingest(raw_dir=raw, db_path=db, years=[2021])
    rel = victim.relative_to(raw).as_posix()
    assert summary.years[2021].problems == [
        f"{rel}: changed while the run read it ({len(data)} bytes at the scan, {len(data) // 3} when read); "
        "loaded as read — run again once it is complete"
    ]
    assert [p for p, _r in summary.years[2021].rejected_files] == [rel]  # a third of a report
    assert table_checksums(db, FACT_TABLES) == facts  # the last good version's facts stay


def test_a_year_folder_removed_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw, db, facts = _loaded(tmp_path)
    for year in (2021, 2022):
        _edit(sorted((raw / str(year)).glob("*.txt"))[0])
    _after_scan(monkeypatch, 2021, lambda: shutil.move(raw / "2022", tmp_path / "2022-moved"))
    summary = run_ingest(raw_dir=raw, db_path=db)
    assert summary.years[2021].loaded and not summary.years[2022].loaded
    assert summary.errors == [
        f"2022 raw_files: {raw / '2022'} disappeared during the ingest (moved, deleted, or its share went "
        "away): 2022 not loaded, its facts in the warehouse are kept; run again when it is back"
    ]
    after = table_checksums(db, FACT_TABLES)
    with_2022 = {t: n for t, (n, _) in after.items()}
    assert with_2022 == {t: n for t, (n, _) in facts.items()}  # 2022's rows all there


def test_the_raw_folder_on_a_share_that_goes_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw, db, facts = _loaded(tmp_path)
    for year in (2021, 2022):
        _edit(sorted((raw / str(year)).glob("*.txt"))[0])
    away = tmp_path / "unmounted"
    _after_scan(monkeypatch, 2021, lambda: raw.rename(away))
    summary = run_ingest(raw_dir=raw, db_path=db)
    assert not summary.success
    assert len(summary.years[2021].rejected_files) == 1  # the edited file could not be read
    assert summary.errors == [
        f"2022 raw_files: raw folder {raw} does not exist (set GONGKAI_RAW or the paths resource)"
    ]
    assert table_checksums(db, FACT_TABLES) == facts  # no year lost a fact
    away.rename(raw)  # the share is back: the next run loads both years
    monkeypatch.undo()
    assert run_ingest(raw_dir=raw, db_path=db).success
