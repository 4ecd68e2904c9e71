"""extract.pool: long-lived workers with a time and a memory limit, and what a failed task gives.

Every task function is module-level, so that it pickles into the workers by name. Values are
asserted exactly; no test asserts a duration (a hang would show as a suite that never ends).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extract import extract_bytes
from extract.pool import (
    ExtractionOutOfMemory,
    ExtractionPool,
    ExtractionTimeout,
    ExtractorRaised,
    WorkerCrashed,
    failure_report,
    raise_if_out_of_memory,
)
from extract.readers.office import die_with_parent
from extract.report import Report
from synth.model import random_report
from synth.names import make_agency
from synth.render import render
from synth.render_docx import render_docx
from synth.render_html import render_html
from synth.render_markdown import render_markdown

# ---------------------------------------------------------------------------- task functions


def add(a: int, b: int, *, scale: int = 1) -> int:
    return (a + b) * scale


def worker_pid() -> int:
    return os.getpid()


def hang(pid_file: str) -> None:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(600)


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def raising() -> None:
    raise ValueError("bad value\non two lines")


def hog(pid_file: str) -> None:
    Path(pid_file).write_text(str(os.getpid()))
    hoard = []
    while True:
        hoard.append(bytearray(64 * 2**20))


def quarantined_memory_error(data: bytes, name: str) -> Report:
    # What extract_bytes returns when a reader's MemoryError is caught by its safety net.
    return Report(file=name, status="rejected", error="reader failed: MemoryError: out of memory")


def compact_result(data: bytes, name: str) -> tuple[str, str | None]:
    # An ingest-style task returns something smaller than the Report: it checks the report itself.
    report = raise_if_out_of_memory(quarantined_memory_error(data, name))
    return report.status, report.error


def allocate(mb: int) -> int:
    block = bytearray(mb * 2**20)
    return len(block) // 2**20


def libreoffice_like(pid_file: str) -> None:
    """Like office.py: a helper in its own session that forks a child of its own, then a hang in
    a worker that ignores SIGTERM (as one stuck in C code does), so it ends killed by SIGKILL."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    helper = subprocess.Popen(
        ["sh", "-c", f'sleep 600 & echo "$$ $!" > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; wait'],
        start_new_session=True,
        preexec_fn=die_with_parent(),
    )
    assert helper.pid
    time.sleep(600)


# ---------------------------------------------------------------------------- helpers


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its reaper counts as gone)."""
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False


def _read_when_written(path: Path) -> str:
    for _ in range(400):
        if path.is_file() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


# ---------------------------------------------------------------------------- tests


def test_submit_returns_the_functions_value() -> None:
    with ExtractionPool(2) as pool:
        futures = [pool.submit(add, i, 10, scale=3) for i in range(20)]
        assert [f.result() for f in futures] == [(i + 10) * 3 for i in range(20)]
        measured = pool.submit_measured(add, (1, 2), {"scale": 2}).result()
        assert measured.value == 6
        assert measured.pid != os.getpid()


def test_a_hanging_task_is_killed_and_the_next_task_runs_in_a_new_worker(tmp_path: Path) -> None:
    pid_file = tmp_path / "hung.pid"
    with ExtractionPool(1, timeout_s=1) as pool:
        first = pool.submit(worker_pid).result()
        hung = pool.submit(hang, str(pid_file))
        after = pool.submit(worker_pid)
        with pytest.raises(ExtractionTimeout) as caught:
            hung.result()
        assert caught.value.reason == "extraction timed out after 1 s"
        hung_pid = int(pid_file.read_text())
        assert hung_pid == first  # the one worker ran it…
        assert _gone(hung_pid)  # …was killed…
        assert after.result() not in (hung_pid, os.getpid())  # …and replaced; the pool goes on
        assert pool.submit(add, 2, 3).result() == 5


def test_a_crash_is_reported_and_the_pool_goes_on() -> None:
    with ExtractionPool(1) as pool:
        crashed = pool.submit(segfault)
        with pytest.raises(WorkerCrashed) as caught:
            crashed.result()
        assert caught.value.reason == "extractor crashed: killed by signal SIGSEGV"
        assert caught.value.exitcode == -signal.SIGSEGV
        assert pool.submit(add, 1, 1).result() == 2


def test_an_exception_is_reported_on_one_line_and_the_worker_stays() -> None:
    with ExtractionPool(1) as pool:
        before = pool.submit(worker_pid).result()
        with pytest.raises(ExtractorRaised) as caught:
            pool.submit(raising).result()
        assert caught.value.reason == "extractor crashed: ValueError: bad value on two lines"
        assert "ValueError" in caught.value.traceback
        assert pool.submit(worker_pid).result() == before  # an exception does not cost a worker


def test_out_of_memory_retires_the_worker(tmp_path: Path) -> None:
    pid_file = tmp_path / "hog.pid"
    with ExtractionPool(1, memory_mb=300) as pool:
        with pytest.raises(ExtractionOutOfMemory) as caught:
            pool.submit(hog, str(pid_file)).result()
        assert caught.value.reason == "extraction ran out of memory (limit 300 MB)"
        hog_pid = int(pid_file.read_text())
        assert _gone(hog_pid)
        assert pool.submit(worker_pid).result() != hog_pid
        assert pool.submit(allocate, 100).result() == 100  # the new worker has the limit and room


def test_a_quarantined_memory_error_is_out_of_memory_too() -> None:
    with ExtractionPool(1, memory_mb=500) as pool:
        for fn in (quarantined_memory_error, compact_result):
            with pytest.raises(ExtractionOutOfMemory) as caught:
                pool.submit(fn, b"x", "r.txt").result()
            assert caught.value.reason == "extraction ran out of memory (limit 500 MB)"


def test_per_task_limits_override_the_pools() -> None:
    with ExtractionPool(1, memory_mb=2000) as pool:
        with pytest.raises(ExtractionOutOfMemory) as caught:
            pool.submit_measured(allocate, (400,), memory_mb=300).result()
        assert caught.value.reason == "extraction ran out of memory (limit 300 MB)"
        assert pool.submit(allocate, 400).result() == 400  # the pool's own limit again


def test_peak_memory_is_measured_per_task() -> None:
    with ExtractionPool(1) as pool:
        big = pool.submit_measured(allocate, (300,)).result()
        small = pool.submit_measured(allocate, (1,)).result()
    assert (big.value, small.value) == (300, 1)
    assert big.pid == small.pid  # the same long-lived worker…
    assert big.peak_rss_mb >= 300
    assert small.peak_rss_mb < big.peak_rss_mb - 200  # …its peak reset between tasks


def test_many_reports_equal_in_process_extraction() -> None:
    rng = random.Random(5)
    cases = []
    for seed in range(8):
        seeded = random.Random(seed)
        truth = random_report(seeded, agency=make_agency(seeded).name, year=2019 + seed % 5)
        cases += [
            (render(truth, "text/cells", rng), "r.txt", truth.year),
            (render(truth, "text/tabs", rng), "t.txt", truth.year),
            (render_markdown(truth, rng), "r.md", truth.year),
            (render_html(truth, rng), "r.html", truth.year),
            (render_docx(truth, rng), "r.docx", truth.year),
        ]
    cases.append((b"", "empty.txt", None))
    with ExtractionPool(2) as pool:
        futures = [pool.submit(extract_bytes, data, name, manifest_year=year) for data, name, year in cases]
        pooled = [f.result().to_json() for f in futures]
    in_process = [extract_bytes(data, name, manifest_year=year).to_json() for data, name, year in cases]
    assert pooled == in_process
    assert sum(r["status"] != "rejected" for r in pooled) == 40


def test_failures_map_to_rejected_reports() -> None:
    known = {"parser_version": "9"}
    failures = [
        (ExtractionTimeout(60), "extraction timed out after 60 s"),
        (ExtractionOutOfMemory(1024), "extraction ran out of memory (limit 1024 MB)"),
        (WorkerCrashed("killed by signal SIGSEGV"), "extractor crashed: killed by signal SIGSEGV"),
        (ExtractorRaised("RuntimeError", "boom"), "extractor crashed: RuntimeError: boom"),
        (OSError("no pipe"), "extractor crashed: OSError: no pipe"),
    ]
    for error, reason in failures:
        report = failure_report(error, "f.txt", **known)
        assert (report.file, report.status, report.error, report.parser_version) == (
            "f.txt",
            "rejected",
            reason,
            "9",
        )


def test_a_killed_workers_helpers_are_killed_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "helper.pids"
    with ExtractionPool(1, timeout_s=1) as pool:
        future = pool.submit(libreoffice_like, str(pid_file))
        with pytest.raises(ExtractionTimeout):
            future.result()
        helper, grandchild = (int(p) for p in _read_when_written(pid_file).split())
        try:
            assert _gone(helper), "the helper outlived its worker"
            assert _gone(grandchild), "the helper's own child outlived the worker"
        finally:
            for pid in (helper, grandchild):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        assert pool.submit(add, 1, 2).result() == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_die_with_parent_kills_the_helper_when_its_parent_is_killed(tmp_path: Path) -> None:
    # A parent (not a pool worker, so nothing else cleans up) starts a helper, then is killed.
    pid_file = tmp_path / "helper.pid"
    code = (
        "import subprocess, sys, time\n"
        "from extract.readers.office import die_with_parent\n"
        "p = subprocess.Popen(['sleep', '600'], start_new_session=True, preexec_fn=die_with_parent())\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parent.parent)
    try:
        helper = int(_read_when_written(pid_file))
    finally:
        parent.kill()
        parent.wait()
    try:
        assert _gone(helper), "the helper outlived its parent"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(helper, signal.SIGKILL)


def test_shutdown() -> None:
    pool = ExtractionPool(1, timeout_s=60)
    running = pool.submit(time.sleep, 600)
    waiting = pool.submit(add, 1, 2)
    while not running.running():
        time.sleep(0.01)
    pool.shutdown(wait=False)
    with pytest.raises(WorkerCrashed) as caught:
        running.result()
    assert caught.value.reason == "extractor crashed: the extraction pool was shut down during the task"
    assert waiting.cancelled() or waiting.exception() is not None
    with pytest.raises(RuntimeError):
        pool.submit(add, 1, 2)
