"""The Dagster UI on the instance the CLI writes to: `gongkai dagster dev` (what `make dev` runs)
started on 127.0.0.1 in its own process group, asked over GraphQL what a CLI ingest did, and
stopped by a signal to the group — it and every process it started must be gone within
STOP_SECONDS."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from test_dagster_instance import _corpus, _year_rows

from assets.descriptions import CONTINUITY_DESCRIPTION, IDENTITY_DESCRIPTION, PANDERA_DESCRIPTION
from pipelines.ingest import run_ingest
from pipelines.schedules import nightly_ingest
from pipelines.sensors import raw_dir_sensor

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 240  # a cold start on the shared 2-core machine takes 20–50 s
STOP_SECONDS = 15  # at most GRACE_SECONDS (5 s) and a poll after the signal: then the rest is killed

pytestmark = pytest.mark.slow


def _processes() -> dict[int, tuple[int, int, str]]:
    """Every live (not zombie) process: pid → (parent pid, process group, command line)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if state != "Z":
            out[int(entry.name)] = (int(ppid), int(group), command[:160])
    return out


def _family(root: int, groups: set[int] | None = None) -> dict[int, str]:
    """``root``, its descendants and every process of their process groups: pid → command line.
    ``groups``: also the processes of these groups (orphans keep their group, not their parent)."""
    procs = _processes()
    pids, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in procs and pid not in pids:
            pids.add(pid)
            todo += [child for child, (ppid, _g, _c) in procs.items() if ppid == pid]
    groups = (groups or set()) | {procs[p][1] for p in pids}
    return {p: c for p, (_pp, g, c) in procs.items() if p in pids or g in groups}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _dev_server(tmp_path: Path, data: Path, *, sigint_ignored: bool = False) -> Iterator[tuple[int, int]]:
    """(pid, port) of a running `gongkai dagster dev`, leader of its own process group; whatever
    is left of it at the end is killed by pid. ``sigint_ignored``: started as a background job of
    a non-interactive shell is."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | {
        "GONGKAI_RAW": str(data / "raw"),
        "GONGKAI_DB": str(data / "warehouse.ducklake"),
    }
    command = [sys.executable, "-m", "pipelines.cli", "dagster", "dev", "-w", "workspace.yaml"]
    command += ["-h", "127.0.0.1", "-p", str(port)]
    shell = 'trap "" INT; exec "$@"' if sigint_ignored else 'exec "$@"'
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["sh", "-c", shell, "sh", *command],
            cwd=ROOT,
            env=env,
            start_new_session=True,  # its own process group, as `make dev` in a terminal
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the webserver never answered:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.5)
        yield proc.pid, port
    finally:
        for pid in _family(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _stop(pid: int, sig: signal.Signals) -> float:
    """Send ``sig`` to the process group of `gongkai dagster dev` (``pid``), as a terminal's Ctrl-C
    or a supervisor does; seconds until it and every process it started are gone (fails after
    STOP_SECONDS, killing what is left by pid)."""
    before = _family(pid)
    # gongkai, dagster dev, code server, its gRPC server, webserver, daemon
    assert len(before) >= 6, before
    groups = {g for p in before if (g := _processes().get(p, (0, 0, ""))[1])}
    start = time.monotonic()
    os.killpg(pid, sig)
    while time.monotonic() - start < STOP_SECONDS:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap gongkai, our child
        if not set(_family(pid, groups)) & set(before):
            return time.monotonic() - start
        time.sleep(0.2)
    left = {p: c for p, c in _family(pid, groups).items() if p in before}
    for p in left:
        os.kill(p, signal.SIGKILL)
    pytest.fail(f"{sig.name}: still running after {STOP_SECONDS} s: {left}")


def _graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


REPOSITORY = '{repositoryName: "__repository__", repositoryLocationName: "pipelines.definitions:defs"}'
QUERY = """{
  assetNodes { assetKey { path } partitionStats { numMaterialized numPartitions }
    assetPartitionStatuses { ... on TimePartitionStatuses { ranges { status startKey endKey } } }
    assetChecksOrError { ... on AssetChecks { checks { name description blocking
      executionForLatestMaterialization { status } } } } }
  warehouse: assetNodeOrError(assetKey: {path: ["warehouse_year"]}) { ... on AssetNode {
    assetMaterializations(partitions: ["2022", "2023"]) { partition
      metadataEntries { label ... on IntMetadataEntry { intValue } } } } }
  runsOrError { ... on Runs { results { status tags { key value } } } }
  schedulesOrError(repositorySelector: REPO) { ... on Schedules { results {
    name cronSchedule executionTimezone description scheduleState { status } } } }
  sensorsOrError(repositorySelector: REPO) { ... on Sensors { results {
    name description sensorState { status } } } }
}""".replace("REPO", REPOSITORY)


def test_the_ui_shows_what_the_cli_ingested_and_stops_on_sigterm(tmp_path: Path) -> None:
    raw, db = _corpus(tmp_path)
    run_ingest(raw_dir=raw, db_path=db)
    with _dev_server(tmp_path, db.parent) as (pid, port):
        data = _graphql(port, QUERY)
        stopped_in = _stop(pid, signal.SIGTERM)
    nodes = {tuple(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    materialized = [{"status": "MATERIALIZED", "startKey": "2022", "endKey": "2023"}]
    assert {
        k[0]: (n["partitionStats"], n["assetPartitionStatuses"].get("ranges")) for k, n in nodes.items()
    } == {
        "html_report": (None, None),  # not partitioned; written by `gongkai ingest --report` only
        "report_files": ({"numMaterialized": 0, "numPartitions": 8}, []),
        **{
            asset: ({"numMaterialized": 2, "numPartitions": 8}, materialized)
            for asset in ("raw_files", "extracted_reports", "validated_frames", "warehouse_year")
        },
    }
    checks = {
        k[0]: n["assetChecksOrError"]["checks"] for k, n in nodes.items() if n["assetChecksOrError"]["checks"]
    }
    assert checks == {
        "validated_frames": [
            {
                "name": "pandera_models",
                "description": PANDERA_DESCRIPTION,
                "blocking": True,
                "executionForLatestMaterialization": {"status": "SUCCEEDED"},
            }
        ],
        "warehouse_year": [
            {
                "name": "carryover_continuity",
                "description": CONTINUITY_DESCRIPTION,
                "blocking": False,
                # the latest materialisation is 2023's, whose carried-over requests disagree with 2022
                "executionForLatestMaterialization": {"status": "FAILED"},
            },
            {
                "name": "identities",
                "description": IDENTITY_DESCRIPTION,
                "blocking": False,
                "executionForLatestMaterialization": {"status": "SUCCEEDED"},
            },
        ],
    }
    row_counts = {
        m["partition"]: next(e["intValue"] for e in m["metadataEntries"] if e["label"] == "dagster/row_count")
        for m in data["warehouse"]["assetMaterializations"]
    }
    by_year = _year_rows(db)
    assert row_counts == {"2022": by_year[2022], "2023": by_year[2023]}
    runs = data["runsOrError"]["results"]
    assert sorted(
        (r["status"], next(t["value"] for t in r["tags"] if t["key"] == "dagster/partition")) for r in runs
    ) == [("SUCCESS", "2022"), ("SUCCESS", "2023")]
    assert data["schedulesOrError"]["results"] == [
        {
            "name": "nightly_ingest",
            "cronSchedule": "0 2 * * *",
            "executionTimezone": "Asia/Shanghai",
            "description": nightly_ingest.description,
            "scheduleState": {"status": "RUNNING"},
        }
    ]
    assert data["sensorsOrError"]["results"] == [
        {
            "name": "raw_dir_sensor",
            "description": raw_dir_sensor.description,
            "sensorState": {"status": "STOPPED"},
        }
    ]
    assert stopped_in < STOP_SECONDS


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_dev_stops_when_started_with_sigint_ignored(tmp_path: Path, sig: signal.Signals) -> None:
    """A background job of a non-interactive shell starts with SIGINT ignored; Dagster copied that
    onto SIGTERM and nothing stopped it (pipelines.supervise)."""
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    with _dev_server(tmp_path, data, sigint_ignored=True) as (pid, _port):
        assert _stop(pid, sig) < STOP_SECONDS
