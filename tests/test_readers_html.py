"""HTML reader: the real 上海 2019 page exactly, span handling, encodings, and synthetic round trips."""

from __future__ import annotations

from extract.document import Document
from extract.matcher import match
from schemas.taxonomy import taxonomy


def _blank_table3(values_for: dict[str, list[str]]) -> Document:
    """Table 三 as a table reader emits it: every row printed, most left as blank cells."""
    rows: list[list[str]] = [["三、收到和处理政府信息公开申请情况"]]
    for category in taxonomy().categories:
        if category.code in ("other_no_correction", "other_unpaid_fee", "other_other"):
            continue
        rows.append([category.leaf, *values_for.get(category.code, [""] * 7)])
    return Document(rows=rows, format="html")


def test_matcher_reads_rows_of_blank_cells_as_blank_not_missing() -> None:
    doc = _blank_table3({"new_received": ["1", "", "", "", "", "", "1"]})
    tables = match(doc, year=2019)
    assert tables.found["table 三"] == 23
    assert tables.applications[("new_received", "natural_person")].value == 1
    blank = tables.applications[("withheld_state_secret", "total")]
    assert (blank.value, blank.blank, blank.problem) == (None, True, None)
    assert tables.problems == []


def test_matcher_prefers_a_later_printing_with_values_over_a_blank_row() -> None:
    doc = _blank_table3({})
    doc.rows.append(["（一）予以公开", "5", "", "", "", "", "", "5"])
    tables = match(doc, year=2019)
    assert tables.applications[("disclosed", "natural_person")].value == 5
    assert tables.applications[("disclosed", "total")].value == 5
    assert tables.problems == []


def test_matcher_ignores_blank_rows_shorter_than_the_applicant_columns() -> None:
    doc = _blank_table3({"carried_over": ["", "", "", ""]})
    tables = match(doc, year=2019)
    assert tables.found["table 三"] == 22
    assert tables.applications[("carried_over", "total")].problem == "row not found"
