"""``fetched_files``: the first asset of the nightly run — new and changed reports downloaded
from the URLs of data/sources.csv into ``raw/<year>/`` (fetch.run), before raw_files lists them.

Without a sources.csv (or without a line for the year) it does nothing and says so, so a fresh
clone with no sources and no network runs as before. Failed URLs never fail it: they are
counted in its metadata and in ``gongkai summary``; an unusable sources.csv or manifest.csv is
logged as an error and fetches nothing, so the ingest after it still runs. Only a fault of the
machine (a full disk) fails it.
"""

import warnings

import dagster as dg

from assets.faults import faults_as_failures
from assets.partitions import years_partitions
from assets.resources import FetchSettings, GongkaiPaths
from fetch.run import run_fetch
from fetch.sources import SourcesError, read_sources
from fetch.store import ManifestError
from warehouse.fetch_log import OUTCOMES

warnings.filterwarnings("ignore", category=dg.BetaWarning)  # BackfillPolicy, as in assets.ingest

_LISTED = 50


def _lines(lines: list[str]) -> dg.MetadataValue:
    shown = [f"- {line}" for line in lines[:_LISTED]]
    if len(lines) > _LISTED:
        shown.append(f"- … and {len(lines) - _LISTED} more")
    return dg.MetadataValue.md("\n".join(shown) if shown else "none")


def _unfetched(context: dg.AssetExecutionContext, said: str, *, error: bool = False) -> dg.MaterializeResult:
    """Nothing fetched, and why, in the log and in each partition's metadata."""
    (context.log.error if error else context.log.info)(said)
    for key in context.partition_keys:
        context.add_asset_metadata(
            {"sources": said, "urls": 0, **dict.fromkeys(OUTCOMES, 0), "broken": 0}, partition_key=key
        )
    return dg.MaterializeResult()


@dg.asset(
    partitions_def=years_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    group_name="gongkai",
    kinds={"python"},
    description="Downloads the year's reports listed in data/sources.csv (agency, year, url) into the raw "
    "folder, politely (robots.txt, one request at a time per host, retries with backoff) and incrementally "
    "(conditional requests; unchanged bytes write nothing; changed bytes are a new revision), with their "
    "manifest rows and a fetch_log row per URL. Does nothing without sources; failed URLs are counted, "
    "never fatal.",
)
@faults_as_failures
def fetched_files(
    context: dg.AssetExecutionContext, paths: GongkaiPaths, fetch: FetchSettings
) -> dg.MaterializeResult:
    file = fetch.sources(paths.raw)
    try:
        sources = read_sources(file)
    except SourcesError as exc:
        # Not fatal: the ingest after it must still load what the raw folder holds.
        return _unfetched(context, f"nothing fetched: {exc}", error=True)
    for problem in sources.problems:
        context.log.warning(problem)
    years = [int(k) for k in context.partition_keys]
    if not sources.for_years(years):
        if not file.is_file():
            return _unfetched(context, f"{file} is absent: nothing to fetch")
        return _unfetched(
            context, f"{file} lists no URL for {', '.join(context.partition_keys)}: nothing to fetch"
        )
    try:
        run = run_fetch(
            sources, paths.raw, paths.db, years=years, politeness=fetch.politeness(), say=context.log.info
        )
    except ManifestError as exc:
        return _unfetched(context, str(exc), error=True)
    for key in context.partition_keys:
        year = int(key)
        results = [r for r in run.results if r.source.year == year]
        broken = [h for h in run.broken if h.year == year]
        counts = run.counts(year)
        context.log.info(f"{key}: {len(results)} URLs, " + ", ".join(f"{n} {o}" for o, n in counts.items()))
        context.add_asset_metadata(
            {
                "sources": str(file),
                "urls": len(results),
                **counts,
                "broken": len(broken),
                "requests": sum(row.requests for r in results for row in r.log),
                "failures": _lines([r.error or "" for r in results if r.outcome in ("failed", "not_report")]),
                "broken_urls": _lines(
                    [f"{h.url} ({h.failures_in_a_row} runs: {h.last_error})" for h in broken]
                ),
                "problems": _lines(sources.problems),
            },
            partition_key=key,
        )
    return dg.MaterializeResult()
