"""Accuracy: extract every corpus file and compare each template cell with the truth.

A cell is *correct* (the printed number), *blank* (null where the report printed nothing: also
correct), *flagged unknown* (null, with a flag, where the report printed a value: the extractor
knew it could not read it), *expected null* (null where nobody could read the value from the
file: run-on digits several splits fit, Markdown rows that lost a cell), *unflagged null* (null
where a value was printed, with no flag) or *wrong* (a number that differs from the truth, or a
number where the report printed nothing). Wrong must be 0: a null is recoverable, a wrong
number silently corrupts the warehouse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from bench.corpus import Case
from extract import extract_bytes
from extract.glued import AMBIGUOUS
from extract.readers import reader_for
from schemas.taxonomy import CELL_TABLES, taxonomy
from synth.corpus import expected_json

TABLES = CELL_TABLES
SNIPPET_ROWS = 3
SNIPPET_CHARS = 220


@dataclass
class Wrong:
    where: str  # the case label (kind, index, seed) or the real file's name
    table: str
    row: str
    column: str
    truth: Any
    got: Any
    snippet: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"{self.where}: {self.table} {self.row}/{self.column}: truth {self.truth!r}, got {self.got!r}"
        ]
        lines += [f"    | {s}" for s in self.snippet]
        return "\n".join(lines)


@dataclass
class Tally:
    """Counts for one format (or one document): reports by status, cells by outcome."""

    reports: int = 0
    ok: int = 0
    warning: int = 0
    rejected: int = 0
    false_ok: int = 0  # status ok, yet the truth has a blank, a broken identity, or a cell was missed
    format_wrong: int = 0  # detected format differs from the rendered one
    meta_wrong: int = 0  # agency, year or template differs from the truth
    cells: int = 0  # template cells of accepted reports
    correct: int = 0
    blank: int = 0
    unknown: int = 0
    expected_null: int = 0
    unflagged: int = 0
    wrong: list[Wrong] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    meta_notes: list[str] = field(default_factory=list)  # what the format/meta mismatches were
    reasons: Counter[str] = field(default_factory=Counter)  # flag reasons of the flagged-unknown cells

    def add(self, other: Tally) -> None:
        for name in ("reports", "ok", "warning", "rejected", "false_ok", "format_wrong", "meta_wrong"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("cells", "correct", "blank", "unknown", "expected_null", "unflagged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.wrong += other.wrong
        self.rejections += other.rejections
        self.meta_notes += other.meta_notes
        self.reasons += other.reasons


def _cells(doc: dict[str, Any], table: str) -> dict[tuple[str, str], dict[str, Any]]:
    keys, _ = TABLES[table]
    return {(c[keys[0]], c[keys[1]]): c for c in doc.get(table) or []}


def score_cells(
    got: dict[str, Any],
    expected: dict[str, Any],
    where: str,
    *,
    expected_null: Callable[[str, str, str | None], bool] = lambda table, row, reason: False,
) -> Tally:
    """Cell outcomes of one accepted report. ``expected_null(table, row, flag reason)`` says
    whether a null where a value was printed is what any reader must produce. Units are
    compared when the truth carries them (synthetic reports do, real expectations do not)."""
    t = Tally()
    flags = {(f["table"], f["row"], f["column"]): f["reason"] for f in got.get("flags") or []}
    for table, (_, field_name) in TABLES.items():
        g_cells, e_cells = _cells(got, table), _cells(expected, table)
        for key in [*e_cells, *(k for k in g_cells if k not in e_cells)]:
            g, e = g_cells.get(key), e_cells.get(key)
            truth = None if e is None else e[field_name]
            value = None if g is None else g[field_name]
            t.cells += e is not None
            if value is None:
                reason = flags.get((table, *key))
                if e is None:
                    continue  # a cell of another template, left null: harmless
                if truth is None:
                    t.blank += 1
                elif expected_null(table, key[0], reason):
                    t.expected_null += 1
                elif reason is not None:
                    t.unknown += 1
                    t.reasons[reason.split(":")[0]] += 1  # the reason without the cell's text
                else:
                    t.unflagged += 1
                continue
            same = truth is not None and value == truth
            if same and e is not None and "unit" in e and g is not None and g.get("unit") != e["unit"]:
                same = False
            if same:
                t.correct += 1
            else:
                shown_truth = truth if e is None or "unit" not in e else (truth, e["unit"])
                shown_got = value if e is None or "unit" not in e or g is None else (value, g.get("unit"))
                t.wrong.append(Wrong(where, table, key[0], key[1], shown_truth, shown_got))
    return t


# ---------------------------------------------------------------------------- snippets


def _norm(text: str) -> str:
    return text.replace(" ", "").replace("(", "（").replace(")", "）").replace("\n", "")


def _row_label(table: str, row: str, template: str | None) -> str | None:
    tax = taxonomy()
    if table == "applications":
        return next((c.leaf for c in tax.categories if c.code == row), None)
    if table == "proactive":
        items = [i for t in tax.proactive.values() for i in t]
        return next((i.label for i in items if i.code == row), None)
    return None  # table 四 is one row of numbers under a header


def snippet(data: bytes, name: str, wrong: Wrong, template: str | None) -> list[str]:
    """The reader's rows around a wrong cell: those naming its row label, else holding its value."""
    reader = reader_for(PurePath(name).suffix.lower(), data)
    if reader is None:
        return []
    try:
        rows = reader.read(data).rows
    except Exception as exc:  # a snippet must never hide the finding itself
        return [f"(reader failed: {exc})"]
    label = _row_label(wrong.table, wrong.row, template)
    hits = [i for i, r in enumerate(rows) if label and _norm(label) in _norm("".join(r))]
    if not hits:
        got = wrong.got[0] if isinstance(wrong.got, tuple) else wrong.got
        hits = [i for i, r in enumerate(rows) if str(got) in r and sum(c.strip().isdigit() for c in r) >= 3]
    return [f"row {i}: {rows[i]!r}"[:SNIPPET_CHARS] for i in hits[:SNIPPET_ROWS]]


# ---------------------------------------------------------------------------- synthetic corpus


def _meta_ok(got: dict[str, Any], case: Case) -> bool:
    r = case.report
    return (got.get("agency"), got.get("year"), got.get("template")) == (r.agency, r.year, r.template)


def score_case(case: Case, got: dict[str, Any]) -> Tally:
    t = Tally(reports=1)
    if got["status"] == "rejected":
        t.rejected = 1
        t.rejections.append(f"{case.label}: {got.get('error')}")
        return t
    t.ok, t.warning = got["status"] == "ok", got["status"] == "warning"
    t.format_wrong = got.get("format") != case.expected_format
    t.meta_wrong = not _meta_ok(got, case)
    if t.format_wrong or t.meta_wrong:
        r = case.report
        t.meta_notes.append(
            f"{case.label}: got {got.get('format')!r}, {got.get('agency')!r}, {got.get('year')}, "
            f"{got.get('template')!r}; truth {case.expected_format!r}, {r.agency!r}, {r.year}, {r.template!r}"
        )

    def expected_null(table: str, row: str, reason: str | None) -> bool:
        if case.kind == "text/runon":  # digits run together that several splits fit
            return reason == AMBIGUOUS
        return (table, row) in case.damaged or (table == "appeals" and ("appeals", "appeals") in case.damaged)

    cells = score_cells(got, expected_json(case.report), case.label, expected_null=expected_null)
    for w in cells.wrong:
        w.snippet = snippet(case.data, case.name, w, case.report.template)
    t.add(cells)
    missed = cells.unknown + cells.expected_null + cells.unflagged + len(cells.wrong)
    t.false_ok = got["status"] == "ok" and (case.report.expected_status != "ok" or missed > 0)
    return t


def _extract(case: Case) -> dict[str, Any]:
    return extract_bytes(case.data, case.name).to_json()


def run_accuracy(cases: list[Case], workers: int = 2) -> dict[str, Tally]:
    """Per-kind tallies. DOC extraction waits on LibreOffice, so those run two at a time."""
    slow = [c for c in cases if c.kind == "doc"]
    results: dict[int, dict[str, Any]] = {}
    with ThreadPoolExecutor(workers) as pool:
        pending = {id(c): pool.submit(_extract, c) for c in slow}
        for c in cases:
            if c.kind != "doc":
                results[id(c)] = _extract(c)
        results |= {k: f.result() for k, f in pending.items()}
    tallies: dict[str, Tally] = {}
    for c in cases:
        tallies.setdefault(c.kind, Tally()).add(score_case(c, results[id(c)]))
    return tallies


# ---------------------------------------------------------------------------- real documents


def real_documents(shared: Path) -> list[tuple[Path, Path | None]]:
    """(file, its .expected.json or None): the seeds and the realdocs, when present."""
    found = []
    for pattern in ("seeds/*.txt", "realdocs/*.html", "realdocs/*.pdf", "realdocs/*.txt", "realdocs/*.docx"):
        for path in sorted(shared.glob(pattern)):
            expected = path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json")
            found.append((path, expected if expected.is_file() else None))
    return found


def score_real(files: Iterable[tuple[Path, Path | None]]) -> dict[str, Tally]:
    """Per-file tallies against the hand-made expectations (values only: they carry no units)."""
    import json

    out: dict[str, Tally] = {}
    for path, expected_path in files:
        if expected_path is None:
            continue
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        got = extract_bytes(path.read_bytes(), path.name).to_json()
        t = Tally(reports=1)
        if got["status"] == "rejected":
            t.rejected = 1
            t.rejections.append(f"{path.name}: {got.get('error')}")
        else:
            t.ok, t.warning = got["status"] == "ok", got["status"] == "warning"
            t.meta_wrong = (got.get("year"), got.get("template")) != (expected["year"], expected["template"])
            cells = score_cells(got, expected, path.name)
            for w in cells.wrong:
                w.snippet = snippet(path.read_bytes(), path.name, w, expected["template"])
            t.add(cells)
        out[f"{path.parent.name}/{path.name}"] = t
    return out
