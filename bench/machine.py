"""Where and when a benchmark ran: figures from a shared machine mean little without this."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path


def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:  # not every platform has it
        return (float("nan"),) * 3


def code_version(root: Path) -> str:
    """The commit measured, and whether the extractor or generator had uncommitted edits."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "extract", "synth", "schemas"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" with uncommitted changes in extract/, synth/ or schemas/" if dirty else "")


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


@dataclass(frozen=True)
class Machine:
    nproc: int
    cpu: str
    python: str
    started: str  # ISO date-time, local time with offset
    load_start: tuple[float, float, float]
    code: str

    @classmethod
    def now(cls, root: Path) -> Machine:
        return cls(
            code=code_version(root),
            nproc=os.cpu_count() or 0,
            cpu=cpu_model(),
            python=platform.python_version(),
            started=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            load_start=load_average(),
        )


def fmt_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)
