"""What is in ``raw_dir``: report files under ``<year>/`` folders and the optional manifest.

A file's partition (the report year it is loaded and replaced under) is its manifest ``year``
when the manifest gives one, else its ``<year>/`` folder: correcting a year in the manifest moves
the report on the next run without moving the file. Nothing here parses a report; problems with
the layout or the manifest are returned as messages so one bad row never stops a nightly run.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from stat import S_ISREG

from warehouse.csv_input import read_csv

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("path", "agency", "year", "region", "url", "published")
REQUIRED_COLUMNS = ("path",)
_YEAR_FOLDER = re.compile(r"^(19|20)\d\d$")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
# Notes that people leave beside reports; never a report themselves.
_SKIP_NAMES = {"readme", "readme.md", "readme.txt", MANIFEST, "thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class RawFile:
    path: str  # absolute, for reading (a string: tens of thousands of these are pickled per run)
    relative: str  # posix path under raw_dir: the stable name stored in the warehouse
    folder_year: int  # the partition: the manifest year if given, else the <year>/ folder
    sha256: str
    size: int
    mtime: float

    @property
    def report_id(self) -> str:
        # Content-addressed: renaming or moving a file keeps its id, editing it gives a new one.
        return self.sha256[:16]


@dataclass(frozen=True)
class ManifestEntry:
    path: str  # posix, relative to raw_dir, normalised
    agency: str | None = None
    year: int | None = None
    region: str | None = None
    url: str | None = None
    published: str | None = None

    @property
    def published_date(self) -> date | None:
        return parse_date(self.published)

    def partition(self) -> int | None:
        """The year this file is loaded under: the manifest year, else its folder's year."""
        if self.year is not None:
            return self.year
        first = self.path.split("/", 1)[0]
        return int(first) if _YEAR_FOLDER.match(first) else None


def parse_date(text: str | None) -> date | None:
    """'2024-02-13', '2024/2/13', '2024年2月13日' (a time after the date is ignored) → date."""
    match = _DATE.match(text or "")
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


@dataclass
class Manifest:
    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    _by_year: dict[int | None, dict[str, ManifestEntry]] | None = field(
        default=None, repr=False, compare=False
    )

    def for_year(self, year: int) -> dict[str, ManifestEntry]:
        """Rows of the files in partition ``year`` (wherever the file lies)."""
        if self._by_year is None:  # one pass for every year: a national manifest has 10⁵ rows
            by_year: dict[int | None, dict[str, ManifestEntry]] = {}
            for path, entry in self.entries.items():
                by_year.setdefault(entry.partition(), {})[path] = entry
            self._by_year = by_year
        return dict(self._by_year.get(year, {}))


def _skipped(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower() in _SKIP_NAMES


def year_folders(raw_dir: Path) -> list[int]:
    """The years that have a folder in ``raw_dir`` (whatever the partitions allow)."""
    if not raw_dir.is_dir():
        return []
    return sorted(int(p.name) for p in raw_dir.iterdir() if p.is_dir() and _YEAR_FOLDER.match(p.name))


def _walk(folder: str, relative: str, out: list[tuple[str, os.stat_result]]) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        # Hidden files and folders (.git, .DS_Store-like caches) hide everything below them.
        if entry.name.startswith(".") or entry.name.lower() in _SKIP_NAMES:
            continue
        rel = f"{relative}/{entry.name}"
        try:
            if entry.is_dir(follow_symlinks=True):
                _walk(entry.path, rel, out)
            elif entry.is_file(follow_symlinks=True):
                out.append((rel, entry.stat(follow_symlinks=True)))
        except OSError:
            continue  # vanished or unreadable while listing: not part of this scan


def year_listing(raw_dir: Path, year: int) -> list[tuple[str, os.stat_result]]:
    """(posix path under raw_dir, stat) of every report file under ``raw_dir/<year>/``, one
    directory read and one stat per file (a national year holds tens of thousands)."""
    out: list[tuple[str, os.stat_result]] = []
    _walk(os.path.join(raw_dir, str(year)), str(year), out)
    return out


def _year_paths(raw_dir: Path, year: int) -> list[Path]:
    return [raw_dir / rel for rel, _stat in sorted(year_listing(raw_dir, year))]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scan_year(raw_dir: Path, year: int) -> list[RawFile]:
    """Every report file under ``raw_dir/<year>/`` (recursively), hashed, in path order."""
    return [_raw_file(raw_dir, path, year) for path in _year_paths(raw_dir, year)]


def _raw_file(raw_dir: Path, path: Path, year: int) -> RawFile:
    stat = path.stat()
    return RawFile(
        path=str(path.resolve()),
        relative=path.relative_to(raw_dir).as_posix(),
        folder_year=year,
        sha256=sha256_file(path),
        size=stat.st_size,
        mtime=stat.st_mtime,
    )


def partition_listing(raw_dir: Path, year: int, manifest: Manifest) -> list[tuple[str, os.stat_result]]:
    """(relative path, stat) of the files of partition ``year``, in path order: its folder minus
    files the manifest puts in another year, plus files elsewhere the manifest puts in it."""
    out = []
    for rel, stat in year_listing(raw_dir, year):
        entry = manifest.entries.get(rel)
        if entry is None or entry.partition() == year:
            out.append((rel, stat))
    folder = f"{year}/"
    for rel in manifest.for_year(year):
        if rel.startswith(folder) or _skipped(Path(rel)):
            continue
        try:
            stat = os.stat(os.path.join(raw_dir, rel))
        except OSError:
            continue
        if S_ISREG(stat.st_mode):
            out.append((rel, stat))
    return sorted(out, key=lambda item: item[0])


def partition_paths(raw_dir: Path, year: int, manifest: Manifest) -> list[Path]:
    """Files of partition ``year`` (``partition_listing``) as paths."""
    return [raw_dir / rel for rel, _stat in partition_listing(raw_dir, year, manifest)]


def scan_partition(raw_dir: Path, year: int, manifest: Manifest) -> list[RawFile]:
    """Every report file of partition ``year`` (see the module docstring), hashed, in path order."""
    return [_raw_file(raw_dir, path, year) for path in partition_paths(raw_dir, year, manifest)]


def years_present(raw_dir: Path, manifest: Manifest | None = None) -> list[int]:
    """Year folders plus the years the manifest assigns to files that exist."""
    manifest = manifest if manifest is not None else read_manifest(raw_dir)
    years = set(year_folders(raw_dir))
    years |= {  # only years no folder gives need a file to exist
        e.year
        for e in manifest.entries.values()
        if e.year is not None and e.year not in years and (raw_dir / e.path).is_file()
    }
    return sorted(years)


def scan(raw_dir: Path, years: list[int] | None = None) -> dict[int, list[RawFile]]:
    return {
        year: scan_year(raw_dir, year) for year in (years if years is not None else year_folders(raw_dir))
    }


# ---------------------------------------------------------------------------------- manifest
def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


_PLAIN_PATH = re.compile(r"^(?:[^/.\\\s][^/\\]*/)*[^/\\\s][^/\\]*$")  # relative, no '.', '..' or '//'


def _normalise(raw_dir: Path, path: str) -> str | None:
    """The manifest path as a posix path under raw_dir, or None if it points outside it."""
    path = path.strip().replace("\\", "/")
    if path.startswith("data/raw/"):  # people copy the path from the repo root
        path = path[len("data/raw/") :]
    if (
        _PLAIN_PATH.match(path)
        and "/./" not in path
        and not path.endswith("/.")
        and ".." not in path.split("/")
    ):
        return path  # the common case, without building a path object
    pure = PurePosixPath(path)
    if pure.is_absolute():
        try:
            pure = PurePosixPath(Path(path).resolve().relative_to(raw_dir.resolve()).as_posix())
        except ValueError:
            return None
    if any(part == ".." for part in pure.parts) or not pure.parts:
        return None
    return pure.as_posix()


_READ: dict[tuple[str, int, int, int], Manifest] = {}  # (path, size, mtime, inode) → parsed manifest


def read_manifest(raw_dir: Path) -> Manifest:
    """Read ``raw_dir/manifest.csv`` if present. Bad rows become problems, never exceptions.

    Parsed once per version of the file in a process (a run reads it from several steps, and a
    national manifest has 10⁵ rows); callers must not modify the result."""
    file = raw_dir / MANIFEST
    try:
        stat = file.stat()
    except OSError:
        return Manifest()
    if not S_ISREG(stat.st_mode):
        return Manifest()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key not in _READ:
        _READ.clear()  # only the current version is worth keeping
        _READ[key] = _parse_manifest(raw_dir, file)
    return _READ[key]


def _parse_manifest(raw_dir: Path, file: Path) -> Manifest:
    manifest = Manifest()
    reader, header, problem = read_csv(file)
    if reader is None:
        manifest.problems.append(problem or f"{MANIFEST}: unreadable; ignored")
        return manifest
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        manifest.problems.append(
            f"{MANIFEST}: no '{missing[0]}' column (header: {','.join(header)}); ignored"
        )
        return manifest
    unknown = [c for c in header if c not in MANIFEST_COLUMNS]
    if unknown:
        manifest.problems.append(
            f"{MANIFEST}: unknown column(s) {', '.join(unknown)} ignored (known: {', '.join(MANIFEST_COLUMNS)})"
        )
    for line, row in enumerate(reader, start=2):
        if None in row:  # more cells than header columns
            manifest.problems.append(f"{MANIFEST} line {line}: more cells than columns; row ignored")
            continue
        raw_path = _clean(row.get("path"))
        if raw_path is None:
            manifest.problems.append(f"{MANIFEST} line {line}: no path; row ignored")
            continue
        path = _normalise(raw_dir, raw_path)
        if path is None:
            manifest.problems.append(
                f"{MANIFEST} line {line}: path {raw_path!r} is outside the raw folder; ignored"
            )
            continue
        year_text = _clean(row.get("year"))
        year = None
        if year_text is not None:
            try:
                year = int(year_text)
            except ValueError:
                manifest.problems.append(
                    f"{MANIFEST} line {line}: year {year_text!r} is not a whole number; year ignored"
                )
        if path in manifest.entries:
            manifest.problems.append(f"{MANIFEST} line {line}: {path} listed again; later row wins")
        manifest.entries[path] = ManifestEntry(
            path=path,
            agency=_clean(row.get("agency")),
            year=year,
            region=_clean(row.get("region")),
            url=_clean(row.get("url")),
            published=_clean(row.get("published")),
        )
    return manifest
