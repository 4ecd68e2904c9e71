"""What the CLI prints: sql (repeated names, several statements, NULL and floats), ingest's exit
status with rejected files, no agencies from junk files, formula-safe exports read back with
polars, tables and describe, tables that stay readable when piped."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli import main
from pipelines.tables import output_console, print_frame
from schemas.taxonomy import taxonomy
from tests.conftest import FORMULA_AGENCIES, CliWarehouse
from warehouse.access import flat_for_spreadsheet, relations, write_frame
from warehouse.catalog import describe_relation, relation_overview
from warehouse.db import connect, query


@pytest.fixture
def on_warehouse(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GONGKAI_DB", str(warehouse))
    return warehouse


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------ sql
def test_repeated_column_names_are_suffixed_and_said(
    on_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "sql", "--csv", "SELECT 1 AS a, 2 AS a, 3 AS A") == (
        0,
        "a,a_2,A_3\n1,2,3\n",
        "gongkai: repeated column names printed as a_2 (a second a), A_3 (a second A)\n",
    )
    code, out, err = _run(
        capsys,
        "sql",
        "--json",
        "SELECT * FROM checks c JOIN reports r USING (report_id) ORDER BY ALL LIMIT 1",
    )
    assert code == 0 and err == "gongkai: repeated column names printed as year_2 (a second year)\n"
    row = json.loads(out)
    assert row["year"] == row["year_2"] in (2022, 2023) and "report_id_2" not in row


def test_several_statements_print_every_result(
    on_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, "sql", "SELECT 1 AS first; SET threads = 1; SELECT 'x' AS second, NULL AS n;"
    )
    assert (code, err) == (0, "")
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0] == "-- statement 1: SELECT 1 AS first"
    assert "-- statement 3: SELECT 'x' AS second, NULL AS n" in lines
    assert "-- statement 2" not in out  # SET returns no rows: nothing to print
    assert "│ x      │ · │" in out  # NULL printed as ·
    code, out, err = _run(capsys, "sql", "SELECT 1 AS a; SELECT * FROM nope")
    assert code == 1 and "│ 1 │" in out  # the results before the error are shown
    assert err.startswith(
        "gongkai: sql error: statement 2: Catalog Error: Table with name nope does not exist"
    )


def test_empty_sql_is_a_usage_error(
    on_warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("  \n-- only a comment\n"))
    assert _run(capsys, "sql", "-") == (
        2,
        "",
        "gongkai: error: no SQL statement given: pass one as an argument, or '-' to read it from stdin\n",
    )


def test_floats_print_alike_and_nothing_is_cut_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    name = "岚塘县人民政府办公室" * 8  # 160 display columns: wider than any default terminal
    frame = pl.DataFrame(
        {"agency": [name, None], "previous_value": [1.0, 0.6789], "n": [3, None], "l": [["a", None], None]}
    )
    print_frame(frame, output_console(io.StringIO()))  # a console made for a pipe …
    capsys.readouterr()
    buffer = io.StringIO()
    print_frame(frame, output_console(buffer))
    text = buffer.getvalue()
    assert f"│ {name} │          1.000 │ 3 │ a|· │" in text
    assert "│ ·" + " " * (len(name) * 2 - 1) + " │          0.679 │ · │ ·   │" in text
    assert "previous_value" in text and "…" not in text


def test_no_progress_bar_in_the_output(on_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # DuckDB draws one on stdout for a query over ~2 s: it would land in `gongkai sql --csv > f`.
    sql = "SELECT current_setting('enable_progress_bar') AS bar"
    assert _run(capsys, "sql", "--csv", sql) == (0, "bar\nFalse\n", "")


# ------------------------------------------------------------------------------ ingest and agencies
def test_ingest_exits_3_when_files_were_rejected(
    warehouse_project: CliWarehouse, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert warehouse_project.first_ingest == 3
    monkeypatch.chdir(warehouse_project.project)
    for name in ("GONGKAI_RAW", "GONGKAI_DB", "GONGKAI_AGENCIES", "GONGKAI_CORRECTIONS"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = _run(capsys, "ingest")  # nothing changed: still two rejected files in 2023
    assert code == 3
    assert out.splitlines()[-1] == "2 files rejected (exit status 3): see above"


def test_rejected_files_create_no_agencies_and_say_what_they_are(warehouse: Path) -> None:
    rejected = query(
        warehouse, "SELECT source_path, error FROM reports WHERE status = 'rejected' ORDER BY ALL"
    )
    assert rejected == [
        ("2023/empty.txt", "empty file"),
        (
            "2023/scan.pdf",
            "a PNG image, not a PDF: a scan needs OCR, which gongkai does not do yet; "
            "transcribe it to text or Markdown (.md), or remove it",
        ),
    ]
    agencies = {a for (a,) in query(warehouse, "SELECT agency FROM agencies")}
    loaded = {
        a for (a,) in query(warehouse, "SELECT DISTINCT agency FROM reports WHERE status <> 'rejected'")
    }
    assert agencies == loaded | set(FORMULA_AGENCIES)
    assert not agencies & {"empty", "scan"}
    assert len(loaded) == 2


# ------------------------------------------------------------------------------ exports
def test_formula_cells_are_escaped_and_numbers_untouched(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "name": ["=cmd|' /C calc'!A0", "+1", "-2", "@x", "\tx", "\rx", "ok", None, "a=b"],
            "n": [-1, 2, -3, 4, 5, 6, 7, None, 9],
            "v": [-1.5, 0.0, 2.5, None, 1.0, 1.0, 1.0, 1.0, 1.0],
            "l": [["=a", "b"], None, [], ["x", None], ["-y"], ["z"], ["z"], ["z"], ["z"]],
        }
    )
    flat = flat_for_spreadsheet(frame)
    assert flat["name"].to_list() == [
        "'=cmd|' /C calc'!A0",
        "'+1",
        "'-2",
        "'@x",
        "'\tx",
        "'\rx",
        "ok",
        None,
        "a=b",
    ]
    assert flat["l"].to_list() == ["'=a|b", None, "", "x|", "'-y", "z", "z", "z", "z"]
    assert flat["n"].equals(frame["n"]) and flat["v"].equals(frame["v"])
    write_frame(frame, tmp_path / "x.csv", "csv")
    back = pl.read_csv(tmp_path / "x.csv")
    assert back["name"].to_list() == flat["name"].to_list()
    assert back["n"].to_list() == [-1, 2, -3, 4, 5, 6, 7, None, 9]
    write_frame(frame, tmp_path / "x.xlsx", "xlsx")
    back = pl.read_excel(tmp_path / "x.xlsx")
    assert back["name"].to_list() == flat["name"].to_list()
    assert back["n"].to_list() == [-1, 2, -3, 4, 5, 6, 7, None, 9]
    assert back["v"].to_list() == [-1.5, 0.0, 2.5, None, 1.0, 1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_formula_agency_names_reads_back_with_polars(
    fmt: str, on_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"agencies.{fmt}"
    code, said, _ = _run(capsys, "export", "agencies", "--format", fmt, "--out", str(out))
    assert (code, said) == (0, f"wrote 6 rows of agencies to {out}\n")
    back = pl.read_csv(out) if fmt == "csv" else pl.read_excel(out)
    names = set(back["agency"].to_list())
    assert {"'" + a for a in FORMULA_AGENCIES} <= names
    assert not any(str(n).startswith(("=", "+", "-", "@")) for n in names)
    code, said, _ = _run(capsys, "sql", "--csv", "SELECT agency FROM agencies WHERE agency LIKE '+%'")
    assert (code, said) == (0, "agency\n'+1+2\n")  # sql --csv writes cells as export does


# ------------------------------------------------------------------------------ tables and describe
def test_tables_lists_every_relation_with_its_row_count(
    on_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overview = relation_overview(on_warehouse)
    with connect(on_warehouse, read_only=True) as con:
        names = list(relations(con))
    assert overview["name"].to_list() == names
    counts = dict(zip(overview["name"], overview["rows"], strict=True))
    assert counts["reports"] == 6  # 2 agencies × 2 years + 2 rejected
    assert counts["agencies"] == 6
    assert counts["categories"] == len(taxonomy().categories)
    assert counts["applications"] == query(on_warehouse, "SELECT count(*) FROM applications")[0][0]
    kinds = dict(zip(overview["name"], overview["kind"], strict=True))
    assert all(counts[n] is None for n, kind in kinds.items() if kind == "view")  # counted on request
    views = relation_overview(on_warehouse, count_views=True)
    counted = dict(zip(views["name"], views["rows"], strict=True))
    assert counted["agency_year_summary"] == 6 and counted["applications"] == counts["applications"]
    described = dict(zip(overview["name"], overview["description"], strict=True))
    assert described["appeal_outcomes"] == "Lookup: table 四 outcomes."
    code, out, _ = _run(capsys, "tables")
    assert code == 0 and "│ reports " in out
    assert f"{len(names)} rows; views are not counted (counting runs each one's query)" in out


def test_describe_gives_types_descriptions_and_labels(
    on_warehouse: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    description, columns, codes = describe_relation("applications", on_warehouse)
    assert description.startswith("Table 三 of every current report")
    assert columns["column"].to_list() == [
        "report_id",
        "agency",
        "year",
        "category",
        "applicant_type",
        "count",
    ]
    assert columns["type"].to_list() == ["VARCHAR", "VARCHAR", "INTEGER", "VARCHAR", "VARCHAR", "BIGINT"]
    assert set(codes) == {"category", "applicant_type"}
    labels = dict(zip(codes["applicant_type"]["code"], codes["applicant_type"]["label"], strict=True))
    assert labels == {a.code: a.label for a in taxonomy().applicant_types}
    _, metrics, _ = describe_relation("agency_year_metrics", on_warehouse)
    by_column = dict(zip(metrics["column"], metrics["label"], strict=True))
    assert by_column["disclosed"] == taxonomy().category("disclosed").label
    assert by_column["agency"] is None
    code, out, _ = _run(capsys, "describe", "appeals")
    assert code == 0 and "outcome codes:" in out and taxonomy().appeal_outcomes[0].label in out
    # Before the first ingest: the same columns, from an empty catalog of the same schema.
    monkeypatch.setenv("GONGKAI_DB", str(tmp_path / "none.ducklake"))
    _, empty, _ = describe_relation("applications")
    assert empty.equals(columns)
