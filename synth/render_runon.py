"""A synthetic report as an archived page whose HTML-to-text joined every cell (``text/runon``).

Like the 平潭 pages in realdocs: a few ``key: value`` header lines, then the whole body on one
line — prose, headings, table headers, labels and values with no separator between cells,
except a space that survives here and there (a certain cell boundary). A null cell prints as a
dash (``/`` or ``—``): an *empty* cell would vanish from a digit run without trace, and no
reader, person or program, could tell which cell was missing.

``render_runon_parts`` also returns the value text printed for every row, so tests can compute
from the text alone which cells any reader must leave ambiguous.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from schemas.taxonomy import taxonomy
from synth.model import SyntheticReport
from synth.narrative import closing, headings, overview, title
from synth.quirks import Quirks, style_label
from synth.render import APPLICANTS, CHECK_NOTE, CONTENT, LEGAL_PERSONS, _short_name
from synth.tables import proceeding_headers

RUNON_DASHES = ("/", "—")
_FULLWIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")


@dataclass
class RunonRendering:
    text: str
    category_runs: dict[str, str] = field(default_factory=dict)  # category code -> value text
    item_runs: dict[str, str] = field(default_factory=dict)  # table-二 item code -> value text
    appeal_run: str = ""


def _value(value: int | float | None, rng: random.Random, quirks: Quirks, unit: str | None = None) -> str:
    if value is None:
        return rng.choice(RUNON_DASHES)
    text = repr(value) if isinstance(value, float) else str(value)
    if unit:
        text += unit
    return text


def _glue(cells: list[str], rng: random.Random, space: float) -> str:
    """Cells joined with nothing, or now and then a surviving space."""
    out = cells[0]
    for cell in cells[1:]:
        out += (" " if rng.random() < space else "") + cell
    return out


def _fullwidth(text: str, rng: random.Random, quirks: Quirks) -> str:
    return text.translate(_FULLWIDTH) if rng.random() < quirks.fullwidth_digits else text


def render_runon_parts(
    report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None, *, space: float = 0.08
) -> RunonRendering:
    """The page text and the value text of each row as printed (before any full-width folding)."""
    quirks = quirks or Quirks()
    tax = taxonomy()
    out = RunonRendering("")
    heads = headings(quirks)
    short = _short_name(report.agency)
    problems, others, published = closing(report.agency, short, report.year, rng)
    body: list[str] = [
        title(report.agency, report.year, quirks),
        " ",
        heads[0],
        *overview(report.agency, short, report.year, rng),
    ]

    # ---- table 二
    body.append(heads[1] + " ")
    section = None
    for item in tax.proactive[report.template]:
        if item.section != section:
            section = item.section
            body.append(style_label(item.section, rng, quirks) + CONTENT)
            body += [style_label(m.label, rng, quirks) for m in item.measures]
        cells = [
            _value(report.proactive[(item.code, m.code)], rng, quirks, report.units.get((item.code, m.code)))
            for m in item.measures
        ]
        run = _glue(cells, rng, space)
        out.item_runs[item.code] = run
        body.append(style_label(item.label, rng, quirks) + (" " if rng.random() < space else ""))
        body.append(_fullwidth(run, rng, quirks))

    # ---- table 三
    body.append(heads[2])
    labels = [a.label for a in tax.applicant_types]
    body.append(
        CHECK_NOTE + APPLICANTS + labels[0] + LEGAL_PERSONS + labels[-1] + " " + "".join(labels[1:-1])
    )
    repeat_parent = report.template == "2019" and rng.random() < 0.5  # 2019 pages repeat 三、本年度办理结果
    for code in report.category_codes:
        pieces = tax.category(code).label.split(" ")
        if repeat_parent and code == "unavailable_not_held":
            pieces.insert(0, tax.category("disclosed").label.split(" ")[0])
        cells = [_value(report.applications[(code, a)], rng, quirks) for a in tax.applicant_codes]
        run = _glue(cells, rng, space)
        out.category_runs[code] = run
        body.append("".join(style_label(p, rng, quirks) for p in pieces))
        body.append(_fullwidth(run, rng, quirks))
    body.append(" ")

    # ---- table 四
    body.append(heads[3] + " ")
    top, sub = proceeding_headers()
    outcomes = [o.label for o in tax.appeal_outcomes]
    body.append("".join(top) + "".join(outcomes) + "".join(sub) + "".join(outcomes) * len(sub))
    cells = [
        _value(report.appeals[(p, o)], rng, quirks) for p in tax.proceeding_codes for o in tax.outcome_codes
    ]
    out.appeal_run = _glue(cells, rng, space)
    body.append(_fullwidth(out.appeal_run, rng, quirks))

    body += [heads[4], *problems, heads[5], *others, " ", report.agency, " ", published]
    header = [
        f"标题: {title(report.agency, report.year, quirks)}",
        f"发布时间: {published}",
        "栏目: 政府信息公开年报",
        "==================== 正文 ====================",
    ]
    out.text = "\n".join([*header, "".join(body)]) + "\n"
    return out


def render_runon_text(report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None) -> str:
    return render_runon_parts(report, rng, quirks).text


def render_runon(report: SyntheticReport, rng: random.Random, quirks: Quirks | None = None) -> bytes:
    """The archived page as a file's bytes in ``quirks.encoding``."""
    quirks = quirks or Quirks()
    return render_runon_text(report, rng, quirks).encode(quirks.encoding)


__all__ = ["RunonRendering", "render_runon", "render_runon_parts", "render_runon_text"]
