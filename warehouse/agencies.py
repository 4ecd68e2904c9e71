"""The agency directory: canonical names, aliases, region and level.

Sources, strongest first:

1. ``agencies.csv`` (``data/agencies.csv``; see README "Agencies"): ``agency,aliases,region,level``
   — one canonical agency per row, aliases separated by ``|`` (renamed or merged agencies, OCR
   variants such as 沐阳→沭阳, the short and the full title of the same government).
2. The manifest's ``agency`` and ``region`` columns: a name there is a known agency; its region is
   taken from the latest year that gives one.

Every name a report carries is resolved through the aliases to its canonical name; a name no
source knows stays as it is (its own canonical name) and is listed in ``unresolved_agencies``.
Matching ignores whitespace and full-/half-width differences (NFKC), nothing more: similar
names are *suggested* (view ``agency_alias_suggestions``), never merged by guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.csv_input import read_csv
from warehouse.inventory import Manifest

AGENCIES_CSV_COLUMNS = ("agency", "aliases", "region", "level")
LEVELS = ("province", "city", "county", "township")
ALIAS_SEPARATOR = "|"
_TOWNSHIP_SUFFIXES = ("街道办事处", "镇人民政府", "乡人民政府", "街道")
_SPACE = re.compile(r"\s+")


def name_key(name: str) -> str:
    """The matching key of a name: NFKC (full-width brackets and digits folded), no whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name))


def split_region(region: str | None) -> tuple[str | None, str | None, str | None]:
    """'江苏省/宿迁市/沭阳县' → (province, city, county); missing parts are None."""
    parts = [p.strip() for p in (region or "").split("/") if p.strip()]
    parts += [None] * (3 - len(parts))  # type: ignore[list-item]
    return parts[0], parts[1], parts[2]  # type: ignore[return-value]


def derive_level(name: str, region: str | None) -> str | None:
    """A township office by its name's suffix, otherwise the depth of the region path."""
    if name.endswith(_TOWNSHIP_SUFFIXES):
        return "township"
    depth = len([p for p in (region or "").split("/") if p.strip()])
    return {1: "province", 2: "city", 3: "county"}.get(depth)


@dataclass
class AgencyEntry:
    agency: str
    aliases: set[str] = field(default_factory=set)
    region: str | None = None
    level: str | None = None
    source: str = "agencies.csv"  # agencies.csv | manifest


@dataclass
class AgencyDirectory:
    entries: dict[str, AgencyEntry] = field(default_factory=dict)  # canonical name → entry
    problems: list[str] = field(default_factory=list)
    _index: dict[str, str] = field(default_factory=dict)  # name key → canonical name

    def _add_name(self, name: str, canonical: str, where: str) -> None:
        key = name_key(name)
        other = self._index.get(key)
        if other is not None and other != canonical:
            self.problems.append(f"{where}: {name!r} already names {other!r}; kept there")
            return
        self._index[key] = canonical

    def add(self, entry: AgencyEntry, where: str = "code") -> None:
        """Add a canonical agency (its own name resolves to it)."""
        self.entries[entry.agency] = entry
        self._add_name(entry.agency, entry.agency, where)

    def resolve(self, name: str) -> str:
        """The canonical name for ``name`` (itself when no source knows it)."""
        return self._index.get(name_key(name), name)

    def known(self, name: str) -> bool:
        return name_key(name) in self._index


def read_agencies_csv(path: Path | None, directory: AgencyDirectory | None = None) -> AgencyDirectory:
    """Read ``agencies.csv`` into a directory; bad rows become problems, never exceptions."""
    directory = directory if directory is not None else AgencyDirectory()
    if path is None or not path.is_file():
        return directory
    name = path.name
    reader, header, problem = read_csv(path)
    if reader is None:
        directory.problems.append(problem or f"{name}: unreadable; ignored")
        return directory
    if "agency" not in header:
        directory.problems.append(f"{name}: no 'agency' column (header: {','.join(header)}); ignored")
        return directory
    rows: list[tuple[int, dict[str, str | None]]] = list(enumerate(reader, start=2))
    # Canonical names first, so an alias that repeats another row's canonical name is caught.
    for line, row in rows:
        agency = (row.get("agency") or "").strip()
        if not agency:
            directory.problems.append(f"{name} line {line}: no agency; row ignored")
            continue
        level = (row.get("level") or "").strip() or None
        if level is not None and level not in LEVELS:
            directory.problems.append(
                f"{name} line {line}: level {level!r} is not one of {', '.join(LEVELS)}; level ignored"
            )
            level = None
        entry = directory.entries.get(agency)
        if entry is None:
            entry = directory.entries[agency] = AgencyEntry(agency)
            directory._add_name(agency, agency, f"{name} line {line}")
        else:
            directory.problems.append(f"{name} line {line}: {agency} listed again; rows merged")
        entry.region = (row.get("region") or "").strip() or entry.region
        entry.level = level or entry.level
    for line, row in rows:
        agency = (row.get("agency") or "").strip()
        if agency not in directory.entries:
            continue
        for alias in (a.strip() for a in (row.get("aliases") or "").split(ALIAS_SEPARATOR)):
            if alias and alias != agency:
                directory.entries[agency].aliases.add(alias)
                directory._add_name(alias, agency, f"{name} line {line}")
    return directory


def build_directory(agencies_csv: Path | None, manifest: Manifest | None = None) -> AgencyDirectory:
    """agencies.csv, then the manifest's agency names and regions (latest year's region wins)."""
    directory = read_agencies_csv(agencies_csv)
    entries = sorted(
        (manifest.entries.values() if manifest else []),
        key=lambda e: (e.partition() or 0, e.path),
    )
    for e in entries:
        if not e.agency:
            continue
        canonical = directory.resolve(e.agency)
        entry = directory.entries.get(canonical)
        if entry is None:
            entry = directory.entries[canonical] = AgencyEntry(canonical, source="manifest")
            directory._add_name(canonical, canonical, "manifest.csv")
        if e.region and (entry.source == "manifest" or entry.region is None):
            entry.region = e.region  # later years overwrite earlier ones
    return directory


@dataclass(frozen=True)
class AgencyRow:
    agency: str
    aliases: list[str]
    region: str | None
    province: str | None
    city: str | None
    county: str | None
    level: str | None
    source: str  # agencies.csv | manifest | reports

    @property
    def listed(self) -> bool:
        return self.source != "reports"


def agency_rows(directory: AgencyDirectory, seen: Iterable[tuple[str, str]]) -> list[AgencyRow]:
    """The ``agencies`` table: every directory entry plus every (canonical, printed) name seen in
    reports; printed names that differ from their canonical one become aliases."""
    aliases: dict[str, set[str]] = {c: set(e.aliases) for c, e in directory.entries.items()}
    sources = {c: e.source for c, e in directory.entries.items()}
    for canonical, printed in seen:
        aliases.setdefault(canonical, set())
        sources.setdefault(canonical, "reports")
        if printed and printed != canonical:
            aliases[canonical].add(printed)
    rows = []
    for canonical in sorted(aliases):
        entry = directory.entries.get(canonical)
        region = entry.region if entry else None
        level = (entry.level if entry else None) or derive_level(canonical, region)
        rows.append(
            AgencyRow(
                canonical,
                sorted(aliases[canonical]),
                region,
                *split_region(region),
                level,
                sources[canonical],
            )
        )
    return rows
