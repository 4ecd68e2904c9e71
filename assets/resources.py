"""Resources: where the raw reports and the warehouse are, and where run outputs are kept."""

from __future__ import annotations

import os
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg

from fetch.client import Politeness
from fetch.sources import sources_file
from warehouse import paths
from warehouse.faults import guarded


class GongkaiPaths(dg.ConfigurableResource):
    """Raw folder, agency directory and warehouse catalog. Unset fields follow ``GONGKAI_RAW`` / ``GONGKAI_DB`` (read
    when the run starts, not when the code is loaded, so ``dagster dev`` honours a later export)."""

    raw_dir: str | None = None
    db_path: str | None = None
    agencies_csv: str | None = None  # default: GONGKAI_AGENCIES, else agencies.csv beside the raw folder
    corrections_csv: str | None = None  # default: GONGKAI_CORRECTIONS, else corrections.csv beside it

    @property
    def raw(self) -> Path:
        return Path(self.raw_dir) if self.raw_dir else paths.raw_dir()

    @property
    def agencies(self) -> Path:
        return Path(self.agencies_csv) if self.agencies_csv else paths.agencies_file(self.raw)

    @property
    def corrections(self) -> Path:
        return Path(self.corrections_csv) if self.corrections_csv else paths.corrections_file(self.raw)

    @property
    def side_files(self) -> tuple[Path, Path]:
        """The files besides the reports that every year's rows depend on (in its fingerprint)."""
        return self.agencies, self.corrections

    @property
    def db(self) -> Path:
        return Path(self.db_path) if self.db_path else paths.db_path()

    @property
    def cache(self) -> Path:
        """The parse cache beside the warehouse (``data/warehouse.parse-cache.duckdb``)."""
        return self.db.with_name(f"{self.db.stem}.parse-cache.duckdb")

    @property
    def io_dir(self) -> Path:
        # Beside the warehouse, so a test's temporary DuckDB keeps its run outputs with it; for the
        # default data/warehouse.duckdb this is data/dagster_home/io (git-ignored).
        return self.db.parent / "dagster_home" / "io"


class FetchSettings(dg.ConfigurableResource):
    """How fetched_files treats agency web servers. Unset fields keep the defaults of
    ``fetch.client.Politeness`` (README, Fetching reports); ``contact`` defaults to
    ``GONGKAI_FETCH_CONTACT`` and ``sources_csv`` to ``GONGKAI_SOURCES``, else sources.csv beside
    the raw folder (read when the run starts)."""

    sources_csv: str | None = None
    contact: str | None = None  # an e-mail or URL put in the User-Agent for site operators
    host_interval_s: float | None = None  # seconds between two requests to one host (default 1)
    timeout_s: float | None = None  # connect and read timeout (default 30)
    retries: int | None = None  # retries on 5xx, 429 and timeouts (default 3)
    backoff_s: float | None = None  # first retry's wait, doubled each time (default 2)
    max_wait_s: float | None = None  # longest Retry-After honoured (default 300)
    max_redirects: int | None = None  # (default 5)
    concurrency: int | None = None  # hosts fetched at a time (default 1)

    def sources(self, raw: Path) -> Path:
        return Path(self.sources_csv) if self.sources_csv else sources_file(raw)

    def politeness(self) -> Politeness:
        given = {
            name: getattr(self, name)
            for name in (
                "host_interval_s",
                "timeout_s",
                "retries",
                "backoff_s",
                "max_wait_s",
                "max_redirects",
                "concurrency",
            )
            if getattr(self, name) is not None
        }
        contact = self.contact or os.environ.get("GONGKAI_FETCH_CONTACT") or None
        return replace(Politeness(contact=contact), **given)


# The warehouse resource of the brief is the same two paths; one name reads better in assets.
WarehouseResource = GongkaiPaths


class YearPickleIOManager(dg.ConfigurableIOManager):
    """Pickles asset outputs one file per year partition: ``<io_dir>/<asset>/<year>.pickle``.

    Assets return ``{partition_key: value}`` so that a single run over several years (a
    single-run backfill, the nightly two-year run) stores each year separately. Dagster's
    filesystem IO manager refuses multi-partition outputs, and ``mem_io_manager`` loses them
    when a run is re-executed from a failed step in ``dagster dev``.
    """

    paths: GongkaiPaths

    def _file(self, asset_key: dg.AssetKey, partition: str) -> Path:
        return self.paths.io_dir.joinpath(*asset_key.path, f"{partition}.pickle")

    def handle_output(self, context: dg.OutputContext, obj: dict[str, Any] | None) -> None:
        if obj is None:
            return
        for partition in context.asset_partition_keys:
            file = self._file(context.asset_key, partition)
            tmp = file.with_suffix(".tmp")
            data = pickle.dumps(obj[partition], protocol=pickle.HIGHEST_PROTOCOL)
            # A full disk or a read-only folder: one line, and no empty .tmp left behind.
            with guarded("storing a run output", file.parent, needed=len(data), cleanup=[tmp]):
                file.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_bytes(data)
                tmp.replace(file)  # atomic: a reader never sees half a pickle

    def load_input(self, context: dg.InputContext) -> dict[str, Any]:
        out = {}
        for partition in context.asset_partition_keys:
            file = self._file(context.asset_key, partition)
            if not file.is_file():
                raise FileNotFoundError(
                    f"{context.asset_key.to_user_string()} {partition} not materialized yet ({file})"
                )
            out[partition] = pickle.loads(file.read_bytes())  # our own files, written above
        return out

    def read(self, asset: str, partition: str) -> Any | None:
        """The stored value of one asset partition, or None (for summaries outside a run)."""
        file = self._file(dg.AssetKey(asset), partition)
        return pickle.loads(file.read_bytes()) if file.is_file() else None
