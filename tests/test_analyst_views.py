"""The analyst's views on hand-made reports with hand-computed answers: 2019↔2021 roll-ups,
metrics, year-over-year, continuity, regions and levels, rankings, agencies, revisions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import warehouse.db as db
from extract import Report
from schemas.taxonomy import taxonomy
from warehouse.agencies import build_directory
from warehouse.frames import Extracted, build_frames
from warehouse.inventory import ManifestEntry, RawFile, read_manifest

TAX = taxonomy()
Cells = dict[tuple[str, str], int | None]


def report(
    agency: str,
    year: int,
    totals: dict[str, int | None] | None = None,
    *,
    template: str = "2021",
    single_other_row: bool | None = None,
    columns: Cells | None = None,
    appeals: dict[tuple[str, str], int | None] | None = None,
    tag: str = "",
    mtime: float = 0.0,
    status: str = "ok",
) -> Extracted:
    """A report whose 总计 column is ``totals`` and other cells ``columns`` (missing cells 0)."""
    single = template == "2019" if single_other_row is None else single_other_row
    sha = hashlib.sha256(f"{agency}{year}{tag}".encode()).hexdigest()
    relative = f"{year}/{agency}{tag}.txt"
    raw = RawFile(f"/r/{relative}", relative, year, sha, 100, mtime)
    if status == "rejected":
        return Extracted(raw, Report(file=relative, status="rejected", error="no table 三", agency=agency))
    cells: Cells = {(c, "total"): n for c, n in (totals or {}).items()} | (columns or {})
    applications = [
        {"category": c, "applicant_type": a, "count": cells.get((c, a), 0)}
        for c in TAX.category_codes(single_other_row=single)
        for a in TAX.applicant_codes
    ]
    appeal_rows = [
        {"proceeding": p, "outcome": o, "count": (appeals or {}).get((p, o), 0)}
        for p in TAX.proceeding_codes
        for o in TAX.outcome_codes
    ]
    return Extracted(
        raw,
        Report(
            file=relative,
            status=status,
            agency=agency,
            year=year,
            template=template,
            format="tsv",
            applications=applications,
            appeals=appeal_rows,
            proactive=[],
            checks=[],
            parser_version="1.0",
        ),
    )


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


def load(path: Path, year: int, *items: Extracted, manifest=None, directory=None) -> db.LoadResult:
    return db.load_year(path, year, build_frames(items, manifest, directory), directory)


# ------------------------------------------------------------------------------ roll-ups
def test_2019_single_row_and_2021_three_rows_roll_up_to_the_same_group(wh: Path) -> None:
    load(
        wh,
        2020,
        report(
            "甲局",
            2020,
            {"other": 3, "withheld_process_info": 2, "withheld_third_party": 1, "unavailable_not_held": 4},
            template="2019",
        ),
    )
    load(
        wh,
        2021,
        report(
            "甲局",
            2021,
            {"other_no_correction": 1, "other_unpaid_fee": 0, "other_other": 2, "withheld_process_info": 3},
        ),
    )
    got = db.query(
        wh,
        "SELECT year, category, count FROM applications_comparable WHERE agency = '甲局' "
        "AND applicant_type = 'total' AND kind = 'group' ORDER BY year, category_order",
    )
    assert got == [
        (2020, "withheld", 3),
        (2020, "unavailable", 4),
        (2020, "not_processed", 0),
        (2020, "other", 3),
        (2021, "withheld", 3),
        (2021, "unavailable", 0),
        (2021, "not_processed", 0),
        (2021, "other", 3),  # 1 + 0 + 2 = the 2019 single row
    ]
    # The 2021-only leaves and the 2019 single row never appear as rows: no leaf/group mix.
    assert db.query(
        wh,
        "SELECT count(*) FROM applications_comparable WHERE kind = 'row' AND category LIKE 'other%'",
    ) == [(0,)]
    # Same rows in both years: the series is comparable cell for cell.
    per_year = db.query(wh, "SELECT year, count(*) FROM applications_comparable GROUP BY year ORDER BY year")
    assert per_year == [(2020, 7 * 26), (2021, 7 * 26)]  # 22 printed rows + 4 groups, 7 columns
    assert db.query(
        wh,
        "SELECT year, count, previous_count, change FROM applications_yoy "
        "WHERE category = 'other' AND applicant_type = 'total' ORDER BY year",
    ) == [(2020, 3, None, None), (2021, 3, 3, 0)]
    assert db.query(
        wh,
        "SELECT change, change_rate, template, previous_template FROM applications_yoy "
        "WHERE category = 'withheld_process_info' AND applicant_type = 'total' AND year = 2021",
    ) == [(1, 0.5, "2021", "2019")]


def test_a_group_with_a_blank_leaf_is_null_not_a_partial_sum(wh: Path) -> None:
    load(wh, 2022, report("甲局", 2022, {"withheld_state_secret": 2, "withheld_inquiry": None}))
    assert db.query(
        wh,
        "SELECT count FROM applications_comparable WHERE category = 'withheld' AND applicant_type = 'total'",
    ) == [(None,)]


# ------------------------------------------------------------------------------ metrics
APPEALS = {
    ("reconsideration", "total"): 5,
    ("reconsideration", "corrected"): 1,
    ("reconsideration", "upheld"): 2,
    ("reconsideration", "pending"): 2,
    ("litigation_direct", "total"): 3,
    ("litigation_direct", "corrected"): 2,
    ("litigation_direct", "other"): 1,
    ("litigation_after_reconsideration", "total"): 2,
    ("litigation_after_reconsideration", "pending"): 2,
}
TOTALS = {
    "new_received": 18,
    "carried_over": 2,
    "disclosed": 8,
    "partially_disclosed": 2,
    "withheld_process_info": 3,
    "withheld_third_party": 1,
    "unavailable_not_held": 2,
    "not_processed_duplicate": 1,
    "other_other": 1,
    "total_processed": 18,
    "carried_forward": 2,
}
LEGAL = {("new_received", a): n for a, n in zip(TAX.applicant_codes[1:6], (2, 1, 0, 1, 2), strict=True)}


def test_agency_year_metrics_hand_computed(wh: Path) -> None:
    load(wh, 2022, report("甲局", 2022, TOTALS, columns=LEGAL, appeals=APPEALS))
    columns = [
        "requests_received",
        "handled",
        "disclosure_rate",
        "full_disclosure_rate",
        "withheld",
        "withheld_rate",
        "withheld_share_process_info",
        "withheld_share_third_party",
        "withheld_share_state_secret",
        "unavailable_rate",
        "not_processed_rate",
        "other_rate",
        "caseload",
        "carry_forward_rate",
        "legal_person_requests",
        "legal_person_share",
        "reconsiderations_per_100_requests",
        "lawsuits",
        "lawsuits_per_100_requests",
        "reconsiderations_decided",
        "reconsideration_correction_rate",
        "litigation_direct_correction_rate",
        "litigation_after_reconsideration_correction_rate",
        "lawsuits_decided",
        "litigation_correction_rate",
    ]
    (row,) = db.query(wh, f"SELECT {', '.join(columns)} FROM agency_year_metrics")
    assert dict(zip(columns, row, strict=True)) == {
        "requests_received": 18,
        "handled": 18,
        "disclosure_rate": 10 / 18,  # (8 + 2) / 18
        "full_disclosure_rate": 8 / 18,
        "withheld": 4,
        "withheld_rate": 4 / 18,
        "withheld_share_process_info": 0.75,  # 3 of 4 withheld
        "withheld_share_third_party": 0.25,
        "withheld_share_state_secret": 0.0,
        "unavailable_rate": 2 / 18,
        "not_processed_rate": 1 / 18,
        "other_rate": 1 / 18,
        "caseload": 20,
        "carry_forward_rate": 0.1,  # 2 / (18 + 2)
        "legal_person_requests": 6,  # 2 + 1 + 0 + 1 + 2
        "legal_person_share": 6 / 18,
        "reconsiderations_per_100_requests": 500 / 18,
        "lawsuits": 5,
        "lawsuits_per_100_requests": 500 / 18,
        "reconsiderations_decided": 3,  # 5 − 2 pending
        "reconsideration_correction_rate": 1 / 3,
        "litigation_direct_correction_rate": 2 / 3,
        "litigation_after_reconsideration_correction_rate": None,  # 2 − 2 pending = 0 decided
        "lawsuits_decided": 3,
        "litigation_correction_rate": 2 / 3,
    }


def test_zero_denominators_give_null(wh: Path) -> None:
    load(wh, 2022, report("乙局", 2022, {}))
    (row,) = db.query(
        wh,
        "SELECT disclosure_rate, withheld_share_inquiry, carry_forward_rate, legal_person_share, "
        "lawsuits_per_100_requests, reconsideration_correction_rate FROM agency_year_metrics",
    )
    assert row == (None,) * 6


def test_metrics_yoy_finds_a_rising_correction_rate(wh: Path) -> None:
    rec = {("reconsideration", "total"): 4, ("reconsideration", "corrected"): 1}
    load(wh, 2021, report("甲局", 2021, TOTALS, appeals=rec), report("乙局", 2021, TOTALS, appeals=rec))
    rec2 = {("reconsideration", "total"): 4, ("reconsideration", "corrected"): 3}
    load(wh, 2022, report("甲局", 2022, TOTALS, appeals=rec2), report("乙局", 2022, TOTALS, appeals=rec))
    got = db.query(
        wh,
        "SELECT agency, year, value, previous_value, change, direction FROM metrics_yoy "
        "WHERE metric = 'reconsideration_correction_rate' AND year = 2022 ORDER BY agency",
    )
    assert got == [("乙局", 2022, 0.25, 0.25, 0.0, "same"), ("甲局", 2022, 0.75, 0.25, 0.5, "rose")]


# ------------------------------------------------------------------------------ continuity
def test_carryover_continuity_states(wh: Path) -> None:
    load(wh, 2020, report("甲局", 2020, {"carried_forward": 3}), report("乙局", 2020, {"carried_forward": 1}))
    load(wh, 2021, report("甲局", 2021, {"carried_over": 3}), report("乙局", 2021, {"carried_over": 2}))
    load(wh, 2023, report("甲局", 2023, {"carried_over": 5}), report("乙局", 2023, {"carried_over": 0}))
    load(wh, 2024, report("甲局", 2024, {"carried_over": None}))
    got = db.query(
        wh,
        "SELECT agency, year, carried_over, previous_carried_forward, difference, passed, state "
        "FROM carryover_continuity WHERE applicant_type = 'total' ORDER BY agency, year",
    )
    assert got == [
        ("乙局", 2021, 2, 1, 1, False, "break"),
        ("乙局", 2023, 0, None, None, None, "no report for the previous year"),
        ("甲局", 2021, 3, 3, 0, True, "continuous"),
        ("甲局", 2023, 5, None, None, None, "no report for the previous year"),
        ("甲局", 2024, None, 0, None, None, "blank cell"),
    ]
    assert db.query(wh, "SELECT count(*) FROM carryover_check WHERE applicant_type = 'total'") == [(3,)]


# ------------------------------------------------------------------------------ agencies
def _directory(tmp_path: Path, csv_text: str, manifest_text: str | None = None):
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    if manifest_text:
        (raw / "manifest.csv").write_text(manifest_text, encoding="utf-8")
    (tmp_path / "agencies.csv").write_text(csv_text, encoding="utf-8")
    manifest = read_manifest(raw)
    return build_directory(tmp_path / "agencies.csv", manifest), manifest


AGENCIES_CSV = (
    "agency,aliases,region,level\n"
    "沭阳县人民政府,沐阳县人民政府|沭阳县政府,江苏省/宿迁市/沭阳县,county\n"
    "淮安市洪泽区人民政府,洪泽区人民政府,江苏省/淮安市/洪泽区,\n"
    "宿迁市人民政府,,江苏省/宿迁市,\n"
)


def test_aliases_resolve_to_the_canonical_agency(tmp_path: Path, wh: Path) -> None:
    directory, _ = _directory(tmp_path, AGENCIES_CSV)
    load(
        wh,
        2022,
        report("沐阳县人民政府", 2022, {"new_received": 4}),
        report("洪泽区人民政府", 2022),
        directory=directory,
    )
    load(
        wh,
        2023,
        report("沭阳县人民政府", 2023, {"new_received": 6}),
        report("淮安市洪泽区人民政府", 2023),
        report("某某街道办事处", 2023),  # no source knows it
        directory=directory,
    )
    assert db.query(wh, "SELECT agency, year, agency_printed FROM reports ORDER BY 1, 2") == sorted(
        [
            ("淮安市洪泽区人民政府", 2022, "洪泽区人民政府"),
            ("淮安市洪泽区人民政府", 2023, "淮安市洪泽区人民政府"),
            ("某某街道办事处", 2023, "某某街道办事处"),
            ("沭阳县人民政府", 2022, "沐阳县人民政府"),
            ("沭阳县人民政府", 2023, "沭阳县人民政府"),
        ]
    )
    # Facts carry the canonical name, so the series spans the OCR slip.
    assert db.query(
        wh,
        "SELECT year, count, previous_count FROM applications_yoy WHERE agency = '沭阳县人民政府' "
        "AND category = 'new_received' AND applicant_type = 'total' ORDER BY year",
    ) == [(2022, 4, None), (2023, 6, 4)]
    agencies = db.query(
        wh, "SELECT agency, aliases, province, city, county, level, source FROM agencies ORDER BY 1"
    )
    assert agencies == sorted(
        [
            ("宿迁市人民政府", [], "江苏省", "宿迁市", None, "city", "agencies.csv"),
            (
                "淮安市洪泽区人民政府",
                ["洪泽区人民政府"],
                "江苏省",
                "淮安市",
                "洪泽区",
                "county",
                "agencies.csv",
            ),
            ("某某街道办事处", [], None, None, None, "township", "reports"),
            (
                "沭阳县人民政府",
                ["沐阳县人民政府", "沭阳县政府"],
                "江苏省",
                "宿迁市",
                "沭阳县",
                "county",
                "agencies.csv",
            ),
        ]
    )
    assert db.query(wh, "SELECT agency, years, reports FROM unresolved_agencies") == [
        ("某某街道办事处", [2023], 1)
    ]
    assert db.query(wh, "SELECT alias, agency, source FROM agency_aliases ORDER BY 1") == sorted(
        [
            ("沐阳县人民政府", "沭阳县人民政府", "agencies.csv"),
            ("沭阳县政府", "沭阳县人民政府", "agencies.csv"),
            ("洪泽区人民政府", "淮安市洪泽区人民政府", "agencies.csv"),
        ]
    )


def test_unknown_similar_names_are_suggested_never_merged(wh: Path) -> None:
    load(wh, 2022, report("沐阳县人民政府", 2022), report("洪泽区人民政府", 2022))
    load(wh, 2023, report("沭阳县人民政府", 2023), report("淮安市洪泽区人民政府", 2023))
    assert db.query(wh, "SELECT count(*) FROM agencies") == [(4,)]
    assert db.query(wh, "SELECT name, candidate, reason FROM agency_alias_suggestions ORDER BY 1") == sorted(
        [
            ("沐阳县人民政府", "沭阳县人民政府", "one character differs"),
            ("洪泽区人民政府", "淮安市洪泽区人民政府", "shorter title of the candidate"),
        ]
    )
    assert db.query(wh, "SELECT count(*) FROM unresolved_agencies") == [(4,)]


def test_manifest_region_and_bad_directory_rows(tmp_path: Path) -> None:
    directory, _ = _directory(
        tmp_path,
        "agency,aliases,region,level\n,x,,\n甲局,,江苏省/甲市,town\n乙局,甲局,,\n",
        "path,agency,year,region\n2021/a.txt,丙局,2021,浙江省/丙市\n2022/a.txt,丙局,2022,浙江省/丙市/丁区\n",
    )
    problems = "\n".join(directory.problems)
    assert "line 2: no agency" in problems
    assert "level 'town'" in problems
    assert "'甲局' already names '甲局'" in problems  # an alias cannot steal a canonical name
    assert directory.resolve("甲局") == "甲局"
    assert directory.entries["丙局"].region == "浙江省/丙市/丁区"  # the latest year's region
    assert directory.resolve(" 丙局 ") == "丙局"  # whitespace never matters


# ------------------------------------------------------------------------------ regions, levels, ranks
def test_region_level_views_are_ratios_of_sums_and_rankings(tmp_path: Path, wh: Path) -> None:
    directory, _ = _directory(
        tmp_path,
        "agency,aliases,region,level\n"
        "甲县财政局,,江苏省/宿迁市/甲县,\n乙县财政局,,江苏省/宿迁市/乙县,\n宿迁市财政局,,江苏省/宿迁市,\n",
    )
    a = report("甲县财政局", 2023, {"new_received": 10, "total_processed": 10, "disclosed": 9})
    b = report("乙县财政局", 2023, {"new_received": 30, "total_processed": 30, "disclosed": 3})
    c = report("宿迁市财政局", 2023, {"new_received": 5, "total_processed": 0})
    load(wh, 2023, a, b, c, directory=directory)
    got = db.query(
        wh,
        "SELECT region_level, region, agencies, handled, disclosure_rate FROM region_year_metrics "
        "ORDER BY region_level DESC, region",
    )
    assert got == [
        ("province", "江苏省", 3, 40, 12 / 40),  # (9 + 3) / (10 + 30 + 0): not the mean of 0.9 and 0.1
        ("county", "江苏省/宿迁市/乙县", 1, 30, 0.1),
        ("county", "江苏省/宿迁市/甲县", 1, 10, 0.9),
        ("city", "江苏省/宿迁市", 3, 40, 0.3),
    ]
    assert db.query(wh, "SELECT level, agencies, requests_received FROM level_year_metrics ORDER BY 1") == [
        ("city", 1, 5),
        ("county", 2, 40),
    ]
    assert db.query(
        wh,
        "SELECT level, agency, agencies_in_level, requests_received_rank, disclosure_rate_rank "
        "FROM agency_rankings ORDER BY level, requests_received_rank",
    ) == [
        ("city", "宿迁市财政局", 1, 1, None),  # nothing handled: no rate, no rank
        ("county", "乙县财政局", 2, 1, 1),
        ("county", "甲县财政局", 2, 2, None),  # 10 requests < ranking_min_requests() = 20: no rate rank
    ]
    assert db.query(wh, "SELECT ranking_min_requests()") == [(20,)]
    # The same ranking with another threshold: 甲县 (9 of 10 disclosed) now tops 乙县 (3 of 30).
    assert db.query(
        wh,
        "SELECT agency, disclosure_rate_rank, min_requests, rate_ranked, agencies_ranked_by_rate "
        "FROM agency_rankings_min(10) WHERE level = 'county' ORDER BY agency",
    ) == [("乙县财政局", 2, 10, True, 2), ("甲县财政局", 1, 10, True, 2)]
    assert db.query(
        wh, "SELECT agency, min_requests, agencies_ranked_by_rate FROM agency_rankings ORDER BY agency"
    ) == [("乙县财政局", 20, 1), ("宿迁市财政局", 20, 0), ("甲县财政局", 20, 1)]


# ------------------------------------------------------------------------------ revisions
def test_the_later_publication_supersedes_and_keeps_no_facts(wh: Path) -> None:
    old = report("甲局", 2022, {"new_received": 5}, tag="-v1", mtime=2_000_000_000.0)
    new = report("甲局", 2022, {"new_received": 7}, tag="-v2", mtime=1_000_000_000.0)
    manifest = {
        old.raw.relative: ManifestEntry(old.raw.relative, published="2023-01-20"),
        new.raw.relative: ManifestEntry(new.raw.relative, published="2023年3月1日"),
    }
    load(wh, 2022, old, new, manifest=manifest)  # published wins over the (later) file time
    assert db.query(wh, "SELECT source_path, status, superseded_by IS NOT NULL FROM reports ORDER BY 1") == [
        ("2022/甲局-v1.txt", "superseded", True),
        ("2022/甲局-v2.txt", "ok", False),
    ]
    assert db.query(wh, "SELECT DISTINCT report_id FROM applications") == [(new.raw.report_id,)]
    assert db.query(wh, "SELECT requests_received FROM agency_year_metrics") == [(7,)]
    assert db.query(
        wh, "SELECT superseded_path, current_path, current_published::VARCHAR FROM report_revisions"
    ) == [("2022/甲局-v1.txt", "2022/甲局-v2.txt", "2023-03-01")]


def test_without_published_the_file_time_decides_and_rejected_never_supersedes(wh: Path) -> None:
    load(
        wh,
        2022,
        report("甲局", 2022, {"new_received": 5}, tag="a", mtime=1_700_000_000.0),
        report("甲局", 2022, {"new_received": 9}, tag="b", mtime=1_600_000_000.0),
        report("甲局", 2022, tag="c", mtime=1_800_000_000.0, status="rejected"),
    )
    assert db.query(wh, "SELECT source_path, status FROM reports ORDER BY 1") == [
        ("2022/甲局a.txt", "ok"),
        ("2022/甲局b.txt", "superseded"),
        ("2022/甲局c.txt", "rejected"),
    ]
    assert db.query(wh, "SELECT requests_received FROM agency_year_summary") == [(5,)]


def test_aliases_make_two_files_one_agency_year(tmp_path: Path, wh: Path) -> None:
    directory, _ = _directory(tmp_path, AGENCIES_CSV)
    load(
        wh,
        2022,
        report("洪泽区人民政府", 2022, tag="1", mtime=1.0),
        report("淮安市洪泽区人民政府", 2022, tag="2", mtime=2.0),
        directory=directory,
    )
    assert db.query(wh, "SELECT agency_printed, status FROM reports ORDER BY 1") == [
        ("洪泽区人民政府", "superseded"),
        ("淮安市洪泽区人民政府", "ok"),
    ]


def test_same_bytes_twice_is_one_report(wh: Path) -> None:
    first = report("甲局", 2022)
    copy = Extracted(
        RawFile("/r/2022/copy.txt", "2022/copy.txt", 2022, first.raw.sha256, 100, 5.0), first.report
    )
    frames = build_frames([first, copy])
    assert frames.duplicates == ["2022/copy.txt (same file as 2022/甲局.txt)"]
    db.load_year(wh, 2022, frames)
    assert db.query(wh, "SELECT count(*), min(status) FROM reports") == [(1, "ok")]


def test_a_report_whose_year_is_corrected_moves(wh: Path) -> None:
    moved = report("甲局", 2022, {"new_received": 4})
    stays = report("乙局", 2022)
    load(wh, 2022, moved, stays)
    before_2023 = report("甲局", 2022, {"new_received": 4})  # the same bytes, now in partition 2023
    relocated = Extracted(
        RawFile(before_2023.raw.path, before_2023.raw.relative, 2023, before_2023.raw.sha256, 100, 0.0),
        before_2023.report,
    )
    result = load(wh, 2023, relocated)  # only 2023 is reloaded: 2022 must still lose it
    assert result.moved == [(moved.raw.report_id, 2022)]
    assert db.query(wh, "SELECT agency, year FROM reports ORDER BY 1") == [("乙局", 2022), ("甲局", 2023)]
    assert db.query(wh, "SELECT DISTINCT year FROM applications WHERE agency = '甲局'") == [(2023,)]
    # Reloading 2022 without it changes nothing more; a rejected copy left in 2022 is not stored twice.
    rejected_copy = Extracted(
        RawFile(moved.raw.path, moved.raw.relative, 2022, moved.raw.sha256, 100, 0.0),
        Report(file=moved.raw.relative, status="rejected", error="year disagrees", agency="甲局"),
    )
    result = load(wh, 2022, stays, rejected_copy)
    assert result.elsewhere == [moved.raw.report_id]
    assert db.query(wh, "SELECT agency, year, status FROM reports ORDER BY 1") == [
        ("乙局", 2022, "ok"),
        ("甲局", 2023, "ok"),
    ]


def test_reloading_with_revisions_and_aliases_changes_nothing(tmp_path: Path, wh: Path) -> None:
    directory, _ = _directory(tmp_path, AGENCIES_CSV)
    items = [
        report("沐阳县人民政府", 2022, tag="a", mtime=1.0),
        report("沭阳县人民政府", 2022, tag="b", mtime=2.0),
    ]
    load(wh, 2022, *items, directory=directory)
    before = db.table_checksums(wh, (*db.TABLES, "agencies", "agency_aliases"))
    assert load(wh, 2022, *items, directory=directory).unchanged_reports == 2
    assert db.table_checksums(wh, (*db.TABLES, "agencies", "agency_aliases")) == before
