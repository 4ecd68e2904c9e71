"""The benchmark results as Markdown: printed to the console and written to docs/benchmarks.md."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.accuracy import Tally
from bench.corpus import BREAK_SHARE, CLEAN_SHARE
from bench.machine import Machine, fmt_load
from bench.speed import TARGETS_MS, SpeedRow, Timing, target_group

MAX_LISTED = 40  # wrong cells / rejections listed in full; the rest counted


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    right = ["---:" if i else "---" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(right) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _pct(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.2f} %)" if whole else str(part)


def accuracy_rows(tallies: dict[str, Tally], total_label: str | None = "all") -> list[list[object]]:
    rows = []
    items = list(tallies.items())
    if total_label:
        total = Tally()
        for t in tallies.values():
            total.add(t)
        items.append((f"**{total_label}**", total))
    for kind, t in items:
        rows.append(
            [
                kind,
                t.reports,
                t.ok,
                t.warning,
                t.rejected,
                t.false_ok,
                t.format_wrong,
                t.meta_wrong,
                t.cells,
                _pct(t.correct, t.cells),
                t.blank,
                t.unknown,
                t.expected_null,
                t.unflagged,
                f"**{len(t.wrong)}**" if t.wrong else 0,
            ]
        )
    return rows


ACCURACY_HEADER = (
    "format",
    "reports",
    "ok",
    "warning",
    "rejected",
    "false ok",
    "format wrong",
    "agency/year/template wrong",
    "cells",
    "correct",
    "blank → null",
    "flagged unknown",
    "expected null",
    "unflagged null",
    "wrong",
)


def _ms(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _timing(t: Timing | None) -> tuple[str, str, str]:
    return ("–", "–", "–") if t is None else (_ms(t.wall_ms), _ms(t.cpu_ms), _ms(t.best_ms))


def _met(row: SpeedRow) -> str:
    if row.target_ms is None:
        return "–"
    cpu, wall = row.ours.cpu_ms <= row.target_ms, row.ours.wall_ms <= row.target_ms
    if cpu and wall:
        return "yes"
    return "CPU only" if cpu else "no"


def speed_rows(rows: Iterable[tuple[str, SpeedRow]]) -> list[list[object]]:
    out = []
    for label, r in rows:
        ours, theirs = _timing(r.ours), _timing(r.generic)
        ratio = f"{r.ours.cpu_ms / r.generic.cpu_ms:.1f}×" if r.generic and r.generic.cpu_ms > 0 else "–"
        target = f"≤ {r.target_ms:g}" if r.target_ms else "–"
        out.append(
            [
                label,
                r.docs,
                *ours,
                _ms(r.ours_max_wall),
                r.generic_name or "–",
                *theirs,
                ratio,
                " / ".join(_ms(x) for x in r.round_cpu_ms) or "–",
                target,
                _met(r),
            ]
        )
    return out


SPEED_HEADER = (
    "format",
    "docs",
    "gongkai wall ms",
    "gongkai CPU ms",
    "gongkai best wall ms",
    "slowest doc wall ms",
    "generic reader",
    "generic wall ms",
    "generic CPU ms",
    "generic best wall ms",
    "gongkai/generic (CPU)",
    "gongkai CPU ms per round",
    "target ms",
    "met",
)


def _listing(title: str, items: list[str], empty: str, limit: int = MAX_LISTED) -> list[str]:
    out = [f"### {title}", ""]
    if not items:
        return [*out, empty, ""]
    shown = items[:limit]
    out += ["```", *shown, "```"]
    if len(items) > len(shown):
        out.append(f"… and {len(items) - len(shown)} more.")
    return [*out, ""]


def _targets(speed: list[SpeedRow]) -> list[str]:
    out = []
    groups = {"text": "text (all text layouts, Markdown)", "html": "HTML", "docx": "DOCX", "pdf": "PDF"}
    for group, label in groups.items():
        rows = [r for r in speed if target_group(r.kind) == group]
        if not rows:
            continue
        worst_cpu = max(r.ours.cpu_ms for r in rows)
        worst_wall = max(r.ours.wall_ms for r in rows)
        met = worst_cpu <= TARGETS_MS[group]
        out.append(
            f"- {label}: target ≤ {TARGETS_MS[group]:g} ms per report — slowest format median "
            f"{_ms(worst_cpu)} ms CPU / {_ms(worst_wall)} ms wall: **{'met' if met else 'NOT met'}**"
        )
    return out


def markdown(
    *,
    args: argparse.Namespace,
    machine: Machine,
    loads: dict[str, tuple[float, float, float]],
    elapsed_s: float,
    accuracy: dict[str, Tally],
    real_accuracy: dict[str, Tally],
    speed: list[SpeedRow],
    real_speed: list[tuple[str, SpeedRow]],
    notes: list[str],
    shared: Path | None,
    calibration: list[float] | None = None,
) -> str:
    total = Tally()
    for t in accuracy.values():
        total.add(t)
    wrong = [w.describe() for t in [*accuracy.values(), *real_accuracy.values()] for w in t.wrong]
    rejections = [r for t in [*accuracy.values(), *real_accuracy.values()] for r in t.rejections]
    meta = [m for t in accuracy.values() for m in t.meta_notes]
    reasons = [
        f"{kind}: {reason}: {n}" for kind, t in accuracy.items() for reason, n in t.reasons.most_common()
    ]
    command = "uv run python -m bench.run" + (" --quick" if args.quick else "")
    command += f" --seed {args.seed} --per-format {args.per_format}"
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` (also `make bench`) on {machine.started}, in {elapsed_s:.0f} s. "
        "Every figure below comes from that run; rerun to refresh.",
        "",
        "## Machine",
        "",
        f"- CPU: {machine.cpu}; `nproc` = {machine.nproc}; Python {machine.python}",
        f"- code measured: commit {machine.code}",
        *[f"- load average (1/5/15 min) at {when}: {fmt_load(load)}" for when, load in loads.items()],
        "- The machine is shared: wall times move with its load, and CPU times too when a neighbour's "
        "load slows the CPU itself (stretches of minutes run up to twice as slow).",
        *(
            [
                "- calibration (a fixed pure-Python workload, CPU ms) per timing round: "
                + " / ".join(_ms(x) for x in calibration)
            ]
            if calibration
            else []
        ),
        "",
        "## Method",
        "",
        f"- **Corpus**: {total.reports} synthetic reports, {args.per_format} per format, seed {args.seed}, "
        "made by `synth` with known answers. Each report has its own random stream "
        "(`random.Random('<seed>:<format>:<index>')`): templates 2019, 2021 and 2021 with a single "
        f"（六）其他处理 row in turn; a planted identity break in {BREAK_SHARE:.0%}; 0–8 blank cells "
        f"(sometimes a whole 总计 column); `Quirks.random` in {1 - CLEAN_SHARE:.0%}, none in the rest.",
        "- **Formats**: the text layouts (`text/cells`, `text/pipes`, `text/tabs`, `text/spaces` as "
        "`pdftotext -layout` prints, `text/runon` as archived pages with every cell run together), "
        "Markdown (converter damage: detached labels, sometimes a dropped cell), HTML, DOCX, and "
        "through LibreOffice (one `soffice` start per batch of files) DOC from the DOCX, PDF with ruled "
        "tables and PDF without rulings (`pdf/unruled`, read from text positions as `pdf/spaces`). "
        "File names carry no year: agency, year and template come from the document.",
        "- **Accuracy**: every template cell of every accepted report is compared with the truth (value "
        "and unit). *correct*: the printed number; *blank → null*: null where the report printed a "
        "blank or a dash (also correct); *flagged unknown*: null with a flag where a value was printed; "
        "*expected null*: null where no reader could know the value — run-on digit strings that "
        "several splits fit (flagged `ambiguous`) and Markdown rows that lost a cell; *unflagged null*: "
        "null with no flag where a value was printed; **wrong**: a number that differs from the truth "
        "or a number where the report printed nothing — must be 0. *false ok*: status `ok` although "
        "the report has a blank, a broken identity or a missed cell — must be 0. *format wrong*, "
        "*agency/year/template wrong*: the detected format, or the metadata, differs from the truth.",
        "- **Speed**: `extract_bytes` (reading, template mapping, identity checks, report) timed warm: "
        f"each document once untimed, then {args.reps} runs (DOC: 2), the document's median; the table "
        f"gives the median over documents. The timing is done in {args.rounds} rounds, minutes apart, each "
        "over every format and real document; a format's figures are from its fastest round (lowest "
        "median CPU), and every round's median CPU time is shown beside them (DOC: one round). Beside it, on the same files, the generic reader a user "
        "would reach for, which only gets at the cells: `str.split` of lines and tabs for text, "
        "lxml table-cell iteration for HTML, python-docx reading every cell's text for DOCX, "
        "pdfplumber `page.extract_tables()` on every page for PDF. Targets are judged on CPU time "
        "(wall time is shown too); *best* is each document's fastest run (median over documents), "
        "nearest to what an idle machine gives. A DOC's time is a LibreOffice conversion in a child process, so "
        "its CPU time is not counted and it has no target.",
        "",
        "## Accuracy: synthetic corpus",
        "",
        *table(ACCURACY_HEADER, accuracy_rows(accuracy)),
        "",
        *_listing(
            "Wrong cells (accepted, non-null, differing from the truth)",
            wrong,
            "None: no accepted cell differs from the truth.",
        ),
        *_listing("Rejected reports", rejections, "None."),
        *_listing("Format and metadata mismatches", meta, "None.", limit=10),
        *_listing("Why cells were flagged unknown (flag reason: cells)", reasons, "No cell was flagged."),
    ]
    if notes:
        lines += _listing("Notes", notes, "")
    lines += ["## Accuracy: real documents", ""]
    if real_accuracy:
        lines += [
            f"The seeds and realdocs from `{shared.name if shared else 'shared'}/` against their hand-made "
            "`.expected.json` (values only; those files carry no units). The agency is not compared: "
            "several expectations leave it null.",
            "",
            *table(ACCURACY_HEADER, accuracy_rows(real_accuracy)),
            "",
        ]
    else:
        lines += ["The shared real documents were not present: not measured.", ""]
    lines += [
        "## Speed: per report, synthetic corpus",
        "",
        *table(SPEED_HEADER, speed_rows((r.kind, r) for r in speed)),
        "",
        "## Speed: real documents",
        "",
    ]
    if real_speed:
        lines += [*table(SPEED_HEADER, speed_rows(real_speed)), ""]
    else:
        lines += ["The shared real documents were not present: not measured.", ""]
    lines += ["## Targets", "", *_targets(speed), ""]
    return "\n".join(lines)
