"""Round trip: generate a report, render it in a seed layout with random quirks, extract it,
and get back exactly the generator's values (null where a cell was printed blank or as a dash)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract import extract_bytes
from schemas.taxonomy import taxonomy
from synth.layouts import LAYOUTS
from synth.model import SyntheticReport, random_report, template_for_year
from synth.names import make_agency
from synth.quirks import ENCODINGS, Quirks, levenshtein, misspell, typo_candidates
from synth.render import render, render_text
from synth.verify import mismatches

VARIANTS = ("2019", "2021", "2021-single")  # 2021-single: a 2021 report keeping （六）其他处理 as one row


def make_report(
    seed: int,
    variant: str,
    *,
    break_identity: str | None = None,
    blank_cells: int = 0,
    blank_total_column: bool = False,
) -> tuple[SyntheticReport, random.Random]:
    rng = random.Random(seed)
    year = rng.choice([2019, 2020] if variant == "2019" else [2021, 2022, 2023, 2024])
    report = random_report(
        rng,
        agency=make_agency(rng).name,
        year=year,
        single_other_row=None if variant == "2019" else variant == "2021-single",
        break_identity=break_identity,  # type: ignore[arg-type]
        blank_cells=blank_cells,
        blank_total_column=blank_total_column,
    )
    return report, rng


# ---------------------------------------------------------------------------- comparison


def assert_tables(got: dict[str, Any], report: SyntheticReport, *, lenient: bool = False) -> None:
    """Every template cell equals the generator's; ``lenient``: or is null and flagged."""
    found = mismatches(got, report)
    if lenient:
        found = [m for m in found if m.wrong]
    assert not found, "\n".join(
        f"{m.table} {m.row}/{m.column}: got {m.got}, expected {m.expected}" for m in found
    )


def assert_roundtrip(report: SyntheticReport, layout: str, rng: random.Random, quirks: Quirks) -> None:
    text = render_text(report, layout, rng, quirks)
    got = extract_bytes(text.encode(quirks.encoding), f"{report.year}/report.txt").to_json()
    assert got["status"] != "rejected", got["error"]
    assert (got["agency"], got["year"], got["template"]) == (report.agency, report.year, report.template)
    assert got["format"] == layout
    assert_tables(got, report)
    assert [(c["rule"], c["subject"], c["expected"], c["actual"], c["passed"]) for c in got["checks"]] == [
        (c.rule, c.subject, c.expected, c.actual, c.passed) for c in report.checks()
    ]
    assert got["null_cells"] == report.null_cells()
    assert got["status"] == report.expected_status, got["warnings"]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    layout=st.sampled_from(LAYOUTS),
    variant=st.sampled_from(VARIANTS),
    break_identity=st.sampled_from([None, None, None, "A", "B", "C", "D"]),
    blank_cells=st.sampled_from([0, 0, 0, 1, 3]),
    blank_total_column=st.sampled_from([False] * 9 + [True]),
)
def test_roundtrip_exact(
    seed: int,
    layout: str,
    variant: str,
    break_identity: str | None,
    blank_cells: int,
    blank_total_column: bool,
) -> None:
    report, rng = make_report(
        seed,
        variant,
        break_identity=break_identity,
        blank_cells=blank_cells,
        blank_total_column=blank_total_column,
    )
    assert_roundtrip(report, layout, rng, Quirks.random(rng))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    variant=st.sampled_from(VARIANTS),
    blank_cells=st.sampled_from([0, 0, 1, 3]),
)
def test_roundtrip_pipes_with_spanned_markers_after_the_label(
    seed: int, variant: str, blank_cells: int
) -> None:
    """`| 一、本年新收…` ⏎ `|||` ⏎ `0` ⏎ `|` …: the markers of the spanned label columns right
    after the label, not at the row's end (seed 001): every cell read."""
    report, rng = make_report(seed, variant, blank_cells=blank_cells)
    quirks = replace(Quirks.random(rng), markers_after_label=True)
    text = render_text(report, "text/pipes", random.Random(seed), quirks)
    assert "\n|||\n" in text.replace("\r\n", "\n")
    assert_roundtrip(report, "text/pipes", rng, quirks)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), layout=st.sampled_from(LAYOUTS), variant=st.sampled_from(VARIANTS))
def test_roundtrip_renumbered_headings(seed: int, layout: str, variant: str) -> None:
    """The overview unnumbered, so the tables' sections are 一、二、三: every cell read."""
    report, rng = make_report(seed, variant)
    quirks = replace(Quirks.random(rng), heading_style="renumbered")
    assert "一、主动公开政府信息情况" in render_text(report, layout, random.Random(seed), quirks)
    assert_roundtrip(report, layout, rng, quirks)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), layout=st.sampled_from(LAYOUTS), variant=st.sampled_from(VARIANTS))
def test_ambiguous_blank_cells_come_back_null_never_wrong(seed: int, layout: str, variant: str) -> None:
    """Empty cells at a row's edge, in a row that also carries padding, are genuinely ambiguous
    (which column was empty?): the extractor must null and flag the row, never guess a shift."""
    report, rng = make_report(seed, variant, blank_cells=8, blank_total_column=seed % 3 == 0)
    quirks = replace(Quirks.random(rng, edge_blanks=True), blank_marks=("",))
    data = render(report, layout, rng, quirks)
    got = extract_bytes(data, "report.txt").to_json()
    assert got["status"] == "warning"
    assert_tables(got, report, lenient=True)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_clean_report_is_ok(layout: str, variant: str) -> None:
    report, rng = make_report(11, variant)
    text = render_text(report, layout, rng, Quirks())
    got = extract_bytes(text.encode(), "report.txt").to_json()
    assert got["status"] == "ok", got["warnings"]
    assert got["format"] == layout
    assert_tables(got, report)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_encodings(encoding: str) -> None:
    report, rng = make_report(5, "2021")
    quirks = Quirks(encoding=encoding, fullwidth_digits=1.0, thousands=True)
    assert_roundtrip(report, "text/cells", rng, quirks)


def test_planted_break_is_a_warning_naming_the_rule() -> None:
    for rule in "ABCD":
        report, rng = make_report(3, "2021", break_identity=rule)
        got = extract_bytes(render(report, "text/tabs", rng), "report.txt").to_json()
        assert got["status"] == "warning"
        assert rule in {c["rule"] for c in got["checks"] if c["passed"] is False}


# ---------------------------------------------------------------------------- the generator itself


def test_identities_hold_unless_broken() -> None:
    for seed in range(150):
        variant = VARIANTS[seed % 3]
        report, _ = make_report(seed, variant)
        assert report.failed_checks() == [], seed
        assert report.template == template_for_year(report.year)
        assert all(v is None or v >= 0 for v in report.applications.values())
        rule = "ABCD"[seed % 4]
        broken, _ = make_report(seed, variant, break_identity=rule)
        failed = {c.rule for c in broken.failed_checks()}
        assert rule in failed and broken.planted == [rule]
        if rule in "AD":
            assert failed == {rule}  # these breaks touch one identity only


def test_carried_over_continues_last_years_carried_forward() -> None:
    rng = random.Random(1)
    last = random_report(rng, agency="青川市生态环境局", year=2020, break_identity="A", blank_cells=5)
    this = random_report(rng, agency="青川市生态环境局", year=2021, carried_over=last.carried_forward)
    for a in taxonomy().applicant_codes:
        assert this.applications[("carried_over", a)] == last.carried_forward[a]
    assert this.failed_checks() == []


def test_magnitudes_are_realistic() -> None:
    reports = [make_report(seed, VARIANTS[seed % 3])[0] for seed in range(300)]
    counts = [v for r in reports for v in r.applications.values() if v is not None]
    assert counts.count(0) / len(counts) > 0.5  # mostly zeros
    assert max(counts) >= 1000  # occasionally thousands
    changes = [r.proactive[("licensing", "change")] for r in reports if r.template == "2019"]
    assert any(c is not None and c < 0 for c in changes)  # 2019 本年增/减 may be negative
    fees = [r.proactive[("fees", "amount_10k_yuan")] for r in reports if r.template == "2021"]
    assert any(isinstance(f, float) for f in fees)


def test_typos_stay_close_to_their_own_leaf() -> None:
    leaves = [c.leaf for c in taxonomy().categories]
    candidates = typo_candidates()
    assert candidates and all(len(leaf) >= 8 for leaf in candidates)  # never on short labels
    rng = random.Random(0)
    for leaf in candidates:
        for _ in range(6):
            typo = misspell(leaf, rng)
            own = levenshtein(typo, leaf)
            assert 0 < own <= len(leaf) // 4
            assert all(levenshtein(typo, other) > own for other in leaves if other != leaf)


def test_labels_come_from_the_taxonomy() -> None:
    report, rng = make_report(2, "2021")
    text = render_text(report, "text/cells", rng, Quirks())
    tax = taxonomy()
    for c in tax.categories:
        if c.code in report.category_codes:
            assert all(piece in text for piece in c.label.split(" "))
    for item in tax.proactive["2021"]:
        assert item.label in text and all(m.label in text for m in item.measures)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert str(report.year) in lines[0] and report.agency in lines[0]  # the title
    assert lines[-1].startswith(f"{report.year + 1}年")  # published the following year


# ---------------------------------------------------------------------------- every label, every layout
def _labelled_by_row(report: SyntheticReport) -> SyntheticReport:
    """Every row of tables 二 and 三 a value of its own (row k prints k+1): a label matched to
    another row would show as a wrong number, where all-zero rows would hide it."""
    for k, code in enumerate(report.category_codes):
        for a in taxonomy().applicant_codes:
            report.applications[(code, a)] = (k + 1) if a in ("natural_person", "total") else 0
    items = list(dict.fromkeys(item for item, _m in report.proactive))
    for (item, measure), value in list(report.proactive.items()):
        if value is not None and measure != "amount_10k_yuan":
            report.proactive[(item, measure)] = items.index(item) + 1
    return report


def _render_any(kind: str, report: SyntheticReport, rng: random.Random) -> tuple[bytes, str]:
    from synth.render_docx import render_docx
    from synth.render_html import render_html
    from synth.render_markdown import render_markdown
    from synth.render_pdf import render_pdf
    from synth.render_spaced import render_spaced

    renderers = {
        "html": (render_html, "report.html"),
        "docx": (render_docx, "report.docx"),
        "pdf": (render_pdf, "report.pdf"),
        "markdown": (render_markdown, "report.md"),
        "text/spaces": (render_spaced, "report.txt"),
    }
    if kind in renderers:
        fn, name = renderers[kind]
        return fn(report, rng, Quirks()), name
    return render(report, kind, rng, Quirks()), "report.txt"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", [*LAYOUTS, "text/spaces", "markdown", "html", "docx", "pdf"])
def test_every_label_reaches_its_own_row(kind: str, variant: str) -> None:
    """The label matcher against the whole taxonomy in every layout: each template row of
    tables 二 and 三 (both templates, 其他处理 single or split) is found, and found as itself."""
    report, rng = make_report(11, variant)
    report = _labelled_by_row(report)
    data, name = _render_any(kind, report, rng)
    got = extract_bytes(data, f"{report.year}/{name}").to_json()
    assert got["status"] != "rejected", got["error"]
    found = mismatches(got, report)
    assert not found, "\n".join(
        f"{m.table} {m.row}/{m.column}: got {m.got}, expected {m.expected}" for m in found
    )
