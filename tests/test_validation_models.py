"""Pandera models: domains from the taxonomy, keys, signs; failures come back as rows."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.models import (
    APPLICANT_CODES,
    CATEGORY_CODES,
    Applications,
    Proactive,
    failure_rows,
    validate_frames,
)
from schemas.taxonomy import taxonomy
from warehouse.frames import SCHEMAS, empty_frames

RID = "0123456789abcdef"


def _apps(rows: list[tuple[str, str, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"report_id": RID, "agency": "甲局", "year": 2022, "category": c, "applicant_type": a, "count": n}
            for c, a, n in rows
        ],
        schema=SCHEMAS["applications"],
    )


def _proactive(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "report_id": RID,
                "agency": "甲局",
                "year": 2019,
                "item": i,
                "measure": m,
                "value": v,
                "unit": None,
            }
            for i, m, v in rows
        ],
        schema=SCHEMAS["proactive"],
    )


def test_domains_come_from_the_taxonomy() -> None:
    assert [c.code for c in taxonomy().categories] == CATEGORY_CODES
    assert taxonomy().applicant_codes == APPLICANT_CODES


def test_valid_frame_has_no_failures() -> None:
    assert (
        failure_rows(
            "applications", Applications, _apps([("new_received", "total", 3), ("other", "total", None)])
        )
        == []
    )
    assert validate_frames(empty_frames().tables) == []


def test_unknown_code_negative_count_and_duplicate_key_are_all_reported() -> None:
    frame = _apps(
        [
            ("new_recieved", "total", 1),  # typo: not a taxonomy code
            ("disclosed", "natural_person", -2),  # negative count
            ("disclosed", "total", 1),
            ("disclosed", "total", 2),  # duplicate key
        ]
    )
    failures = failure_rows("applications", Applications, frame)
    checks = {(f["column"], f["check"]) for f in failures}
    assert ("category", "isin(taxonomy codes)") in checks
    assert ("count", "greater_than_or_equal_to(0)") in checks
    assert ("Applications", "multiple_fields_uniqueness") in checks
    assert {f["failure_case"] for f in failures if f["column"] == "category"} == {"new_recieved"}
    assert sorted(f["index"] for f in failures if f["check"] == "multiple_fields_uniqueness") == [2, 3]
    assert all(f["table"] == "applications" for f in failures)


def test_only_change_may_be_negative() -> None:
    ok = _proactive(
        [("licensing", "change", -18.0), ("licensing", "decisions", 4.0), ("fees", "change", None)]
    )
    assert failure_rows("proactive", Proactive, ok) == []
    bad = _proactive([("licensing", "decisions", -1.0), ("fees", "decisions", 1.0)])
    checks = {f["check"] for f in failure_rows("proactive", Proactive, bad)}
    assert checks == {
        "value < 0 on a measure that cannot be negative",
        "item/measure pair not in any template",
    }


def test_structural_problems_are_rows_not_exceptions() -> None:
    frames = empty_frames().tables
    frames["appeals"] = frames["appeals"].drop("count").with_columns(extra=pl.lit(1))
    frames["checks"] = frames["checks"].with_columns(pl.col("passed").cast(pl.String))
    del frames["proactive"]
    failures = validate_frames(frames)
    tables = {f["table"] for f in failures}
    assert tables == {"appeals", "checks", "proactive"}
    assert any(f["check"] == "frame missing" for f in failures)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(CATEGORY_CODES), st.sampled_from(APPLICANT_CODES)), unique=True, max_size=30
    )
)
def test_any_unique_cells_with_counts_validate(cells: list[tuple[str, str]]) -> None:
    frame = _apps([(c, a, i) for i, (c, a) in enumerate(cells)])
    assert failure_rows("applications", Applications, frame) == []
