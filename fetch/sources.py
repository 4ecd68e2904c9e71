"""``data/sources.csv``: where each agency publishes its report for a year.

Columns ``agency,year,url[,region]``: one URL per line, a report page or a direct PDF/DOC/DOCX/WPS
link. Read leniently like the manifest: a bad line becomes a problem naming the line and is
skipped, so one typo never stops a nightly run; only a file that cannot be used at all (not
UTF-8, no ``url`` column) raises ``SourcesError``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from warehouse.csv_input import read_csv

SOURCES = "sources.csv"
COLUMNS = ("agency", "year", "url", "region")
REQUIRED = ("agency", "year", "url")
FIRST_YEAR, LAST_YEAR = 2000, 2100  # what `gongkai fetch YEAR` accepts (pipelines.cli.parse_years)


class SourcesError(Exception):
    """sources.csv cannot be used at all; ``str()`` is the one line to print."""


@dataclass(frozen=True)
class Source:
    agency: str
    year: int
    url: str
    region: str | None = None
    line: int = 0  # line of sources.csv, for messages

    @property
    def host(self) -> str:
        return host_of(self.url)


@dataclass
class Sources:
    path: Path
    rows: list[Source] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def for_years(self, years: list[int] | None) -> list[Source]:
        return [s for s in self.rows if years is None or s.year in years]

    @property
    def years(self) -> list[int]:
        return sorted({s.year for s in self.rows})


def host_of(url: str) -> str:
    """``scheme://host[:port]`` in lower case: the unit of politeness (rate, robots.txt)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def sources_file(raw: Path) -> Path:
    """``GONGKAI_SOURCES``, else ``sources.csv`` beside the raw folder (``data/sources.csv``)."""
    env = os.environ.get("GONGKAI_SOURCES")
    return Path(env) if env else raw.parent / SOURCES


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return "is not an http(s) URL"
    if not parts.hostname:
        return "has no host"
    if any(c.isspace() for c in url):
        return "contains white space"
    return None


def read_sources(path: Path) -> Sources:
    """Every usable line of ``path``; an absent or empty file gives no rows (and no problem)."""
    sources = Sources(path=path)
    if not path.is_file():
        return sources
    reader, header, problem = read_csv(path)
    if reader is None:
        raise SourcesError(f"{path}: {problem or 'unreadable'}; nothing fetched")
    if not header:  # an empty file: nothing to fetch
        return sources
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SourcesError(
            f"{path}: no {', '.join(repr(c) for c in missing)} column (header: {','.join(header)}; "
            f"expected {','.join(COLUMNS)}); nothing fetched"
        )
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        sources.problems.append(f"{path.name}: unknown column(s) {', '.join(unknown)} ignored")
    seen: dict[tuple[str, int], int] = {}
    for line, row in enumerate(reader, start=2):
        if None in row:
            sources.problems.append(f"{path.name} line {line}: more cells than columns; line skipped")
            continue
        cells = {k: (row.get(k) or "").strip() for k in COLUMNS}
        if not any(cells.values()):
            continue  # a blank line
        url, agency = cells["url"], cells["agency"]
        if not url or not agency:
            sources.problems.append(
                f"{path.name} line {line}: no {'url' if not url else 'agency'}; line skipped"
            )
            continue
        bad = _url_problem(url)
        if bad:
            sources.problems.append(f"{path.name} line {line}: {url!r} {bad}; line skipped")
            continue
        try:
            year = int(cells["year"])
        except ValueError:
            sources.problems.append(
                f"{path.name} line {line}: year {cells['year']!r} is not a whole number; line skipped"
            )
            continue
        if not FIRST_YEAR <= year <= LAST_YEAR:
            sources.problems.append(
                f"{path.name} line {line}: year {year} is not a report year ({FIRST_YEAR}–{LAST_YEAR}); line skipped"
            )
            continue
        if (url, year) in seen:
            sources.problems.append(
                f"{path.name} line {line}: {url} for {year} already on line {seen[url, year]}; line skipped"
            )
            continue
        seen[url, year] = line
        sources.rows.append(Source(agency, year, url, cells["region"] or None, line))
    return sources
