"""One Dagster instance: what `gongkai ingest` runs is what `dagster dev` shows, each year with its
own figures; the warehouse asset's columns come from the warehouse's definitions."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from test_warehouse_reports import write_raw

from assets.descriptions import warehouse_columns
from assets.ingest import ingest_assets, warehouse_year
from assets.partitions import range_tags
from assets.resources import GongkaiPaths, YearPickleIOManager
from pipelines.cli import main
from pipelines.ingest import run_ingest
from pipelines.instance import TEMPLATE, open_instance
from warehouse.access import relations
from warehouse.db import connect, init_schema, query
from warehouse.frames import TABLES

ROOT = Path(__file__).resolve().parents[1]


def _corpus(tmp_path: Path) -> tuple[Path, Path]:
    """2022: three good reports; 2023: two good ones and an empty file (rejected), so the two
    years' figures differ."""
    raw = tmp_path / "data" / "raw"
    write_raw(raw, 2022, ["甲市交通运输局", "乙县人民政府", "丙区财政局"])
    write_raw(raw, 2023, ["甲市交通运输局", "乙县人民政府"], seed=7)
    (raw / "2023" / "empty.txt").write_bytes(b"")
    return raw, tmp_path / "data" / "warehouse.ducklake"


def _metadata(instance: dg.DagsterInstance, asset: str, year: str) -> dict:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[year]), limit=10
    ).records
    assert len(records) == 1, (asset, year, len(records))
    materialization = records[0].asset_materialization
    assert materialization is not None
    return {k: v.value for k, v in materialization.metadata.items()}


def _year_rows(db: Path) -> dict[int, int]:
    """Rows of each year across every table the warehouse_year asset writes."""
    out: dict[int, int] = {}
    for table in TABLES:
        for year, n in query(db, f"SELECT year, count(*) FROM {table} GROUP BY year"):
            out[year] = out.get(year, 0) + n
    return out


def test_ingest_records_its_runs_in_the_instance_beside_the_warehouse(tmp_path: Path) -> None:
    raw, db = _corpus(tmp_path)
    summary = run_ingest([2022, 2023], raw_dir=raw, db_path=db)
    assert summary.years[2022].loaded and summary.years[2023].loaded

    home = tmp_path / "data" / "dagster_home"
    assert (home / "dagster.yaml").read_text() == TEMPLATE.read_text()  # telemetry off, one run at a time
    with open_instance(db) as instance:
        assert instance.get_runs_count() == 2  # one run per year
        runs = instance.get_runs()
        assert {r.tags.get("dagster/partition") for r in runs} == {"2022", "2023"}
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert _metadata(instance, "extracted_reports", "2022")["ok"] == 3
        assert _metadata(instance, "extracted_reports", "2023")["rejected"] == 1
        checks = {
            run.tags["dagster/partition"]: {
                e.asset_check_evaluation.check_name: e.asset_check_evaluation.passed
                for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
                if e.asset_check_evaluation is not None
            }
            for run in runs
        }
    # The two years' reports disagree on carried-over requests (different seeds): E breaks in 2023.
    assert checks == {
        "2022": {"pandera_models": True, "identities": True, "carryover_continuity": True},
        "2023": {"pandera_models": True, "identities": True, "carryover_continuity": False},
    }


def test_a_users_dagster_home_is_used_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw, db = _corpus(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(mine))
    run_ingest([2022], raw_dir=raw, db_path=db)
    assert not (mine / "dagster.yaml").exists()  # gongkai never writes a user's instance config
    assert (mine / "history" / "runs.db").is_file()  # the run is recorded there
    assert not (tmp_path / "data" / "dagster_home" / "history").exists()
    with open_instance(db) as instance:
        assert instance.get_runs_count() == 1


def test_a_range_run_gives_each_partition_its_own_figures(tmp_path: Path) -> None:
    raw, db = _corpus(tmp_path)
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(db))
    with open_instance(db) as instance:
        result = dg.materialize(
            ingest_assets,
            tags=range_tags(2022, 2023),  # one run over both years
            resources={"paths": paths, "year_io": YearPickleIOManager(paths=paths)},
            instance=instance,
        )
        assert result.success
        figures = {
            year: {
                k: _metadata(instance, "extracted_reports", year)[k] for k in ("ok", "warning", "rejected")
            }
            for year in ("2022", "2023")
        }
        rows = {
            year: _metadata(instance, "warehouse_year", year)["dagster/row_count"]
            for year in ("2022", "2023")
        }
        applications = {
            year: _metadata(instance, "warehouse_year", year)["rows_applications"]
            for year in ("2022", "2023")
        }
    assert figures == {
        "2022": {"ok": 3, "warning": 0, "rejected": 0},
        "2023": {"ok": 2, "warning": 0, "rejected": 1},
    }
    assert applications == {"2022": 3 * 175, "2023": 2 * 175}
    by_year = _year_rows(db)
    assert rows == {"2022": by_year[2022], "2023": by_year[2023]}
    assert by_year[2022] != by_year[2023]


@pytest.mark.slow  # two CLI processes: about 40 s on the shared machine
def test_two_ingests_at_once_share_one_instance(tmp_path: Path) -> None:
    """Two CLI ingests started together on a fresh data folder: both create the instance on
    first use, take turns at the writer lock, and both runs are in its history."""
    raw, db = _corpus(tmp_path)
    (raw / "2023" / "empty.txt").unlink()  # every file loads: both exit 0
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | {
        "GONGKAI_RAW": str(raw),
        "GONGKAI_DB": str(db),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "ingest", year],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for year in ("2022", "2023")
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("Traceback" not in out for out in outputs)
    with open_instance(db) as instance:
        runs = instance.get_runs()
    assert sorted(r.tags.get("dagster/partition") for r in runs) == ["2022", "2023"]
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}


def test_warehouse_asset_lists_the_warehouse_columns(tmp_path: Path) -> None:
    with connect(tmp_path / "catalog.ducklake") as con:  # a fresh warehouse: the DDL's own columns
        init_schema(con)
        catalog = relations(con)
    schema = warehouse_columns()
    assert [c.name for c in schema.columns] == [f"{t}.{c}" for t in TABLES for c in catalog[t].columns]
    first = schema.columns[0]
    assert (first.name, first.type, first.description) == (
        "reports.report_id",
        "VARCHAR",
        "First 16 hex digits of the file's sha256: the same bytes are the same report, wherever filed.",
    )
    spec = warehouse_year.specs_by_key[dg.AssetKey("warehouse_year")]
    assert spec.metadata["dagster/column_schema"] == schema


def test_an_unusable_instance_folder_is_one_line_and_loads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, db = _corpus(tmp_path)
    # root writes through permission bits; sysfs refuses new folders even to root
    parent = Path("/sys") if os.geteuid() == 0 else tmp_path / "read-only"
    if parent != Path("/sys"):
        parent.mkdir()
        parent.chmod(0o555)
    home = parent / "gongkai-dagster-home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("GONGKAI_RAW", str(raw))
    monkeypatch.setenv("GONGKAI_DB", str(db))
    assert main(["ingest", "2022"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    # A folder the disk refuses is a machine fault (warehouse.faults): one line naming the folder
    # and the fix, the published warehouse unchanged.
    assert captured.out == ""
    assert captured.err.startswith(
        f"gongkai: permission denied at {home} (recording the runs in Dagster's instance storage): "
    )
    assert captured.err.endswith("and run again — the published warehouse is unchanged\n")
    assert captured.err.count("\n") == 1
    assert not db.exists()
    assert main(["dagster", "instance", "info"]) == 1
    assert re.fullmatch(
        re.escape(f"gongkai: the Dagster instance folder {home} cannot be created (")
        + "(Permission denied|Operation not permitted)"
        + re.escape("): fix it, or set DAGSTER_HOME\n"),
        capsys.readouterr().err,
    )
