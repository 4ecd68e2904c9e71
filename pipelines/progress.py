"""What ``gongkai ingest`` and ``gongkai summary`` print."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.table import Table

from pipelines.fetching import summary_lines
from pipelines.ingest import IngestSummary
from pipelines.tables import cell_text, output_console
from warehouse.db import query
from warehouse.health import check_published
from warehouse.paths import db_path, missing_warehouse

console = output_console()  # piped or redirected, no column is cut to "previou…"


@contextmanager
def progress_printer() -> Iterator[Callable[[str], None]]:
    """A progress callback printing each step with the elapsed time, and a spinner between."""
    start = time.perf_counter()
    with console.status("ingesting…") as status:

        def on_progress(message: str) -> None:
            console.print(f"[dim]{time.perf_counter() - start:6.1f}s[/dim] {message}", soft_wrap=True)
            status.update(message)

        yield on_progress


def print_summary(summary: IngestSummary) -> None:
    table = Table(title=f"ingest into {summary.db_path}", title_justify="left")
    for column in (
        "year",
        "files",
        "new",
        "changed",
        "unchanged",
        "gone",
        "parsed",
        "ok",
        "warning",
        "rejected",
        "applications rows",
        "identity failures",
        "loaded",
    ):
        table.add_column(column, justify="right")
    for year, ys in sorted(summary.years.items()):
        c = ys.changes
        table.add_row(
            str(year),
            str(ys.files),
            str(c.new),
            str(c.changed),
            str(c.unchanged),
            str(c.gone),
            str(ys.parsed),
            str(ys.ok),
            str(ys.warning),
            str(ys.rejected),
            str(ys.rows.get("applications", 0)),
            str(ys.failed_identities),
            "unchanged" if ys.up_to_date else "yes" if ys.loaded else "[red]no[/red]",
        )
    console.print(table)
    console.print(
        "[dim]new / changed / unchanged / gone: files against the year's last load; parsed: files "
        "extracted this run (the others came from the parse cache); loaded 'unchanged': the year's "
        "inputs are the ones it was loaded from, so nothing was written (`gongkai ingest --force` reloads)[/dim]"
    )
    rejected = [
        (y, path, reason) for y, ys in sorted(summary.years.items()) for path, reason in ys.rejected_files
    ]
    if rejected:
        console.print(f"rejected ({len(rejected)}; the files stay where they are, listed in table reports):")
        for year, path, reason in rejected:
            console.print(f"  {year}  {path}: {reason}")
    for ys in summary.years.values():
        for problem in ys.problems:
            console.print(f"  [yellow]{ys.year}: {problem}[/yellow]")
        for failure in ys.validation_failures[:10]:
            console.print(f"  [red]{ys.year}: validation: {failure}[/red]")
    if summary.corrections:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.corrections.items()))
        console.print(f"corrections: {counts} (table corrections)")
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    for error in summary.errors:
        console.print(f"[red]error:[/red] {error}")


_YOY_EXAMPLE = """
SELECT agency, year, count AS requests, previous_count AS previous_year, change
FROM applications_yoy
WHERE category = 'new_received' AND applicant_type = 'total' AND previous_count IS NOT NULL
ORDER BY abs(change) DESC NULLS LAST, agency
LIMIT 5
"""


def print_warehouse_summary() -> int:
    path = db_path()
    if not path.is_file():
        print(f"gongkai: error: {missing_warehouse(path)}", file=sys.stderr)
        return 1
    check_published(path)  # damage named in one line before any query meets it
    per_year = query(
        path,
        """
        SELECT year, count(*) AS reports,
               count(*) FILTER (WHERE status = 'ok') AS ok,
               count(*) FILTER (WHERE status = 'warning') AS warning,
               count(*) FILTER (WHERE status = 'rejected') AS rejected,
               count(DISTINCT agency) FILTER (WHERE status <> 'rejected') AS agencies
        FROM reports GROUP BY year ORDER BY year
        """,
    )
    table = Table(title=f"warehouse {path}", title_justify="left")
    for column in ("year", "reports", "ok", "warning", "rejected", "agencies"):
        table.add_column(column, justify="right")
    for row in per_year:
        table.add_row(*(str(v) for v in row))
    console.print(table)
    rows = query(path, _YOY_EXAMPLE)
    yoy = Table(
        title="largest year-over-year changes in requests received (applications_yoy)", title_justify="left"
    )
    for column in ("agency", "year", "requests", "previous year", "change"):
        yoy.add_column(column, justify="left" if column == "agency" else "right")
    for row in rows:
        yoy.add_row(*(cell_text(v) for v in row))
    console.print(yoy)
    console.print(f"[dim]query:{_YOY_EXAMPLE.rstrip()}[/dim]")
    for line in summary_lines(path):
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    return 0
