"""Read-ahead (assets.readahead): in an ingest of several years the workers parse the next year
while one is staged and loaded. It must store exactly what an ingest without it stores, and a
file that changes after it was read ahead must be parsed again, never stored as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_warehouse_reports import report_text, write_raw

import assets.readahead as readahead
from extract.api import extract_bytes
from pipelines.ingest import run_ingest
from warehouse.db import query

AGENCIES = ["甲市教育局", "甲市民政局", "甲市财政局", "甲市林业局"]
YEARS = (2020, 2021, 2022)
FACTS = ("applications", "proactive", "appeals", "checks", "cell_flags")


def _corpus(raw: Path) -> None:
    for n, year in enumerate(YEARS):
        write_raw(raw, year, AGENCIES, seed=10 * n)


def _facts(db: Path) -> dict[str, list[Any]]:
    """Every fact row of every table, sorted (no timestamps in fact tables)."""
    return {t: sorted(map(tuple, query(db, f"SELECT * FROM {t}")), key=repr) for t in FACTS}


def test_reading_ahead_stores_what_a_plain_ingest_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    _corpus(raw)
    ahead = run_ingest(raw_dir=raw, db_path=tmp_path / "a" / "wh.ducklake")
    assert ahead.success, ahead.errors
    # Every file of 2021 and 2022 was parsed while the year before it was staged and loaded.
    assert ahead.read_ahead == 2 * len(AGENCIES)
    monkeypatch.setattr(readahead, "READ_AHEAD_FILES", 0)
    plain = run_ingest(raw_dir=raw, db_path=tmp_path / "b" / "wh.ducklake")
    assert plain.success and plain.read_ahead == 0
    got, expected = _facts(tmp_path / "a" / "wh.ducklake"), _facts(tmp_path / "b" / "wh.ducklake")
    assert {t: len(rows) for t, rows in got.items()} == {t: len(rows) for t, rows in expected.items()}
    assert got == expected


def test_one_year_reads_nothing_ahead(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_raw(raw, 2022, AGENCIES)
    summary = run_ingest(raw_dir=raw, db_path=tmp_path / "wh.ducklake")
    assert summary.success and summary.read_ahead == 0


def test_a_file_changed_after_it_was_read_ahead_is_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    _corpus(raw)
    changed = raw / "2021" / f"{AGENCIES[1]}_2021.txt"
    new_text = report_text(AGENCIES[1], 2021, seed=77)
    original_after = readahead.ReadAhead.after

    def after_then_edit(self: readahead.ReadAhead, year: int, cache: Any) -> int:
        queued = original_after(self, year, cache)
        if year == 2020:  # 2021's files are queued: let them be parsed, then change one
            for entry in list(self._queued.values()):
                entry.future.result(timeout=120)
            changed.write_text(new_text, encoding="utf-8")
        return queued

    monkeypatch.setattr(readahead.ReadAhead, "after", after_then_edit)
    summary = run_ingest(raw_dir=raw, db_path=tmp_path / "wh.ducklake")
    assert summary.success, summary.errors
    assert summary.read_ahead == 2 * len(AGENCIES) - 1  # the changed one was parsed again
    report = extract_bytes(new_text.encode(), changed.name, folder_year=2021)
    expected = sorted((a["category"], a["applicant_type"], a["count"]) for a in report.applications)
    stored = query(
        tmp_path / "wh.ducklake",
        "SELECT category, applicant_type, count FROM applications JOIN reports USING (report_id) "
        "WHERE source_path = ? ORDER BY ALL",
        ["2021/" + changed.name],
    )
    assert [tuple(r) for r in stored] == expected
