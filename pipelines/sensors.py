"""Watch the raw folder: re-ingest only the years whose files (or manifest rows) changed.

An edit of agencies.csv changes every year's fingerprint: names resolve at load time.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from assets.partitions import partition_years, range_tags, year_ranges
from assets.resources import GongkaiPaths
from pipelines.schedules import JOB_NAME
from warehouse.inventory import fingerprints


def changed_years(previous: dict[str, str], current: dict[str, str]) -> list[int]:
    """Years added, changed or removed (a removed folder empties that year in the warehouse)."""
    return sorted(int(y) for y in set(previous) | set(current) if previous.get(y) != current.get(y))


@dg.sensor(
    job_name=JOB_NAME,
    minimum_interval_seconds=30,
    # Opt-in: starting the UI should not start writing the warehouse.
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def raw_dir_sensor(context: dg.SensorEvaluationContext, paths: GongkaiPaths) -> dg.SensorResult:
    """Cursor: JSON {year: fingerprint of names, sizes, mtimes and manifest rows}."""
    allowed = set(partition_years())
    current = {
        str(y): fp for y, fp in fingerprints(paths.raw, agencies_file=paths.agencies).items() if y in allowed
    }
    previous: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    changed = changed_years(previous, current)
    requests = []
    for first, last in year_ranges(changed):
        state = json.dumps({str(y): current.get(str(y)) for y in range(first, last + 1)}, sort_keys=True)
        run_key = f"raw-{first}-{last}-{hashlib.sha256(state.encode()).hexdigest()[:12]}"
        requests.append(dg.RunRequest(run_key=run_key, tags=range_tags(first, last)))
    if changed:
        context.log.info(f"raw folder changed for {', '.join(map(str, changed))}")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))
