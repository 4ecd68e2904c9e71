"""fetched_files in Dagster: the first asset of the ingest job, upstream of raw_files; an
in-process materialisation fetches from a local site and the downstream assets load what it
wrote; its metadata carries the counts. Without sources.csv it does nothing and says so."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from fetchkit import Document, Reply, Site, html_report, site

from assets.fetch import fetched_files
from assets.ingest import ingest_assets
from assets.resources import FetchSettings, GongkaiPaths, YearPickleIOManager
from pipelines.definitions import JOB_NAME, build_definitions
from pipelines.schedules import nightly_ingest
from warehouse.db import query

__all__ = ["site"]

HTML = "text/html; charset=utf-8"


def _materialize(tmp_path: Path, sources: Path) -> dg.ExecuteInProcessResult:
    paths = GongkaiPaths(raw_dir=str(tmp_path / "raw"), db_path=str(tmp_path / "w.ducklake"))
    fetch = FetchSettings(sources_csv=str(sources), host_interval_s=0, timeout_s=1, retries=0)
    return dg.materialize(
        [fetched_files, *ingest_assets],
        partition_key="2023",
        resources={"paths": paths, "fetch": fetch, "year_io": YearPickleIOManager(paths=paths)},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_fetched_files_runs_first_and_feeds_the_load(site: Site, tmp_path: Path) -> None:
    site.routes["/a.html"] = Document(html_report("测试市甲局", 2023, seed=1), '"a"', None, HTML)
    site.routes["/b.html"] = Document(html_report("测试市乙局", 2023, seed=2), '"b"', None, HTML)
    site.routes["/c.pdf"] = Reply(
        200, b"<!DOCTYPE html><html><body>error</body></html>", {"Content-Type": "text/html"}
    )
    sources = tmp_path / "sources.csv"
    sources.write_text(
        "agency,year,url\n"
        f"测试市甲局,2023,{site.url('/a.html')}\n测试市乙局,2023,{site.url('/b.html')}\n"
        f"测试市丙局,2023,{site.url('/c.pdf')}\n测试市丁局,2023,{site.url('/d.pdf')}\n"
        f"测试市戊局,2022,{site.url('/e.pdf')}\n",  # another year: not this partition's
        encoding="utf-8",
    )
    result = _materialize(tmp_path, sources)
    assert result.success
    fetched = _metadata(result, "fetched_files")
    assert {
        k: fetched[k] for k in ("urls", "new", "changed", "unchanged", "failed", "not_report", "broken")
    } == {
        "urls": 4,
        "new": 2,
        "changed": 0,
        "unchanged": 0,
        "failed": 1,
        "not_report": 1,
        "broken": 0,
    }
    assert fetched["requests"] == 4 and site.requests_to("/e.pdf") == []
    assert _metadata(result, "raw_files")["new"] == 2  # listed by the next step of the same run
    assert _metadata(result, "warehouse_year")["loaded"] is True
    db = tmp_path / "w.ducklake"
    assert query(db, "SELECT agency, status FROM reports ORDER BY agency") == [
        ("测试市乙局", "ok"),
        ("测试市甲局", "ok"),
    ]
    assert query(db, "SELECT count(*) FROM fetch_log") == [(4,)]

    again = _materialize(tmp_path, sources)  # nothing new: nothing written, the year is up to date
    assert _metadata(again, "fetched_files")["unchanged"] == 2
    assert _metadata(again, "raw_files")["up_to_date"] is True


def test_without_sources_it_does_nothing_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "raw" / "2023").mkdir(parents=True)
    result = _materialize(tmp_path, tmp_path / "sources.csv")
    assert result.success
    fetched = _metadata(result, "fetched_files")
    assert fetched["sources"] == f"{tmp_path / 'sources.csv'} is absent: nothing to fetch"
    assert fetched["urls"] == 0 and fetched["new"] == 0
    assert _metadata(result, "warehouse_year")["loaded"] is True  # the ingest went on as before
    assert query(tmp_path / "w.ducklake", "SELECT count(*) FROM fetch_log") == [(0,)]


def test_the_nightly_schedule_runs_the_years_sources_list(tmp_path: Path) -> None:
    paths = GongkaiPaths(raw_dir=str(tmp_path / "raw"), db_path=str(tmp_path / "w.ducklake"))
    sources = tmp_path / "sources.csv"
    fetch = FetchSettings(sources_csv=str(sources))
    when = datetime(2025, 3, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    def nightly() -> list[dg.RunRequest] | dg.SkipReason:
        resources = {"paths": paths, "fetch": fetch}
        return nightly_ingest(dg.build_schedule_context(scheduled_execution_time=when, resources=resources))

    assert isinstance(nightly(), dg.SkipReason)  # no files, no sources: no run
    sources.write_text(
        "agency,year,url\n甲局,2024,http://127.0.0.1:9/a.pdf\n甲局,2019,http://127.0.0.1:9/b.pdf\n"
    )
    requests = nightly()
    assert isinstance(requests, list) and [r.partition_key for r in requests] == ["2024"]


def test_the_ingest_job_starts_with_fetched_files() -> None:
    defs = build_definitions()
    job = defs.resolve_job_def(JOB_NAME)
    assert dg.AssetKey("fetched_files") in job.asset_layer.selected_asset_keys
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("fetched_files") in graph.get(dg.AssetKey("raw_files")).parent_keys
    assert graph.get(dg.AssetKey("fetched_files")).parent_keys == set()
