"""``gongkai report``: the warehouse's main figures as one self-contained HTML page.

Plain functions on the warehouse (no Dagster): ``data.gather`` asks the views one question per
panel, ``page.render_html`` draws them as inline SVG, ``write_report`` writes the file
atomically (a reader never sees half a report).
"""

from __future__ import annotations

import os
from pathlib import Path

from warehouse.db import connect
from warehouse.report.data import NothingToReport, ReportData, ReportOptions, gather
from warehouse.report.page import render_html

__all__ = ["NothingToReport", "ReportData", "ReportOptions", "default_report_path", "write_report"]


def default_report_path(db_path: Path) -> Path:
    """``report.html`` beside the warehouse catalog (``data/report.html`` by default)."""
    return db_path.parent / "report.html"


def write_report(db_path: Path, out: Path, options: ReportOptions | None = None) -> ReportData:
    """Write the report of the warehouse at ``db_path`` (a published or a build catalog) to
    ``out``; return the numbers drawn. Raises FileNotFoundError without a warehouse and
    NothingToReport when the options select no loaded report."""
    if not db_path.is_file():
        raise FileNotFoundError(f"no warehouse at {db_path}: run `gongkai ingest` first")
    with connect(db_path, read_only=True) as con:
        data = gather(con, options or ReportOptions())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render_html(data), encoding="utf-8")
    os.replace(tmp, out)
    return data
