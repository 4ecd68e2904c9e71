"""Promise 4: an unreadable file is quarantined (rejected, with its reason, left in place); a
loaded report whose file turns unreadable keeps its last good facts until a good version arrives."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest import run_ingest
from synth.corpus import write_corpus
from warehouse.db import query


def _rows(db: Path, path: str) -> list[tuple]:
    return query(
        db,
        "SELECT status, error, warnings, sha256 FROM reports WHERE source_path = ? ORDER BY status = 'rejected'",
        [path],
    )


def _facts(db: Path, path: str) -> int:
    return query(
        db,
        "SELECT count(*) FROM applications a JOIN reports r USING (report_id) WHERE r.source_path = ?",
        [path],
    )[0][0]


def test_unreadable_file_is_quarantined_then_loaded_when_fixed(tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "wh.duckdb"
    written = write_corpus(raw, agencies=2, years=[2021])
    good = written[0][0].read_bytes()
    bad = raw / "2021" / "broken.txt"
    bad.write_bytes(b"\x00\x01 not a report at all")
    assert run_ingest(raw_dir=raw, db_path=db).years[2021].rejected == 1
    [(status, error, _, _)] = _rows(db, "2021/broken.txt")
    assert status == "rejected" and error
    assert bad.read_bytes() == b"\x00\x01 not a report at all"  # left in place
    assert _facts(db, "2021/broken.txt") == 0

    # Fixed (new bytes, new sha256): loaded on the next run, the rejected row is gone.
    written[0][0].unlink()
    bad.write_bytes(good)
    run_ingest(raw_dir=raw, db_path=db)
    assert [r[0] for r in _rows(db, "2021/broken.txt")] in (["ok"], ["warning"])
    assert _facts(db, "2021/broken.txt") > 0


def test_loaded_report_that_turns_unreadable_keeps_its_facts(tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "wh.duckdb"
    written = write_corpus(raw, agencies=2, years=[2021])
    path = written[0][0]
    rel = path.relative_to(raw).as_posix()
    good = path.read_bytes()
    assert run_ingest(raw_dir=raw, db_path=db).success
    [(status, _, _, sha)] = _rows(db, rel)
    facts = _facts(db, rel)
    assert status in ("ok", "warning") and facts > 0

    path.write_bytes(b"\x00garbage")  # same path, new bytes, unreadable
    for _ in range(2):  # and the same again next run: still kept, the note not repeated
        run_ingest(raw_dir=raw, db_path=db)
        rows = _rows(db, rel)
        assert [r[0] for r in rows] == [status, "rejected"]
        kept, rejected = rows
        assert kept[3] == sha and rejected[1]
        assert kept[2].count("newer version is unreadable") == 1
        assert rejected[1] in kept[2] and f"sha256 {sha[:12]}" in kept[2]
        assert _facts(db, rel) == facts

    path.write_bytes(good + b"\n")  # a good version (new sha256) replaces it
    run_ingest(raw_dir=raw, db_path=db)
    rows = _rows(db, rel)
    assert len(rows) == 1 and rows[0][0] in ("ok", "warning") and rows[0][3] != sha
    assert "unreadable" not in (rows[0][2] or "")
    assert _facts(db, rel) == facts
