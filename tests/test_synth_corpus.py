"""The synthetic corpus: deterministic by seed, laid out like data/raw, continuous across years."""

from __future__ import annotations

import csv
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from extract import extract_path
from schemas.taxonomy import taxonomy
from synth.corpus import MANIFEST_COLUMNS, write_corpus
from synth.model import SyntheticReport
from synth.verify import mismatches


def _manifest(raw: Path) -> list[dict[str, str]]:
    with (raw / "manifest.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _tree(raw: Path) -> dict[str, bytes]:
    return {p.relative_to(raw).as_posix(): p.read_bytes() for p in sorted(raw.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = write_corpus(tmp_path / "a", agencies=4, years=range(2019, 2023), seed=7)
    b = write_corpus(tmp_path / "b", agencies=4, years=range(2019, 2023), seed=7)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert [r for _, r in a] == [r for _, r in b]
    write_corpus(tmp_path / "c", agencies=4, years=range(2019, 2023), seed=8)
    assert _tree(tmp_path / "a") != _tree(tmp_path / "c")


def test_layout_and_manifest(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    written = write_corpus(raw, agencies=3, years=[2020, 2021], seed=1)
    assert len(written) == 6
    rows = _manifest(raw)
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    for (path, report), row in zip(written, rows, strict=True):
        assert path == raw / row["path"] and path.parent.name == str(report.year)
        assert (row["agency"], int(row["year"])) == (report.agency, report.year)
        assert row["region"].count("/") in (1, 2) and row["region"].split("/")[0].endswith("省")
        assert row["published"].startswith(str(report.year + 1))
        assert row["url"].startswith("https://")


def test_carried_over_continues_across_years(tmp_path: Path) -> None:
    written = write_corpus(tmp_path, agencies=6, years=range(2019, 2025), seed=3)
    by_agency: dict[str, list[SyntheticReport]] = defaultdict(list)
    for _, report in written:
        by_agency[report.agency].append(report)
    assert len(by_agency) == 6
    for reports in by_agency.values():
        assert [r.year for r in reports] == list(range(2019, 2025))
        assert {r.template for r in reports} == {"2019", "2021"}
        for last, this in pairwise(reports):
            for a in taxonomy().applicant_codes:  # identity E
                printed = this.applications[("carried_over", a)]
                assert printed is None or printed == last.carried_forward[a]


def test_corpus_extracts_to_its_truth(tmp_path: Path) -> None:
    written = write_corpus(tmp_path, agencies=5, years=range(2019, 2025), seed=0)
    manifest = {row["path"]: row for row in _manifest(tmp_path)}
    exact = 0
    for path, report in written:
        row = manifest[path.relative_to(tmp_path).as_posix()]
        got = extract_path(
            path, manifest_agency=row["agency"], manifest_year=int(row["year"]), folder_year=report.year
        ).to_json()
        assert (got["agency"], got["year"], got["template"]) == (report.agency, report.year, report.template)
        found = mismatches(got, report)
        # Never a wrong number; a flagged null only where the extractor has a known gap (see
        # test_synth_roundtrip.known_gap: the corpus does not record which quirks it used).
        assert not [m for m in found if m.wrong], path
        if not found:
            exact += 1
            assert got["status"] == report.expected_status, path
    assert exact >= 0.9 * len(written)


def test_default_corpus_has_a_few_imperfect_reports(tmp_path: Path) -> None:
    written = write_corpus(tmp_path)
    assert len(written) == 20 * 6
    reports = [r for _, r in written]
    assert len({r.agency for r in reports}) == 20
    warned = [r for r in reports if r.expected_status == "warning"]
    assert any(r.planted for r in warned) and any(r.null_cells() for r in warned)
    assert len(warned) < len(reports) // 3  # a few, not most
