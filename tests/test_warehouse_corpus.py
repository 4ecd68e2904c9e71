"""The warehouse on a generated multi-year corpus (synth, known answers): metrics against the
truth, the cookbook's ten queries, exports read back, the read-only ``gongkai sql``, the data
dictionary, the continuity asset check on a planted break, and a manifest year correction."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.ingest import CONTINUITY_CHECK, ingest_assets
from assets.partitions import range_tags
from assets.resources import GongkaiPaths, YearPickleIOManager
from extract import extract_bytes
from pipelines.cli import main
from schemas.taxonomy import taxonomy
from synth.corpus import write_corpus
from synth.model import SyntheticReport, random_report
from synth.render import render
from warehouse import db
from warehouse.access import UsageError, export, select_relation
from warehouse.agencies import build_directory
from warehouse.changes import stat_fingerprints
from warehouse.dictionary import DICTIONARY_FILE, render_dictionary
from warehouse.frames import Extracted, build_frames
from warehouse.inventory import read_manifest, scan_partition, years_present

ROOT = Path(__file__).resolve().parents[1]
COOKBOOK = ROOT / "docs" / "cookbook.md"
TAX = taxonomy()
YEARS = range(2019, 2025)
BREAK_AGENCY = "测试县审计局"


def _append_manifest(raw: Path, rows: list[dict[str, object]]) -> None:
    with (raw / "manifest.csv").open("a", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, fieldnames=["path", "agency", "year", "region", "url", "published"]).writerows(rows)


def plant_break(raw: Path, years: tuple[int, int] = (2022, 2023), seed: int = 7) -> list[SyntheticReport]:
    """Two reports of one agency whose carry-over does not continue (+1 in every column)."""
    rng = random.Random(seed)
    first = random_report(rng, agency=BREAK_AGENCY, year=years[0])
    second = random_report(
        rng,
        agency=BREAK_AGENCY,
        year=years[1],
        carried_over={a: v + 1 for a, v in first.carried_forward.items() if a != "total"},
    )
    rows = []
    for r in (first, second):
        path = raw / str(r.year) / f"break_{r.year}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(r, "text/tabs", rng))
        rows.append(
            {
                "path": f"{r.year}/{path.name}",
                "agency": BREAK_AGENCY,
                "year": r.year,
                "region": "江苏省/测试市/测试县",
            }
        )
    if not (raw / "manifest.csv").exists():
        (raw / "manifest.csv").write_text("path,agency,year,region,url,published\n", encoding="utf-8")
    _append_manifest(raw, rows)
    return [first, second]


def load_direct(raw: Path, db_path: Path) -> None:
    """What the assets do, without Dagster: partition scan, extract, frames, one load per year."""
    manifest = read_manifest(raw)
    directory = build_directory(raw.parent / "agencies.csv", manifest)
    for year in years_present(raw, manifest):
        entries = manifest.for_year(year)
        items = []
        for f in scan_partition(raw, year, manifest):
            entry = entries.get(f.relative)
            report = extract_bytes(
                Path(f.path).read_bytes(),
                f.relative,
                manifest_agency=entry.agency if entry else None,
                manifest_year=entry.year if entry else None,
                folder_year=year,
            )
            items.append(Extracted(f, report))
        db.load_year(db_path, year, build_frames(items, entries, directory), directory)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, int], SyntheticReport]]:
    base = tmp_path_factory.mktemp("corpus")
    raw = base / "raw"
    written = write_corpus(raw, agencies=30, years=YEARS, seed=11)
    planted = plant_break(raw)
    path = base / "w.duckdb"
    load_direct(raw, path)
    truth = {(r.agency, r.year): r for _, r in written} | {(r.agency, r.year): r for r in planted}
    return path, truth


def _group(report: SyntheticReport, group: str, column: str = "total") -> int | None:
    values = [
        report.applications[(c, column)] for c in report.category_codes if TAX.category(c).group == group
    ]
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


def _rate(num: int | None, den: int | None) -> float | None:
    return None if num is None or den is None or den == 0 else num / den


# ------------------------------------------------------------------------------ the corpus
def test_every_agency_year_matches_the_truth(corpus) -> None:
    path, truth = corpus
    rows = db.query(
        path,
        "SELECT agency, year, template, requests_received, handled, withheld, other, withheld_process_info, "
        "disclosure_rate, reconsideration_correction_rate FROM agency_year_metrics",
    )
    assert len(rows) == len(truth) == 30 * 6 + 2
    for agency, year, template, received, handled, withheld, other, process, rate, rec_rate in rows:
        r = truth[(agency, year)]
        app = r.applications
        assert template == r.template
        assert (received, handled) == (app[("new_received", "total")], app[("total_processed", "total")])
        assert withheld == _group(r, "withheld") and other == _group(r, "other")
        assert process == app[("withheld_process_info", "total")]
        disclosed = (
            None
            if app[("disclosed", "total")] is None or app[("partially_disclosed", "total")] is None
            else app[("disclosed", "total")] + app[("partially_disclosed", "total")]  # type: ignore[operator]
        )
        assert rate == pytest.approx(_rate(disclosed, handled))
        ap = r.appeals
        decided = (
            None
            if ap[("reconsideration", "total")] is None or ap[("reconsideration", "pending")] is None
            else ap[("reconsideration", "total")] - ap[("reconsideration", "pending")]  # type: ignore[operator]
        )
        assert rec_rate == pytest.approx(_rate(ap[("reconsideration", "corrected")], decided))


def test_rollups_equal_across_the_format_change(corpus) -> None:
    path, truth = corpus
    got = dict(
        ((a, y), n)
        for a, y, n in db.query(
            path,
            "SELECT agency, year, count FROM applications_comparable "
            "WHERE category = 'other' AND kind = 'group' AND applicant_type = 'total'",
        )
    )
    assert got == {key: _group(r, "other") for key, r in truth.items()}
    templates = {t for (t,) in db.query(path, "SELECT DISTINCT template FROM applications_comparable")}
    assert templates == {"2019", "2021"}


def test_continuity_finds_the_planted_break_and_nothing_else(corpus) -> None:
    path, _ = corpus
    breaks = db.query(
        path,
        "SELECT agency, year, difference FROM carryover_continuity WHERE applicant_type = 'total' AND state = 'break'",
    )
    assert breaks == [(BREAK_AGENCY, 2023, 6)]  # +1 in each of the six applicant columns
    continuous = db.query(
        path,
        "SELECT count(*) FROM carryover_continuity WHERE applicant_type = 'total' AND state = 'continuous'",
    )[0][0]
    blank = db.query(
        path,
        "SELECT count(*) FROM carryover_continuity WHERE applicant_type = 'total' AND state = 'blank cell'",
    )[0][0]
    assert continuous + blank + 1 == 30 * 5 + 1


def test_region_views_add_up_to_the_agencies(corpus) -> None:
    path, _ = corpus
    provinces = db.query(
        path,
        "SELECT year, sum(agencies), sum(requests_received) FROM region_year_metrics "
        "WHERE region_level = 'province' GROUP BY year ORDER BY year",
    )
    per_year = db.query(
        path,
        "SELECT year, count(*), sum(requests_received) FROM agency_year_metrics GROUP BY year ORDER BY year",
    )
    assert provinces == per_year
    assert db.query(path, "SELECT count(*) FROM unresolved_agencies") == [(0,)]  # the manifest names all


# ------------------------------------------------------------------------------ cookbook
def cookbook() -> list[tuple[str, str]]:
    text = COOKBOOK.read_text(encoding="utf-8")
    return re.findall(r"^## (\d+\..*?)\n.*?```sql\n(.*?)```", text, re.S | re.M)


def test_the_cookbook_has_twelve_questions() -> None:
    assert [q.split(".")[0] for q, _ in cookbook()] == [str(i) for i in range(1, 13)]


def _null_cells(report: SyntheticReport) -> dict[str, set[tuple[str, str]]]:
    tables = {"applications": report.applications, "proactive": report.proactive, "appeals": report.appeals}
    return {t: {k for k, v in cells.items() if v is None} for t, cells in tables.items()}


@pytest.mark.parametrize("number", range(1, 13))
def test_cookbook_query_answers(corpus, number: int) -> None:
    path, truth = corpus
    question, sql = cookbook()[number - 1]
    rows = db.query(path, sql)
    assert rows, question
    if number == 1:  # county agencies by withheld 过程性信息 in 2023, change since 2019
        for agency, _region, w2023, w2019, change in rows:
            expected_2023 = truth[(agency, 2023)].applications[("withheld_process_info", "total")]
            first = truth.get((agency, 2019))  # the planted agency reports from 2022 only
            expected_2019 = first.applications[("withheld_process_info", "total")] if first else None
            assert (w2023, w2019) == (expected_2023, expected_2019)
            assert change == (None if None in (w2023, w2019) else w2023 - w2019)
    elif number == 2:  # rising correction rate
        for agency, year, before, after, change in rows:
            assert after > before and change == pytest.approx(after - before)
            ap = truth[(agency, year)].appeals
            assert after == pytest.approx(
                ap[("reconsideration", "corrected")]
                / (ap[("reconsideration", "total")] - ap[("reconsideration", "pending")])
            )
    elif number == 7:  # 其他处理 by year and template, across the format change
        for year, template, reports, other in rows:
            mine = [r for (_, y), r in truth.items() if y == year and r.template == template]
            assert reports == len(mine)
            assert other == sum(v for r in mine if (v := _group(r, "other")) is not None)
    elif number == 8:
        assert (BREAK_AGENCY, 2023, "break") in {(a, y, s) for a, y, *_, s in rows}
    elif number == 11:  # every null cell of table 三 in 2023, each with its kind
        expected = {
            (agency, *cell)
            for (agency, y), r in truth.items()
            if y == 2023
            for cell in _null_cells(r)["applications"]
        }
        assert {(a, c, t) for a, c, t, *_ in rows} == expected
        assert {k for *_, k, _reason, _cand in rows} <= {
            "blank",
            "dash",
        }  # the generator prints no other kind
    elif number == 12:  # nulls per report and kind: the synthetic corpus prints blanks and dashes only
        expected = {
            (y, agency): sum(len(c) for c in _null_cells(r).values())
            for (agency, y), r in truth.items()
            if any(_null_cells(r).values())
        }
        assert {(y, a): b + d for y, a, _p, u, am, b, d in rows} == expected
        assert {(u, am) for _y, _a, _p, u, am, _b, _d in rows} == {(0, 0)}
    elif number in (3, 5, 9):
        rates = [r[-1] for r in rows if r[-1] is not None]
        assert rates and all(x >= 0 for x in rates)


def test_cookbook_on_make_run_demo_corpus(tmp_path: Path) -> None:
    """The queries also run (and mostly answer) on the `make run` demo: 20 agencies, seed 0."""
    raw = tmp_path / "raw"
    write_corpus(raw, agencies=20, years=YEARS, seed=0)
    load_direct(raw, tmp_path / "w.duckdb")
    answered = [bool(db.query(tmp_path / "w.duckdb", sql)) for _, sql in cookbook()]
    assert sum(answered) >= 8


# ------------------------------------------------------------------------------ getting data out
def _xlsx_rows(path: Path) -> list[list[str]]:
    """The first sheet's cells as text (a reader in 20 lines: the test needs no xlsx library)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as z:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
            for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns)
        ]
        sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.find("m:sheetData", ns).findall("m:row", ns):  # type: ignore[union-attr]
        cells = []
        for c in row.findall("m:c", ns):
            v = c.find("m:v", ns)
            text = "" if v is None else v.text or ""
            cells.append(shared[int(text)] if c.get("t") == "s" else text)
        rows.append(cells)
    return rows


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_exports_round_trip(corpus, tmp_path: Path, fmt: str) -> None:
    path, _ = corpus
    out, n = export(path, "agency_year_metrics", fmt, tmp_path / f"m.{fmt}", year=2023)
    expected = select_relation(path, "agency_year_metrics", year=2023)
    assert n == expected.height == 30 + 1
    if fmt == "parquet":
        assert pl.read_parquet(out).equals(expected)
    elif fmt == "csv":
        back = pl.read_csv(out, schema=expected.schema)
        assert back.equals(expected)
    else:
        rows = _xlsx_rows(out)
        assert rows[0] == expected.columns
        assert len(rows) == expected.height + 1
        for got, want in zip(rows[1:], expected.iter_rows(), strict=True):
            for g, w in zip(got, want, strict=False):
                if isinstance(w, float):
                    assert float(g) == pytest.approx(w)
                elif isinstance(w, int) and not isinstance(w, bool):
                    assert int(float(g)) == w
                elif isinstance(w, str):
                    assert g == w
            assert len(got) <= len(want)  # trailing NULLs are empty, not written


def test_export_lists_and_filters(corpus, tmp_path: Path) -> None:
    path, _ = corpus
    agency = db.query(path, "SELECT min(agency) FROM agencies")[0][0]
    out, n = export(path, "agencies", "parquet", tmp_path / "a.parquet", agency=agency)
    assert n == 1 and pl.read_parquet(out)["aliases"].to_list() == [[]]  # a list stays a list
    out, _ = export(path, "agencies", "csv", tmp_path / "a.csv")
    assert "aliases" in out.read_text(encoding="utf-8").splitlines()[0]
    with pytest.raises(UsageError, match="no table or view"):
        export(path, "reports; DROP TABLE reports", "csv", tmp_path / "x.csv")
    with pytest.raises(UsageError, match="no year column"):
        export(path, "categories", "csv", tmp_path / "x.csv", year=2022)
    with pytest.raises(UsageError, match="format"):
        export(path, "reports", "json", tmp_path / "x.json")
    # A value is a parameter, never SQL.
    assert select_relation(path, "reports", agency="x' OR '1'='1").height == 0


def test_gongkai_sql_is_read_only_and_prints_csv_and_json(
    corpus, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = corpus
    monkeypatch.setenv("GONGKAI_DB", str(path))
    before = db.table_checksums(path)
    assert main(["sql", "DELETE FROM reports"]) == 1
    assert "read-only" in capsys.readouterr().err
    assert db.table_checksums(path) == before

    assert main(["sql", "--csv", "SELECT year, count(*) AS n FROM reports GROUP BY year ORDER BY year"]) == 0
    lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert lines[0] == ["year", "n"] and lines[1:] == [[str(y), "30"] for y in (2019, 2020, 2021)] + [
        ["2022", "31"],
        ["2023", "31"],
        ["2024", "30"],
    ]
    assert main(["sql", "--json", "SELECT agency, aliases FROM agencies ORDER BY agency LIMIT 1"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert set(row) == {"agency", "aliases"} and row["aliases"] == []
    assert main(["sql", "SELECT 1 AS one"]) == 0
    assert "one" in capsys.readouterr().out
    assert main(["export", "nope", "--format", "csv"]) == 2


def test_data_dictionary_is_up_to_date_and_covers_every_code() -> None:
    text = render_dictionary()
    assert DICTIONARY_FILE.read_text(encoding="utf-8") == text, "run `uv run gongkai dictionary --write`"
    for c in TAX.categories:
        assert f"`{c.code}` | {c.label}" in text
    for name in (
        "agency_year_metrics",
        "metrics_yoy",
        "carryover_continuity",
        "agencies",
        "region_year_metrics",
    ):
        assert f"### {name}\n" in text


# ------------------------------------------------------------------------------ Dagster and the manifest
def test_continuity_asset_check_warns_on_a_planted_break(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    plant_break(raw)
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.duckdb"))
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            ingest_assets,
            tags=range_tags(2022, 2023),
            resources={"paths": paths, "year_io": YearPickleIOManager(paths=paths)},
            instance=instance,
            raise_on_error=False,
        )
    assert result.success  # a warning, not a failure
    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CONTINUITY_CHECK]
    assert check.passed is False
    assert check.metadata["breaks"].value == 1
    assert BREAK_AGENCY in check.metadata["where"].value


def test_a_manifest_year_correction_moves_the_file_between_partitions(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_corpus(raw, agencies=2, years=range(2022, 2024), seed=3)
    agencies_csv = tmp_path / "agencies.csv"
    before = stat_fingerprints(raw, side_files=[agencies_csv])
    text = (raw / "manifest.csv").read_text(encoding="utf-8")
    moved = "2022/synth_000_2022.txt"
    (raw / "manifest.csv").write_text(
        text.replace(f"{moved},", f"{moved},").replace(",2022,", ",2021,", 1), encoding="utf-8"
    )
    manifest = read_manifest(raw)
    assert manifest.entries[moved].year == 2021
    assert [f.relative for f in scan_partition(raw, 2021, manifest)] == [moved]
    assert moved not in [f.relative for f in scan_partition(raw, 2022, manifest)]
    assert years_present(raw, manifest) == [2021, 2022, 2023]
    after = stat_fingerprints(raw, side_files=[agencies_csv])
    assert {y for y in after if after[y] != before.get(y)} == {2021, 2022}  # the sensor reloads both
    agencies_csv.write_text("agency,aliases,region,level\n", encoding="utf-8")
    assert stat_fingerprints(raw, side_files=[agencies_csv]).keys() == after.keys()
    assert all(v != after[y] for y, v in stat_fingerprints(raw, side_files=[agencies_csv]).items())
