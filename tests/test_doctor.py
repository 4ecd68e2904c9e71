"""`gongkai doctor`: exact lines for a healthy data folder and a broken one, exit 0 / 1."""

from __future__ import annotations

import os
import platform
import re
import shutil
from pathlib import Path

import pytest
from test_warehouse_reports import write_raw

from assets.resources import GongkaiPaths
from pipelines.cli import main
from pipelines.doctor import run_doctor
from pipelines.ingest import run_ingest
from warehouse.publish import writer_lock

FREE = r"\d+\.\d GiB free"


def _machine_lines() -> list[str]:
    """The lines about this machine, as they must read here."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    return [
        re.escape(f"ok    python         {platform.python_version()}"),
        r"ok    packages       \d+ as pinned \(dagster 1\.13\.27, duckdb 1\.5\.5, polars 2\.1\.0, pandera 0\.35\.0\)",
        re.escape(
            f"ok    soffice        {soffice}"
            if soffice
            else "warn  soffice        not found: .doc/.wps files are rejected — fix: "
            "apt-get install libreoffice-writer-nogui fonts-noto-cjk"
        ),
        re.escape(
            f"ok    chromium       {chromium}"
            if chromium
            else "warn  chromium       not found: the browser tests are skipped — fix: apt-get install chromium"
        ),
    ]


def _assert_lines(lines: list[str], expected: list[str]) -> None:
    assert len(lines) == len(expected), "\n".join(lines)
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


def test_a_healthy_data_folder(tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "w.ducklake"
    write_raw(raw, 2022, ["甲市交通运输局", "乙县人民政府"])
    write_raw(raw, 2023, ["甲市交通运输局"])
    run_ingest(raw_dir=raw, db_path=db)
    lines: list[str] = []
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(db))
    assert run_doctor(paths, lines.append) == 0
    t = re.escape(str(tmp_path))
    _assert_lines(
        lines,
        [
            *_machine_lines(),
            f"ok    raw folder     {t}/raw: years 2022–2023",
            f"ok    sources        {t}/sources.csv: none, nothing to fetch \\(README: Fetching reports\\)",
            f"ok    warehouse dir  {t}: writable, {FREE}",
            f"ok    parse cache    {t}/w.parse-cache.duckdb: present",
            f"ok    dagster home   {t}/dagster_home: writable, {FREE}",
            "ok    writer lock    free",
            f"ok    warehouse      {t}/w.ducklake: 3 reports, years 2022–2023",
            rf"ok    dagster        {t}/dagster_home \(beside the warehouse\): 2 runs",
            "all essential checks pass",
        ],
    )
    with writer_lock(db):  # an ingest holding the lock is named, and is not a failure
        lines.clear()
        assert run_doctor(paths, lines.append) == 0
    assert re.fullmatch(
        rf"ok    writer lock    held by an ingest \(pid {os.getpid()}, started [0-9T:-]+\)", lines[9]
    )


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes through permission bits; sysfs refuses new files even to root
        return Path("/sys")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_a_missing_raw_folder_and_an_unwritable_warehouse_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, ro = tmp_path / "nowhere" / "raw", _unwritable(tmp_path)
    monkeypatch.setenv("GONGKAI_RAW", str(raw))
    monkeypatch.setenv("GONGKAI_DB", str(ro / "w.ducklake"))
    assert main(["doctor"]) == 1
    out = capsys.readouterr()
    assert out.err == ""
    r, w = re.escape(str(raw)), re.escape(str(ro))
    _assert_lines(
        out.out.splitlines(),
        [
            *_machine_lines(),
            f"FAIL  raw folder     {r}: missing — fix: mkdir -p {r} and put reports in <year>/ folders, "
            "or set GONGKAI_RAW",
            f"ok    sources        {re.escape(str(raw.parent))}/sources.csv: none, nothing to fetch "
            "\\(README: Fetching reports\\)",
            f"FAIL  warehouse dir  {w}: not writable \\(Permission denied\\) — fix: make it writable, or set GONGKAI_DB",
            f"ok    parse cache    {w}/w.parse-cache.duckdb: empty",
            f"FAIL  dagster home   {w}/dagster_home: not writable \\(Permission denied\\) — fix: make it writable, "
            "or set DAGSTER_HOME",
            "ok    writer lock    free",
            f"warn  warehouse      {w}/w.ducklake: not built yet — fix: gongkai ingest",
            rf"ok    dagster        {w}/dagster_home \(beside the warehouse\): no runs yet, created by the first ingest",
            "3 essential checks failed",
        ],
    )


def test_an_unreadable_warehouse_is_a_failure_with_its_fix(tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "w.ducklake"
    raw.mkdir()
    db.write_bytes(b"not a catalog")
    lines: list[str] = []
    assert run_doctor(GongkaiPaths(raw_dir=str(raw), db_path=str(db)), lines.append) == 1
    assert lines[10].startswith(f"FAIL  warehouse      {db}: cannot be read (")
    assert lines[10].endswith(
        ") — fix: make clean-warehouse, then gongkai ingest (it is rebuilt from the raw folder)"
    )
    assert lines[-1] == "1 essential check failed"


def test_the_sources_of_gongkai_fetch_are_checked_but_never_essential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    sources = tmp_path / "sources.csv"
    paths = GongkaiPaths(raw_dir=str(raw), db_path=str(tmp_path / "w.ducklake"))

    def sources_line() -> str:
        lines: list[str] = []
        run_doctor(paths, lines.append)
        return next(line for line in lines if line.startswith(("ok    sources", "warn  sources")))

    monkeypatch.delenv("GONGKAI_FETCH_CONTACT", raising=False)
    monkeypatch.delenv("GONGKAI_SOURCES", raising=False)
    sources.write_text(
        "agency,year,url\n甲市交通运输局,2022,https://a.example.org/2022.pdf\n"
        "乙县人民政府,2023,https://b.example.org/2023.html\n",
        encoding="utf-8",
    )
    assert sources_line() == (
        f"warn  sources        {sources}: 2 URLs for 2022–2023; no contact for the User-Agent"
        " — fix: set GONGKAI_FETCH_CONTACT to an e-mail or URL site operators can reach"
    )
    monkeypatch.setenv("GONGKAI_FETCH_CONTACT", "data@example.org")
    assert sources_line() == f"ok    sources        {sources}: 2 URLs for 2022–2023"
    with sources.open("a", encoding="utf-8") as f:
        f.write("丙县,20x3,https://c.example.org/\n丁县,2023,ftp://d.example.org/\n")
    assert sources_line() == (
        f"warn  sources        {sources}: 2 URLs for 2022–2023; sources.csv line 4: year '20x3' is not"
        " a whole number; line skipped (and 1 more) — fix: correct those lines"
    )
    sources.write_text("name,link\nx,y\n", encoding="utf-8")
    line = sources_line()
    assert line.startswith(f"warn  sources        {sources}: no 'agency', 'year', 'url' column")
    assert line.endswith("— fix: fix the header, see README: Fetching reports")
