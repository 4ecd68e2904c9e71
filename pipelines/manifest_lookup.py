"""What the raw folder knows about a file given on the command line: manifest row and year folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from extract.metadata import path_year
from warehouse.paths import raw_dir


def manifest_hints(path: Path) -> dict[str, Any]:
    """Keyword arguments for ``extract_path``: manifest agency/year and the folder year.

    Only files inside the raw folder (``GONGKAI_RAW``) get hints, so ``gongkai extract`` on a
    file elsewhere reads it on its own terms, and inside the raw folder it agrees with ingest.
    """
    root = raw_dir().resolve()
    try:
        relative = path.resolve().relative_to(root)
    except (ValueError, OSError):
        return {}
    hints: dict[str, Any] = {"folder_year": path_year(str(relative))}
    try:
        from warehouse.inventory import read_manifest
    except ImportError:
        return hints
    manifest = read_manifest(root)
    entry = manifest.entries.get(relative.as_posix()) if hasattr(manifest, "entries") else None
    if entry is not None:
        hints["manifest_agency"] = getattr(entry, "agency", None) or None
        hints["manifest_year"] = getattr(entry, "year", None)
        if hints["manifest_year"]:  # the manifest year is the file's partition
            hints["folder_year"] = hints["manifest_year"]
    return hints
