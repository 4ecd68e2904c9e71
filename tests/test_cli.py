"""The CLI contract: `gongkai extract --json` shape and values, exit codes, synth/ingest/summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.cli import main, parse_years
from schemas.taxonomy import taxonomy
from tests.conftest import assert_tables_match, expected_for, shared_files

DOCUMENTS = [
    p for p in shared_files("seeds", "*.txt") + shared_files("realdocs", "*") if not p.name.endswith(".json")
]
WITH_EXPECTED = [p for p in DOCUMENTS if p.with_name(p.name.rsplit(".", 1)[0] + ".expected.json").exists()]
CONTRACT_KEYS = {
    "file", "status", "error", "agency", "year", "template", "format",
    "applications", "proactive", "appeals", "checks",
}  # fmt: skip


def _extract_json(capsys: pytest.CaptureFixture[str], *files: str) -> tuple[int, list[dict]]:
    code = main(["extract", "--json", *files])
    lines = capsys.readouterr().out.splitlines()
    return code, [json.loads(line) for line in lines]


@pytest.mark.parametrize("path", WITH_EXPECTED, ids=[p.name[:40] for p in WITH_EXPECTED])
def test_extract_json_matches_every_expected_file(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every value printed in the tables, as the expected JSON has it (null where it is null)."""
    expected = expected_for(path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json"))
    code, (got,) = _extract_json(capsys, str(path))
    assert code == 0
    assert got.keys() >= CONTRACT_KEYS
    assert got["file"] == str(path)
    assert_tables_match(got, expected)


def test_every_expected_document_is_covered(require_shared: Path) -> None:
    assert len(WITH_EXPECTED) == 9  # 5 seeds + 4 real documents with expected JSON


def test_json_contract_types(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from synth.corpus import write_corpus

    (path, report), *_ = write_corpus(tmp_path, agencies=1, years=[2022], seed=3)
    code, (got,) = _extract_json(capsys, str(path))
    assert code == 0
    assert got["status"] in ("ok", "warning") and got["error"] is None
    tax = taxonomy()
    codes = tax.category_codes(single_other_row=report.single_other_row)
    assert [(r["category"], r["applicant_type"]) for r in got["applications"]] == [
        (c, a) for c in codes for a in tax.applicant_codes
    ]
    assert [(r["proceeding"], r["outcome"]) for r in got["appeals"]] == [
        (p, o) for p in tax.proceeding_codes for o in tax.outcome_codes
    ]
    assert [(r["item"], r["measure"]) for r in got["proactive"]] == [
        (item, m.code) for item, m in tax.proactive_cells(report.template)
    ]
    assert {c["rule"] for c in got["checks"]} == {"A", "B", "C", "D"}
    assert all(set(c) == {"rule", "subject", "expected", "actual", "passed"} for c in got["checks"])


def test_rejected_file_exit_code_and_reason(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "scan.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    missing = tmp_path / "nope.txt"
    code, (png, gone) = _extract_json(capsys, str(bad), str(missing))
    assert code == 1
    assert (png["status"], png["error"]) == (
        "rejected",
        "unsupported file type: a PNG image cannot be read by this version; a scan needs OCR, which "
        "gongkai does not do yet; transcribe it to text or Markdown (.md), or remove it",
    )
    assert gone["status"] == "rejected" and gone["error"].startswith("cannot read file")


def test_human_output_marks_nulls(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import random

    from synth.model import random_report
    from synth.render import render

    report = random_report(random.Random(5), agency="青川市生态环境局", year=2022, blank_cells=3)
    path = tmp_path / "r.txt"
    path.write_bytes(render(report, "text/tabs", random.Random(1)))
    assert main(["extract", str(path)]) == 0
    out = capsys.readouterr().out
    assert "青川市生态环境局" in out and "三、收到和处理政府信息公开申请情况" in out
    assert f"null cells: {report.null_cells()}" in out


def test_parse_years() -> None:
    assert parse_years("2022") == [2022]
    assert parse_years("2019-2021") == [2019, 2020, 2021]
    assert parse_years(None) is None


def test_bad_year_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "20x1"]) == 2
    assert "not a year" in capsys.readouterr().err


def test_synth_ingest_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, db = tmp_path / "raw", tmp_path / "wh.duckdb"
    monkeypatch.setenv("GONGKAI_RAW", str(raw))
    monkeypatch.setenv("GONGKAI_DB", str(db))
    assert main(["synth", str(raw), "--agencies", "2", "--years", "2021-2022"]) == 0
    assert main(["synth", str(raw), "--if-empty"]) == 0
    assert "left as is" in capsys.readouterr().out
    assert main(["ingest"]) == 0
    out = capsys.readouterr().out
    assert "2021" in out and "2022" in out
    assert main(["summary"]) == 0
    assert "applications_yoy" in capsys.readouterr().out
