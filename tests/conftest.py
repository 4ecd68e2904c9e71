"""Shared fixtures. Real documents come from ../shared (test material only, never shipped);
tests that need them skip cleanly when the folder is absent, as on a user's machine."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from schemas.taxonomy import CELL_TABLES

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GONGKAI_SHARED", ROOT.parent / "shared"))


def shared_files(folder: str, pattern: str) -> list[Path]:
    base = SHARED / folder
    return sorted(base.glob(pattern)) if base.is_dir() else []


def expected_for(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


TABLE_KEYS = CELL_TABLES


def keyed(rows: list[dict[str, Any]], keys: tuple[str, ...], value: str) -> dict[tuple, Any]:
    return {tuple(r[k] for k in keys): r[value] for r in rows}


def assert_tables_match(got: Any, expected: dict[str, Any], *, agency: bool = True) -> None:
    """``got`` (a Report or its JSON) has exactly the expected template, year, agency and cells.

    Cells are compared keyed, not by position: expected files list them row- or column-major.
    """
    as_dict = got if isinstance(got, dict) else got.to_json()
    assert as_dict["status"] in ("ok", "warning"), as_dict["error"]
    fields = ("template", "year", "agency") if agency else ("template", "year")
    assert {f: as_dict[f] for f in fields} == {f: expected[f] for f in fields}
    for table, (keys, value) in TABLE_KEYS.items():
        assert keyed(as_dict[table], keys, value) == keyed(expected[table], keys, value), table
        assert len(as_dict[table]) == len(expected[table]), table


@pytest.fixture
def require_shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (real documents are test material only)")
    return SHARED


def zip_of(members: dict[str, bytes]) -> bytes:
    """A zip archive (a DOCX package, or a damaged one) of these members, in memory."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _every_ingest_verifies(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every warehouse a test ingests into (``run_ingest`` as the test module imported it) must
    pass ``gongkai verify`` when the test ends; ``@pytest.mark.unverified`` opts out (a test that
    breaks the warehouse on purpose)."""
    module = request.module
    ingest = getattr(module, "run_ingest", None)
    if ingest is None or request.node.get_closest_marker("unverified"):
        yield
        return
    warehouses: list[Path] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        summary = ingest(*args, **kwargs)
        warehouses.append(Path(summary.db_path))
        return summary

    monkeypatch.setattr(module, "run_ingest", recording)
    yield
    from warehouse.verify import verify

    for db in dict.fromkeys(warehouses):
        if db.is_file():
            breaches = verify(db)
            assert not breaches, f"{db} does not verify: " + " | ".join(b.line() for b in breaches)
