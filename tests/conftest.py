"""Shared fixtures. Real documents come from ../shared (test material only, never shipped);
tests that need them skip cleanly when the folder is absent, as on a user's machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GONGKAI_SHARED", ROOT.parent / "shared"))


def shared_files(folder: str, pattern: str) -> list[Path]:
    base = SHARED / folder
    return sorted(base.glob(pattern)) if base.is_dir() else []


def expected_for(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def require_shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (real documents are test material only)")
    return SHARED
