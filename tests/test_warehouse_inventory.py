"""Raw folder inventory and manifest: bad rows are problems, never crashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from warehouse.changes import stat_fingerprints
from warehouse.inventory import read_manifest, scan, scan_year, year_folders


def _write(path: Path, data: bytes = b"report") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_scan_lists_report_files_only(tmp_path: Path) -> None:
    _write(tmp_path / "2022" / "a.txt", b"alpha")
    _write(tmp_path / "2022" / "sub" / "b.html", b"beta")
    _write(tmp_path / "2022" / "README.md")
    _write(tmp_path / "2022" / ".DS_Store")
    _write(tmp_path / "2022" / ".cache" / "c.txt")
    _write(tmp_path / "manifest.csv", b"path\n")
    _write(tmp_path / "misc" / "d.txt")
    _write(tmp_path / "2023" / "e.txt")
    assert year_folders(tmp_path) == [2022, 2023]
    files = scan_year(tmp_path, 2022)
    assert [f.relative for f in files] == ["2022/a.txt", "2022/sub/b.html"]
    a = files[0]
    assert a.folder_year == 2022 and a.size == 5 and a.sha256 == hashlib.sha256(b"alpha").hexdigest()
    assert a.report_id == a.sha256[:16] and Path(a.path).is_absolute()
    assert sorted(scan(tmp_path)) == [2022, 2023]
    assert scan_year(tmp_path, 2030) == []


def test_manifest_good_and_bad_rows(tmp_path: Path) -> None:
    _write(
        tmp_path / "manifest.csv",
        (
            "path,agency,year,region,colour\n"
            "2022/a.txt,甲局,2022,江苏,red\n"
            ",乙局,2022,,\n"
            "2022/b.txt,丙局,二〇二二,,\n"
            "../../etc/passwd,丁局,2022,,\n"
            "data/raw/2023/c.txt,戊局,2023,,\n"
            "/etc/shadow,己局,2022,,\n"
        ).encode("utf-8-sig"),
    )
    manifest = read_manifest(tmp_path)
    assert set(manifest.entries) == {"2022/a.txt", "2022/b.txt", "2023/c.txt"}
    assert manifest.entries["2022/a.txt"].agency == "甲局" and manifest.entries["2022/a.txt"].year == 2022
    assert manifest.entries["2022/b.txt"].year is None  # bad year dropped, agency kept
    problems = "\n".join(manifest.problems)
    assert "unknown column(s) colour" in problems
    assert "line 3: no path" in problems
    assert "'二〇二二' is not a whole number" in problems
    assert "'../../etc/passwd' is outside" in problems
    assert "'/etc/shadow' is outside" in problems
    assert set(manifest.for_year(2022)) == {"2022/a.txt", "2022/b.txt"}


def test_missing_or_broken_manifest(tmp_path: Path) -> None:
    assert read_manifest(tmp_path).entries == {}
    _write(tmp_path / "manifest.csv", b"agency,year\nx,2022\n")
    assert "no 'path' column" in read_manifest(tmp_path).problems[0]
    _write(tmp_path / "manifest.csv", b"\xff\xfe\x00garbage")
    assert read_manifest(tmp_path).problems  # unreadable, reported
    _write(tmp_path / "manifest.csv", b"path,agency\n2022/a.txt,x,extra\n")
    assert "more cells than columns" in read_manifest(tmp_path).problems[0]


def test_fingerprints_change_with_the_year_only(tmp_path: Path) -> None:
    _write(tmp_path / "2021" / "a.txt")
    _write(tmp_path / "2022" / "b.txt")
    before = stat_fingerprints(tmp_path)
    _write(tmp_path / "2022" / "c.txt")
    after = stat_fingerprints(tmp_path)
    assert after[2021] == before[2021] and after[2022] != before[2022]
    _write(tmp_path / "manifest.csv", b"path,agency,year\n2021/a.txt,x,2021\n")
    assert stat_fingerprints(tmp_path)[2021] != after[2021]
