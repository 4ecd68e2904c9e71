"""`gongkai report` on a small hand-made warehouse with hand-computed answers: the numbers behind
every chart against the views' SQL, the ranking threshold, region/level/year filters, escaping of
hostile agency names, no external reference, the CLI and the Dagster asset."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pytest
from test_analyst_views import _directory, load, report

import warehouse.db as db
from assets.report import html_report
from assets.resources import GongkaiPaths
from pipelines.cli import main
from pipelines.definitions import build_definitions, ingest_job
from schemas.taxonomy import NULL_KINDS, taxonomy
from warehouse.agencies import LEVELS
from warehouse.publish import warehouse_build
from warehouse.report import NothingToReport, ReportOptions, write_report
from warehouse.report.parts import level_label

HOSTILE = '<script>alert("x")</script>局'
FORMULA = "=cmd|' /C calc'!A0"
AGENCIES = (
    "agency,aliases,region,level\n"
    "甲县政府,,江苏省/宿迁市/甲县,county\n乙县政府,,江苏省/宿迁市/乙县,county\n"
    "宿迁市政府,,江苏省/宿迁市,city\n丙市政府,,浙江省/丙市,city\n"
)
RECON, DIRECT = "reconsideration", "litigation_direct"


def _year_2022() -> list:
    return [
        report(
            "甲县政府",
            2022,
            {
                "new_received": 40,
                "total_processed": 40,
                "disclosed": 30,
                "partially_disclosed": 2,
                "withheld_state_secret": 2,
                "withheld_process_info": 2,
                "carried_forward": 3,
            },
            appeals={
                (RECON, "total"): 4,
                (RECON, "corrected"): 1,
                (DIRECT, "total"): 2,
                (DIRECT, "corrected"): 1,
            }
            | {(DIRECT, "pending"): 1},
        ),
        report(
            "乙县政府",
            2022,
            {"new_received": 100, "total_processed": 100, "disclosed": 50, "withheld_third_party": 10},
            appeals={(RECON, "total"): 6, (RECON, "pending"): 2},
        ),
        report("宿迁市政府", 2022, {"new_received": 8, "total_processed": 8, "disclosed": 8}),
        report(
            "丙市政府",
            2022,
            {"new_received": 30, "total_processed": 30, "disclosed": 15, "withheld_process_info": 6},
        ),
    ]


def _year_2023() -> list:
    flagged = report(
        "乙县政府",
        2023,
        {"new_received": 70, "total_processed": 70, "disclosed": 60, "partially_disclosed": 5},
        columns={("withheld_internal_affairs", "total"): None, ("disclosed", "natural_person"): None},
        status="warning",
    )
    flagged.report.null_cells = 2
    flagged.report.flags = [
        {
            "table": "applications",
            "row": "withheld_internal_affairs",
            "column": "total",
            "kind": "dash",
            "reason": "printed as a dash",
            "candidates": [],
        },
        {
            "table": "applications",
            "row": "disclosed",
            "column": "natural_person",
            "kind": "unreadable",
            "reason": "not a number: 'l2'",
            "candidates": [],
        },
    ]
    flagged.report.checks = [
        {"rule": "A", "subject": "total", "expected": 70.0, "actual": 70.0, "passed": True},
        {"rule": "B", "subject": "total", "expected": 70.0, "actual": 65.0, "passed": False},
    ]
    return [
        report(
            "甲县政府",
            2023,
            {
                "new_received": 60,
                "carried_over": 5,  # 2022 carried 3 forward: a continuity break
                "total_processed": 60,
                "disclosed": 40,
                "withheld_process_info": 6,
                "withheld_inquiry": 2,
            },
            appeals={(RECON, "total"): 5, (RECON, "corrected"): 2, (RECON, "pending"): 1},
        ),
        flagged,
        report("宿迁市政府", 2023, {"new_received": 5, "total_processed": 5, "disclosed": 5}),  # 5 of 5
        report(
            HOSTILE,
            2023,
            {"new_received": 50, "total_processed": 50, "disclosed": 10, "withheld_process_info": 30},
        ),
        report(
            FORMULA,
            2023,
            {"new_received": 25, "total_processed": 25, "disclosed": 20, "withheld_third_party": 5},
        ),
        report("丙市政府", 2023, status="rejected"),
    ]


def _build(base: Path) -> Path:
    directory, _ = _directory(base, AGENCIES)
    path = base / "warehouse.ducklake"
    load(path, 2022, *_year_2022(), directory=directory)
    load(path, 2023, *_year_2023(), directory=directory)
    return path


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("report"))


class _Marks(HTMLParser):
    """Every chart's marks as (series, key, value), and every tag's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[tuple[str, str, float]]] = {}
        self.attributes: list[tuple[str, str, str | None]] = []
        self._chart: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.attributes += [(tag, k, v) for k, v in attrs]
        if tag == "svg":
            self._chart = a["data-chart"]
            self.charts[self._chart or ""] = []
        elif tag == "rect" and a.get("class") == "mark" and self._chart:
            self.charts[self._chart].append(
                (a["data-series"] or "", a["data-key"] or "", float(a["data-value"] or ""))
            )


def _marks(html: str) -> _Marks:
    parser = _Marks()
    parser.feed(html)
    return parser


def _report(wh: Path, tmp_path: Path, **options: object) -> tuple[object, str]:
    out = tmp_path / "r.html"
    data = write_report(wh, out, ReportOptions(**options))  # type: ignore[arg-type]
    return data, out.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ the numbers
def test_every_panel_holds_the_hand_computed_figures(wh: Path, tmp_path: Path) -> None:
    data, _ = _report(wh, tmp_path)
    assert (data.first, data.last, data.min_requests) == (2022, 2023, 20)
    assert data.totals == {"agencies": 6, "reports_loaded": 9, "requests_received": 178 + 210}
    assert data.requests_by_year.rows() == [(2022, 4, 178), (2023, 5, 210)]
    by_level = {(y, lv): (n, d, w) for y, lv, n, d, w in data.rates_by_level.rows()}
    assert by_level[(2023, "county")] == (2, 105 / 130, 8 / 60)  # 乙县's withheld is unknown (a dash)
    assert by_level[(2023, "city")] == (1, 1.0, 0.0)
    assert by_level[(2023, None)] == (2, 30 / 75, 35 / 75)  # the two names no directory knows
    mix = {c: (n, s) for y, c, n, s in data.withheld_mix.rows() if y == 2023}
    assert mix["withheld_process_info"] == (36, 36 / 43)
    assert mix["withheld_third_party"] == (5, 5 / 43)
    assert mix["withheld_inquiry"] == (2, 2 / 43)
    assert mix["withheld_state_secret"] == (0, 0.0)
    assert data.movers.rows() == [
        ("乙县政府", "county", "江苏省/宿迁市/乙县", 100, 70, -30),
        ("甲县政府", "county", "江苏省/宿迁市/甲县", 40, 60, 20),
        ("宿迁市政府", "city", "江苏省/宿迁市", 8, 5, -3),
    ]
    assert data.correction_rates.rows() == [(2022, 1 / 8, 8, 1.0, 1), (2023, 2 / 4, 4, None, 0)]
    assert data.quality.rows() == [(2022, 4, 0, 0, 0, 0, 0, 0), (2023, 4, 1, 1, 0, 1, 1, 1)]
    assert data.null_cells.rows() == [(2023, "dash", 1), (2023, "unreadable", 1)]


def test_charts_draw_what_the_views_say(wh: Path, tmp_path: Path) -> None:
    _, html = _report(wh, tmp_path)
    charts = _marks(html).charts
    assert {k for k, _ in charts.items()} == {
        "requests_by_year",
        "disclosure_rate_by_level",
        "withheld_rate_by_level",
        "withheld_mix",
        "movers",
        "highest_disclosure_rate",
        "highest_withheld_rate",
        "correction_rates",
        "report_statuses",
        "null_cells",
    }
    assert {(k, v) for _, k, v in charts["requests_by_year"]} == {
        (str(y), float(n))
        for y, n in db.query(wh, "SELECT year, sum(requests_received) FROM agency_year_metrics GROUP BY year")
    }
    for rate in ("disclosure_rate", "withheld_rate"):
        expected = {
            (str(y), level_label(lv), v)
            for y, lv, v in db.query(wh, f"SELECT year, level, {rate} FROM level_year_metrics")
            if v is not None
        }
        assert set(charts[f"{rate}_by_level"]) == expected, rate
    assert sorted((k, v) for _, k, v in charts["correction_rates"]) == [
        ("2022", 0.125),
        ("2022", 1.0),
        ("2023", 0.5),  # no lawsuit decided in 2023: no litigation bar
    ]
    assert sorted((s, k, v) for s, k, v in charts["report_statuses"]) == [
        ("ok", "2022", 4.0),
        ("ok", "2023", 4.0),
        ("rejected", "2023", 1.0),
        ("warning", "2023", 1.0),
    ]
    kinds = taxonomy().null_kinds
    assert sorted(charts["null_cells"]) == sorted(
        [(f"{kinds['dash']} dash", "2023", 1.0), (f"{kinds['unreadable']} unreadable", "2023", 1.0)]
    )
    assert [(k, v) for _, k, v in charts["movers"]] == [
        ("乙县政府", -30.0),
        ("甲县政府", 20.0),
        ("宿迁市政府", -3.0),
    ]
    shares = {(s, k): v for s, k, v in charts["withheld_mix"]}
    assert shares[("6.属于四类过程性信息", "2023")] == 36 / 43
    assert abs(sum(v for (_, k), v in shares.items() if k == "2023") - 1) < 1e-12


# ------------------------------------------------------------------------------ threshold
def test_rate_rankings_leave_out_agencies_below_the_threshold(wh: Path, tmp_path: Path) -> None:
    data, html = _report(wh, tmp_path)
    assert [r[:2] for r in data.highest["disclosure_rate"].rows()] == [
        ("乙县政府", "county"),
        (FORMULA, None),
        ("甲县政府", "county"),
        (HOSTILE, None),
    ]  # 宿迁市政府 (5 requests, all disclosed) is not ranked
    assert [(r[0], r[3]) for r in data.highest["withheld_rate"].rows()] == [
        (HOSTILE, 0.6),
        (FORMULA, 0.2),
        ("甲县政府", 8 / 60),
    ]
    assert "Only agencies that received at least 20 requests in 2023" in html
    low, _ = _report(wh, tmp_path, min_requests=5)
    assert low.highest["disclosure_rate"].rows()[0] == ("宿迁市政府", "city", 5, 1.0, 1, 1)
    # The report's ranks are the mart's at the default threshold.
    assert (
        db.query(
            wh,
            "SELECT * FROM agency_rankings EXCEPT SELECT * FROM agency_rankings_min(ranking_min_requests())",
        )
        == []
    )
    assert db.query(
        wh, "SELECT agency, disclosure_rate_rank FROM agency_rankings WHERE year = 2023 AND level = 'city'"
    ) == [("宿迁市政府", None)]


# ------------------------------------------------------------------------------ filters
def test_region_level_and_year_filters(wh: Path, tmp_path: Path) -> None:
    data, _ = _report(wh, tmp_path, region="江苏省/宿迁市", years=[2023])
    assert data.requests_by_year.rows() == [(2023, 3, 135)]
    assert db.query(
        wh, "SELECT requests_received FROM region_year_metrics WHERE year = 2023 AND region = '江苏省/宿迁市'"
    ) == [(135,)]
    assert data.quality.rows() == [(2023, 2, 1, 0, 0, 1, 1, 1)]  # 丙市政府's rejection is in 浙江省
    county, _ = _report(wh, tmp_path, level="county")
    assert county.requests_by_year.rows() == [(2022, 2, 140), (2023, 2, 130)]
    assert {r[1] for r in county.rates_by_level.rows()} == {"county"}
    with pytest.raises(NothingToReport, match="region 江苏省/宿迁"):
        _report(wh, tmp_path, region="江苏省/宿迁")  # a region is matched by whole path parts
    with pytest.raises(NothingToReport, match="for 2030"):
        _report(wh, tmp_path, years=[2030])


# ------------------------------------------------------------------------------ safety
def test_hostile_names_are_escaped_and_nothing_is_fetched(wh: Path, tmp_path: Path) -> None:
    _, html = _report(wh, tmp_path)
    assert HOSTILE not in html and "<script" not in html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;局" in html
    assert "=cmd|&#x27; /C calc&#x27;!A0" in html
    parsed = _marks(html)
    names = {k for _, k, _ in parsed.charts["highest_withheld_rate"]}
    assert HOSTILE in names and FORMULA in names  # the parser reads the names back intact
    # No external reference: no URL, no src/href, no CSS import; the CSP forbids fetching anyway.
    assert not re.search(r"https?:|//[a-z]|url\(|@import", html, re.I)
    assert not [
        (t, k) for t, k, _ in parsed.attributes if k in ("src", "href", "xlink:href", "srcset", "action")
    ]
    assert "default-src 'none'" in html


def test_taxonomy_labels_cover_levels_and_null_kinds() -> None:
    assert tuple(taxonomy().levels) == LEVELS
    assert tuple(taxonomy().null_kinds) == NULL_KINDS


# ------------------------------------------------------------------------------ CLI, asset
def test_cli_report_writes_the_file_and_says_why_not(
    wh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GONGKAI_DB", str(wh))
    out = tmp_path / "out" / "x.html"
    assert main(["report", "--years", "2022-2023", "--level", "county", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}: 2022–2023, 2 agencies, 4 reports\n"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", "--region", "火星", "--out", str(out)]) == 1
    assert capsys.readouterr().err == "gongkai: the warehouse holds no loaded report in region 火星\n"
    assert main(["report", "--level", "town"]) == 2  # a usage error, in one line
    assert "invalid choice: 'town'" in capsys.readouterr().err
    monkeypatch.setenv("GONGKAI_DB", str(tmp_path / "none.ducklake"))
    assert main(["report"]) == 1
    assert "no warehouse at" in capsys.readouterr().err


def test_the_asset_writes_report_html_beside_the_warehouse_and_runs_nightly(tmp_path: Path) -> None:
    copy = _build(tmp_path)  # this test writes a year: a warehouse of its own
    paths = GongkaiPaths(db_path=str(copy))
    result = dg.materialize([html_report], resources={"paths": paths})
    assert result.success
    metadata = result.asset_materializations_for_node("html_report")[0].metadata
    assert (metadata["years"].value, metadata["reports_loaded"].value) == ("2022–2023", 9)
    assert "<b>388</b>requests received" in (tmp_path / "report.html").read_text(
        encoding="utf-8"
    )  # 178 + 210
    # Inside an ingest session the asset reads the build the run is writing, not the published catalog.
    directory, _ = _directory(tmp_path, AGENCIES)
    published = copy.read_bytes()
    with warehouse_build(copy) as build:
        load(
            build,
            2024,
            report("甲县政府", 2024, {"new_received": 12, "total_processed": 12}),
            directory=directory,
        )
        assert dg.materialize([html_report], resources={"paths": paths}).success
        assert "2022–2024" in (tmp_path / "report.html").read_text(encoding="utf-8")
        assert copy.read_bytes() == published  # not yet published
    # The nightly schedule runs ingest_job: the report is part of it.
    assert dg.AssetKey("html_report") in ingest_job.selection.resolve(
        build_definitions(paths).resolve_asset_graph()
    )


def test_an_ingest_of_several_years_writes_the_report_once_with_every_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One run per year; the report reads the whole warehouse, so only the last run writes it,
    when asked (``gongkai ingest --report``); without, none is written."""
    from test_warehouse_reports import write_raw

    import assets.report as report_asset
    from pipelines.ingest import run_ingest

    raw = tmp_path / "raw"
    for year in (2021, 2022, 2023):
        write_raw(raw, year, ["乙市教育局", "乙市民政局"], seed=year)
    written: list[Path] = []
    original = report_asset.write_report

    def counted(source: Path, out: Path) -> object:
        written.append(out)
        return original(source, out)

    monkeypatch.setattr(report_asset, "write_report", counted)
    summary = run_ingest(raw_dir=raw, db_path=tmp_path / "wh.ducklake", report=True)
    assert summary.success, summary.errors
    assert written == [tmp_path / "report.html"]
    assert "2021–2023" in written[0].read_text(encoding="utf-8")
    (tmp_path / "report.html").unlink()
    write_raw(raw, 2024, ["乙市教育局"], seed=1)
    assert run_ingest(raw_dir=raw, db_path=tmp_path / "wh.ducklake").success
    assert written == [tmp_path / "report.html"] and not (tmp_path / "report.html").exists()
