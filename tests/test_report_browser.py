"""The HTML report in a real browser: Debian's ``chromium``, headless, no network. It loads the
file without a console message (a blocked fetch or script would log a Content-Security-Policy
violation), every chart has marks in the DOM after load, and a screenshot is kept in
``tests/artifacts/`` (git-ignored) to look at."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from test_report import _build, _marks

from warehouse.report import write_report
from warehouse.report.page import CSP

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)"
    ),
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHARTS = 10  # charts the report draws on the test warehouse (every panel has data)
_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\))?(?::\d+)?\] (.*)")


def _chromium(page: Path, profile: Path, *args: str, timeout: float = 90) -> tuple[str, list[str]]:
    """Run headless chromium on ``page``; return its stdout and the console messages it logged.

    Started in its own process group (chromium forks zygote, renderer and utility processes) and
    stopped by that group's id if it outlives the timeout or leaves a helper behind."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",  # tests run as root in CI containers
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
        page.as_uri(),
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish within {timeout} s")
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone: nothing left behind
            os.killpg(proc.pid, signal.SIGKILL)  # helpers left in the group, if any
    assert proc.returncode == 0, err[-2000:]
    return out, [m.group(1) for m in map(_CONSOLE.search, err.splitlines()) if m]


def test_the_console_check_sees_blocked_fetches_and_scripts(tmp_path: Path) -> None:
    """The detector itself: a page under the report's CSP that fetches and scripts is caught."""
    page = tmp_path / "control.html"
    page.write_text(
        f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}"></head>'
        '<body><img src="https://example.invalid/x.png"><script>console.log(1)</script></body></html>',
        encoding="utf-8",
    )
    _, console = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert len(console) == 2 and all("Content Security Policy" in m for m in console), console


def test_report_loads_cleanly_and_every_chart_has_marks(tmp_path: Path) -> None:
    db = _build(tmp_path)
    page = tmp_path / "report.html"
    write_report(db, page)
    dom, console = _chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == []
    charts = _marks(dom).charts
    assert len(charts) == CHARTS
    assert {name: n for name, n in ((k, len(v)) for k, v in charts.items()) if n == 0} == {}
    assert len(charts["requests_by_year"]) == 2 and len(charts["movers"]) == 3

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    _, console = _chromium(
        page, tmp_path / "profile2", "--hide-scrollbars", "--window-size=1100,7600", f"--screenshot={shot}"
    )
    assert console == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")
