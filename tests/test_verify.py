"""`gongkai verify`: each invariant is broken on purpose, and verify names exactly that breach."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from pipelines.ingest import run_ingest
from synth.corpus import write_corpus
from warehouse.db import connect, query
from warehouse.health import listed_files
from warehouse.verify import verify


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("verify")
    raw, db = base / "raw", base / "wh.ducklake"
    write_corpus(raw, agencies=3, years=[2021])
    assert run_ingest(raw_dir=raw, db_path=db).success
    return raw, db


@pytest.fixture
def broken(lake: tuple[Path, Path]) -> Iterator[Path]:
    """The module's warehouse, to break; its catalog is put back afterwards (the Parquet files
    a break writes are then listed by nothing)."""
    _raw, db = lake
    original = db.read_bytes()
    yield db
    db.write_bytes(original)


def _write(db: Path, *statements: str) -> None:
    with connect(db) as con:
        for sql in statements:
            con.execute(sql)


def _first(db: Path, sql: str) -> Any:
    return query(db, sql)[0][0]


def _lines(db: Path) -> list[str]:
    return [b.line() for b in verify(db)]


def test_a_loaded_warehouse_verifies(
    lake: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    _raw, db = lake
    assert verify(db) == []
    monkeypatch.setenv("GONGKAI_DB", str(db))
    assert main(["verify"]) == 0
    assert capsys.readouterr().out == f"{db}: verifies\n"


def test_facts_of_a_rejected_report(broken: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    rid = _first(broken, "SELECT min(report_id) FROM reports WHERE null_cells = 0")
    _write(broken, f"UPDATE reports SET status = 'rejected' WHERE report_id = '{rid}'")
    assert _lines(broken) == [
        f"applications rows of a report that is not ok or warning: 175 ({rid} (rejected); {rid} (rejected); {rid} (rejected))",
        f"proactive rows of a report that is not ok or warning: 10 ({rid} (rejected); {rid} (rejected); {rid} (rejected))",
        f"appeals rows of a report that is not ok or warning: 15 ({rid} (rejected); {rid} (rejected); {rid} (rejected))",
        f"checks rows of a report that is not ok or warning: 42 ({rid} (rejected); {rid} (rejected); {rid} (rejected))",
    ]
    monkeypatch.setenv("GONGKAI_DB", str(broken))
    assert main(["verify"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"{broken}: 4 invariants broken"


def test_orphan_rows(broken: Path) -> None:
    agency = _first(broken, "SELECT min(agency) FROM reports")
    _write(broken, f"INSERT INTO appeals VALUES ('nope', '{agency}', 2021, 'reconsideration', 'upheld', 1)")
    assert _lines(broken) == ["appeals rows without their report (orphans): 1 (nope 2021)"]


def test_a_missing_and_a_repeated_cell(broken: Path) -> None:
    rid = _first(broken, "SELECT min(report_id) FROM reports")
    other = _first(broken, "SELECT max(report_id) FROM reports")
    _write(
        broken,
        f"DELETE FROM applications WHERE report_id = '{rid}' AND category = 'new_received' AND applicant_type = 'total'",
        f"INSERT INTO proactive SELECT * FROM proactive WHERE report_id = '{other}' LIMIT 1",
    )
    assert _lines(broken) == [
        "reports whose facts are not one per template cell: 2 "
        f"({rid} applications: 174 rows, 174 distinct cells; {other} proactive: 11 rows, 10 distinct cells)"
    ]


def test_checks_that_the_facts_do_not_give(broken: Path) -> None:
    rid = _first(broken, "SELECT min(report_id) FROM reports")
    _write(
        broken,
        f"UPDATE checks SET actual = actual + 1 WHERE report_id = '{rid}' AND rule = 'A' AND subject = 'total'",
    )
    assert _lines(broken) == [f"identity checks that are not the ones the facts give: 1 ({rid}: A/total)"]


def test_flags_and_null_cells(broken: Path) -> None:
    flagged = query(
        broken, "SELECT report_id, table_name, row_code, column_code FROM cell_flags ORDER BY ALL LIMIT 1"
    )
    rid, table, row, column = flagged[0]
    read = query(
        broken,
        "SELECT report_id, category, applicant_type FROM applications WHERE count IS NOT NULL ORDER BY ALL LIMIT 1",
    )[0]
    _write(
        broken,
        f"DELETE FROM cell_flags WHERE report_id = '{rid}' AND table_name = '{table}' "
        f"AND row_code = '{row}' AND column_code = '{column}'",
        f"INSERT INTO cell_flags VALUES ('{read[0]}', 2021, 'applications', '{read[1]}', '{read[2]}', 'blank', 'x', NULL)",
        f"UPDATE reports SET null_cells = null_cells + 1 WHERE report_id = '{read[0]}'",
    )
    stored = _first(broken, f"SELECT null_cells FROM reports WHERE report_id = '{read[0]}'")
    assert _lines(broken) == [
        f"cell_flags rows for a cell that is not null: 1 ({read[0]} applications {read[1]}/{read[2]})",
        f"null cells without exactly one cell_flags row: 1 ({rid} {table} {row}/{column}: 0 flags)",
        f"reports whose null_cells is not the number of their null facts: 1 ({read[0]}: null_cells "
        f"{stored}, null facts {stored - 1})",
    ]


def test_unresolved_agency_duplicate_id_superseded_and_loads(broken: Path) -> None:
    rid = _first(broken, "SELECT min(report_id) FROM reports")
    _write(
        broken,
        f"UPDATE reports SET agency = '无此机关' WHERE report_id = '{rid}'",
        "INSERT INTO reports SELECT * REPLACE ('0000000000000000' AS report_id, 'superseded' AS status, "
        f"'zzz' AS superseded_by) FROM reports WHERE report_id = '{rid}'",
        "DELETE FROM loads",
    )
    assert _lines(broken) == [
        "agencies not in the agency table: 1 (reports: 无此机关)",
        f"facts whose agency is not their report's: 200 (appeals: {rid}; appeals: {rid}; appeals: {rid})",
        "superseded reports that name no loaded report: 1 (0000000000000000 → zzz)",
        "years with reports but no load recorded: 1 (2021)",
    ]


def test_a_report_stored_twice(broken: Path) -> None:
    rid = _first(broken, "SELECT min(report_id) FROM reports WHERE null_cells = 0")
    _write(broken, f"INSERT INTO reports SELECT * FROM reports WHERE report_id = '{rid}'")
    assert _lines(broken) == [
        f"reports whose facts are not one per template cell: 3 ({rid} appeals: 30 rows, 15 distinct cells; "
        f"{rid} applications: 350 rows, 175 distinct cells; {rid} proactive: 20 rows, 10 distinct cells)",
        f"report ids stored more than once: 1 ({rid} ×2)",
    ]


def test_a_damaged_data_file(broken: Path) -> None:
    victim = next(p for p, _size in listed_files(broken) if "/checks/" in str(p))
    original = victim.read_bytes()
    victim.write_bytes(original[:-100])
    try:
        [line] = _lines(broken)
        assert line == (
            f"damaged data files: 1 (data file {victim} has {len(original) - 100} bytes, "
            f"the catalog recorded {len(original)} (truncated?))"
        )
    finally:
        victim.write_bytes(original)
