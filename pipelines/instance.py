"""The one Dagster instance that `gongkai ingest`, `make run`, `make dev` and `gongkai dagster
asset materialize` share, so run history, partition status and asset checks are the same in the UI
whichever way a run started.

Where: ``DAGSTER_HOME`` when the user set it (used as it is: gongkai never writes its config),
else ``dagster_home`` beside the warehouse catalog — ``data/dagster_home`` by default, and
``<folder of GONGKAI_DB>/dagster_home`` when the warehouse lives elsewhere, so a second data
folder gets its own history (the run outputs of ``YearPickleIOManager`` live there already).
Created on first use with ``pipelines/dagster.yaml`` (telemetry off, one queued run at a time).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from pipelines.supervise import run_group
from warehouse import paths

TEMPLATE = Path(__file__).with_name("dagster.yaml")
CONFIG = "dagster.yaml"


def user_home() -> Path | None:
    """``DAGSTER_HOME`` as an absolute path, when set (Dagster refuses a relative one)."""
    env = os.environ.get("DAGSTER_HOME")
    return Path(env).expanduser().absolute() if env else None


def dagster_home(db: Path | None = None) -> Path:
    """The instance folder for the warehouse catalog ``db`` (default: ``GONGKAI_DB``, else data/)."""
    return user_home() or (db if db is not None else paths.db_path()).absolute().parent / "dagster_home"


def ensure_home(home: Path) -> Path:
    """Create ``home`` and, unless it is the user's own ``DAGSTER_HOME``, its dagster.yaml.

    Two first uses at once both write the same bytes to their own temporary file and rename it
    into place, so neither can read half a file."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / CONFIG
    if user_home() != home and not config.exists():
        tmp = home / f".{CONFIG}.{os.getpid()}.tmp"
        tmp.write_bytes(TEMPLATE.read_bytes())
        tmp.replace(config)
    return home


class InstanceError(Exception):
    """The instance folder cannot be created or opened; the message is one line with the fix."""


def open_instance(db: Path | None = None) -> dg.DagsterInstance:
    """The persistent instance at ``dagster_home(db)``, created if needed (what `dagster dev`
    opens with ``DAGSTER_HOME`` pointing there)."""
    home = dagster_home(db)
    try:
        return dg.DagsterInstance.local_temp(tempdir=str(ensure_home(home)))
    except Exception as exc:  # an unwritable folder, a broken dagster.yaml: one line, never a trace
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InstanceError(
            f"the Dagster instance at {home} cannot be opened ({reason}): fix it, or set DAGSTER_HOME"
        ) from exc


def run_dagster(args: list[str], db: Path | None = None) -> int:
    """The ``dagster`` CLI on the shared instance (`gongkai dagster …`), as its own process group
    that stops whole on Ctrl-C or SIGTERM (``pipelines.supervise``); its exit status."""
    home = dagster_home(db)
    try:
        ensure_home(home)
    except OSError as exc:
        raise InstanceError(
            f"the Dagster instance folder {home} cannot be created ({exc.strerror}): fix it, or set DAGSTER_HOME"
        ) from None
    env = os.environ | {"DAGSTER_HOME": str(home)}
    return run_group([sys.executable, "-m", "dagster", *args], env)
