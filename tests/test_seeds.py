"""Every seed report extracts to exactly the values in its expected JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract import extract_path
from tests.conftest import assert_tables_match, expected_for, shared_files

SEEDS = shared_files("seeds", "*.txt")


def assert_matches_expected(path: Path) -> None:
    expected = expected_for(path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json"))
    report = extract_path(path)
    assert_tables_match(report, expected)
    # Printed order is the contract's order too.
    assert [(r["category"], r["applicant_type"]) for r in report.applications] == [
        (r["category"], r["applicant_type"]) for r in expected["applications"]
    ]


@pytest.mark.parametrize("path", SEEDS, ids=[p.stem for p in SEEDS])
def test_seed_matches_expected(path: Path) -> None:
    assert_matches_expected(path)


def test_seeds_present_or_skipped(require_shared: Path) -> None:
    assert len(SEEDS) == 5


@pytest.mark.parametrize(
    ("stem", "layout", "status"),
    [
        ("000_138b95d5be9f55b5", "text/cells", "warning"),  # agency only named as 我大队
        ("001_ba2cc9ced20f5da6", "text/pipes", "warning"),  # agency only named as 我委
        ("002_be19f74464ca47e9", "text/tabs", "ok"),
        ("003_3fdcef6c825e6b6d", "text/cells", "ok"),
        ("004_898eb9b3e54026d0", "text/cells", "ok"),
    ],
)
def test_seed_layout_and_status(require_shared: Path, stem: str, layout: str, status: str) -> None:
    report = extract_path(require_shared / "seeds" / f"{stem}.txt")
    assert report.format == layout
    assert report.status == status
    assert all(c["passed"] is True for c in report.checks)
    assert len(report.checks) == 7 + 7 + 25 + 3
