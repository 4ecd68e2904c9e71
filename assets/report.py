"""The HTML report (``gongkai report``, all years) as an asset downstream of the warehouse, so
every run that loads years — the nightly schedule, the sensor, ``gongkai ingest`` — leaves
``report.html`` beside the warehouse (``data/report.html``) up to date."""

import dagster as dg

from assets.ingest import GROUP, warehouse_year
from assets.resources import GongkaiPaths
from warehouse.publish import current_build
from warehouse.report import NothingToReport, default_report_path, write_report


@dg.asset(
    deps=[warehouse_year],
    kinds={"html"},
    group_name=GROUP,
    description="report.html beside the warehouse: the main figures of every loaded year as one "
    "self-contained HTML page with charts (what `gongkai report` writes), rewritten after each load.",
)
def html_report(context: dg.AssetExecutionContext, paths: GongkaiPaths) -> dg.MaterializeResult:
    out = default_report_path(paths.db)
    # Inside `gongkai ingest` the years are loaded into a build catalog published at the very end:
    # read that one, so the report shows what this run loaded.
    build = current_build(paths.db)
    source = build if build is not None and build.is_file() else paths.db
    try:
        data = write_report(source, out)
    except (FileNotFoundError, NothingToReport) as exc:
        context.log.info(f"no report written: {exc}")
        return dg.MaterializeResult(metadata={"written": False, "reason": str(exc)})
    return dg.MaterializeResult(
        metadata={
            "written": True,
            "path": dg.MetadataValue.path(str(out)),
            "years": f"{data.first}–{data.last}",
            "agencies": data.totals["agencies"],
            "reports_loaded": data.totals["reports_loaded"],
            "min_requests": data.min_requests,
        }
    )
