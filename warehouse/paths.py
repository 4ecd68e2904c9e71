"""Where the raw reports and the warehouse live; ``GONGKAI_RAW`` and ``GONGKAI_DB`` override."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RAW = Path("data/raw")
DEFAULT_DB = Path("data/warehouse.duckdb")


def raw_dir() -> Path:
    return Path(os.environ.get("GONGKAI_RAW", str(DEFAULT_RAW)))


def db_path() -> Path:
    return Path(os.environ.get("GONGKAI_DB", str(DEFAULT_DB)))
