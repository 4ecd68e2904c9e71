"""User-edited CSV files (manifest.csv, agencies.csv): read leniently, never raise."""

from __future__ import annotations

import csv
import io
from pathlib import Path


def read_csv(path: Path) -> tuple[csv.DictReader | None, list[str], str | None]:
    """(reader, cleaned header, problem). A file that cannot be read or decoded gives no reader
    and a one-line problem; UTF-8 with or without BOM (as spreadsheets save it)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [], f"{path.name}: unreadable ({exc}); ignored"
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    return reader, header, None
