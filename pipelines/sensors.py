"""Watch the raw folder: request only the years whose files (or manifest rows) changed since the
warehouse loaded them.

A year is requested when its stat fingerprint (names, sizes, mtimes, manifest rows, agencies.csv,
parser version, schema: ``warehouse.changes``) differs from the one recorded when it was last
loaded (table ``loads``) and from the one this sensor last requested (its cursor), so a sensor
switched on for the first time asks for nothing the warehouse already holds, and a state is
requested once. A year folder that disappeared is requested too: its load empties the year.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from assets.partitions import partition_years
from assets.resources import GongkaiPaths
from pipelines.schedules import JOB_NAME
from warehouse.changes import stat_fingerprints
from warehouse.db import loaded_fingerprints, schema_digest
from warehouse.inventory import years_present

GONE = ""  # the state of a year whose folder and manifest rows are gone


def changed_years(
    loaded: dict[str, str | None], requested: dict[str, str | None], current: dict[str, str]
) -> list[int]:
    """Years whose current state is neither the loaded one nor the one already requested (a year
    that disappeared is requested once: its load empties it)."""
    years = set(loaded) | set(requested) | set(current)
    return sorted(
        int(y)
        for y in years
        if current.get(y, GONE) != loaded.get(y) and current.get(y, GONE) != requested.get(y)
    )


def year_states(paths: GongkaiPaths) -> tuple[dict[str, str | None], dict[str, str]]:
    """(stat fingerprint each loaded year was loaded from, current stat fingerprint of each year
    present), within the partitions."""
    allowed = set(partition_years())
    records = loaded_fingerprints(paths.db)
    loaded = {str(y): r.stat_fingerprint for y, r in records.items() if y in allowed}
    # Loaded years are looked at even when their folder is gone: an emptied year has a state too.
    years = sorted((set(years_present(paths.raw)) | set(records)) & allowed)
    current = {
        str(y): fp
        for y, fp in stat_fingerprints(
            paths.raw, years, side_files=paths.side_files, schema=schema_digest()
        ).items()
    }
    return loaded, current


@dg.sensor(
    job_name=JOB_NAME,
    minimum_interval_seconds=30,
    # Opt-in: starting the UI should not start writing the warehouse.
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Watches the raw folder (names, sizes, modification times, manifest rows, agencies.csv) "
    "and requests an ingest of exactly the years that differ from what the warehouse was loaded from; "
    "the run itself skips years whose bytes turn out unchanged.",
)
def raw_dir_sensor(context: dg.SensorEvaluationContext, paths: GongkaiPaths) -> dg.SensorResult:
    """Cursor: JSON {year: stat fingerprint last requested}."""
    loaded, current = year_states(paths)
    requested: dict[str, str | None] = json.loads(context.cursor) if context.cursor else {}
    changed = changed_years(loaded, requested, current)
    requests = []
    for year in changed:  # one run per year: each year's materialisation carries its data version
        state = current.get(str(year), GONE)
        run_key = f"raw-{year}-{hashlib.sha256(state.encode()).hexdigest()[:12]}"
        requests.append(dg.RunRequest(run_key=run_key, partition_key=str(year)))
    if changed:
        context.log.info(f"raw folder changed for {', '.join(map(str, changed))}")
    cursor = requested | {str(y): current.get(str(y), GONE) for y in changed}
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))
