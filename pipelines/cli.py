"""The gongkai command line: read government information-disclosure annual reports into a warehouse.

No Python traceback ever reaches a user: an unexpected error is one line, exit 1
(GONGKAI_DEBUG=1 prints the trace). The exit codes: pipelines/help.py and the README.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.help import command_parser, top_epilog
from schemas.taxonomy import taxonomy
from warehouse.faults import MachineFault

if TYPE_CHECKING:
    from warehouse.access import StatementResult

OK, FAILED, USAGE, SOME_REJECTED = 0, 1, 2, 3


class UsageProblem(Exception):
    """A command line that cannot be run as given (exit 2), said in one line."""


def parse_years(spec: str | None) -> list[int] | None:
    """'2022' → [2022]; '2019-2024' → [2019, …, 2024]; None → None (every year folder)."""
    if not spec:
        return None
    try:
        if "-" in spec:
            first, last = (int(x) for x in spec.split("-", 1))
        else:
            first = last = int(spec)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a year or FIRST-LAST range: {spec!r}") from None
    if not (2000 <= first <= last <= 2100):
        raise argparse.ArgumentTypeError(f"not a valid year range: {spec!r}")
    return list(range(first, last + 1))


def _extract(args: argparse.Namespace) -> int:
    from extract import extract_path
    from pipelines.manifest_lookup import manifest_hints
    from pipelines.render import render_report

    any_rejected = False
    for i, name in enumerate(args.files):
        hints = manifest_hints(Path(name))
        report = extract_path(name, **hints)
        report.file = name  # the path as given
        any_rejected |= not report.loaded
        if args.json:
            print(json.dumps(report.to_json(), ensure_ascii=False))
        else:
            if i:
                print()
            print(render_report(report))
    return 1 if any_rejected else 0


def _ingest(args: argparse.Namespace) -> int:
    from pipelines.ingest import run_ingest
    from pipelines.progress import print_summary, progress_printer

    years = parse_years(args.years)
    with progress_printer() as on_progress:
        summary = run_ingest(years, on_progress=on_progress, force=args.force, report=args.report)
    if summary.years:
        print_summary(summary)
    if not summary.success:
        for error in summary.errors if not summary.years else ():
            print(f"gongkai: error: {error}", file=sys.stderr)
        return FAILED
    if not summary.years:
        print(
            f"gongkai: error: no report files in {summary.raw_dir}: put them under "
            f"{summary.raw_dir}/<year>/ (or set GONGKAI_RAW), or write a demo corpus with `gongkai synth`",
            file=sys.stderr,
        )
        return FAILED
    rejected = summary.totals()["rejected"]
    if rejected:
        print(
            f"{rejected} file{'s' if rejected != 1 else ''} rejected (exit status {SOME_REJECTED}): see above"
        )
        return SOME_REJECTED
    return OK


def _synth(args: argparse.Namespace) -> int:
    from warehouse.paths import raw_dir

    out = Path(args.out) if args.out else raw_dir()
    if (
        args.if_empty
        and out.is_dir()
        and any(p for p in out.rglob("*") if p.is_file() and p.name != "README.md")
    ):
        print(f"{out} already holds reports: left as is")
        return 0
    years = parse_years(args.years) or list(range(2019, 2025))
    if args.count is None and args.formats is None:
        from synth.corpus import write_corpus

        agencies = 20 if args.agencies is None else args.agencies
        written = write_corpus(out, agencies=agencies, years=years, seed=args.seed)
        print(
            f"wrote {len(written)} synthetic reports for {agencies} agencies, {years[0]}–{years[-1]}, into {out}"
        )
        return 0
    from synth.scale import FormatSpecError, synth_command

    if args.count is not None and args.agencies is not None:
        raise argparse.ArgumentTypeError("give --count or --agencies, not both")
    count = args.count if args.count is not None else (args.agencies or 20) * len(years)
    try:
        return synth_command(
            out, count=count, formats=args.formats, years=years, seed=args.seed, workers=args.workers
        )
    except FormatSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fetch(args: argparse.Namespace) -> int:
    from assets.resources import FetchSettings
    from pipelines.fetching import fetch_command

    for name in ("interval", "timeout"):
        value = getattr(args, name)
        if value is not None and not value >= 0:
            raise UsageProblem(f"--{name} must be a number of seconds ≥ 0, not {value}")
    if args.retries is not None and args.retries < 0:
        raise UsageProblem(f"--retries must be ≥ 0, not {args.retries}")
    settings = FetchSettings(
        sources_csv=args.sources,
        contact=args.contact,
        host_interval_s=args.interval,
        timeout_s=args.timeout,
        retries=args.retries,
    )
    return fetch_command(parse_years(args.years), settings)


def _summary(args: argparse.Namespace) -> int:
    from pipelines.progress import print_warehouse_summary

    return print_warehouse_summary()


def _print_result(result: StatementResult, number: int, of: int, args: argparse.Namespace) -> None:
    from pipelines.tables import print_frame, write_csv, write_json_lines

    assert result.frame is not None
    if result.renamed:
        said = ", ".join(f"{new} (a second {old})" for new, old in result.renamed.items())
        print(f"gongkai: repeated column names printed as {said}", file=sys.stderr)
    if args.csv:
        write_csv(result.frame, sys.stdout)
    elif args.json:
        write_json_lines(result.frame, sys.stdout)
    else:
        if of > 1:
            gap = "\n" if number > 1 else ""
            print(f"{gap}-- statement {number}: {' '.join(result.sql.split())[:80]}")
        print_frame(result.frame)


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from warehouse.access import run_sql, split_statements
    from warehouse.paths import db_path

    sql = args.query if args.query != "-" else sys.stdin.read()
    number, statements = 0, list[str]()
    try:
        statements = split_statements(sql)
        if not statements:
            raise UsageProblem(
                "no SQL statement given: pass one as an argument, or '-' to read it from stdin"
            )
        if len(statements) > 1 and (args.csv or args.json):
            raise UsageProblem(
                f"{len(statements)} statements: --csv and --json print one result; run them one at a time"
            )
        results = run_sql(db_path(), sql)
        for number, result in enumerate(results, start=1):
            if result.frame is not None:
                _print_result(result, number, len(statements), args)
    except FileNotFoundError as exc:
        print(f"gongkai: error: {exc}", file=sys.stderr)
        return FAILED
    except duckdb.Error as exc:
        where = f"statement {number + 1}: " if len(statements) > 1 else ""
        print(f"gongkai: sql error: {where}{' '.join(str(exc).split())}", file=sys.stderr)
        return FAILED
    return OK


def _export(args: argparse.Namespace) -> int:
    from warehouse.access import UsageError, export
    from warehouse.paths import db_path

    try:
        out, rows = export(
            db_path(),
            args.name,
            args.format,
            Path(args.out) if args.out else None,
            year=args.year,
            agency=args.agency,
        )
    except UsageError as exc:
        raise UsageProblem(str(exc)) from None
    except FileNotFoundError as exc:
        print(f"gongkai: error: {exc}", file=sys.stderr)
        return FAILED
    print(f"wrote {rows} rows of {args.name} to {out}")
    return OK


def _report(args: argparse.Namespace) -> int:
    import duckdb

    from warehouse.paths import db_path
    from warehouse.report import NothingToReport, ReportOptions, default_report_path, write_report

    db = db_path()
    out = Path(args.out) if args.out else default_report_path(db)
    options = ReportOptions(parse_years(args.years), args.region, args.level, args.min_requests)
    try:
        data = write_report(db, out, options)
    except (FileNotFoundError, NothingToReport) as exc:
        print(f"gongkai: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:  # e.g. a warehouse of an older version: ingest rebuilds its views
        print(f"gongkai: cannot read the warehouse ({exc}); run `gongkai ingest` first", file=sys.stderr)
        return 1
    span = f"{data.first}" if data.first == data.last else f"{data.first}–{data.last}"
    print(f"wrote {out}: {span}, {data.totals['agencies']} agencies, {data.totals['reports_loaded']} reports")
    return 0


def _min_requests(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of requests: {text!r}")
    return value


def _verify(args: argparse.Namespace) -> int:
    from warehouse.paths import db_path
    from warehouse.verify import verify

    path = db_path()
    if not path.is_file():
        print(f"gongkai: no warehouse at {path}: run `gongkai ingest` first", file=sys.stderr)
        return 1
    breaches = verify(path, deep=not args.quick)
    for breach in breaches:
        print(breach.line())
    print(
        f"{path}: {len(breaches)} invariant{'' if len(breaches) == 1 else 's'} broken"
        if breaches
        else f"{path}: verifies"
    )
    return 1 if breaches else 0


def _dictionary(args: argparse.Namespace) -> int:
    from warehouse.dictionary import DICTIONARY_FILE, render_dictionary

    text = render_dictionary()
    if args.check:
        current = DICTIONARY_FILE.read_text(encoding="utf-8") if DICTIONARY_FILE.is_file() else ""
        if current != text:
            print(f"{DICTIONARY_FILE} is out of date: run `gongkai dictionary --write`", file=sys.stderr)
            return 1
        print(f"{DICTIONARY_FILE} is up to date")
    elif args.write:
        DICTIONARY_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {DICTIONARY_FILE}")
    else:
        sys.stdout.write(text)
    return 0


def _dagster(args: argparse.Namespace) -> int:
    from pipelines.instance import InstanceError, run_dagster

    try:
        return run_dagster(args.args)
    except InstanceError as exc:
        print(f"gongkai: {exc}", file=sys.stderr)
        return 1


def _doctor(args: argparse.Namespace) -> int:
    from pipelines.doctor import run_doctor

    return run_doctor()


def _tables(args: argparse.Namespace) -> int:
    from pipelines.tables import print_frame
    from warehouse.catalog import relation_overview
    from warehouse.paths import db_path, missing_warehouse

    path = db_path()
    frame = relation_overview(path, count_views=args.count_views)
    if not path.is_file():
        caption = missing_warehouse(path)
    elif not args.count_views:
        caption = "views are not counted (counting runs each one's query): gongkai tables --count-views"
    else:
        caption = None
    print_frame(frame, caption=caption)
    return OK


def _describe(args: argparse.Namespace) -> int:
    from pipelines.tables import print_frame
    from warehouse.catalog import UnknownRelation, describe_relation

    try:
        description, columns, codes = describe_relation(args.name)
    except UnknownRelation as exc:
        raise UsageProblem(str(exc)) from None
    print(f"{args.name}: {description}")
    print_frame(columns)
    for column, labelled in codes.items():
        print(f"\n{column} codes:")
        print_frame(labelled)
    return OK


_READ_ENV = ("GONGKAI_DB", "GONGKAI_DEBUG")
_INGEST_ENV = (
    "GONGKAI_RAW",
    "GONGKAI_DB",
    "GONGKAI_AGENCIES",
    "GONGKAI_CORRECTIONS",
    "GONGKAI_SNAPSHOT_DAYS",
    "DAGSTER_HOME",
    "GONGKAI_DEBUG",
)
_NULL_NOTE = (
    "In the table output NULL is printed as · and floats with 3 decimals (full precision with --csv/--json)."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gongkai",
        description="Read government information-disclosure annual reports (政府信息公开工作年度报告) "
        "into a DuckDB warehouse and query it.",
        epilog=top_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = command_parser(
        sub,
        "extract",
        _extract,
        "extract the three tables of report files",
        [
            "gongkai extract data/raw/2023/report.pdf",
            "gongkai extract --json data/raw/2023/*.html > out.jsonl",
        ],
        ("GONGKAI_RAW", "GONGKAI_DEBUG"),
        "Exit status 1 when a file is rejected (the reason is printed). Inside the raw folder the "
        "manifest's agency and year and the year folder apply, as in ingest.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per file per line")

    p = command_parser(
        sub,
        "ingest",
        _ingest,
        "run the Dagster ingestion in-process for some years",
        ["gongkai ingest", "gongkai ingest 2019-2022 --force"],
        _INGEST_ENV,
        "Exit status: 0 every year loaded or up to date and no file rejected; 3 loaded, but some "
        "files were rejected (listed above and in table reports); 1 a run failed, a year was not "
        "loaded, or there was nothing to ingest; 2 a bad year.",
    )
    p.add_argument(
        "years",
        nargs="?",
        metavar="YEAR|FIRST-LAST",
        help="default: every year present (folders and manifest years)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="reload the years even when their files are the ones they were loaded from "
        "(files the parse cache knows are still not parsed again)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="also write the HTML report (data/report.html, as `gongkai report`) when a year was loaded",
    )

    p = command_parser(
        sub,
        "fetch",
        _fetch,
        "download new and changed reports listed in data/sources.csv into the raw folder",
        ["gongkai fetch", "GONGKAI_FETCH_CONTACT=me@example.org gongkai fetch 2023 --sources my-sources.csv"],
        ("GONGKAI_RAW", "GONGKAI_DB", "GONGKAI_SOURCES", "GONGKAI_FETCH_CONTACT", "GONGKAI_DEBUG"),
        "Politely (robots.txt, one request at a time per host, retries with backoff on 5xx/429) and "
        "incrementally (conditional requests; unchanged bytes write nothing; changed bytes are a new "
        "revision). Each URL is logged in table fetch_log; gongkai summary lists failed and broken URLs. "
        "Exit status: 0 every URL new, changed or unchanged; 3 some URLs failed or were not reports "
        "(listed above); 1 nothing to fetch, or sources.csv / manifest.csv cannot be used; 2 a bad year.",
    )
    p.add_argument(
        "years", nargs="?", metavar="YEAR|FIRST-LAST", help="default: every year sources.csv lists"
    )
    p.add_argument(
        "--sources", metavar="FILE", help="default: GONGKAI_SOURCES, else sources.csv beside the raw folder"
    )
    p.add_argument("--contact", help="an e-mail or URL for the User-Agent (default: GONGKAI_FETCH_CONTACT)")
    p.add_argument(
        "--interval", type=float, metavar="S", help="seconds between two requests to one host (default 1)"
    )
    p.add_argument(
        "--timeout", type=float, metavar="S", help="connect and read timeout in seconds (default 30)"
    )
    p.add_argument("--retries", type=int, metavar="N", help="retries on 5xx, 429 and timeouts (default 3)")

    p = command_parser(
        sub,
        "synth",
        _synth,
        "write a synthetic corpus with known answers",
        [
            "gongkai synth --agencies 5 --years 2021-2023",
            "gongkai synth /tmp/raw --count 1000 --formats html=1,pdf=1",
        ],
        ("GONGKAI_RAW", "GONGKAI_CACHE", "GONGKAI_DEBUG"),
    )
    p.add_argument(
        "out", nargs="?", help="raw folder to write (default: the raw folder, GONGKAI_RAW or data/raw)"
    )
    p.add_argument("--agencies", type=int, help="agencies, each reporting every year (default 20)")
    p.add_argument("--years", default="2019-2024", metavar="FIRST-LAST")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--if-empty", action="store_true", help="do nothing if the folder already holds reports")
    p.add_argument("--count", type=int, metavar="N", help="N reports in a mix of formats (see --formats)")
    p.add_argument(
        "--formats",
        metavar="NAME=W,…",
        help="format mix by weight: html, text, pdf, docx, or one text layout (text/cells, text/pipes, "
        "text/tabs, text/spaces, text/runon, markdown); default html=55,text=15,pdf=20,docx=10",
    )
    p.add_argument("--workers", type=int, metavar="N", help="processes for --count/--formats (default 2)")

    command_parser(
        sub,
        "summary",
        _summary,
        "print what the warehouse holds and a year-over-year query",
        ["gongkai summary"],
        _READ_ENV,
    )

    p = command_parser(
        sub,
        "sql",
        _sql,
        "run SQL on the warehouse, read-only",
        [
            'gongkai sql "SELECT year, count(*) FROM reports GROUP BY year ORDER BY year"',
            "gongkai sql --csv - < query.sql > result.csv",
        ],
        _READ_ENV,
        f"{_NULL_NOTE} Several statements (separated by ;) print one result each; with --csv or "
        "--json only one statement is allowed. Repeated column names (SELECT 1 AS a, 2 AS a; "
        "JOIN … USING) are printed as a, a_2, … and said on stderr. See gongkai tables and "
        "gongkai describe NAME for what there is to query.",
    )
    p.add_argument("query", metavar="SQL", help="the SQL ('-' reads it from stdin)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV with a header row (as export writes it)")
    form.add_argument("--json", action="store_true", help="one JSON object per row per line")

    p = command_parser(
        sub,
        "export",
        _export,
        "write a table or view to csv, parquet or xlsx",
        ["gongkai export agency_year_metrics --format xlsx --year 2023 --out metrics.xlsx"],
        _READ_ENV,
        "csv and xlsx: lists joined with |, and a text cell starting with = + - @ (or a tab or CR) "
        "is prefixed with ' so a spreadsheet never runs it as a formula; numbers are untouched.",
    )
    p.add_argument("name", metavar="VIEW_OR_TABLE")
    p.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    p.add_argument("--year", type=int, help="only this report year")
    p.add_argument("--agency", help="only this (canonical) agency")
    p.add_argument("--out", metavar="FILE", help="default: NAME[_YEAR].FORMAT in the current folder")

    p = command_parser(
        sub,
        "report",
        _report,
        "write the HTML report with charts (default data/report.html)",
        ["gongkai report", "gongkai report --years 2021-2023 --region 江苏省 --out jiangsu.html"],
        _READ_ENV,
        "A self-contained page (no network needed): requests by year, rates by level, withholding "
        "reasons, movers, appeal correction rates, data quality. Exit status 1 when there is no "
        "warehouse or the options select no loaded report.",
    )
    p.add_argument("--years", metavar="YEAR|FIRST-LAST", help="default: every year with a report")
    p.add_argument("--region", help="one region: a 省/市/县 path or its start, e.g. 江苏省 or 江苏省/宿迁市")
    p.add_argument("--level", choices=list(taxonomy().levels), help="one agency level")
    p.add_argument(
        "--min-requests",
        type=_min_requests,
        metavar="N",
        help="rank rates only among agencies with at least N requests (default: ranking_min_requests(), 20)",
    )
    p.add_argument("--out", metavar="FILE", help="default: report.html beside the warehouse")

    p = command_parser(
        sub,
        "verify",
        _verify,
        "check the warehouse's invariants; exit 1 if any breaks",
        ["gongkai verify", "gongkai verify --quick"],
        _READ_ENV,
        "Facts only for loaded reports, one fact per template cell, checks consistent with the facts, "
        "no orphan rows, agencies resolved, data files whole. Each broken invariant is printed with "
        "a count and examples.",
    )
    p.add_argument(
        "--quick", action="store_true", help="check data files by size and marks, without decoding them"
    )

    p = command_parser(
        sub,
        "dictionary",
        _dictionary,
        "print the data dictionary (docs/data-dictionary.md)",
        ["gongkai dictionary --check"],
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite docs/data-dictionary.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if docs/data-dictionary.md is stale")

    p = command_parser(
        sub,
        "tables",
        _tables,
        "list every table and view with its description and row count",
        ["gongkai tables", "gongkai tables --count-views"],
        _READ_ENV,
    )
    p.add_argument(
        "--count-views",
        action="store_true",
        help="count the rows of views too (runs each view's query: seconds on a large warehouse)",
    )

    p = command_parser(
        sub,
        "describe",
        _describe,
        "the columns of a table or view: type, Chinese label, description, and the codes it holds",
        ["gongkai describe agency_year_metrics", "gongkai describe applications"],
        _READ_ENV,
    )
    p.add_argument("name", metavar="TABLE_OR_VIEW")

    p = command_parser(
        sub,
        "dagster",
        _dagster,
        "the dagster CLI on gongkai's instance (DAGSTER_HOME, else dagster_home beside the warehouse)",
        ["gongkai dagster dev -w workspace.yaml", "gongkai dagster asset list -m pipelines.definitions"],
        ("GONGKAI_RAW", "GONGKAI_DB", "DAGSTER_HOME", "GONGKAI_DEBUG"),
    )
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="passed to dagster as they are")

    command_parser(
        sub,
        "doctor",
        _doctor,
        "check the environment, paths, writer lock, warehouse and Dagster instance, each with its fix",
        ["gongkai doctor"],
        ("GONGKAI_RAW", "GONGKAI_DB", "DAGSTER_HOME", "GONGKAI_DEBUG"),
        "Exit 0 when every essential check passes (ok or warn), 1 when one FAILs.",
    )
    return parser


def _fail(message: str, code: int) -> int:
    print(f"gongkai: error: {message}", file=sys.stderr)
    return code


def _guarded(run: Callable[[], int]) -> int:
    """Run a command; whatever goes wrong becomes one line on stderr and an exit status."""
    try:
        return int(run())
    except (argparse.ArgumentTypeError, UsageProblem) as exc:
        return _fail(str(exc), USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (| head): nothing more to say, and nothing at exit either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OK
    except MachineFault as exc:  # a full disk, a read-only folder, a damaged warehouse: one line
        print(f"gongkai: {exc}", file=sys.stderr)
        return FAILED
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}", FAILED)
    except Exception as exc:  # the promise: never a traceback, unless asked for
        if os.environ.get("GONGKAI_DEBUG"):
            traceback.print_exc()
        detail = " ".join(str(exc).split()) or "(no message)"
        return _fail(
            f"{type(exc).__name__}: {detail} (unexpected; GONGKAI_DEBUG=1 gongkai … prints the trace)", FAILED
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the error, or the help
        return exc.code if isinstance(exc.code, int) else USAGE
    return _guarded(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
