"""What the assets hand each other, one value per year partition (pickled by the IO manager).

The values are small: a year's facts travel through the parse cache and staged Parquet files,
never through pickles, so a run's memory holds one year's frames at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.changes import FileChanges
from warehouse.frames import FileEntry
from warehouse.inventory import ManifestEntry, RawFile


@dataclass
class YearFiles:
    year: int
    files: list[RawFile]
    manifest: dict[str, ManifestEntry]  # relative path → row, this year's files only
    problems: list[str] = field(default_factory=list)  # manifest and layout problems
    fingerprint: str = ""  # the inputs by content (warehouse.changes)
    stat_fingerprint: str = ""  # the inputs by names, sizes and mtimes
    up_to_date: bool = False  # the warehouse holds this year loaded from the same fingerprint
    forced: bool = False  # reload even so (``gongkai ingest --force``): every fact rewritten
    changes: FileChanges = field(default_factory=FileChanges)  # against the last load
    hashed: int = 0  # files read to hash them (the rest: stat signature unchanged)
    file_count: int = 0  # files in the partition (``files`` is empty when up to date)


@dataclass
class ExtractedYear:
    year: int
    entries: list[FileEntry]  # every file of the year with its parse-cache entry
    statuses: dict[str, int] = field(default_factory=dict)  # ok / warning / rejected
    rejected_files: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    parsed: int = 0  # files extracted in this run (the rest came from the cache)
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, ManifestEntry] = field(default_factory=dict)
    source: YearFiles | None = None

    def count(self, status: str) -> int:
        return self.statuses.get(status, 0)

    def rejected(self) -> list[tuple[str, str]]:
        return self.rejected_files


@dataclass
class StagedYear:
    """A year's validated frames, written as Parquet files for the load (one per table)."""

    year: int
    tables: dict[str, list[Path]]  # table → staged Parquet files
    rows: dict[str, int]  # rows staged per table (facts only of reports not stored as they are)
    failures: list[dict[str, Any]] = field(default_factory=list)  # pandera rows; block the load
    duplicates: list[str] = field(default_factory=list)  # files skipped: same bytes as another
    source: YearFiles | None = None
    keep_facts_of: set[str] = field(default_factory=set)  # reports stored as they are: facts kept
    corrections: dict[str, int] = field(default_factory=dict)  # corrections.csv lines by status
    correction_lines: set[int] = field(default_factory=set)  # the lines that name a report of the year
