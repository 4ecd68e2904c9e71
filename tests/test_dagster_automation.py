"""Schedule, sensor and the in-process ``run_ingest`` entry point."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from test_warehouse_reports import write_raw

from assets.partitions import (
    partition_years,
    year_ranges,
    years_partitions,
)
from assets.resources import FetchSettings, GongkaiPaths
from pipelines.definitions import build_definitions, defs
from pipelines.ingest import IngestSummary, run_ingest
from pipelines.schedules import nightly_ingest
from pipelines.sensors import raw_dir_sensor

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _year(request: dg.RunRequest) -> int:
    return int(request.partition_key or "0")


def test_definitions_load() -> None:
    job = defs.resolve_job_def("ingest_job")
    assert job.partitions_def == years_partitions
    assert {s.name for s in defs.schedules} == {"nightly_ingest"}
    assert {s.name for s in defs.sensors} == {"raw_dir_sensor"}
    assert partition_years()[0] == 2019 and partition_years()[-1] == datetime.now(SHANGHAI).year


def test_year_ranges() -> None:
    assert year_ranges([2024, 2019, 2020, 2022, 2020]) == [(2019, 2020), (2022, 2022), (2024, 2024)]
    assert year_ranges([]) == []


def _nightly(when: datetime, paths: GongkaiPaths) -> list[dg.RunRequest] | dg.SkipReason:
    return nightly_ingest(
        dg.build_schedule_context(
            scheduled_execution_time=when, resources={"paths": paths, "fetch": FetchSettings()}
        )
    )


def test_schedule_requests_current_and_previous_year(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for year in (2023, 2024, 2025):
        write_raw(raw, year, ["甲局"], seed=year)
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.ducklake"))
    # 02:00 on 1 January in Shanghai is still 31 December in UTC: China time decides the year.
    when = datetime(2025, 1, 1, 2, 0, tzinfo=SHANGHAI)
    requests = _nightly(when, paths)
    assert isinstance(requests, list)
    assert [_year(r) for r in requests] == [2024, 2025]  # one run a year: each carries its data version
    assert [r.run_key for r in requests] == ["nightly-2025-01-01-2024", "nightly-2025-01-01-2025"]
    assert (
        nightly_ingest.cron_schedule == "0 2 * * *" and nightly_ingest.execution_timezone == "Asia/Shanghai"
    )


def test_schedule_skips_years_with_nothing_new(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for year in (2024, 2025):
        write_raw(raw, year, ["甲局"], seed=year)
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.ducklake"))
    assert run_ingest(raw_dir=raw, db_path=paths.db).success
    when = datetime(2025, 3, 1, 2, 0, tzinfo=SHANGHAI)
    skipped = _nightly(when, paths)
    assert isinstance(skipped, dg.SkipReason) and "nothing new for 2024–2025" in (skipped.skip_message or "")
    write_raw(raw, 2025, ["乙局"], seed=9)  # a late filing for 2025 only
    requests = _nightly(when, paths)
    assert isinstance(requests, list) and [_year(r) for r in requests] == [2025]


def test_schedule_never_asks_before_2019(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_raw(raw, 2019, ["甲局"])
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.ducklake"))
    requests = _nightly(datetime(2019, 6, 1, 2, tzinfo=SHANGHAI), paths)
    assert isinstance(requests, list) and [_year(r) for r in requests] == [2019]


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    # One ephemeral instance for the module: creating one costs seconds.
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def _ticker(instance: dg.DagsterInstance, paths: GongkaiPaths) -> Callable[[str | None], dg.SensorResult]:
    def tick(cursor: str | None) -> dg.SensorResult:
        context = dg.build_sensor_context(cursor=cursor, resources={"paths": paths}, instance=instance)
        return raw_dir_sensor(context)

    return tick


def test_sensor_requests_only_changed_years(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    raw = tmp_path / "raw"
    for year in (2020, 2021, 2023):
        write_raw(raw, year, ["甲局"], seed=year)
    (raw / "2017").mkdir()  # outside the partitions: ignored
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.duckdb"))
    _tick = _ticker(instance, paths)

    first = _tick(None)  # no cursor: everything is new
    assert [_year(r) for r in first.run_requests] == [2020, 2021, 2023]
    assert sorted(json.loads(first.cursor)) == ["2020", "2021", "2023"]

    assert _tick(first.cursor).run_requests == []  # nothing changed

    write_raw(raw, 2021, ["乙局"], seed=5)  # a new file in 2021
    changed = _tick(first.cursor)
    assert [_year(r) for r in changed.run_requests] == [2021]

    # A touched file (same name and size, new mtime) and a manifest row for 2023 count too.
    f2020 = next((raw / "2020").iterdir())
    os.utime(f2020, (1_700_000_000, 1_700_000_000))
    (raw / "manifest.csv").write_text(
        "path,agency,year\n2023/甲局_2023.txt,甲市甲局,2023\n", encoding="utf-8"
    )
    again = _tick(changed.cursor)
    assert [_year(r) for r in again.run_requests] == [2020, 2023]
    # The same state asked twice yields the same run keys, so Dagster launches it once.
    assert [r.run_key for r in _tick(changed.cursor).run_requests] == [r.run_key for r in again.run_requests]


def test_sensor_reloads_a_removed_year(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    raw = tmp_path / "raw"
    write_raw(raw, 2022, ["甲局"])
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.duckdb"))
    _tick = _ticker(instance, paths)
    cursor = _tick(None).cursor
    for f in (raw / "2022").iterdir():
        f.unlink()
    (raw / "2022").rmdir()
    assert [_year(r) for r in _tick(cursor).run_requests] == [2022]


def test_sensor_asks_nothing_the_warehouse_already_holds(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    raw = tmp_path / "raw"
    for year in (2021, 2022):
        write_raw(raw, year, ["甲局"], seed=year)
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.ducklake"))
    assert run_ingest(raw_dir=raw, db_path=paths.db).success
    _tick = _ticker(instance, paths)
    assert _tick(None).run_requests == []  # switched on after an ingest: nothing to do
    f2022 = next((raw / "2022").iterdir())
    os.utime(f2022, (1_700_000_000, 1_700_000_000))  # touched: asked once, the run finds same bytes
    assert [_year(r) for r in _tick(None).run_requests] == [2022]
    summary = run_ingest([2022], raw_dir=raw, db_path=paths.db)
    assert summary.years[2022].loaded and summary.years[2022].parsed == 0  # same bytes: no parse
    assert _tick(None).run_requests == []  # the run recorded the touched state


def test_run_ingest_summary(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_raw(raw, 2020, ["甲局"], seed=1)
    write_raw(raw, 2022, ["甲局", "乙局"], seed=2)
    (raw / "2022" / "empty.txt").write_bytes(b"")
    (raw / "2016").mkdir()
    db = tmp_path / "w.duckdb"
    messages: list[str] = []
    summary = run_ingest(raw_dir=raw, db_path=db, on_progress=messages.append)
    assert isinstance(summary, IngestSummary)
    assert sorted(summary.years) == [2020, 2022] and summary.skipped_years == [2016]
    assert len(summary.run_ids) == 2  # 2020 and 2022 are not consecutive: two runs
    y2022 = summary.years[2022]
    assert (y2022.ok, y2022.warning, y2022.rejected, y2022.loaded) == (2, 0, 1, True)
    assert y2022.changes.as_dict() == {"new": 3, "changed": 0, "unchanged": 0, "gone": 0}
    assert y2022.parsed == 3 and not y2022.up_to_date
    assert y2022.rejected_files == [("2022/empty.txt", "empty file")]
    assert y2022.rows == {
        "reports": 3,
        "applications": 350,
        "proactive": 20,
        "appeals": 30,
        "checks": 84,
        "cell_flags": 0,
        "corrections": 0,
    }
    assert summary.totals()["rows_applications"] == 525
    assert any("2022" in m and "loaded" in m for m in messages)
    assert not summary.success  # the skipped 2016 folder is reported as an error

    # Again, nothing changed: no file parsed, nothing written.
    again = run_ingest(raw_dir=raw, db_path=db)
    assert all(y.up_to_date and y.parsed == 0 for y in again.years.values())
    assert again.years[2022].changes.as_dict() == {"new": 0, "changed": 0, "unchanged": 3, "gone": 0}
    assert (again.years[2022].ok, again.years[2022].rejected) == (2, 1)
    assert again.years[2022].rows == y2022.rows

    # One file changed, one gone, one new: only 2022 is reloaded, only the new bytes are parsed.
    (raw / "2022" / "empty.txt").unlink()
    write_raw(raw, 2022, ["丙局"], seed=3)
    third = run_ingest(raw_dir=raw, db_path=db)
    assert third.years[2020].up_to_date and not third.years[2022].up_to_date
    assert third.years[2022].changes.as_dict() == {"new": 1, "changed": 0, "unchanged": 2, "gone": 1}
    assert third.years[2022].parsed == 1 and third.years[2022].loaded
    assert third.years[2022].rows["reports"] == 3


def test_definitions_bind_given_paths(tmp_path: Path) -> None:
    paths = GongkaiPaths(raw_dir=str(tmp_path / "r"), db_path=str(tmp_path / "w.duckdb"))
    built = build_definitions(paths)
    assert built.resolve_job_def("ingest_job").name == "ingest_job"
    assert paths.io_dir == tmp_path / "dagster_home" / "io"
