"""What changed in a partition since it was loaded: hashing by stat signature, fingerprints, and
the new / changed / unchanged / gone counts every run reports.

- A file's sha256 is taken from the parse cache when its stat signature (size, mtime, ctime,
  inode) is the one recorded with it, so a nightly run reads no unchanged file. ctime cannot be
  set by a user and changes with every write, so an edited file is always hashed again.
- A partition's **fingerprint** covers everything its warehouse rows are a function of: every
  file (path, sha256), its manifest rows, agencies.csv and corrections.csv, the parser version and the warehouse
  schema. Equal to the fingerprint recorded at its last load (table ``loads``): nothing to do.
- Its **stat fingerprint** is the same by names, sizes and mtimes, cheap enough for the sensor
  and the schedule to compute every few seconds without reading a file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from extract.api import PARSER_VERSION
from warehouse.inventory import (
    Manifest,
    ManifestEntry,
    RawFile,
    partition_listing,
    read_manifest,
    sha256_file,
    years_present,
)
from warehouse.parse_cache import ParseCache, StatSignature


def signature(stat: os.stat_result) -> StatSignature:
    return StatSignature(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


@dataclass
class Scan:
    """One partition as listed now: its files with their sha256, and its stat fingerprint."""

    files: list[RawFile]
    stat_fingerprint: str
    hashed: int  # files read to hash them (the others' stat signature was unchanged)


def scan_hashed(
    raw_dir: Path, year: int, manifest: Manifest, cache: ParseCache, side_files: Sequence[Path], schema: str
) -> Scan:
    """Every report file of partition ``year`` with its sha256, in path order (one listing, one
    stat per file; a file is read only when its stat signature is not the one remembered)."""
    listing = partition_listing(raw_dir, year, manifest)
    known = cache.known_hashes(rel for rel, _stat in listing)
    root = str(raw_dir.resolve())
    files: list[RawFile] = []
    remembered: list[tuple[str, StatSignature, str]] = []
    hashed = 0
    for relative, stat in listing:
        sig = signature(stat)
        previous = known.get(relative)
        if previous is not None and previous[0] == sig:
            digest = previous[1]
        else:
            try:
                digest = sha256_file(Path(root, relative))
            except OSError:
                digest = ""  # unreadable: the extraction step records the reason
            hashed += 1
        if digest:
            remembered.append((relative, sig, digest))
        files.append(
            RawFile(
                path=os.path.join(root, relative),
                relative=relative,
                folder_year=year,
                # An unreadable file keeps a stand-in id made from its path, so its rejection
                # (recorded by the extraction step) is attributable; it is never cached.
                sha256=digest or hashlib.sha256(f"unreadable:{relative}".encode()).hexdigest(),
                size=stat.st_size,
                mtime=stat.st_mtime,
            )
        )
    cache.remember_hashes(year, remembered)
    return Scan(files, _stat_fingerprint(listing, manifest, year, side_files, schema), hashed)


def _side_digests(side_files: Sequence[Path]) -> list[str | None]:
    """agencies.csv and corrections.csv by content (None: absent)."""
    return [hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else None for f in side_files]


def _side_stats(side_files: Sequence[Path]) -> list[list[int] | None]:
    out: list[list[int] | None] = []
    for f in side_files:
        st = f.stat() if f.is_file() else None
        out.append([st.st_size, st.st_mtime_ns] if st else None)
    return out


def _manifest_rows(entries: dict[str, ManifestEntry]) -> list[tuple]:
    return sorted((e.path, e.agency, e.year, e.region, e.published) for e in entries.values())


def _digest(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def content_fingerprint(
    files: list[RawFile], entries: dict[str, ManifestEntry], side_files: Sequence[Path], schema: str
) -> str:
    """The partition's inputs by content: equal fingerprints load equal rows. A file's mtime is
    in too: it is stored (``reports.file_mtime``) and decides which revision is current when the
    manifest gives no publication date (a touched file reloads its year, parsing nothing)."""
    return _digest(
        [
            sorted((f.relative, f.sha256, f.mtime) for f in files),
            _manifest_rows(entries),
            _side_digests(side_files),
            PARSER_VERSION,
            schema,
        ]
    )


def stat_fingerprint(
    raw_dir: Path, year: int, manifest: Manifest, side_files: Sequence[Path], schema: str
) -> str:
    """The partition's inputs by names, sizes and mtimes (no file is read)."""
    return _stat_fingerprint(partition_listing(raw_dir, year, manifest), manifest, year, side_files, schema)


def _stat_fingerprint(
    listing: list[tuple[str, os.stat_result]],
    manifest: Manifest,
    year: int,
    side_files: Sequence[Path],
    schema: str,
) -> str:
    items = [(rel, stat.st_size, stat.st_mtime_ns) for rel, stat in listing]
    return _digest(
        [items, _manifest_rows(manifest.for_year(year)), _side_stats(side_files), PARSER_VERSION, schema]
    )


def stat_fingerprints(
    raw_dir: Path, years: list[int] | None = None, side_files: Sequence[Path] = (), *, schema: str = ""
) -> dict[int, str]:
    """The stat fingerprint of every year present (or of ``years``)."""
    manifest = read_manifest(raw_dir)
    return {
        y: stat_fingerprint(raw_dir, y, manifest, side_files, schema)
        for y in (years if years is not None else years_present(raw_dir, manifest))
    }


@dataclass(frozen=True)
class FileChanges:
    """A partition's files against what its last load read (table ``reports``)."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    gone: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"new": self.new, "changed": self.changed, "unchanged": self.unchanged, "gone": self.gone}


def compare(files: list[RawFile], loaded: dict[str, str]) -> FileChanges:
    """``loaded``: source path → sha256 of the reports stored for the year."""
    current = {f.relative: f.sha256 for f in files}
    return FileChanges(
        new=sum(1 for p in current if p not in loaded),
        changed=sum(1 for p, sha in current.items() if p in loaded and loaded[p] != sha),
        unchanged=sum(1 for p, sha in current.items() if loaded.get(p) == sha),
        gone=sum(1 for p in loaded if p not in current),
    )


def untouched_years(raw_dir: Path, db: Path, years: list[int], side_files: Sequence[Path]) -> dict[int, int]:
    """The years among ``years`` whose stat fingerprint is the one they were loaded from (their
    files, manifest rows and agencies.csv untouched since), with their file counts then. No file
    is read: names, sizes and mtimes only."""
    from warehouse.db import loaded_fingerprints, schema_digest

    loaded = loaded_fingerprints(db)
    if not loaded:
        return {}
    current = stat_fingerprints(raw_dir, years, side_files, schema=schema_digest())
    return {
        y: loaded[y].files
        for y in years
        if y in loaded and loaded[y].stat_fingerprint is not None and loaded[y].stat_fingerprint == current[y]
    }
