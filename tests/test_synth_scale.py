"""`gongkai synth --count/--formats`: a mixed-format corpus with known answers, written fast.

Every file must extract back to its truth: 0 wrong cells, exact values everywhere except the
cells of run-together text (text/runon) that several digit splits fit, which must come back null
and flagged. PDFs are LibreOffice base documents with each report's numbers laid in
(synth.pdf_template); they skip cleanly where LibreOffice is missing and no base is cached.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from extract import extract_path
from extract.glued import AMBIGUOUS
from pipelines.cli import main
from schemas.taxonomy import CELL_TABLES, taxonomy
from synth import pdf_template, scale
from synth.corpus import MANIFEST_COLUMNS, expected_json
from synth.model import SyntheticReport
from synth.scale import KINDS, SUFFIX, apportion, corpus_truths, parse_formats, plan_corpus
from synth.verify import mismatches

EVERY_KIND = ",".join(f"{k}={3 if k == 'html' else 2 if k in ('pdf', 'docx') else 1}" for k in KINDS)
YEARS = "2019-2023"
COUNT = 50  # 10 agencies × 5 years: each of the 9 formats gets at least one agency


def _pdf_ok(count: int, formats: str, years: range, seed: int) -> bool:
    return pdf_template.bases_available(scale.pdf_specs(plan_corpus(count, formats, years, seed)))


def _formats(seed: int) -> str:
    """Every format, PDF only where its bases can be had."""
    if _pdf_ok(COUNT, EVERY_KIND, range(2019, 2024), seed):
        return EVERY_KIND
    return ",".join(p for p in EVERY_KIND.split(",") if not p.startswith("pdf="))


def _manifest(raw: Path) -> list[dict[str, str]]:
    with (raw / "manifest.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _tree(raw: Path) -> dict[str, bytes]:
    return {p.relative_to(raw).as_posix(): p.read_bytes() for p in sorted(raw.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    raw = tmp_path_factory.mktemp("scale") / "raw"
    formats = _formats(7)
    args = ["synth", str(raw), "--count", str(COUNT), "--formats", formats, "--years", YEARS, "--seed", "7"]
    assert main(args) == 0
    return raw, formats


# ---------------------------------------------------------------------------- round trip


def roundtrip(
    raw: Path, formats: str, count: int, seed: int, *, strict: bool = True
) -> dict[str, Counter[str]]:
    """Per format: reports, cells correct / blank (null where printed blank) / null. A wrong cell
    fails; so does a null, unless ambiguous by construction or, not ``strict``, flagged."""
    plans = plan_corpus(count, formats, range(2019, 2024), seed)
    kinds = {p.file(y): p.kind for p in plans for y in p.years}
    truths = corpus_truths(plans)
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    for row in _manifest(raw):
        kind, report = kinds[row["path"]], truths[row["path"]]
        got = extract_path(raw / row["path"], folder_year=int(row["year"])).to_json()
        t = tallies[kind]
        t["reports"] += 1
        assert got["status"] != "rejected", (row["path"], got["error"])
        where = f"{row['path']} ({kind})"
        assert (got["agency"], got["year"], got["template"]) == (
            report.agency,
            report.year,
            report.template,
        ), where
        assert got["format"] == kind, where  # a PDF is read as ruled tables, not as positioned text
        _tally(t, got, report, kind, where, strict)
    return tallies


def _tally(
    t: Counter[str], got: dict[str, Any], report: SyntheticReport, kind: str, where: str, strict: bool
) -> None:
    found = {(m.table, m.row, m.column): m for m in mismatches(got, report)}
    flags = {(f["table"], f["row"], f["column"]): f["reason"] for f in got["flags"]}
    for table, ((row_key, column_key), _value) in CELL_TABLES.items():
        for cell in expected_json(report)[table]:
            key = (table, cell[row_key], cell[column_key])
            m = found.get(key)
            if m is None:
                t["blank" if cell.get("count", cell.get("value")) is None else "correct"] += 1
                continue
            assert not m.wrong, f"{where}: {key} got {m.got}, expected {m.expected}"
            t["null"] += 1
            # Null where a value was printed: run-together digits that several splits fit (or
            # that no split fits, when the report's own arithmetic is broken) ...
            if kind == "text/runon" and (report.planted or flags.get(key) == AMBIGUOUS):
                continue
            # ... or, in a large sample, a cell the extractor flags (a known gap of a reader).
            assert not strict, f"{where}: {key} null ({flags.get(key)}), expected {m.expected}"
            t["flagged"] += 1
    if not found:
        assert got["status"] == report.expected_status, where


def test_every_file_extracts_to_its_truth(corpus: tuple[Path, str]) -> None:
    raw, formats = corpus
    tallies = roundtrip(raw, formats, COUNT, 7)
    assert sum(t["reports"] for t in tallies.values()) == COUNT
    assert set(tallies) == {k for k in KINDS if f"{k}=" in formats}
    for kind, t in tallies.items():
        assert t["correct"] > 0, kind
        if kind != "text/runon":
            assert t["null"] == 0, kind


# ---------------------------------------------------------------------------- the corpus itself


def test_mix_manifest_and_suffixes(corpus: tuple[Path, str]) -> None:
    raw, formats = corpus
    rows = _manifest(raw)
    assert tuple(rows[0]) == MANIFEST_COLUMNS and len(rows) == COUNT
    files = sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file())
    assert files == sorted([*(r["path"] for r in rows), "manifest.csv"])
    plans = plan_corpus(COUNT, formats, range(2019, 2024), 7)
    assert len(plans) == math.ceil(COUNT / 5)
    kind_of = {p.name: p.kind for p in plans}
    assert len(set(kind_of.values())) == len(parse_formats(formats))  # every format present
    by_agency: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_agency[row["agency"]].append(row)
        year = int(row["year"])
        assert row["path"].startswith(f"{year}/") and row["published"].startswith(str(year + 1))
        assert Path(row["path"]).suffix == SUFFIX.get(kind_of[row["agency"]], ".txt")
        assert row["region"].split("/")[0].endswith("省") and row["url"].startswith("https://")
    for agency_rows in by_agency.values():  # one format per agency, every year
        assert [int(r["year"]) for r in agency_rows] == list(range(2019, 2024))
        assert len({Path(r["path"]).suffix for r in agency_rows}) == 1
    pdfs = [raw / r["path"] for r in rows if r["path"].endswith(".pdf")]
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    docx = [raw / r["path"] for r in rows if r["path"].endswith(".docx")]
    assert docx and all(p.read_bytes().startswith(b"PK") for p in docx)


def test_pdfs_are_text_layer_pdfs_with_their_own_title_and_date(corpus: tuple[Path, str]) -> None:
    raw, formats = corpus
    if "pdf=" not in formats:
        pytest.skip("LibreOffice (soffice) is not installed and no PDF base is cached")
    import pypdfium2 as pdfium

    rows = [r for r in _manifest(raw) if r["path"].endswith(".pdf")]
    assert rows
    for row in rows:
        data = (raw / row["path"]).read_bytes()
        pdf = pdfium.PdfDocument(data)
        try:
            assert len(pdf) >= 3
            first = pdf[0].get_textpage().get_text_range()
            last = pdf[len(pdf) - 1].get_textpage().get_text_range()
        finally:
            pdf.close()
        year, month, day = (int(x) for x in row["published"].split("-"))
        assert row["agency"] in first.splitlines()[0] and f"{row['year']}" in first.splitlines()[0]
        assert row["agency"] in last and f"{year}年{month}月{day}日" in last
        assert pdf_template.BASE_AGENCY not in first.splitlines()[0]
        assert f"/CreationDate(D:{year}{month:02d}{day:02d}".encode() in data


def test_same_seed_same_bytes_with_any_number_of_workers(
    corpus: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, formats = corpus
    monkeypatch.setattr(scale, "MIN_PARALLEL", 0)  # use the process pool even for 50 reports
    again = scale.write_scale_corpus(
        tmp_path / "a", count=COUNT, formats=formats, years=range(2019, 2024), seed=7, workers=2
    )
    assert again.workers == 2
    assert _tree(tmp_path / "a") == _tree(raw)
    scale.write_scale_corpus(tmp_path / "b", count=COUNT, formats=formats, years=range(2019, 2024), seed=8)
    assert _tree(tmp_path / "b") != _tree(raw)


def test_count_fills_agencies_times_years_exactly() -> None:
    plans = plan_corpus(23, "html", range(2019, 2024), 0)
    assert len(plans) == 5 and [len(p.years) for p in plans] == [5, 5, 5, 5, 3]
    assert plans[-1].years == (2019, 2020, 2021)


def test_format_mix_follows_the_weights() -> None:
    plans = plan_corpus(10_000, "html=55,text=15,pdf=20,docx=10", range(2019, 2024), 3)
    reports = Counter()
    for p in plans:
        reports["text" if p.kind in scale.TEXT_LAYOUTS else p.kind] += len(p.years)
    assert reports == {"html": 5500, "text": 1500, "pdf": 2000, "docx": 1000}
    layouts = Counter(p.kind for p in plans if p.kind in scale.TEXT_LAYOUTS)
    assert set(layouts) == set(scale.TEXT_LAYOUTS)  # "text" spreads over every text layout
    assert parse_formats("html=0.55,pdf=0.45") == {"html": 0.55, "pdf": 0.45}
    assert parse_formats("md, text/tabs=3") == {"markdown": 1.0, "text/tabs": 3.0}
    assert apportion({"a": 99, "b": 1}, 3) == ["a", "a", "b"]  # a named format is never dropped


def test_carry_over_chains_and_imperfect_shares() -> None:
    truths = corpus_truths(plan_corpus(6000, "html", range(2019, 2025), 11))
    by_agency: dict[str, list[SyntheticReport]] = defaultdict(list)
    for report in truths.values():
        by_agency[report.agency].append(report)
    for reports in by_agency.values():
        for last, this in pairwise(reports):
            for a in taxonomy().applicant_codes:  # identity E
                printed = this.applications[("carried_over", a)]
                assert printed is None or printed == last.carried_forward[a]
    planted = sum(bool(r.planted) for r in truths.values()) / len(truths)
    blank = sum(r.null_cells() > 0 for r in truths.values()) / len(truths)
    assert 0.04 < planted < 0.08 and 0.06 < blank < 0.10  # as synth.corpus: 6 % and 8 %


# ---------------------------------------------------------------------------- the command


def test_bad_formats_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(tmp_path), "--count", "10", "--formats", "html=5,rtf=3"]) == 2
    assert "unknown format 'rtf'" in capsys.readouterr().err
    assert main(["synth", str(tmp_path), "--count", "10", "--agencies", "3"]) == 2
    assert not any(tmp_path.iterdir())


def test_pdf_without_libreoffice_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GONGKAI_CACHE", str(tmp_path / "cache"))  # no cached base either
    monkeypatch.setattr(pdf_template, "soffice", lambda: None)
    assert main(["synth", str(tmp_path / "raw"), "--count", "10", "--formats", "pdf=1,html=1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "LibreOffice" in err and "Traceback" not in err


def test_agencies_alone_keeps_the_text_corpus(tmp_path: Path) -> None:
    assert main(["synth", str(tmp_path), "--agencies", "2", "--years", "2022-2023"]) == 0
    assert sorted(p.suffix for p in tmp_path.rglob("synth_*")) == [".txt"] * 4


@pytest.mark.slow
def test_roundtrip_sample_per_format(tmp_path: Path) -> None:
    """At least 50 reports of every format, extracted and compared cell by cell."""
    formats = ",".join(f"{k}=1" for k in KINDS)
    if not _pdf_ok(600, formats, range(2019, 2024), 5):
        pytest.skip("LibreOffice (soffice) is not installed and no PDF base is cached")
    raw = tmp_path / "raw"
    scale.write_scale_corpus(raw, count=600, formats=formats, years=range(2019, 2024), seed=5)
    tallies = roundtrip(raw, formats, 600, 5, strict=False)
    assert all(t["reports"] >= 50 for t in tallies.values()), tallies
    for kind, t in tallies.items():  # flagged gaps stay rare: a row here and there
        assert t["flagged"] <= 0.005 * (t["correct"] + t["blank"] + t["null"]), (kind, t)
