"""Every null explained (cell_flags) and correctable by a person (data/corrections.csv)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from pipelines.ingest import run_ingest
from schemas.taxonomy import CELL_TABLES
from synth.model import random_report
from synth.render import render
from warehouse import db
from warehouse.corrections import CorrectionsFileError, read_corrections

HEADER = "file,sha256,table,row,column,value,override,note,who\n"


def _raw(tmp_path: Path) -> tuple[Path, Path, dict[str, object]]:
    """Two reports of 2022: one with four cells printed blank or as a dash, one complete."""
    raw = tmp_path / "raw"
    (raw / "2022").mkdir(parents=True)
    blanked = random_report(random.Random(5), agency="测试市甲局", year=2022, blank_cells=4)
    whole = random_report(random.Random(6), agency="测试市乙局", year=2022)
    (raw / "2022" / "甲局.txt").write_bytes(render(blanked, "text/cells", random.Random(1)))
    (raw / "2022" / "乙局.txt").write_bytes(render(whole, "text/cells", random.Random(2)))
    return raw, tmp_path / "wh.ducklake", {"blanked": blanked, "whole": whole}


def _nulls(report: object) -> set[tuple[str, str, str]]:
    out = set()
    for table, cells in (
        ("applications", report.applications),  # type: ignore[attr-defined]
        ("proactive", report.proactive),  # type: ignore[attr-defined]
        ("appeals", report.appeals),  # type: ignore[attr-defined]
    ):
        out |= {(table, r, c) for (r, c), v in cells.items() if v is None}
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_null_fact_has_its_flag(tmp_path: Path) -> None:
    raw, wh, reports = _raw(tmp_path)
    assert run_ingest(raw_dir=raw, db_path=wh).success
    flags = db.query(
        wh,
        "SELECT r.agency, f.table_name, f.row_code, f.column_code, f.kind FROM cell_flags f "
        "JOIN reports r USING (report_id) ORDER BY ALL",
    )
    assert {(t, r, c) for a, t, r, c, _k in flags if a == "测试市甲局"} == _nulls(reports["blanked"])
    assert len(_nulls(reports["blanked"])) == 4
    assert {k for *_x, k in flags} <= {"blank", "dash"}
    assert not [f for f in flags if f[0] == "测试市乙局"]
    # One row per null fact, and no flag on a fact that has a value.
    unexplained = db.query(
        wh,
        "SELECT count(*) FROM applications a LEFT JOIN cell_flags f ON f.report_id = a.report_id "
        "AND f.table_name = 'applications' AND f.row_code = a.category AND f.column_code = a.applicant_type "
        "WHERE (a.count IS NULL) <> (f.kind IS NOT NULL)",
    )
    assert unexplained == [(0,)]
    assert db.query(wh, "SELECT sum(null_cells) FROM reports") == [(4,)]


def test_a_correction_fills_a_null_and_is_kept_with_the_printed_value(tmp_path: Path) -> None:
    raw, wh, reports = _raw(tmp_path)
    assert run_ingest(raw_dir=raw, db_path=wh).success
    table, row, column = sorted(_nulls(reports["blanked"]))[0]
    [(kind,)] = db.query(
        wh, "SELECT kind FROM cell_flags WHERE row_code = ? AND column_code = ?", [row, column]
    )
    sha = _sha(raw / "2022" / "甲局.txt")
    csv = raw.parent / "corrections.csv"
    csv.write_text(
        HEADER + f"2022/甲局.txt,{sha[:16]},{table},{row},{column},7,,seen in the PDF,lin\n", "utf-8"
    )

    again = run_ingest(raw_dir=raw, db_path=wh)
    assert again.success and again.years[2022].loaded and again.years[2022].parsed == 0
    assert again.years[2022].corrections == {"applied": 1}  # the run's Dagster metadata
    assert again.corrections == {"applied": 1}  # what the warehouse holds
    key_cols, value_col = CELL_TABLES[table]
    got = db.query(
        wh,
        f"SELECT {value_col} FROM {table} WHERE agency = '测试市甲局' AND {key_cols[0]} = ? AND {key_cols[1]} = ?",
        [row, column],
    )
    assert got == [(7,)]
    assert db.query(
        wh,
        "SELECT row_code, column_code, printed_value, printed_kind, corrected_value, status, note, who, line "
        "FROM corrections",
    ) == [(row, column, None, kind, 7.0, "applied", "seen in the PDF", "lin", 2)]
    # The flag is gone (the fact has a value); the report says it was corrected by hand.
    assert db.query(
        wh, "SELECT count(*) FROM cell_flags WHERE row_code = ? AND column_code = ?", [row, column]
    ) == [(0,)]
    (warnings, nulls) = db.query(wh, "SELECT warnings, null_cells FROM reports WHERE agency = '测试市甲局'")[
        0
    ]
    assert "corrected by hand (corrections.csv)" in warnings and nulls == 3

    # Removing the line restores the printed null: the warehouse is what a full rebuild gives.
    csv.write_text(HEADER, "utf-8")
    assert run_ingest(raw_dir=raw, db_path=wh).success
    assert db.query(wh, "SELECT count(*) FROM corrections") == [(0,)]
    assert db.query(wh, "SELECT sum(null_cells) FROM reports") == [(4,)]


def test_a_cell_read_without_doubt_needs_override_and_a_sha256(tmp_path: Path) -> None:
    raw, wh, reports = _raw(tmp_path)
    sha = _sha(raw / "2022" / "乙局.txt")
    whole = reports["whole"]
    printed = whole.applications[("new_received", "total")]  # type: ignore[attr-defined]
    (raw.parent / "corrections.csv").write_text(
        HEADER
        + f"2022/乙局.txt,,applications,new_received,total,{printed + 1},,no override,a\n"
        + f"2022/乙局.txt,,applications,new_received,natural_person,{printed + 1},override,path only,b\n",
        "utf-8",
    )
    assert run_ingest(raw_dir=raw, db_path=wh).success
    assert db.query(
        wh, "SELECT line, status, printed_value, printed_kind FROM corrections ORDER BY line"
    ) == [
        (2, "needs_override", float(printed), "read"),
        (3, "needs_override", float(whole.applications[("new_received", "natural_person")]), "read"),  # type: ignore[attr-defined]
    ]
    assert db.query(
        wh,
        "SELECT count FROM applications WHERE agency = '测试市乙局' AND category = 'new_received' AND applicant_type = 'total'",
    ) == [(printed,)]

    # With override and the file's sha256 it applies, and the identities are checked again:
    # new_received + carried_over = total_processed + carried_forward now fails for 总计.
    (raw.parent / "corrections.csv").write_text(
        HEADER
        + f"2022/乙局.txt,{sha},applications,new_received,total,{printed + 1},override,typo in PDF,a\n",
        "utf-8",
    )
    assert run_ingest(raw_dir=raw, db_path=wh).success
    assert db.query(wh, "SELECT status, printed_value, corrected_value FROM corrections") == [
        ("applied", float(printed), float(printed + 1))
    ]
    assert db.query(
        wh,
        "SELECT c.passed FROM checks c JOIN reports r USING (report_id) "
        "WHERE r.agency = '测试市乙局' AND c.rule = 'A' AND c.subject = 'total'",
    ) == [(False,)]
    assert db.query(wh, "SELECT status FROM reports WHERE agency = '测试市乙局'") == [("warning",)]


def test_a_correction_of_a_changed_file_is_stale(tmp_path: Path) -> None:
    raw, wh, reports = _raw(tmp_path)
    path = raw / "2022" / "甲局.txt"
    old_sha = _sha(path)
    table, row, column = sorted(_nulls(reports["blanked"]))[0]
    (raw.parent / "corrections.csv").write_text(
        HEADER + f"2022/甲局.txt,{old_sha},{table},{row},{column},7,,,\n", "utf-8"
    )
    path.write_bytes(path.read_bytes() + "\n（完）\n".encode())  # a new version of the report
    assert run_ingest(raw_dir=raw, db_path=wh).success
    assert db.query(wh, "SELECT status, reason LIKE '%changed%' FROM corrections") == [("stale", True)]
    assert db.query(
        wh, "SELECT count(*) FROM cell_flags WHERE row_code = ? AND column_code = ?", [row, column]
    ) == [(1,)]


def test_bad_lines_are_reported_not_applied(tmp_path: Path) -> None:
    raw, wh, reports = _raw(tmp_path)
    table, row, column = sorted(_nulls(reports["blanked"]))[0]
    (raw.parent / "corrections.csv").write_text(
        HEADER
        + f"2022/甲局.txt,,{table},{row},{column},seven,,,\n"
        + f"2022/甲局.txt,,{table},no_such_row,{column},7,,,\n"
        + f"2022/nobody.txt,,{table},{row},{column},7,,,\n",
        "utf-8",
    )
    result = run_ingest(raw_dir=raw, db_path=wh)
    assert result.success
    assert db.query(wh, "SELECT line, status FROM corrections ORDER BY line") == [
        (2, "unknown_cell"),
        (3, "unknown_cell"),
    ]
    assert result.warnings == ["corrections.csv line 4: names no loaded report (2022/nobody.txt)"]


def test_a_corrections_file_without_its_columns_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "corrections.csv"
    path.write_text("path,cell,value\n", "utf-8")
    with pytest.raises(CorrectionsFileError, match="the header lacks table, row, column"):
        read_corrections(path)
    assert read_corrections(tmp_path / "absent.csv") == []


def test_an_unreadable_corrections_file_stops_the_ingest_in_one_line(tmp_path: Path) -> None:
    raw, wh, _reports = _raw(tmp_path)
    assert run_ingest(raw_dir=raw, db_path=wh).success
    before = db.query(wh, "SELECT count(*), sum(null_cells) FROM reports")
    (raw.parent / "corrections.csv").write_text("path,cell\n", "utf-8")
    (raw / "2022" / "丙局.txt").write_bytes((raw / "2022" / "乙局.txt").read_bytes() + b"\n")
    result = run_ingest(raw_dir=raw, db_path=wh)
    assert not result.success and not result.run_ids  # no run started
    assert result.errors == [
        f"{raw.parent / 'corrections.csv'}: the header lacks table, row, column, value "
        "(columns: file, sha256, table, row, column, value, override, note, who); "
        "nothing was loaded, the warehouse is as it was"
    ]
    assert db.query(wh, "SELECT count(*), sum(null_cells) FROM reports") == before


def test_two_lines_for_one_cell_never_pick_a_value_silently(tmp_path: Path) -> None:
    raw, wh, reports = _raw(tmp_path)
    (table, row, column), (table2, row2, column2) = sorted(_nulls(reports["blanked"]))[:2]
    (raw.parent / "corrections.csv").write_text(
        HEADER
        + f"2022/甲局.txt,,{table},{row},{column},7,,,a\n"
        + f"2022/甲局.txt,,{table},{row},{column},8,,,b\n"  # disagrees with line 2
        + f"2022/甲局.txt,,{table2},{row2},{column2},5,,,a\n"
        + f"2022/甲局.txt,,{table2},{row2},{column2},5,,,b\n",  # repeats line 4
        "utf-8",
    )
    assert run_ingest(raw_dir=raw, db_path=wh).success
    assert db.query(wh, "SELECT line, status, reason FROM corrections ORDER BY line") == [
        (2, "conflict", "another value for this cell on line 3: none applied"),
        (3, "conflict", "another value for this cell on line 2: none applied"),
        (4, "applied", None),
        (5, "duplicate", "the same correction as line 4, which applies"),
    ]
    # The disputed cell stays null and flagged; the agreed one has its value.
    flagged = db.query(wh, "SELECT row_code, column_code FROM cell_flags ORDER BY ALL")
    assert (row, column) in flagged and (row2, column2) not in flagged
