"""What the assets hand each other, one value per year partition (pickled by the IO manager)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from warehouse.agencies import AgencyDirectory
from warehouse.frames import Extracted, Frames
from warehouse.inventory import ManifestEntry, RawFile


@dataclass
class YearFiles:
    year: int
    files: list[RawFile]
    manifest: dict[str, ManifestEntry]  # relative path → row, this year's files only
    problems: list[str] = field(default_factory=list)  # manifest and layout problems
    agencies: AgencyDirectory = field(default_factory=AgencyDirectory)  # agencies.csv + manifest


@dataclass
class ExtractedYear:
    year: int
    items: list[Extracted]
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, ManifestEntry] = field(default_factory=dict)
    agencies: AgencyDirectory = field(default_factory=AgencyDirectory)

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.report.status == status)

    def rejected(self) -> list[tuple[str, str]]:
        return [(i.raw.relative, i.report.error or "") for i in self.items if i.report.status == "rejected"]


@dataclass
class ValidatedYear:
    year: int
    frames: Frames
    failures: list[dict[str, Any]] = field(default_factory=list)  # pandera failure rows
    agencies: AgencyDirectory = field(default_factory=AgencyDirectory)
