"""Where the raw reports, the agency directory, the corrections and the warehouse live;
``GONGKAI_RAW``, ``GONGKAI_AGENCIES``, ``GONGKAI_CORRECTIONS`` and ``GONGKAI_DB`` override.

Without them the defaults are under the project's ``data/`` folder: the project is the current
folder or the nearest parent holding ``data/warehouse.ducklake`` or gongkai's ``pyproject.toml``,
so ``gongkai sql`` run from a sub-folder (a notebook's) finds the warehouse. Inside the project
folder itself the defaults stay relative (``data/raw``), as printed before.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

DEFAULT_RAW = Path("data/raw")
DEFAULT_DB = Path("data/warehouse.ducklake")  # the catalog; Parquet files in data/warehouse.ducklake.files/


def _is_project(folder: Path) -> bool:
    if (folder / DEFAULT_DB).is_file():
        return True
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return project.get("name") == "gongkai"


def project_dir() -> Path | None:
    """The current folder or its nearest parent that is the gongkai project; None outside one."""
    try:
        here = Path.cwd()
    except OSError:  # the current folder was deleted
        return None
    return next((folder for folder in (here, *here.parents) if _is_project(folder)), None)


def _default(relative: Path) -> Path:
    root = project_dir()
    if root is None or root == Path.cwd():
        return relative
    return root / relative


def raw_dir() -> Path:
    env = os.environ.get("GONGKAI_RAW")
    return Path(env) if env else _default(DEFAULT_RAW)


def db_path() -> Path:
    env = os.environ.get("GONGKAI_DB")
    return Path(env) if env else _default(DEFAULT_DB)


def missing_warehouse(path: Path) -> str:
    """Why there is no warehouse at ``path`` and what to do, in one line."""
    if os.environ.get("GONGKAI_DB"):
        return f"no warehouse at {path} (GONGKAI_DB): run `gongkai ingest` with the same GONGKAI_DB first"
    if project_dir() is None:
        return (
            f"no warehouse at {path}: this folder is not in the gongkai project; run gongkai from the "
            "project folder, or set GONGKAI_DB to the catalog (…/data/warehouse.ducklake)"
        )
    return f"no warehouse at {path}: run `gongkai ingest` first (or set GONGKAI_DB to the catalog)"


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
