"""Where the raw reports, the agency directory, the corrections and the warehouse live;
``GONGKAI_RAW``, ``GONGKAI_AGENCIES``, ``GONGKAI_CORRECTIONS`` and ``GONGKAI_DB`` override."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RAW = Path("data/raw")
DEFAULT_DB = Path("data/warehouse.ducklake")  # the catalog; Parquet files in data/warehouse.ducklake.files/


def raw_dir() -> Path:
    return Path(os.environ.get("GONGKAI_RAW", str(DEFAULT_RAW)))


def db_path() -> Path:
    return Path(os.environ.get("GONGKAI_DB", str(DEFAULT_DB)))


def agencies_file(raw: Path | None = None) -> Path:
    """The agency directory: ``GONGKAI_AGENCIES``, else ``agencies.csv`` beside the raw folder
    (``data/agencies.csv`` for the default ``data/raw``)."""
    env = os.environ.get("GONGKAI_AGENCIES")
    if env:
        return Path(env)
    return (raw if raw is not None else raw_dir()).parent / "agencies.csv"


def corrections_file(raw: Path | None = None) -> Path:
    """Corrections by people: ``GONGKAI_CORRECTIONS``, else ``corrections.csv`` beside the raw
    folder (``data/corrections.csv`` for the default ``data/raw``)."""
    env = os.environ.get("GONGKAI_CORRECTIONS")
    if env:
        return Path(env)
    return (raw if raw is not None else raw_dir()).parent / "corrections.csv"
