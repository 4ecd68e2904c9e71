"""Shared fixtures. Real documents come from ../shared (test material only, never shipped);
tests that need them skip cleanly when the folder is absent, as on a user's machine."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

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


@pytest.fixture(autouse=True)
def _no_user_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DAGSTER_HOME exported in the developer's shell would collect every test's runs: each
    test's runs go to the instance beside its own temporary warehouse instead."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


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


class CliWarehouse(NamedTuple):
    project: Path  # a project folder: pyproject.toml naming gongkai, data/raw, data/warehouse.ducklake
    db: Path
    first_ingest: int  # exit status of the ingest that built it


# Spreadsheet formulas as agency names (agencies.csv): exports must escape them.
FORMULA_AGENCIES = ('=HYPERLINK("http://x","y")', "+1+2", "-3+4", "@SUM(A1)")


@pytest.fixture(scope="session")
def warehouse_project(tmp_path_factory: pytest.TempPathFactory) -> CliWarehouse:
    """A small warehouse built by `gongkai ingest` in a project folder: two agencies, 2022–2023,
    and two junk files in 2023 (an empty .txt, a PNG named .pdf) that must be rejected."""
    from pipelines.cli import main
    from synth.corpus import write_corpus

    project = tmp_path_factory.mktemp("project")
    (project / "pyproject.toml").write_text('[project]\nname = "gongkai"\n', encoding="utf-8")
    raw = project / "data" / "raw"
    write_corpus(raw, agencies=2, years=[2022, 2023], seed=5)
    (raw / "2023" / "empty.txt").write_bytes(b"")
    (raw / "2023" / "scan.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    rows = "".join(f'"{a.replace(chr(34), chr(34) * 2)}",,,\n' for a in FORMULA_AGENCIES)
    (project / "data" / "agencies.csv").write_text("agency,aliases,region,level\n" + rows, encoding="utf-8")
    db = project / "data" / "warehouse.ducklake"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("GONGKAI_RAW", "GONGKAI_DB", "GONGKAI_AGENCIES", "GONGKAI_CORRECTIONS"):
            mp.delenv(name, raising=False)
        mp.chdir(project)
        code = main(["ingest"])
    return CliWarehouse(project, db, code)


@pytest.fixture
def warehouse(warehouse_project: CliWarehouse) -> Path:
    return warehouse_project.db


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
