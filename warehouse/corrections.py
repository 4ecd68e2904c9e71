"""Corrections by people: ``data/corrections.csv`` read, matched to reports and applied at load.

A person who reads a flagged cell in the source writes one line::

    file,sha256,table,row,column,value,override,note,who
    2022/some-agency.pdf,3f2a9c0b1d4e5f60,applications,new_received,natural_person,12,,"page 4, the scan is clear",lin

``file`` is the path under the raw folder and ``sha256`` the file's sha256 (the 16-character
``report_id`` of ``cell_flags`` is enough); at least one of the two. ``table`` is applications,
proactive or appeals; ``row`` and ``column`` are TAXONOMY.md codes (category / item /
proceeding, then applicant type / measure / outcome).

What a line does (table ``corrections`` keeps every line that names a loaded report):

- **applied**: the fact gets ``value``; the identities of the report are checked again with it
  and its warnings say so. The printed value and kind stay in ``corrections``.
- **stale**: the file changed since the line was written (another sha256 at ``file``, or no
  report with that sha256 any more): not applied, until a person looks again.
- **needs_override**: the cell was read without doubt (a number, not flagged): a correction
  replaces it only when the line says ``override`` — and pins the file by its sha256, so that an
  override never lands on a later version of the report.
- **unknown_cell**: the table, row or column is not a cell of this report's template, or the
  value is not a number.
- **conflict**: two lines give one cell different values: neither is applied.
- **duplicate**: a line repeats an earlier one (same cell, same value): the earlier one applies.

A line that names no report at all (no such path, no such sha256) is returned as unmatched: the
CLI prints it, so a typo is never silent.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from extract.identities import compute_checks
from extract.matcher import Cell, Tables
from schemas.taxonomy import CELL_TABLES, TEMPLATES, taxonomy
from warehouse.frames import SCHEMAS

COLUMNS = ("file", "sha256", "table", "row", "column", "value", "override", "note", "who")
REQUIRED = ("table", "row", "column", "value")
_HEX = re.compile(r"^[0-9a-f]{16,64}$")
_TRUE = {"override", "yes", "y", "true", "1", "x"}


class CorrectionsFileError(ValueError):
    """corrections.csv cannot be read at all (its header): one line, naming the file."""


@dataclass(frozen=True)
class Correction:
    line: int  # in corrections.csv (the header is line 1)
    file: str | None
    sha256: str | None
    table: str
    row: str
    column: str
    value: float | None  # None: the value is not a number (the line is reported, never applied)
    override: bool
    note: str | None
    who: str | None
    problem: str | None = None  # why the line cannot apply to any report, when it cannot

    def names(self, sha256: str, source_path: str) -> bool:
        if self.sha256 is not None:
            return sha256.startswith(self.sha256)
        return self.file == source_path


def read_corrections(path: Path) -> list[Correction]:
    """The lines of ``path`` (none when it does not exist). A line with a bad field is kept with
    its ``problem``; a file without the needed columns is an error."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorrectionsFileError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing or not ({"file", "sha256"} & set(header)):
        need = ", ".join(missing) or "file or sha256"
        raise CorrectionsFileError(f"{path}: the header lacks {need} (columns: {', '.join(COLUMNS)})")
    reader.fieldnames = header
    out = []
    for row in reader:
        fields = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(fields.values()):
            continue
        out.append(_correction(reader.line_num, fields))
    return out


def _correction(line: int, f: dict[str, str]) -> Correction:
    problem = None
    sha = f.get("sha256", "").lower() or None
    file = f.get("file", "").replace("\\", "/").lstrip("./") or None
    if sha is not None and not _HEX.match(sha):
        problem = f"sha256 {sha!r} is not 16 to 64 hex digits"
    if sha is None and file is None:
        problem = "names no file: give file (the path under the raw folder) or sha256"
    table, row, column = f.get("table", ""), f.get("row", ""), f.get("column", "")
    if problem is None and table not in CELL_TABLES:
        problem = f"table {table!r} is not one of applications, proactive, appeals"
    value: float | None = None
    try:
        value = float(f.get("value", "").replace(",", ""))
    except ValueError:
        problem = problem or f"value {f.get('value')!r} is not a number"
    return Correction(
        line=line,
        file=file,
        sha256=sha,
        table=table,
        row=row,
        column=column,
        value=value,
        override=f.get("override", "").lower() in _TRUE,
        note=f.get("note") or None,
        who=f.get("who") or None,
        problem=problem,
    )


# ------------------------------------------------------------------------------ one year's reports
FactsOf = Callable[[pl.DataFrame], dict[str, pl.DataFrame]]


@dataclass
class YearCorrections:
    """What the corrections do to one year's load."""

    reports: pl.DataFrame  # the year's report rows, corrected ones with their warnings and nulls
    corrected: set[str] = field(default_factory=set)  # reports whose facts come from ``facts``
    facts: dict[str, pl.DataFrame] = field(default_factory=dict)  # their fact tables, corrected
    table: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SCHEMAS["corrections"]))
    matched_lines: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return dict(self.table.group_by("status").len().iter_rows()) if self.table.height else {}


def correct_year(corrections: list[Correction], reports: pl.DataFrame, facts_of: FactsOf) -> YearCorrections:
    """Match ``corrections`` to ``reports`` (one year's rows, with ``key``) and apply them.

    ``facts_of`` gives the fact frames of some report rows (the parse cache's). Only the reports
    that some line names are read and rewritten; the others are untouched."""
    result = YearCorrections(reports)
    if not corrections or reports.height == 0:
        return result
    loaded = reports.filter(pl.col("status").is_in(["ok", "warning"]))
    rows = loaded.select("report_id", "sha256", "source_path").rows()
    by_path = {p: (rid, sha) for rid, sha, p in rows}
    hits: dict[str, list[Correction]] = {}
    stale: dict[str, list[tuple[Correction, str]]] = {}
    for c in corrections:
        named = [rid for rid, sha, p in rows if c.names(sha, p)]
        if c.sha256 is not None and c.file is not None and c.file in by_path:
            rid, sha = by_path[c.file]
            if not sha.startswith(c.sha256):  # the file at that path is another version now
                stale.setdefault(rid, []).append((c, f"{c.file} changed: its sha256 is now {sha[:16]}…"))
                result.matched_lines.add(c.line)
                continue
        if not named and c.sha256 is not None and c.file is not None and c.file in by_path:
            named = [by_path[c.file][0]]
        for rid in named:
            hits.setdefault(rid, []).append(c)
            result.matched_lines.add(c.line)
    if not hits and not stale:
        return result
    touched = loaded.filter(pl.col("report_id").is_in(sorted(hits.keys() | stale.keys())))
    facts = facts_of(touched)
    lines: list[dict] = []
    notes: dict[str, list[str]] = {}
    for rid in touched["report_id"].to_list():
        report = touched.filter(pl.col("report_id") == rid).row(0, named=True)
        for c, reason in stale.get(rid, []):
            lines.append(_line(c, report, None, "stale", reason))
            notes.setdefault(rid, []).append(f"line {c.line} stale")
        first: dict[tuple[str, str, str], Correction] = {}
        for c in hits.get(rid, []):
            cell = (c.table, c.row, c.column)
            values = {o.value for o in hits[rid] if (o.table, o.row, o.column) == cell and o.problem is None}
            if c.problem is None and len(values) > 1:
                # Two lines disagree on one cell: which is right is a person's call, not ours.
                others = sorted(
                    o.line for o in hits[rid] if (o.table, o.row, o.column) == cell and o is not c
                )
                reason = f"another value for this cell on line {', '.join(map(str, others))}: none applied"
                lines.append(_line(c, report, None, "conflict", reason))
            elif c.problem is None and cell in first:
                reason = f"the same correction as line {first[cell].line}, which applies"
                lines.append(_line(c, report, None, "duplicate", reason))
            else:
                if c.problem is None:
                    first[cell] = c
                lines.append(_apply(c, report, facts))
            status = lines[-1]["status"]
            notes.setdefault(rid, []).append(
                f"{c.table} {c.row}/{c.column} = {_number(c.value)} (line {c.line})"
                if status == "applied"
                else f"line {c.line} {status}"
            )
    result.table = pl.DataFrame(lines, schema=SCHEMAS["corrections"], orient="row")
    applied = result.table.filter(pl.col("status") == "applied")
    result.corrected = set(touched["report_id"].to_list())
    result.facts = _recheck(facts, applied, touched)
    result.reports = _annotate(reports, result.facts, notes)
    return result


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


def _line(
    c: Correction, report: dict, printed: tuple[float | None, str] | None, status: str, reason: str | None
) -> dict:
    return {
        "report_id": report["report_id"],
        "year": report["year"],
        "source_path": report["source_path"],
        "table_name": c.table,
        "row_code": c.row,
        "column_code": c.column,
        "printed_value": printed[0] if printed else None,
        "printed_kind": printed[1] if printed else None,
        "corrected_value": c.value,
        "status": status,
        "reason": reason,
        "override": c.override,
        "note": c.note,
        "who": c.who,
        "line": c.line,
    }


def _apply(c: Correction, report: dict, facts: dict[str, pl.DataFrame]) -> dict:
    """Apply one line to ``facts`` (in place) when it may; its ``corrections`` row."""
    if c.problem is not None:
        return _line(c, report, None, "unknown_cell", c.problem)
    (row_col, col_col), value_col = CELL_TABLES[c.table]
    frame = facts[c.table]
    at = (
        (pl.col("report_id") == report["report_id"])
        & (pl.col(row_col) == c.row)
        & (pl.col(col_col) == c.column)
    )
    found = frame.filter(at)
    if found.height != 1:
        return _line(
            c,
            report,
            None,
            "unknown_cell",
            f"{c.row}/{c.column} is not a cell of {c.table} in this report's template",
        )
    if value_col == "count" and (c.value is None or not float(c.value).is_integer() or c.value < 0):
        return _line(c, report, None, "unknown_cell", f"a count must be a whole number ≥ 0, not {c.value}")
    printed = found[value_col][0]
    flags = facts["cell_flags"].filter(
        (pl.col("report_id") == report["report_id"])
        & (pl.col("table_name") == c.table)
        & (pl.col("row_code") == c.row)
        & (pl.col("column_code") == c.column)
    )
    kind = flags["kind"][0] if flags.height else "read"
    before = (None if printed is None else float(printed), kind)
    if kind == "read" and not c.override:
        return _line(
            c,
            report,
            before,
            "needs_override",
            "the cell was read without doubt: add `override` to replace it",
        )
    if kind == "read" and c.sha256 is None:
        return _line(
            c,
            report,
            before,
            "needs_override",
            "an override must name the file's sha256 (it pins the version read)",
        )
    value = int(c.value) if value_col == "count" else c.value  # type: ignore[arg-type]
    facts[c.table] = frame.with_columns(
        pl.when(at)
        .then(pl.lit(value))
        .otherwise(pl.col(value_col))
        .cast(frame.schema[value_col])
        .alias(value_col)
    )
    facts["cell_flags"] = facts["cell_flags"].filter(
        ~(
            (pl.col("report_id") == report["report_id"])
            & (pl.col("table_name") == c.table)
            & (pl.col("row_code") == c.row)
            & (pl.col("column_code") == c.column)
        )
    )
    return _line(c, report, before, "applied", None)


def _recheck(
    facts: dict[str, pl.DataFrame], applied: pl.DataFrame, touched: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """Identities A–D of every corrected report, computed again from its corrected cells."""
    redo = set(applied["report_id"].to_list())
    if not redo:
        return facts
    checks = [facts["checks"].filter(~pl.col("report_id").is_in(sorted(redo)))]
    for report in touched.filter(pl.col("report_id").is_in(sorted(redo))).iter_rows(named=True):
        rid = report["report_id"]
        tables = _tables(facts, rid, report["template"])
        rows = [
            {
                "report_id": rid,
                "year": report["year"],
                "rule": c.rule,
                "subject": c.subject,
                "expected": None if c.expected is None else float(c.expected),
                "actual": None if c.actual is None else float(c.actual),
                "passed": c.passed,
            }
            for c in compute_checks(tables)
        ]
        checks.append(pl.DataFrame(rows, schema=SCHEMAS["checks"], orient="row"))
    return facts | {"checks": pl.concat(checks)}


def _tables(facts: dict[str, pl.DataFrame], rid: str, template: str | None) -> Tables:
    def cells(table: str) -> dict[tuple[str, str], Cell]:
        (a, b), value = CELL_TABLES[table]
        frame = facts[table].filter(pl.col("report_id") == rid)
        return {(r, c): Cell(v) for r, c, v in frame.select(a, b, value).iter_rows()}

    applications = cells("applications")
    tax = taxonomy()
    categories = {r for r, _c in applications}
    single = categories == set(tax.category_codes(single_other_row=True))
    return Tables(
        template=template or TEMPLATES[-1],
        single_other_row=single,
        applications=applications,
        proactive=cells("proactive"),
        appeals=cells("appeals"),
    )


def _annotate(
    reports: pl.DataFrame, facts: dict[str, pl.DataFrame], notes: dict[str, list[str]]
) -> pl.DataFrame:
    """Corrected reports' rows: nulls counted again, the corrections and identities in warnings."""
    nulls = dict(facts["cell_flags"].group_by("report_id").len().iter_rows())
    failing = dict(
        facts["checks"].filter(pl.col("passed") == False).group_by("report_id").len().iter_rows()  # noqa: E712
    )
    extra = {
        rid: "corrected by hand (corrections.csv): "
        + "; ".join(parts)
        + (
            f"; identities fail after correction: {failing[rid]}"
            if failing.get(rid)
            else "; identities re-checked"
        )
        for rid, parts in notes.items()
    }
    note = pl.col("report_id").replace_strict(extra, default=None, return_dtype=pl.String())
    return reports.with_columns(
        warnings=pl.when(note.is_null())
        .then(pl.col("warnings"))
        .otherwise(pl.concat_str([pl.col("warnings"), note], separator="; ", ignore_nulls=True)),
        null_cells=pl.when(note.is_null())
        .then(pl.col("null_cells"))
        .otherwise(pl.col("report_id").replace_strict(nulls, default=0, return_dtype=pl.Int64())),
        status=pl.when(note.is_null() | (pl.col("status") != "ok"))
        .then(pl.col("status"))
        .otherwise(pl.lit("warning")),
    )
