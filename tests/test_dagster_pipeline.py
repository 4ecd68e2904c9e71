"""The assets end to end, in-process, into a temporary DuckDB."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
from test_warehouse_reports import report_numbers, write_raw

from assets.ingest import CONTINUITY_CHECK, IDENTITY_CHECK, PANDERA_CHECK, ingest_assets
from assets.partitions import range_tags
from assets.resources import GongkaiPaths, YearPickleIOManager
from warehouse.db import query, table_checksums

SEEDS_2022 = ["000_138b95d5be9f55b5", "001_ba2cc9ced20f5da6", "002_be19f74464ca47e9", "004_898eb9b3e54026d0"]
SEEDS_2023 = ["003_3fdcef6c825e6b6d"]


def _resources(raw: Path, db: Path) -> dict:
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(db))
    return {"paths": paths, "year_io": YearPickleIOManager(paths=paths)}


_INSTANCE: list[dg.DagsterInstance] = []


def _instance() -> dg.DagsterInstance:
    # One ephemeral instance for the module: creating one costs seconds; runs do not interfere.
    if not _INSTANCE:
        _INSTANCE.append(dg.DagsterInstance.ephemeral())
    return _INSTANCE[0]


def _materialize(raw: Path, db: Path, *, partition_key: str | None = None, tags: dict | None = None):
    return dg.materialize(
        ingest_assets,
        partition_key=partition_key,
        tags=tags,
        resources=_resources(raw, db),
        instance=_instance(),
        raise_on_error=False,
    )


@pytest.fixture
def seed_raw(require_shared: Path, tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    for year, names in ((2022, SEEDS_2022), (2023, SEEDS_2023)):
        (raw / str(year)).mkdir(parents=True)
        for name in names:
            shutil.copy(require_shared / "seeds" / f"{name}.txt", raw / str(year))
    return raw


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_seed_reports_load_with_exact_rows_and_values(seed_raw: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    result = _materialize(seed_raw, db, tags=range_tags(2022, 2023))  # one run, two partitions
    assert result.success
    assert _checks(result) == {PANDERA_CHECK: True, IDENTITY_CHECK: True, CONTINUITY_CHECK: True}

    per_report = query(
        db,
        "SELECT r.source_path, count(*) FROM applications a JOIN reports r USING (year, report_id) "
        "GROUP BY ALL ORDER BY 1",
    )
    assert [n for _, n in per_report] == [175] * 5
    counts = {
        t: query(db, f"SELECT count(*) FROM {t}")[0][0] for t in ("reports", "proactive", "appeals", "checks")
    }
    assert counts == {"reports": 5, "proactive": 50, "appeals": 75, "checks": 210}
    assert query(db, "SELECT year, count(*) FROM reports GROUP BY year ORDER BY year") == [
        (2022, 4),
        (2023, 1),
    ]

    # Cells, as printed in the seeds.
    assert query(
        db,
        "SELECT p.value FROM proactive p JOIN reports r USING (year, report_id) "
        "WHERE r.source_path = '2022/000_138b95d5be9f55b5.txt' AND item = 'licensing' AND measure = 'decisions'",
    ) == [(46.0,)]
    assert query(
        db,
        "SELECT count FROM applications WHERE agency = '广州开发区民营经济和企业服务局' "
        "AND category = 'disclosed' AND applicant_type = 'total'",
    ) == [(1,)]
    # No agency in the document or manifest: the file stem stands in.
    assert query(db, "SELECT agency, status FROM reports WHERE source_path LIKE '%000_%'") == [
        ("000_138b95d5be9f55b5", "warning")
    ]
    assert query(
        db, "SELECT disclosure_rate FROM agency_year_summary WHERE agency = '广州开发区民营经济和企业服务局'"
    ) == [(1.0,)]
    assert query(
        db, "SELECT disclosure_rate FROM agency_year_summary WHERE agency = '海州区工业和信息化局'"
    ) == [(None,)]


def test_seed_rows_match_expected_json(seed_raw: Path, tmp_path: Path, require_shared: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert _materialize(seed_raw, db, partition_key="2022").success
    for name in SEEDS_2022:
        expected = json.loads(
            (require_shared / "seeds" / f"{name}.expected.json").read_text(encoding="utf-8")
        )
        got = query(
            db,
            "SELECT category, applicant_type, count FROM applications a JOIN reports r USING (year, report_id) "
            "WHERE r.source_path = ?",
            [f"2022/{name}.txt"],
        )
        assert sorted(got) == sorted(
            (a["category"], a["applicant_type"], a["count"]) for a in expected["applications"]
        )


def test_second_run_changes_nothing(seed_raw: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert _materialize(seed_raw, db, partition_key="2022").success
    before = table_checksums(db)
    stamps = query(db, "SELECT report_id, ingested_at FROM reports ORDER BY 1")
    assert _materialize(seed_raw, db, partition_key="2022").success
    assert table_checksums(db) == before  # ingested_at included: unchanged reports keep theirs
    assert query(db, "SELECT report_id, ingested_at FROM reports ORDER BY 1") == stamps


def test_written_reports_without_shared(tmp_path: Path) -> None:
    """Independent of ../shared: reports written by the test, plus one file the extractor rejects."""
    raw = tmp_path / "raw"
    write_raw(raw, 2021, ["甲市交通运输局", "乙县财政局"], seed=10)
    (raw / "2021" / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n not a report")
    (raw / "2021" / "README.md").write_text("notes", encoding="utf-8")  # never a report
    (raw / "2021" / ".hidden.txt").write_text("x", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    result = _materialize(raw, db, partition_key="2021")
    assert result.success

    assert query(db, "SELECT status, count(*) FROM reports GROUP BY 1 ORDER BY 1") == [
        ("ok", 2),
        ("rejected", 1),
    ]
    rejected = query(db, "SELECT source_path, error FROM reports WHERE status = 'rejected'")
    assert rejected[0][0] == "2021/scan.png" and rejected[0][1]  # the reason is the extractor's
    assert query(db, "SELECT count(*) FROM applications WHERE year = 2021")[0][0] == 350
    cells = report_numbers(10)
    got = dict(
        ((c, a), n)
        for c, a, n in query(
            db, "SELECT category, applicant_type, count FROM applications WHERE agency = '甲市交通运输局'"
        )
    )
    assert got == cells
    summary = query(
        db, "SELECT requests_received, handled FROM agency_year_summary WHERE agency = '甲市交通运输局'"
    )
    assert summary == [(cells[("new_received", "total")], cells[("total_processed", "total")])]

    # The asset metadata lists the rejected file with its reason.
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert meta["extracted_reports"]["rejected"].value == 1
    assert "scan.png" in meta["extracted_reports"]["rejected_files"].value
    assert meta["warehouse_year"]["rows_applications"].value == 350


def test_pandera_failure_blocks_the_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    write_raw(raw, 2021, ["甲市交通运输局"], seed=1)
    db = tmp_path / "w.duckdb"
    assert _materialize(raw, db, partition_key="2021").success
    before = table_checksums(db)

    import assets.ingest as ingest
    import warehouse.frames as frames

    def corrupt(*args):  # an extractor bug: a code the taxonomy does not know
        built = frames.fact_frames(*args)
        apps = built["applications"]
        built["applications"] = apps.with_columns(
            apps["category"].replace({"disclosed": "disclosed_typo"}),
        )
        return built

    monkeypatch.setattr(ingest, "fact_frames", corrupt)
    write_raw(raw, 2021, ["甲市交通运输局"], seed=2)
    result = _materialize(raw, db, partition_key="2021")
    assert not result.success
    assert _checks(result)[PANDERA_CHECK] is False
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "warehouse_year" not in materialized
    assert table_checksums(db) == before  # the previous load stands


def test_manifest_metadata_reaches_the_extractor(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_raw(raw, 2021, ["甲市交通运输局", "乙县财政局"], seed=4)
    (raw / "manifest.csv").write_text(
        "path,agency,year\n"
        "2021/甲市交通运输局_2021.txt,甲市交通运输局（更名后）,2021\n"
        "2021/乙县财政局_2021.txt,,2020\n"  # the manifest says 2020: the report belongs to 2020
        "../outside.txt,x,2021\n",
        encoding="utf-8",
    )
    db = tmp_path / "w.duckdb"
    result = _materialize(raw, db, partition_key="2021")
    assert result.success
    rows = query(db, "SELECT source_path, agency, agency_source, status, error FROM reports ORDER BY 1")
    assert rows == [("2021/甲市交通运输局_2021.txt", "甲市交通运输局（更名后）", "manifest", "ok", None)]
    assert _materialize(raw, db, partition_key="2020").success
    assert query(db, "SELECT year, source_path, year_source, status FROM reports WHERE year = 2020") == [
        (2020, "2021/乙县财政局_2021.txt", "manifest", "ok")
    ]
    meta = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert "outside the raw folder" in meta["raw_files"]["problems"].value


def test_missing_raw_folder_fails_without_touching_the_warehouse(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_raw(raw, 2021, ["甲市交通运输局"])
    db = tmp_path / "w.duckdb"
    assert _materialize(raw, db, partition_key="2021").success
    before = table_checksums(db)
    assert not _materialize(tmp_path / "nowhere", db, partition_key="2021").success
    assert table_checksums(db) == before


def test_synthetic_corpus_ingests_cleanly(tmp_path: Path) -> None:
    """With the synthetic generator (synth/, written concurrently): every file accounted for."""
    corpus = pytest.importorskip("synth.corpus")
    from pipelines.ingest import run_ingest

    raw = tmp_path / "raw"
    corpus.write_corpus(raw, agencies=3, years=range(2020, 2022), seed=0)
    summary = run_ingest(raw_dir=raw, db_path=tmp_path / "w.duckdb")
    assert sorted(summary.years) == [2020, 2021]
    for year in summary.years.values():
        assert year.validation_failures == [] and year.loaded
        assert year.rows["reports"] + len(year.duplicates) == year.files


def test_each_year_carries_the_fingerprint_of_its_inputs_as_data_version(tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "w.ducklake"
    write_raw(raw, 2021, ["甲局"], seed=1)
    write_raw(raw, 2022, ["甲局"], seed=2)
    for year in ("2021", "2022"):
        assert _materialize(raw, db, partition_key=year).success
    instance = _instance()

    def version(asset: str, year: str) -> str:
        record = instance.get_latest_data_version_record(dg.AssetKey(asset), partition_key=year)
        assert record is not None and record.asset_materialization is not None
        return record.asset_materialization.tags["dagster/data_version"]

    loaded = dict(query(db, "SELECT year::VARCHAR, fingerprint FROM loads"))
    for year in ("2021", "2022"):
        assert {version(a, year) for a in ("raw_files", "warehouse_year")} == {loaded[year]}
    # A changed file in 2022: a new version for 2022 only.
    write_raw(raw, 2022, ["乙局"], seed=3)
    assert _materialize(raw, db, partition_key="2022").success
    assert version("warehouse_year", "2022") != loaded["2022"]
    assert version("warehouse_year", "2021") == loaded["2021"]


def test_report_files_observes_each_year_without_reading_files(tmp_path: Path) -> None:
    from assets.ingest import year_data_versions

    raw = tmp_path / "raw"
    write_raw(raw, 2021, ["甲局"], seed=1)
    write_raw(raw, 2022, ["甲局"], seed=2)
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.ducklake"))
    before = year_data_versions(paths)
    assert sorted(before) == ["2021", "2022"]
    write_raw(raw, 2022, ["乙局"], seed=3)
    after = year_data_versions(paths)
    assert after["2021"] == before["2021"] and after["2022"] != before["2022"]


def test_an_unreadable_corrections_file_fails_the_step_with_one_line(seed_raw: Path, tmp_path: Path) -> None:
    (seed_raw.parent / "corrections.csv").write_text("path,cell\n", "utf-8")
    result = _materialize(seed_raw, tmp_path / "w.duckdb", partition_key="2022")
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "validated_frames"
    error = failure.step_failure_data.user_failure_data
    assert error is not None and error.description.endswith(
        "corrections.csv: the header lacks table, row, column, value "
        "(columns: file, sha256, table, row, column, value, override, note, who)"
    )
