"""Promises 1–3: one writer at a time, readers never blocked, a killed run publishes nothing."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import run_ingest
from synth.corpus import write_corpus
from warehouse.db import table_checksums
from warehouse.lake import build_path, open_lake
from warehouse.publish import lock_path

ROOT = Path(__file__).resolve().parents[1]

# An ingest in a child process; writer_lock is wrapped to log acquire/release/waiting to a file.
_CHILD = r"""
import os, sys, time
from contextlib import contextmanager
from pathlib import Path
import warehouse.publish as pub
from pipelines.ingest import run_ingest

raw, db, log = map(Path, sys.argv[1:4])

def note(event):
    with log.open("a") as f:
        f.write(f"{event} {os.getpid()}\n")

orig = pub.writer_lock

@contextmanager
def traced(path, say=None):
    def tell(message):
        note("waiting")
        if say:
            say(message)
    with orig(path, tell):
        first = not log.exists() or "acquire" not in log.read_text()
        note("acquire")
        if first:  # hold the lock until the other ingest is seen waiting for it
            deadline = time.monotonic() + 120
            while "waiting" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
        try:
            yield
        finally:
            note("release")

pub.writer_lock = traced
summary = run_ingest(raw_dir=raw, db_path=db, on_progress=lambda m: print(m, flush=True))
sys.exit(0 if summary.success else 1)
"""

# A plain ingest in a child process, printing its progress (for the kill trials).
_PLAIN = r"""
import sys
from pathlib import Path
from pipelines.ingest import run_ingest
summary = run_ingest(raw_dir=Path(sys.argv[1]), db_path=Path(sys.argv[2]), on_progress=lambda m: print(m, flush=True))
sys.exit(0 if summary.success else 1)
"""

# Holds one read-only connection: counts, waits for a go file, counts again on the same connection.
_READER = r"""
import sys, time
from pathlib import Path
from warehouse.lake import open_lake
db, go = Path(sys.argv[1]), Path(sys.argv[2])
con = open_lake(db, read_only=True)
print("before", con.execute("SELECT count(*) FROM applications").fetchone()[0], flush=True)
while not go.exists():
    time.sleep(0.05)
print("after", con.execute("SELECT count(*) FROM applications").fetchone()[0], flush=True)
con.close()
"""


def _spawn(code: str, *args: Path | str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,  # type: ignore[arg-type]
    )


def _counts(db: Path) -> dict[str, int]:
    return {t: n for t, (n, _) in table_checksums(db).items()}


def test_two_ingests_take_turns(tmp_path: Path) -> None:
    raw, db, log = tmp_path / "raw", tmp_path / "wh.duckdb", tmp_path / "lock.log"
    write_corpus(raw, agencies=2, years=[2021])
    children = [_spawn(_CHILD, raw, db, log) for _ in range(2)]
    outputs = [c.communicate(timeout=300)[0] for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    events = [line.split() for line in log.read_text().splitlines()]
    held = [e for e in events if e[0] != "waiting"]
    # Never interleaved: acquire A, release A, acquire B, release B.
    assert [e[0] for e in held] == ["acquire", "release", "acquire", "release"]
    assert held[0][1] == held[1][1] and held[2][1] == held[3][1] and held[0][1] != held[2][1]
    waiter = held[2][1]
    assert ["waiting", waiter] in events
    said = outputs[[str(c.pid) for c in children].index(waiter)]
    assert "another ingest (pid " in said and "holds the warehouse; waiting…" in said
    assert f"pid {held[0][1]}" in said
    assert _counts(db)["applications"] > 0
    assert not build_path(db).exists()


def test_readers_are_never_blocked_and_see_one_state(tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_corpus(raw, agencies=2, years=[2021, 2022])
    shutil.rmtree(raw / "2022")
    assert run_ingest(raw_dir=raw, db_path=db).success
    old = _counts(db)["applications"]

    # DuckDB itself: read-only processes share the catalog, a read-write process is refused.
    other = _spawn(_READER, db, tmp_path / "go-other")
    reader = _spawn(_READER, db, tmp_path / "go")
    assert reader.stdout is not None and other.stdout is not None
    assert reader.stdout.readline().split() == ["before", str(old)]
    assert other.stdout.readline().split() == ["before", str(old)]
    with pytest.raises(duckdb.IOException, match=r"(?i)lock"):
        open_lake(db, read_only=False)
    (tmp_path / "go-other").touch()
    other.communicate(timeout=60)

    write_corpus(raw, agencies=2, years=[2021, 2022])  # 2022 arrives
    summary = run_ingest(raw_dir=raw, db_path=db)  # runs and publishes while the reader holds the file
    assert summary.success, summary.errors
    new = _counts(db)["applications"]  # a new session sees the new state
    assert new > old
    (tmp_path / "go").touch()
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    assert out.split() == ["after", str(old)]  # the held session still sees the old state


def _kill_trials(tmp_path: Path, trials: int, seed: int) -> list[str]:
    raw, db = tmp_path / "raw", tmp_path / "wh.duckdb"
    write_corpus(raw, agencies=3, years=[2021, 2022])
    shutil.rmtree(raw / "2022")
    assert run_ingest(raw_dir=raw, db_path=db).success
    saved = tmp_path / "pre.duckdb"
    shutil.copyfile(db, saved)
    pre = table_checksums(db)
    write_corpus(raw, agencies=3, years=[2021, 2022], seed=1)  # every file changes, 2022 arrives
    reference = tmp_path / "ref.duckdb"
    started = time.monotonic()
    ref = _spawn(_PLAIN, raw, reference)
    assert ref.wait(timeout=300) == 0
    full = _counts(reference)
    # Fact tables carry no run timestamp: a complete new state has exactly the reference's content.
    new_facts = {k: v for k, v in table_checksums(reference).items() if k != "reports"}
    # Spread the kills over a whole child run: imports, parsing, load and publish.
    span = time.monotonic() - started
    rng = random.Random(seed)
    phases = []
    for _ in range(trials):
        child = _spawn(_PLAIN, raw, db, start_new_session=True)
        time.sleep(rng.uniform(0.5, span))
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=60)
        lines = out.strip().splitlines()
        phases.append(lines[-1] if lines else "(imports)")
        if child.returncode == -signal.SIGKILL and table_checksums(db) != pre:
            # Killed after its atomic publish (while exiting): the whole new state, never a mix.
            facts = {k: v for k, v in table_checksums(db).items() if k != "reports"}
            assert facts == new_facts, f"killed after {phases[-1]!r}: neither the old nor the new state"
            phases[-1] += " (after publish)"
        elif child.returncode != -signal.SIGKILL:
            assert child.returncode == 0, out
            assert _counts(db) == full
        shutil.copyfile(saved, db)  # back to the old state for the next trial
    # The next run is not blocked by a stale build file or lock and completes normally.
    assert lock_path(db).exists()
    summary = run_ingest(raw_dir=raw, db_path=db)
    assert summary.success, summary.errors
    assert _counts(db) == full
    assert not build_path(db).exists()
    return phases


def test_killed_ingest_leaves_the_warehouse_as_before(tmp_path: Path) -> None:
    phases = _kill_trials(tmp_path, trials=5, seed=5)
    assert len(phases) == 5


@pytest.mark.slow
def test_killed_ingest_leaves_the_warehouse_as_before_many(tmp_path: Path) -> None:
    phases = _kill_trials(tmp_path, trials=24, seed=24)
    print("\n".join(phases))
    assert len(phases) == 24
