"""Human-readable rendering of an extracted report (``gongkai extract`` without ``--json``)."""

from __future__ import annotations

import unicodedata
from typing import Any

from extract.report import Report
from schemas.taxonomy import taxonomy

NULL_MARK = "·"  # printed blank or dash: null by design
FLAG_MARK = "?"  # could not be read: null and flagged


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _fmt(value: Any, flagged: bool) -> str:
    if flagged:
        return FLAG_MARK
    if value is None:
        return NULL_MARK
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _short(label: str, limit: int = 44) -> str:
    """A row label cut to ``limit`` display columns (a CJK character is 2), ending in …."""
    if _width(label) <= limit:
        return label
    out = ""
    for ch in label:
        if _width(out + ch) > limit - 1:
            break
        out += ch
    return out + "…"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(h, w, right=i > 0) for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    for row in rows:
        lines.append(
            "  ".join(_pad(c, w, right=i > 0) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
    return lines


def render_report(report: Report) -> str:
    tax = taxonomy()
    out = [
        f"{report.file}: {report.status}"
        + (f" — {report.error}" if report.error else "")
        + f"  [agency {report.agency or '?'} ({report.agency_source or 'unknown'}), year {report.year or '?'}"
        f" ({report.year_source or 'unknown'}), template {report.template or '?'}, {report.format or '?'}]"
    ]
    if not report.loaded:
        return "\n".join(out)
    flagged = {(f["table"], f["row"], f["column"]) for f in report.flags}

    out.append("\n二、主动公开政府信息情况")
    items = {i.code: i for i in tax.proactive[report.template or "2021"]}
    rows = []
    for cell in report.proactive:
        item = items[cell["item"]]
        measure = next(m for m in item.measures if m.code == cell["measure"])
        value = _fmt(cell["value"], ("proactive", cell["item"], cell["measure"]) in flagged)
        unit = f" {cell['unit']}" if cell.get("unit") and cell["value"] is not None else ""
        rows.append([item.label, measure.label, value + unit])
    out += _grid(["项目", "指标", "数值"], rows)

    out.append("\n三、收到和处理政府信息公开申请情况")
    applicants = tax.applicant_codes
    header = ["", *(a.label for a in tax.applicant_types)]
    by_row: dict[str, dict[str, str]] = {}
    for cell in report.applications:
        mark = ("applications", cell["category"], cell["applicant_type"]) in flagged
        by_row.setdefault(cell["category"], {})[cell["applicant_type"]] = _fmt(cell["count"], mark)
    rows = [[_short(tax.category(code).label), *(by_row[code][a] for a in applicants)] for code in by_row]
    out += _grid(header, rows)

    out.append("\n四、政府信息公开行政复议、行政诉讼情况")
    by_proc: dict[str, dict[str, str]] = {}
    for cell in report.appeals:
        mark = ("appeals", cell["proceeding"], cell["outcome"]) in flagged
        by_proc.setdefault(cell["proceeding"], {})[cell["outcome"]] = _fmt(cell["count"], mark)
    labels = {p.code: p.label for p in tax.appeal_proceedings}
    out += _grid(
        ["", *(o.label for o in tax.appeal_outcomes)],
        [[labels[p], *(by_proc[p][o] for o in tax.outcome_codes)] for p in by_proc],
    )
    failed = [c for c in report.checks if c["passed"] is False]
    unchecked = sum(1 for c in report.checks if c["passed"] is None)
    out.append(
        f"\nchecks: {len(report.checks) - len(failed) - unchecked} hold, {len(failed)} fail, "
        f"{unchecked} not checkable (null inputs); null cells: {report.null_cells} "
        f"({NULL_MARK} blank/dash, {FLAG_MARK} unreadable)"
    )
    for c in failed:
        out.append(
            f"  identity {c['rule']} fails for {c['subject']}: expected {c['expected']}, printed {c['actual']}"
        )
    for w in report.warnings:
        out.append(f"  warning: {w}")
    return "\n".join(out)
