"""What ``gongkai fetch`` does and prints, and the fetch lines of ``gongkai summary``."""

from __future__ import annotations

import sys
from pathlib import Path

from assets.resources import FetchSettings
from fetch.run import FetchRun, run_fetch
from fetch.sources import SourcesError, read_sources
from fetch.store import ManifestError
from warehouse.fetch_log import OUTCOMES, last_runs, url_health
from warehouse.paths import db_path, raw_dir

SOME_FAILED = 3  # the exit status of a run with failed URLs (help.EXIT_CODES)
_SHOWN = 20
_LABELS = {"not_report": "not a report"}


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {_LABELS.get(o, o)}" for o, n in counts.items())


def _err(line: str) -> None:
    print(f"gongkai: {line}", file=sys.stderr)


def fetch_command(years: list[int] | None, settings: FetchSettings) -> int:
    """``gongkai fetch``: 0 every URL fetched or unchanged, 3 some failed or were not reports,
    1 nothing to fetch or a file that cannot be used (one line)."""
    raw = raw_dir()
    file = settings.sources(raw)
    politeness = settings.politeness()
    try:
        listed = read_sources(file)
    except SourcesError as exc:
        _err(f"error: {exc}")
        return 1
    for problem in listed.problems:
        _err(f"warning: {problem}")
    chosen = listed.for_years(years)
    if not chosen:
        if not file.exists():
            where = "is absent"
        elif not file.is_file():
            where = "is not a file"
        else:
            where = "lists no URL" + (f" for {years[0]}–{years[-1]}" if years else "")
        _err(
            f"error: nothing to fetch: {file} {where}; write lines agency,year,url[,region] "
            "(README, Fetching reports), or set GONGKAI_SOURCES / --sources"
        )
        return 1
    span = sorted({s.year for s in chosen})
    print(
        f"fetching {len(chosen)} URL{'s' if len(chosen) != 1 else ''} for {span[0]}–{span[-1]} from {file} into {raw}"
    )
    if not politeness.contact:
        _err(
            "warning: no contact in the User-Agent: set GONGKAI_FETCH_CONTACT (or --contact) so site operators can reach you"
        )
    try:
        run = run_fetch(listed, raw, db_path(), years=years, politeness=politeness, say=print)
    except ManifestError as exc:
        _err(f"error: {exc}")
        return 1
    print_run(run)
    return SOME_FAILED if any(r.outcome in ("failed", "not_report") for r in run.results) else 0


def print_run(run: FetchRun) -> None:
    for year in run.years:
        urls = sum(1 for r in run.results if r.source.year == year)
        print(f"{year}: {urls} URL{'s' if urls != 1 else ''}: {_counts(run.counts(year))}")
    missed = [r for r in run.results if r.outcome in ("failed", "not_report")]
    if missed:
        print(f"failed or not a report ({len(missed)}; listed in table fetch_log):")
        for r in missed[:_SHOWN]:
            print(f"  {r.source.year} {r.source.agency}: {r.error}")
        if len(missed) > _SHOWN:
            print(f"  … and {len(missed) - _SHOWN} more")
    if run.broken:
        print(
            f"broken: {len(run.broken)} URL{'s' if len(run.broken) != 1 else ''} failing 3 runs in a row or more:"
        )
        for h in run.broken[:_SHOWN]:
            print(f"  {h.url} ({h.agency} {h.year}): {h.failures_in_a_row} runs, last: {h.last_error}")
    written = sum(1 for r in run.results if r.outcome in ("new", "changed"))
    print(
        f"{written} report file{'s' if written != 1 else ''} written, manifest.csv: {run.manifest_rows} rows "
        f"added or updated; {run.requests} requests (and {run.robots_requests} for robots.txt)"
    )


def summary_lines(db: Path) -> list[str]:
    """The fetch part of ``gongkai summary``: the last run, failed URLs, broken URLs."""
    runs = last_runs(db)
    if not runs:
        return []
    last = runs[0]
    lines = [
        f"last fetch ({last.finished:%Y-%m-%d %H:%M} UTC): {sum(last.counts.values())} URLs requested "
        f"(attachments included): {_counts({o: last.counts.get(o, 0) for o in OUTCOMES})}"
    ]
    health = url_health(db)
    failing = [h for h in health if h.last_outcome == "failed"]
    broken = [h for h in failing if h.broken]
    lines.append(f"failed fetches (URLs whose last attempt failed): {len(failing)}")
    for h in failing[:_SHOWN]:
        mark = "BROKEN " if h.broken else ""
        lines.append(
            f"  {mark}{h.url} ({h.agency} {h.year}): {h.failures_in_a_row} run(s) in a row, last: {h.last_error}"
        )
    lines.append(f"broken URLs (failing 3 runs in a row or more): {len(broken)}")
    return lines
