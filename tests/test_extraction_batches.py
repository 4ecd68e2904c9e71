"""Files go to the extraction workers in batches; a batch that fails is retried file by file, so
one hostile file is rejected alone and its neighbours are read as usual."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from test_warehouse_reports import write_raw

import assets.ingest as ingest
from assets.payloads import YearFiles
from extract.pool import ExtractionTimeout
from warehouse.changes import scan_hashed
from warehouse.inventory import read_manifest
from warehouse.parse_cache import ParseCache


class _InProcessPool:
    """Stands in for ExtractionPool: runs each task at once, and lets a task with the file
    ``hang.txt`` in it end the way a real worker's would at the time limit."""

    submitted: ClassVar[list[int]] = []

    def __init__(self, **_limits: Any) -> None:
        pass

    def __enter__(self) -> _InProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, fn: Any, items: list[tuple[str, str, dict]]) -> Future:
        _InProcessPool.submitted.append(len(items))
        future: Future = Future()
        if any(name.endswith("hang.txt") for _path, name, _hints in items):
            future.set_exception(ExtractionTimeout(60))
        else:
            future.set_result(fn(items))
        return future


def test_a_failed_batch_is_retried_file_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw"
    names = [f"局{i:02d}" for i in range(11)]
    write_raw(raw, 2022, names, seed=3)
    (raw / "2022" / "hang.txt").write_text("一个让解析器停不下来的文件", encoding="utf-8")
    monkeypatch.setattr(ingest, "ExtractionPool", _InProcessPool)
    _InProcessPool.submitted = []
    manifest = read_manifest(raw)
    with ParseCache(None) as cache:
        files = scan_hashed(raw, 2022, manifest, cache, (), "s").files
        year = YearFiles(year=2022, files=files, manifest={})
        context = SimpleNamespace(log=logging.getLogger("test"))
        done = ingest._parse_missing(context, cache, [(year, f) for f in files])  # type: ignore[arg-type]
        assert len(done) == 12
        hung = done[(2022, "2022/hang.txt")]
        assert hung.parsed is not None and hung.parsed.meta["error"] == "extraction timed out after 60 s"
        statuses = cache.statuses([e for k, e in done.items() if k[1] != "2022/hang.txt"])[0]
        assert statuses == {"ok": 11, "warning": 0, "rejected": 0}
    # 12 files: batches of 8 and 4; the first (hang.txt sorts first) fails, its 8 go one at a time.
    assert _InProcessPool.submitted == [8, 4] + [1] * 8
