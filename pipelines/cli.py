"""The ``gongkai`` command line: extract, ingest, synth, summary, sql, export, verify, dictionary.

Exit codes: 0 success; 1 some input was rejected or a run failed; 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from warehouse.faults import MachineFault


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
        summary = run_ingest(years, on_progress=on_progress, force=args.force)
    print_summary(summary)
    return 0 if summary.success else 1


def _synth(args: argparse.Namespace) -> int:
    out = Path(args.out)
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


def _summary(args: argparse.Namespace) -> int:
    from pipelines.progress import print_warehouse_summary

    return print_warehouse_summary()


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    return float(value) if hasattr(value, "as_integer_ratio") else str(value)  # Decimal → float


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.tables import print_frame
    from warehouse.access import fetch_sql
    from warehouse.paths import db_path

    sql = args.query if args.query != "-" else sys.stdin.read()
    try:
        frame = fetch_sql(db_path(), sql)
    except FileNotFoundError as exc:
        print(f"gongkai: {exc}", file=sys.stderr)
        return 1
    except duckdb.Error as exc:
        print(f"gongkai: sql error: {exc}", file=sys.stderr)
        return 1
    if args.csv:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(frame.columns)
        for row in frame.iter_rows():
            writer.writerow(
                "|".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v) for v in row
            )
    elif args.json:
        for row in frame.iter_rows(named=True):
            print(json.dumps(_jsonable(row), ensure_ascii=False))
    else:
        print_frame(frame)
    return 0


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
        print(f"gongkai: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"gongkai: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {rows} rows of {args.name} to {out}")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gongkai", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("extract", help="extract the three tables of report files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per file per line")
    p.set_defaults(func=_extract)

    p = sub.add_parser("ingest", help="run the Dagster ingestion in-process for some years")
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
    p.set_defaults(func=_ingest)

    p = sub.add_parser("synth", help="write a synthetic corpus with known answers")
    p.add_argument("out", nargs="?", default="data/raw", help="raw folder to write (default data/raw)")
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
    p.set_defaults(func=_synth)

    p = sub.add_parser("summary", help="print what the warehouse holds and a year-over-year query")
    p.set_defaults(func=_summary)

    p = sub.add_parser("sql", help="run one query on the warehouse, read-only")
    p.add_argument("query", metavar="SQL", help="the query ('-' reads it from stdin)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV with a header row")
    form.add_argument("--json", action="store_true", help="one JSON object per row per line")
    p.set_defaults(func=_sql)

    p = sub.add_parser("export", help="write a table or view to csv, parquet or xlsx")
    p.add_argument("name", metavar="VIEW_OR_TABLE")
    p.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    p.add_argument("--year", type=int, help="only this report year")
    p.add_argument("--agency", help="only this (canonical) agency")
    p.add_argument("--out", metavar="FILE", help="default: NAME[_YEAR].FORMAT in the current folder")
    p.set_defaults(func=_export)

    p = sub.add_parser("verify", help="check the warehouse's invariants; exit 1 if any breaks")
    p.add_argument(
        "--quick", action="store_true", help="check data files by size and marks, without decoding them"
    )
    p.set_defaults(func=_verify)

    p = sub.add_parser("dictionary", help="print the data dictionary (docs/data-dictionary.md)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite docs/data-dictionary.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if docs/data-dictionary.md is stale")
    p.set_defaults(func=_dictionary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except argparse.ArgumentTypeError as exc:
        parser.print_usage(sys.stderr)
        print(f"gongkai: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except MachineFault as exc:  # a full disk, a read-only folder, a damaged warehouse: one line
        print(f"gongkai: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
