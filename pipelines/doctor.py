"""`gongkai doctor`: is this machine ready to ingest, and if not, what to do.

One line per check: status (``ok``, ``warn``, ``FAIL``), what was checked, what was found and,
when not ok, the fix. ``FAIL`` is for essential checks only (an ingest would fail); ``warn`` for
what limits gongkai without stopping it (no LibreOffice: .doc/.wps files are rejected).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from assets.resources import GongkaiPaths
from pipelines.instance import dagster_home, user_home

LOW_DISK = 2 * 1024**3  # below this an ingest of a national corpus may run out of room
SOFFICE_FIX = "apt-get install libreoffice-writer-nogui fonts-noto-cjk"
# A declared dependency as installed metadata spells it: name, extras, an == pin, a marker.
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9._-]+)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^;\s]+))?\s*(;.*)?$")


@dataclass(frozen=True)
class Finding:
    status: str  # ok, warn, FAIL
    name: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.status:<5} {self.name:<14} {self.detail}" + (f" — fix: {self.fix}" if self.fix else "")


def _ok(name: str, detail: str) -> Finding:
    return Finding("ok", name, detail)


def _python() -> Finding:
    version = platform.python_version()
    if sys.version_info[:2] != (3, 11):
        return Finding("FAIL", "python", f"{version}, gongkai needs 3.11", "make setup (uv installs 3.11)")
    return _ok("python", version)


def _packages() -> Finding:
    """Every dependency gongkai declares (its installed metadata: pyproject.toml's list),
    installed at its pinned version."""
    try:
        declared = metadata.requires("gongkai") or []
    except metadata.PackageNotFoundError:
        return Finding("FAIL", "packages", "gongkai is not installed in this environment", "make setup")
    wrong, count = [], 0
    for line in declared:
        match = _REQUIREMENT.match(line)
        if not match or (match.group(3) and "extra" in match.group(3)):
            continue  # an optional extra's dependency
        name, pinned = match.group(1), match.group(2)
        count += 1
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} missing")
            continue
        if pinned and have != pinned:
            wrong.append(f"{name} {have} (pinned {pinned})")
    if wrong:
        return Finding("FAIL", "packages", ", ".join(wrong), "make setup")
    shown = ", ".join(f"{n} {metadata.version(n)}" for n in ("dagster", "duckdb", "polars", "pandera"))
    return _ok("packages", f"{count} as pinned ({shown})")


def _program(name: str, commands: tuple[str, ...], needed_for: str, fix: str) -> Finding:
    for command in commands:
        found = shutil.which(command)
        if found:
            return _ok(name, found)
    return Finding("warn", name, f"not found: {needed_for}", fix)


def _writable(folder: Path) -> str | None:
    """Why nothing can be written in ``folder``, or None. A missing folder is judged by its
    nearest existing parent (the first ingest creates it). A real file is created and removed:
    permission bits say nothing for root or a read-only mount."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _raw(raw: Path) -> Finding:
    if not raw.is_dir():
        return Finding(
            "FAIL",
            "raw folder",
            f"{raw}: missing",
            f"mkdir -p {raw} and put reports in <year>/ folders, or set GONGKAI_RAW",
        )
    try:
        years = sorted(p.name for p in raw.iterdir() if p.is_dir() and p.name.isdigit())
    except OSError as exc:
        return Finding("FAIL", "raw folder", f"{raw}: cannot be read ({exc.strerror})", "make it readable")
    found = f"years {years[0]}–{years[-1]}" if years else "no year folders yet"
    return _ok("raw folder", f"{raw}: {found}")


def _folder(name: str, folder: Path, env: str) -> Finding:
    why = _writable(folder)
    if why:
        return Finding("FAIL", name, f"{folder}: not writable ({why})", f"make it writable, or set {env}")
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    state = "writable" if folder.exists() else "created on first use"
    detail = f"{folder}: {state}, {free / 1024**3:.1f} GiB free"
    if free < LOW_DISK:
        return Finding("warn", name, detail, "free some disk space")
    return _ok(name, detail)


def _lock(paths: GongkaiPaths) -> Finding:
    from warehouse.publish import lock_holder

    holder = lock_holder(paths.db)
    return _ok("writer lock", f"held by an ingest ({holder})" if holder else "free")


def _warehouse(paths: GongkaiPaths) -> Finding:
    if not paths.db.exists():
        return Finding("warn", "warehouse", f"{paths.db}: not built yet", "gongkai ingest")
    from warehouse.db import query

    try:
        counts = query(paths.db, "SELECT year, count(*) FROM reports GROUP BY year ORDER BY year")
    except Exception as exc:  # any reason it cannot be read is this check's finding
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Finding(
            "FAIL",
            "warehouse",
            f"{paths.db}: cannot be read ({first})",
            "make clean-warehouse, then gongkai ingest (it is rebuilt from the raw folder)",
        )
    reports = sum(n for _, n in counts)
    years = f", years {counts[0][0]}–{counts[-1][0]}" if counts else ""
    return _ok("warehouse", f"{paths.db}: {reports} reports{years}")


def _dagster(paths: GongkaiPaths) -> Finding:
    home = dagster_home(paths.db)
    where = "DAGSTER_HOME" if user_home() else "beside the warehouse"
    if not (home / "history").is_dir():
        return _ok("dagster", f"{home} ({where}): no runs yet, created by the first ingest")
    from pipelines.instance import open_instance

    try:
        with open_instance(paths.db) as instance:
            runs = instance.get_runs_count()
    except Exception as exc:  # any reason the instance cannot be opened is this check's finding
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Finding("FAIL", "dagster", f"{home}: cannot be opened ({first})", f"move {home} aside")
    return _ok("dagster", f"{home} ({where}): {runs} run{'' if runs == 1 else 's'}")


def _sources(raw: Path) -> Finding:
    """data/sources.csv for `gongkai fetch` and the nightly job: not essential (ingest never
    fetches), so a problem is a warning."""
    from fetch.sources import SourcesError, read_sources, sources_file

    path = sources_file(raw)
    if not path.is_file():
        return _ok("sources", f"{path}: none, nothing to fetch (README: Fetching reports)")
    try:
        sources = read_sources(path)
    except SourcesError as exc:
        return Finding("warn", "sources", str(exc), "fix the header, see README: Fetching reports")
    if not sources.rows:
        return _ok("sources", f"{path}: no URLs, nothing to fetch")
    years = sorted({s.year for s in sources.rows})
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    detail = f"{path}: {len(sources.rows)} URLs for {span}"
    if sources.problems:
        more = f" (and {len(sources.problems) - 1} more)" if len(sources.problems) > 1 else ""
        return Finding("warn", "sources", f"{detail}; {sources.problems[0]}{more}", "correct those lines")
    if not os.environ.get("GONGKAI_FETCH_CONTACT"):
        return Finding(
            "warn",
            "sources",
            f"{detail}; no contact for the User-Agent",
            "set GONGKAI_FETCH_CONTACT to an e-mail or URL site operators can reach",
        )
    return _ok("sources", detail)


def findings(paths: GongkaiPaths | None = None) -> Iterator[Finding]:
    """Each check in turn (a generator: a slow check shows the lines before it at once)."""
    paths = paths or GongkaiPaths()
    raw, db = paths.raw.absolute(), paths.db.absolute()
    paths = paths.model_copy(update={"raw_dir": str(raw), "db_path": str(db)})
    checks: list[Callable[[], Finding]] = [
        _python,
        _packages,
        lambda: _program("soffice", ("soffice", "libreoffice"), ".doc/.wps files are rejected", SOFFICE_FIX),
        lambda: _program(
            "chromium",
            ("chromium", "chromium-browser"),
            "the browser tests are skipped",
            "apt-get install chromium",
        ),
        lambda: _raw(raw),
        lambda: _sources(raw),
        lambda: _folder("warehouse dir", db.parent, "GONGKAI_DB"),
        lambda: _ok("parse cache", f"{paths.cache}: {'present' if paths.cache.exists() else 'empty'}"),
        lambda: _folder("dagster home", dagster_home(db), "DAGSTER_HOME"),
        lambda: _lock(paths),
        lambda: _warehouse(paths),
        lambda: _dagster(paths),
    ]
    for check in checks:
        yield check()


def run_doctor(paths: GongkaiPaths | None = None, out: Callable[[str], None] = print) -> int:
    """Print every finding; 0 when no essential check failed, else 1."""
    failed = 0
    for finding in findings(paths):
        out(finding.line())
        failed += finding.status == "FAIL"
    out(
        "all essential checks pass"
        if not failed
        else f"{failed} essential check{'s' if failed > 1 else ''} failed"
    )
    return 1 if failed else 0
