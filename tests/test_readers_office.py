"""DOC/WPS: converted by LibreOffice headless, then read as DOCX; clear reasons when that cannot happen."""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from extract import extract_bytes
from extract.document import UnreadableDocument
from extract.readers import docx, office
from synth.corpus import expected_json
from synth.model import random_report
from synth.quirks import Quirks
from synth.render_docx import render_docx
from tests.conftest import assert_tables_match

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _to_doc(docx_bytes: bytes, tmp_path: Path) -> bytes:
    binary = office.soffice()
    if binary is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    source = tmp_path / "report.docx"
    source.write_bytes(docx_bytes)
    subprocess.run(
        [binary, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
         "--convert-to", "doc", "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return (tmp_path / "report.doc").read_bytes()


def test_doc_round_trip(tmp_path: Path) -> None:
    rng = random.Random(20240101)
    report = random_report(rng, agency="某市生态环境局", year=2022, blank_cells=12)
    data = _to_doc(render_docx(report, rng, Quirks.random(rng)), tmp_path)
    assert data.startswith(OLE2)
    extracted = extract_bytes(data, "report.doc")
    assert extracted.format == "doc"
    assert_tables_match(extracted, expected_json(report))
    assert extracted.null_cells == report.null_cells()


@pytest.mark.slow
def test_template_doc_reads_like_the_docx(require_shared: Path, tmp_path: Path) -> None:
    original = (require_shared / "realdocs" / "template.docx").read_bytes()
    converted = office.read(_to_doc(original, tmp_path))
    assert converted.format == "doc"
    assert converted.rows == docx.read(original).rows


def test_missing_libreoffice_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    report = extract_bytes(OLE2 + "WordDocument".encode("utf-16-le"), "old.doc")
    assert report.status == "rejected"
    assert report.error == office.INSTALL_HINT
    assert report.error.startswith("DOC/WPS needs LibreOffice: install it (Debian: apt-get install")


@pytest.mark.parametrize(
    ("stream", "what"),
    [
        ("Workbook", "an Excel workbook (.xls)"),
        ("PowerPoint Document", "a PowerPoint presentation (.ppt)"),
    ],
)
def test_other_ole2_files_are_named(stream: str, what: str) -> None:
    report = extract_bytes(OLE2 + stream.encode("utf-16-le"), "table.doc")
    assert report.status == "rejected"
    assert report.error == f"OLE2 file that is not a Word document: {what}"


def _fake_soffice(tmp_path: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    monkeypatch.setattr(office, "soffice", lambda: str(fake))


def test_conversion_timeout_kills_the_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pidfile = tmp_path / "child.pid"
    # A helper forked in the background, as soffice.bin is: it must die with the group.
    _fake_soffice(tmp_path, f"sleep 60 &\necho $! > {pidfile}\nwait\n", monkeypatch)
    start = time.perf_counter()
    with pytest.raises(UnreadableDocument, match=r"^LibreOffice did not convert the file within 1 s"):
        office.convert_to_docx(b"x", timeout=1)
    assert time.perf_counter() - start < 10
    child = int(pidfile.read_text())
    time.sleep(0.2)
    status = Path(f"/proc/{child}/stat")
    assert not status.exists() or status.read_text().split()[2] == "Z"


def test_conversion_failure_gives_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_soffice(tmp_path, "echo 'Error: source file could not be loaded' >&2\nexit 1\n", monkeypatch)
    with pytest.raises(UnreadableDocument) as info:
        office.convert_to_docx(b"x")
    assert str(info.value) == (
        "LibreOffice could not convert the file (damaged, encrypted or not a Word document): "
        "Error: source file could not be loaded"
    )
