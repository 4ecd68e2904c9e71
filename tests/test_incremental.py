"""Incremental runs give the warehouse a full rebuild would give, while reading and writing only
what changed: files parsed once, untouched years skipped, unchanged reports' facts kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_warehouse_db import _item
from test_warehouse_reports import write_raw

from assets.resources import GongkaiPaths
from pipelines.ingest import run_ingest
from synth.corpus import write_corpus
from warehouse import db
from warehouse.frames import build_frames

# Everything a load writes, with the columns that record *when* left out.
_CONTENT = {
    "reports": "SELECT * EXCLUDE (ingested_at) FROM reports",
    **{t: f"SELECT * FROM {t}" for t in ("applications", "proactive", "appeals", "checks")},
    **{t: f"SELECT * FROM {t}" for t in ("agencies", "agency_aliases", "agency_reports")},
    "agency_reports": "SELECT * EXCLUDE (ingested_at) FROM agency_reports",
    **{t: f"SELECT * FROM {t}" for t in ("agency_year_metrics", "group_year_metrics", "agency_rankings")},
    "loads": "SELECT year, fingerprint, stat_fingerprint, files FROM loads",
}


def _content(path: Path) -> dict[str, tuple[int, str]]:
    with db.connect(path, read_only=True) as con:
        return {
            name: con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR), '')) FROM ({sql}) AS t"
            ).fetchone()  # type: ignore[misc]
            for name, sql in _CONTENT.items()
        }


def test_an_incremental_run_equals_a_full_rebuild(tmp_path: Path) -> None:
    raw, wh = tmp_path / "raw", tmp_path / "wh.ducklake"
    write_corpus(raw, agencies=4, years=[2021, 2022, 2023], seed=3)
    first = run_ingest(raw_dir=raw, db_path=wh)
    assert first.success and sum(y.parsed for y in first.years.values()) == 12

    # 2021: untouched. 2022: one new file, one file gone, one file edited. 2023: touched only.
    write_raw(raw, 2022, ["新来的局"], seed=8)
    gone = sorted((raw / "2022").glob("synth_*"))[0]
    gone.unlink()
    edited = sorted((raw / "2022").glob("synth_*"))[0]
    edited.write_bytes(edited.read_bytes() + "\n本报告如有疑问请来电。\n".encode())
    touched = sorted((raw / "2023").glob("synth_*"))[0]
    touched.touch()

    again = run_ingest(raw_dir=raw, db_path=wh)
    assert again.success
    y2021, y2022, y2023 = (again.years[y] for y in (2021, 2022, 2023))
    assert y2021.up_to_date and y2021.parsed == 0 and not y2021.loaded
    # Touched: same bytes, so nothing parsed and every fact kept; the rows record the new mtime.
    assert y2023.loaded and y2023.parsed == 0 and y2023.kept_as_stored == 4
    assert y2022.loaded and y2022.parsed == 2  # the new and the edited file, nothing else
    assert y2022.changes.as_dict() == {"new": 1, "changed": 1, "unchanged": 2, "gone": 1}

    fresh = tmp_path / "fresh.ducklake"
    assert run_ingest(raw_dir=raw, db_path=fresh).success
    assert _content(wh) == _content(fresh)

    # Same agencies, one report edited: only that agency's mart rows are computed again.
    edited_2021 = sorted((raw / "2021").glob("synth_*"))[1]
    edited_2021.write_bytes(edited_2021.read_bytes() + "\n（完）\n".encode())
    third = run_ingest(raw_dir=raw, db_path=wh)
    assert third.years[2021].loaded and third.years[2021].parsed == 1
    fresh2 = tmp_path / "fresh2.ducklake"
    assert run_ingest(raw_dir=raw, db_path=fresh2).success
    assert _content(wh) == _content(fresh2)


def test_only_changed_reports_have_their_facts_rewritten(tmp_path: Path) -> None:
    raw, wh = tmp_path / "raw", tmp_path / "wh.ducklake"
    write_raw(raw, 2022, ["甲局", "乙局", "丙局"], seed=1)
    assert run_ingest(raw_dir=raw, db_path=wh).success
    write_raw(raw, 2022, ["丁局"], seed=4)
    summary = run_ingest(raw_dir=raw, db_path=wh)
    assert summary.years[2022].parsed == 1
    # Every report row is written again, the facts of the new report only.
    assert summary.years[2022].kept_as_stored == 3
    staged_dir = GongkaiPaths(raw_dir=str(raw), db_path=str(wh)).io_dir / "staged" / "2022"
    assert not any(staged_dir.glob("*.parquet"))  # published: the staged copies are gone
    with db.connect(wh, read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT report_id) FROM applications").fetchone()[0] == 4  # type: ignore[index]
        assert con.execute("SELECT count(*) FROM applications").fetchone()[0] == 4 * 175  # type: ignore[index]


def test_a_partial_load_refuses_frames_that_miss_facts(tmp_path: Path) -> None:
    wh = tmp_path / "wh.ducklake"
    first = [_item("甲局", 2022, {}), _item("乙局", 2022, {})]
    db.load_year(wh, 2022, build_frames(first))
    # A new report whose facts the frames leave out: the stored state cannot supply them.
    frames = build_frames([*first, _item("丙局", 2022, {})])
    frames.tables["applications"] = frames["applications"].filter(frames["applications"]["agency"] != "丙局")
    before = db.table_checksums(wh)
    with pytest.raises(db.StaleFrames, match="1 reports have no facts"):
        db.load_year(
            wh, 2022, frames, keep_facts_of={r for (r,) in db.query(wh, "SELECT report_id FROM reports")}
        )
    assert db.table_checksums(wh) == before


def test_parse_cache_survives_and_is_disposable(tmp_path: Path) -> None:
    raw, wh = tmp_path / "raw", tmp_path / "wh.ducklake"
    write_raw(raw, 2022, ["甲局", "乙局"], seed=2)
    assert run_ingest(raw_dir=raw, db_path=wh).success
    cache = wh.with_name("wh.parse-cache.duckdb")
    assert cache.is_file()
    # --force reloads the year but parses nothing: the cache has every file.
    forced = run_ingest(raw_dir=raw, db_path=wh, force=True)
    assert forced.years[2022].loaded and forced.years[2022].parsed == 0
    # Without the cache (deleted, or damaged) every file is parsed again, same result.
    before = _content(wh)
    cache.unlink()
    cache.write_bytes(b"not a database")
    again = run_ingest(raw_dir=raw, db_path=wh, force=True)
    assert again.years[2022].parsed == 2 and _content(wh) == before
    shutil.rmtree(tmp_path / "raw" / "2022")


def test_the_same_bytes_twice_in_a_new_year_load_once(tmp_path: Path) -> None:
    raw, wh = tmp_path / "raw", tmp_path / "wh.ducklake"
    first, _second = write_raw(raw, 2022, ["甲局", "乙局"], seed=5)
    shutil.copy(first, raw / "2022" / "copy.txt")  # parsed in the same run as its original
    summary = run_ingest(raw_dir=raw, db_path=wh)
    assert summary.success, summary.errors
    assert summary.years[2022].parsed == 2 and len(summary.years[2022].duplicates) == 1
    with db.connect(wh, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM applications").fetchone()[0] == 2 * 175  # type: ignore[index]


def test_an_agency_directory_edit_reloads_like_a_rebuild(tmp_path: Path) -> None:
    raw, wh = tmp_path / "raw", tmp_path / "wh.ducklake"
    write_raw(raw, 2021, ["甲局", "乙局", "乙局办公室"], seed=1)
    write_raw(raw, 2022, ["甲局", "乙局"], seed=2)
    agencies = tmp_path / "agencies.csv"  # beside the raw folder: the default directory
    agencies.write_text("agency,aliases,region,level\n甲局,,某省/某市,\n", encoding="utf-8")
    assert run_ingest(raw_dir=raw, db_path=wh).success
    # A new region for 甲局, and 乙局办公室 declared another name of 乙局.
    agencies.write_text(
        "agency,aliases,region,level\n甲局,,某省/另一市/某县,\n乙局,乙局办公室,某省,\n", encoding="utf-8"
    )
    again = run_ingest(raw_dir=raw, db_path=wh)
    assert again.success and all(y.loaded and y.parsed == 0 for y in again.years.values())
    fresh = tmp_path / "fresh" / "wh.ducklake"  # the same raw folder, so the same agencies.csv
    assert run_ingest(raw_dir=raw, db_path=fresh).success
    assert _content(wh) == _content(fresh)
    with db.connect(wh, read_only=True) as con:
        assert con.execute(
            "SELECT DISTINCT region FROM agency_year_metrics WHERE agency = '甲局'"
        ).fetchall() == [("某省/另一市/某县",)]
