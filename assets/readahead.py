"""Extraction that runs ahead: while one year is staged and loaded, the workers parse the next.

An ingest of several years runs one Dagster run per year, each ``raw files → extraction →
staging → load``. Staging and loading run in the main process, and without read-ahead the
extraction workers sit idle all that time (about a fifth of a national ingest). With a
``ReadAhead`` active (``run_ingest`` opens one for a run of several years), the extraction step
of year N, once its own files are queued, also queues the first files of year N+1 that the
parse cache lacks; the pool runs them after year N's, while year N is staged and loaded.
Year N+1's extraction step then claims those results instead of submitting the files again.

Nothing changes what is stored: a result is claimed only by the very file and hints it was
submitted with, and the key it is cached under is computed by the worker from the bytes it
parsed (as for every file). A result nobody claims (the file changed, the year was not run)
is dropped. At most ``limit_files`` results wait in memory.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from extract.limits import MEMORY_MB, TIMEOUT_S
from extract.pool import ExtractionPool
from warehouse.changes import signature
from warehouse.inventory import ManifestEntry, partition_listing, read_manifest
from warehouse.parse_cache import ParseCache, ParsedFile, cache_key, parse_files

# Files queued ahead, at most: about what the workers parse while a 20,000-report year is staged
# and loaded (~30 s at ~200 files/s); their results wait in memory (~20 kB each) until claimed.
READ_AHEAD_FILES = 8000

# Files go to the workers in batches (one pool task each): the pool's per-task cost, about a
# millisecond, was a fifth of an HTML report's extraction. A batch that fails (one of its files
# hung, ran out of memory or crashed its worker) is split and its files retried one by one, each
# under the per-file limits, so a hostile file costs at most one batch timeout more.
BATCH_FILES = 8
BATCH_BYTES = 4 * 2**20

Hints = tuple[str | None, int | None, int]  # manifest agency, manifest year, folder year
T = TypeVar("T")


def batched(items: Sequence[T], size: Callable[[T], int]) -> list[list[T]]:
    """``items`` in order, cut into batches of at most BATCH_FILES files and BATCH_BYTES bytes
    (a file larger than that is a batch of its own)."""
    out: list[list[T]] = []
    total = 0
    for item in items:
        if not out or len(out[-1]) >= BATCH_FILES or total + size(item) > BATCH_BYTES:
            out.append([])
            total = 0
        out[-1].append(item)
        total += size(item)
    return out


def extraction_hints(entries: dict[str, ManifestEntry], relative: str, year: int) -> dict[str, Any]:
    """The hints the extractor reads for one file of partition ``year`` (part of its cache key)."""
    entry = entries.get(relative)
    return {
        "manifest_agency": entry.agency if entry else None,
        "manifest_year": entry.year if entry else None,
        "folder_year": year,
    }


def _hint_key(hints: dict[str, Any]) -> Hints:
    return hints["manifest_agency"], hints["manifest_year"], hints["folder_year"]


@dataclass(frozen=True)
class Queued:
    """One file queued ahead: the batch task it went in, its place there and the batch's size."""

    future: Future[list[ParsedFile]]
    index: int
    batch_size: int


class ReadAhead:
    """A long-lived extraction pool shared by the years of one ingest, with read-ahead."""

    def __init__(self, raw: Path, years: Sequence[int], *, limit_files: int | None = None) -> None:
        self.raw = raw
        self.years = sorted(years)
        self.limit_files = READ_AHEAD_FILES if limit_files is None else limit_files
        self.queued_files = 0  # queued ahead, in all
        self.claimed_files = 0  # of those, taken by their year's extraction step
        self.stale_files = 0  # of those, changed since they were read: parsed again
        self._pool: ExtractionPool | None = None
        self._queued: dict[tuple[str, Hints], Queued] = {}
        self._started: set[int] = set()

    @property
    def used_files(self) -> int:
        """Files whose read-ahead extraction was stored."""
        return self.claimed_files - self.stale_files

    @property
    def pool(self) -> ExtractionPool:
        if self._pool is None:
            self._pool = ExtractionPool(timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB)
        return self._pool

    def claim(self, relative: str, hints: dict[str, Any]) -> Queued | None:
        """The queued extraction of this file under these hints, if one was queued."""
        queued = self._queued.pop((relative, _hint_key(hints)), None)
        if queued is not None:
            self.claimed_files += 1
        return queued

    def after(self, year: int, cache: ParseCache) -> int:
        """Queue the first files of the year after ``year`` (in this ingest) that the cache does
        not know; returns how many were queued."""
        later = [y for y in self.years if y > year]
        if not later or later[0] in self._started:
            return 0
        target = later[0]
        self._started.add(target)
        manifest = read_manifest(self.raw)
        entries = manifest.for_year(target)
        listing = partition_listing(self.raw, target, manifest)
        known = cache.known_hashes(rel for rel, _stat in listing)
        candidates: list[tuple[str, dict[str, Any], int]] = []
        keys: dict[str, int] = {}
        for relative, stat in listing:
            hints = extraction_hints(entries, relative, target)
            previous = known.get(relative)
            if previous is not None and previous[0] == signature(stat):
                keys[relative] = cache_key(previous[1], relative, **hints)
            candidates.append((relative, hints, stat.st_size))
        cached = cache.known_keys(keys.values())
        todo = [c for c in candidates if keys.get(c[0]) not in cached][: self.limit_files]
        root = str(self.raw.resolve())
        for batch in batched(todo, lambda c: c[2]):
            future = self.pool.submit(
                parse_files, [(os.path.join(root, rel), rel, h) for rel, h, _size in batch]
            )
            for index, (rel, hints, _size) in enumerate(batch):
                self._queued[(rel, _hint_key(hints))] = Queued(future, index, len(batch))
        self.queued_files += len(todo)
        return len(todo)

    def close(self) -> None:
        """Drop what nobody claimed and stop the workers."""
        self._queued.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


_active: ReadAhead | None = None
_active_lock = threading.Lock()


def active() -> ReadAhead | None:
    """The read-ahead of the ingest running in this process, if any."""
    return _active


@contextlib.contextmanager
def reading_ahead(raw: Path, years: Sequence[int]) -> Iterator[ReadAhead]:
    """Make a ``ReadAhead`` the active one for the ingest of ``years`` (one at a time)."""
    global _active
    ahead = ReadAhead(raw, years)
    with _active_lock:
        if _active is not None:
            raise RuntimeError("an ingest with read-ahead is already running in this process")
        _active = ahead
    try:
        yield ahead
    finally:
        with _active_lock:
            _active = None
        ahead.close()
