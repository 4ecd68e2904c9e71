"""load_year (one transaction, idempotent), lookup tables and the views, on hand-made frames."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import warehouse.db as db
from extract import Report
from schemas.taxonomy import taxonomy
from warehouse.frames import Extracted, Frames, build_frames
from warehouse.inventory import RawFile

TAX = taxonomy()


def _item(
    agency: str | None,
    year: int,
    cells: dict[tuple[str, str], int | None],
    *,
    status: str = "ok",
    tag: str = "",
) -> Extracted:
    """A report of ``year`` whose table 三 is ``cells`` (missing cells are 0), appeals all 1."""
    sha = hashlib.sha256(f"{agency}{year}{tag}".encode()).hexdigest()
    raw = RawFile(f"/r/{year}/{agency}.txt", f"{year}/{agency or 'anon'}{tag}.txt", year, sha, 100, 0.0)
    if status == "rejected":
        return Extracted(
            raw, Report(file=raw.relative, status="rejected", error="no table 三 found", agency=agency)
        )
    codes = TAX.category_codes(single_other_row=False)
    applications = [
        {"category": c, "applicant_type": a, "count": cells.get((c, a), 0)}
        for c in codes
        for a in TAX.applicant_codes
    ]
    appeals = [
        {"proceeding": p, "outcome": o, "count": 1} for p in TAX.proceeding_codes for o in TAX.outcome_codes
    ]
    proactive = [{"item": "licensing", "measure": "decisions", "value": 7.0, "unit": None}]
    checks = [{"rule": "A", "subject": "total", "expected": 5, "actual": 4, "passed": False}]
    report = Report(
        file=raw.relative,
        status=status,
        agency=agency,
        year=year,
        template="2021",
        format="tsv",
        applications=applications,
        proactive=proactive,
        appeals=appeals,
        checks=checks,
        parser_version="1.0",
    )
    return Extracted(raw, report)


def _total(**counts: int) -> dict[tuple[str, str], int]:
    return {(c, "total"): n for c, n in counts.items()}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


def _load(db_path: Path, year: int, *items: Extracted) -> db.LoadResult:
    return db.load_year(db_path, year, build_frames(items))


def test_load_counts_and_rejected_only_in_reports(db_path: Path) -> None:
    result = _load(
        db_path,
        2022,
        _item("甲局", 2022, {}),
        _item("乙局", 2022, {}, status="rejected"),
        _item(None, 2022, {}),
    )
    assert result.rows == {
        "reports": 3,
        "applications": 350,
        "proactive": 2,
        "appeals": 30,
        "checks": 2,
        "cell_flags": 0,
        "corrections": 0,
    }
    assert db.query(db_path, "SELECT agency FROM reports WHERE status = 'rejected'") == [("乙局",)]
    assert db.query(db_path, "SELECT count(*) FROM applications WHERE agency = '乙局'") == [(0,)]
    # Unknown agency: the file stem.
    assert db.query(db_path, "SELECT count(*) FROM reports WHERE agency = 'anon'") == [(1,)]


def test_lookup_tables_come_from_the_taxonomy(db_path: Path) -> None:
    _load(db_path, 2022, _item("甲局", 2022, {}))
    rows = db.query(db_path, 'SELECT code, label, "group", "order" FROM categories ORDER BY "order"')
    assert rows == [(c.code, c.label, c.group, c.order) for c in TAX.categories]
    assert db.query(db_path, "SELECT label FROM applicant_types WHERE code = 'natural_person'") == [
        ("自然人",)
    ]
    assert db.query(db_path, "SELECT count(*) FROM appeal_outcomes") == [(5,)]
    assert db.query(db_path, "SELECT label FROM category_groups WHERE code = 'withheld'") == [("不予公开",)]


def test_reload_replaces_only_its_year_and_is_idempotent(db_path: Path) -> None:
    _load(db_path, 2021, _item("甲局", 2021, {}))
    _load(db_path, 2022, _item("甲局", 2022, {}), _item("乙局", 2022, {}))
    before = db.table_checksums(db_path)
    result = _load(db_path, 2022, _item("甲局", 2022, {}), _item("乙局", 2022, {}))
    assert result.unchanged_reports == 2
    assert db.table_checksums(db_path) == before  # ingested_at kept for unchanged reports

    _load(db_path, 2022, _item("乙局", 2022, {}))  # 甲局 2022 withdrawn
    assert db.query(db_path, "SELECT year, agency FROM reports ORDER BY 1, 2") == [
        (2021, "甲局"),
        (2022, "乙局"),
    ]
    assert db.query(db_path, "SELECT count(*) FROM applications WHERE year = 2021") == [(175,)]


def test_changed_report_gets_new_ingested_at(db_path: Path) -> None:
    _load(db_path, 2022, _item("甲局", 2022, {}))
    (old,) = db.query(db_path, "SELECT ingested_at FROM reports")
    changed = _item("甲局", 2022, {})
    changed.report.warnings.append("something new")
    assert _load(db_path, 2022, changed).unchanged_reports == 0
    (new,) = db.query(db_path, "SELECT ingested_at FROM reports")
    assert new > old


def test_failure_mid_load_leaves_previous_state(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(db_path, 2022, _item("甲局", 2022, {}))
    before = db.table_checksums(db_path)
    real_insert = db.insert_frame

    def insert_then_crash(con, table, frame, **kw):  # reports and applications go in, then the disk "fills"
        if table == "appeals":
            raise OSError("disk full")
        return real_insert(con, table, frame, **kw)

    monkeypatch.setattr(db, "insert_frame", insert_then_crash)
    with pytest.raises(OSError, match="disk full"):
        _load(db_path, 2022, _item("乙局", 2022, {}), _item("丙局", 2022, {}))
    assert db.table_checksums(db_path) == before


def test_frames_of_another_year_are_refused(db_path: Path) -> None:
    with pytest.raises(ValueError, match="another year"):
        db.load_year(db_path, 2021, build_frames([_item("甲局", 2022, {})]))
    assert not db_path.exists() or db.query(db_path, "SELECT count(*) FROM reports") == [(0,)]


def test_values_are_data_not_sql(db_path: Path) -> None:
    name = "O'Brien局'); DROP TABLE reports; --"
    _load(db_path, 2022, _item(name, 2022, {}))
    assert db.query(db_path, "SELECT agency FROM reports") == [(name,)]


def test_extensions_never_autoload(db_path: Path) -> None:
    _load(db_path, 2022, _item("甲局", 2022, {}))
    settings = dict(
        db.query(
            db_path,
            "SELECT name, value FROM duckdb_settings() "
            "WHERE name IN ('autoinstall_known_extensions', 'autoload_known_extensions')",
        )
    )
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


# ------------------------------------------------------------------------------------- views
def test_agency_year_summary_hand_computed(db_path: Path) -> None:
    cells = _total(
        new_received=10,
        carried_over=2,
        disclosed=4,
        partially_disclosed=2,
        withheld_state_secret=1,
        withheld_third_party=2,
        unavailable_not_held=1,
        not_processed_duplicate=1,
        other_other=1,
        total_processed=12,
        carried_forward=0,
    )
    cells[("disclosed", "natural_person")] = None  # a null cell in another column changes nothing
    _load(db_path, 2022, _item("甲局", 2022, cells), _item("乙局", 2022, _total(new_received=3)))
    rows = db.query(
        db_path,
        "SELECT agency, requests_received, carried_over, handled, disclosed, partially_disclosed, withheld, "
        "unavailable, not_processed, other, carried_forward, reconsiderations, lawsuits, disclosure_rate "
        "FROM agency_year_summary ORDER BY agency",
    )
    assert rows == [
        ("乙局", 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, None),  # nothing handled: no rate
        ("甲局", 10, 2, 12, 4, 2, 3, 1, 1, 1, 0, 1, 2, 0.5),  # (4 + 2) / 12
    ]


def test_summary_picks_one_report_per_agency_year(db_path: Path) -> None:
    _load(
        db_path,
        2022,
        _item("甲局", 2022, _total(new_received=5), status="warning", tag="a"),
        _item("甲局", 2022, _total(new_received=7), tag="b"),  # ok beats warning
        _item("甲局", 2022, {}, status="rejected", tag="c"),
    )
    assert db.query(db_path, "SELECT requests_received, status FROM agency_year_summary") == [(7, "ok")]


def test_applications_yoy_hand_computed(db_path: Path) -> None:
    _load(db_path, 2020, _item("甲局", 2020, _total(new_received=8)))
    _load(db_path, 2021, _item("甲局", 2021, _total(new_received=10)))
    _load(db_path, 2023, _item("甲局", 2023, _total(new_received=4)))  # 2022 missing
    rows = db.query(
        db_path,
        "SELECT year, count, previous_count, change FROM applications_yoy "
        "WHERE agency = '甲局' AND category = 'new_received' AND applicant_type = 'total' ORDER BY year",
    )
    assert rows == [(2020, 8, None, None), (2021, 10, 8, 2), (2023, 4, None, None)]


def test_carryover_check_and_identity_failures(db_path: Path) -> None:
    _load(db_path, 2021, _item("甲局", 2021, _total(carried_forward=3)))
    _load(db_path, 2022, _item("甲局", 2022, _total(carried_over=2)))
    assert db.query(
        db_path,
        "SELECT year, carried_over, previous_carried_forward, passed FROM carryover_check WHERE applicant_type = 'total'",
    ) == [(2022, 2, 3, False)]
    assert db.query(db_path, "SELECT count(*) FROM identity_failures") == [(2,)]
    assert db.failed_identities(db_path, [2022]) == 1


def test_empty_frames_empty_the_year(db_path: Path) -> None:
    _load(db_path, 2022, _item("甲局", 2022, {}))
    db.load_year(db_path, 2022, Frames(build_frames([]).tables))
    assert db.query(db_path, "SELECT count(*) FROM applications") == [(0,)]
