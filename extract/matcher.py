"""Template matcher: rows of cells in, the three template tables out.

Rows are recognised by their labels (normalised, enumerators stripped, small edit distance),
never by position alone. Value cells are the cells after a row's last label cell; when a
layout leaves extra empty cells (spanned label columns, trailing tabs), every way of dropping
only empty cells is tried and the identities choose; a row that stays ambiguous is null and
flagged, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from extract.document import Document, Row
from extract.normalize import LabelIndex, label_key, leaf_segments, squash
from extract.values import CellValue, looks_like_value, parse_value
from schemas.taxonomy import TEMPLATES, taxonomy


@dataclass(slots=True)
class Cell:
    """One template cell as read: value (or None), and why it is None when it is."""

    value: int | float | None = None
    raw: str | None = None
    blank: bool = False
    problem: str | None = None
    unit: str | None = None
    candidates: tuple[int | float, ...] = ()  # the values an ambiguous cell could have

    @classmethod
    def missing(cls, problem: str) -> Cell:
        return cls(problem=problem)

    @classmethod
    def read(cls, raw: str, parsed: CellValue) -> Cell:
        return cls(parsed.value, raw, parsed.blank, parsed.problem, parsed.unit)


@dataclass
class Tables:
    template: str
    single_other_row: bool
    applications: dict[tuple[str, str], Cell]
    proactive: dict[tuple[str, str], Cell]
    appeals: dict[tuple[str, str], Cell]
    found: dict[str, int] = field(default_factory=dict)  # rows recognised per table
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- label indexes


@cache
def _category_index() -> LabelIndex:
    return LabelIndex({c.leaf: c.code for c in taxonomy().categories})


@cache
def _item_index() -> LabelIndex:
    return LabelIndex({item.label: item.code for t in TEMPLATES for item in taxonomy().proactive[t]})


@cache
def _template_markers() -> dict[str, str]:
    """Label keys printed in only one template version's table 二 -> that version."""
    seen: dict[str, set[str]] = {}
    for t in TEMPLATES:
        for item in taxonomy().proactive[t]:
            for label in [item.label, *(m.label for m in item.measures)]:
                seen.setdefault(label_key(label), set()).add(t)
    return {key: next(iter(ts)) for key, ts in seen.items() if len(ts) == 1}


# Section headings, by the words that survive renumbering and rewording.
_SECTIONS = (
    ("t2", ("主动公开政府信息情况",)),
    ("t3", ("收到和处理政府信息公开申请情况",)),
    ("t4", ("行政复议", "行政诉讼", "情况")),
    ("after", ("存在的主要问题",)),
    ("after", ("其他需要报告的事项",)),
)


def _section_of(row: Row) -> str | None:
    """The section a heading row starts; None for any other row (most rows: checked first)."""
    heading = None
    for cell in row:
        if cell:
            if heading is not None:
                return None  # two cells: a table row, not a heading
            heading = cell
    return None if heading is None else _section_of_heading(heading)


@lru_cache(maxsize=4096)
def _section_of_heading(heading: str) -> str | None:
    if len(heading) > 80:
        return None
    text = squash(heading)
    if len(text) > 40:
        return None
    for state, words in _SECTIONS:
        if all(w in text for w in words):
            return state
    return None


# ---------------------------------------------------------------------------- row anatomy


@dataclass
class RowParts:
    labels: list[str]
    values: list[str]

    @property
    def leaf(self) -> str:
        segments = leaf_segments(" ".join(self.labels))
        return segments[-1] if segments else ""


def split_row(row: Row) -> RowParts:
    """Label cells are those up to the last non-value cell; value cells follow it."""
    last_label = -1
    for i, cell in enumerate(row):
        if cell and not looks_like_value(cell):
            last_label = i
    if last_label < 0:
        return RowParts([], list(row))
    return RowParts([c for c in row[: last_label + 1] if c.strip()], row[last_label + 1 :])


def windows(cells: Sequence[str], n: int) -> list[tuple[int, list[str]]]:
    """Every run of n cells obtainable by dropping only empty cells at either end."""
    filled = [i for i, c in enumerate(cells) if c.strip()]
    # A window must hold every filled cell: it starts at or before the first and ends at or
    # after the last.
    lowest = max(0, filled[-1] - n + 1) if filled else 0
    highest = min(filled[0], len(cells) - n) if filled else len(cells) - n
    return [(start, list(cells[start : start + n])) for start in range(lowest, highest + 1)]


def _cells(window: Sequence[str], parsed: Sequence[CellValue]) -> list[Cell]:
    return [Cell.read(raw, p) for raw, p in zip(window, parsed, strict=True)]


def choose_reading(
    cells: Sequence[str],
    n: int,
    parse: Callable[[int, str], CellValue],
    identity: Callable[[list[int | float | None]], bool | None] | None = None,
) -> tuple[list[Cell], str | None]:
    """Read n value cells from ``cells``; returns the cells and a problem (or None)."""
    if len(cells) < n:
        got = [c for c in cells if c.strip()]
        return [Cell.missing(f"row has {len(got)} of {n} value cells")] * n, f"{len(got)} of {n} values"
    if len(cells) == n:  # the common case: one window, one reading
        return [Cell.read(raw, parse(i, raw)) for i, raw in enumerate(cells)], None
    candidates = windows(cells, n)
    if not candidates:
        return [Cell.missing(f"row has {len(cells)} value cells for {n} columns")] * n, "too many values"
    # Cells are built only for the reading returned: candidates are compared on parsed values.
    readings = [(window, [parse(i, raw) for i, raw in enumerate(window)]) for _start, window in candidates]
    distinct = {tuple((p.value, p.blank) for p in parsed): (w, parsed) for w, parsed in readings}
    if len(distinct) == 1:
        return _cells(*readings[0]), None
    if identity is not None:
        holding = [r for r in distinct.values() if identity([p.value for p in r[1]]) is True]
        if len(holding) == 1:
            return _cells(*holding[0]), None
    flagged = [Cell.missing("ambiguous column alignment: several readings fit")] * n
    return flagged, "ambiguous column alignment"


# ---------------------------------------------------------------------------- template


def detect_template(rows: Sequence[Row], single_other_row: bool | None, year: int | None) -> tuple[str, str]:
    """The template version from the labels present; returns (version, how it was decided).

    ``rows``: the rows up to table 三 (the markers are table 二 labels).
    """
    markers = _template_markers()
    votes = dict.fromkeys(TEMPLATES, 0)
    for row in rows:
        for cell in row:
            if cell and len(cell) < 40:
                version = markers.get(label_key(cell))
                if version:
                    votes[version] += 1
    if votes["2019"] != votes["2021"]:
        return max(votes, key=lambda t: votes[t]), "table 二 labels"
    if single_other_row is False:
        return "2021", "table 三 （六） sub-rows"
    if year is not None:
        return ("2019" if year <= 2020 else "2021"), "report year (no distinguishing labels)"
    return "2021", "default (no distinguishing labels, year unknown)"


# ---------------------------------------------------------------------------- the matcher


def _row_total_identity(values: list[int | float | None]) -> bool | None:
    if any(v is None for v in values):
        return None
    return sum(values[:-1]) == values[-1]  # type: ignore[arg-type]


def _appeals_identity(values: list[int | float | None]) -> bool | None:
    verdicts = [_row_total_identity(values[i : i + 5]) for i in range(0, 15, 5)]
    if any(v is False for v in verdicts):
        return False
    return True if all(v is True for v in verdicts) else None


LABEL_LOST = "row label lost: assigned by position, but the identities do not confirm it"


def _by_position(sequence: list[tuple[str | None, RowParts]], codes: list[str]) -> dict[str, RowParts]:
    """Rows printed without their label, assigned to the template rows they stand for by
    position: between two recognised rows (or the table's ends), the unlabelled rows in order
    are the missing template rows in order — only where their numbers agree exactly and the
    recognised rows themselves appear in template order. Anything else assigns nothing."""
    order = {code: i for i, code in enumerate(codes)}
    anchors = [order[code] for code, _p in sequence if code is not None and code in order]
    if anchors != sorted(anchors):
        return {}
    out: dict[str, RowParts] = {}
    gap: list[RowParts] = []
    previous = -1
    for code, parts in [*sequence, (None, None)]:
        if parts is None or (code is not None and code in order):
            nxt = order[code] if code is not None else len(codes)
            missing = [c for c in codes[previous + 1 : nxt]]
            if gap and len(gap) == len(missing):
                out.update(zip(missing, gap, strict=True))
            gap = []
            previous = nxt
        elif code is None:
            gap.append(parts)
    return out


def _confirm_positions(
    applications: dict[tuple[str, str], Cell], positional: dict[str, RowParts], single_other_row: bool
) -> str:
    """Keep rows assigned by position only when identities A and B hold in every applicant
    column with them (each check decidable); otherwise their cells are null and flagged."""
    tax = taxonomy()
    leaves = tax.result_leaves(single_other_row=single_other_row)
    value = {k: c.value for k, c in applications.items()}

    def total(codes: list[str], a: str) -> int | float | None:
        values = [value.get((c, a)) for c in codes]
        return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]

    holds = True
    for a in tax.applicant_codes:
        sides = [
            (total(["new_received", "carried_over"], a), total(["total_processed", "carried_forward"], a)),
            (total(list(leaves), a), value.get(("total_processed", a))),
        ]
        holds = holds and all(x is not None and y is not None and abs(x - y) < 1e-9 for x, y in sides)
    n = len(positional)
    if holds:
        return f"table 三: {n} rows printed without their labels, assigned by position (identities A and B confirm it)"
    for code, parts in positional.items():
        raw = " ".join(v for v in parts.values if v.strip())
        for a in tax.applicant_codes:
            applications[(code, a)] = Cell(None, raw, problem=LABEL_LOST)
    return f"table 三: {n} rows printed without their labels, left null: {LABEL_LOST}"


def match(doc: Document, *, year: int | None = None) -> Tables:
    tax = taxonomy()
    applicants = tax.applicant_codes
    n_app = len(applicants)
    state = "before"
    category_rows: dict[str, RowParts] = {}
    blank_rows: set[str] = set()  # table-三 rows read so far only as a row of blank cells
    item_rows: dict[str, RowParts] = {}
    appeal_cells: list[str] = []
    appeals_done = False
    problems: list[str] = []
    table2_rows: list[Row] = []  # rows before table 三: where the template's markers are
    t3_sequence: list[tuple[str | None, RowParts]] = []  # table 三 rows in order; None: no label
    min_unlabelled = math.ceil(n_app / 2) + 1  # numbers alone: most of a row's cells filled

    for row in doc.rows:
        section = _section_of(row)
        if section:
            state = section
            continue
        if state in ("before", "t2"):
            table2_rows.append(row)
        parts = split_row(row)
        non_empty_values = [v for v in parts.values if v.strip()]
        if state == "t4" and not appeals_done:
            if parts.labels:
                if appeal_cells:
                    appeals_done = True  # the value row ended; labels follow
                continue
            if non_empty_values:
                appeal_cells.extend(parts.values)
                if len([c for c in appeal_cells if c.strip()]) >= 15 or len(appeal_cells) >= 15:
                    appeals_done = True
            continue
        if not parts.labels:
            # A row of numbers alone inside table 三: its label column was lost (a converter or
            # a transcript). Kept in order: it may be assigned by position (_by_position).
            if state == "t3" and not doc.glued and min_unlabelled <= len(non_empty_values) <= n_app:
                t3_sequence.append((None, parts))
            continue
        if not parts.values:
            continue
        leaf = parts.leaf
        if state in ("before", "t2"):
            item = _item_index().lookup(leaf)
            if item and non_empty_values and item not in item_rows:
                item_rows[item] = parts
                state = "t2"
                continue
        if state == "after":
            continue
        code = _category_index().lookup(leaf)
        # A run-together row holds its whole value text in one cell (extract.glued splits it).
        min_values = 1 if doc.glued else math.ceil(n_app / 2)
        if code is None or len(parts.values) < min_values:
            continue
        if not non_empty_values:
            # A full row of blank cells (an unfilled form; &nbsp; cells of an HTML or DOCX table):
            # its cells are blank, not missing. A later printing of the row with values wins.
            if len(parts.values) >= n_app and code not in category_rows:
                category_rows[code] = parts
                blank_rows.add(code)
                state = "t3"
            continue
        if code in category_rows and code not in blank_rows:
            problems.append(f"table 三 row {code} printed twice; the first is used")
            continue
        blank_rows.discard(code)
        category_rows[code] = parts
        t3_sequence.append((code, parts))
        state = "t3"

    split_other = {"other_no_correction", "other_unpaid_fee", "other_other"} & category_rows.keys()
    single_other_row: bool | None
    if split_other:
        single_other_row = False
        if "other" in category_rows:
            problems.append("table 三 has both the single （六）其他处理 row and its sub-rows")
    elif "other" in category_rows:
        single_other_row = True
    else:
        single_other_row = None
    template, _how = detect_template(table2_rows, single_other_row, year)
    undecided_other = single_other_row is None and template == "2021"
    if single_other_row is None:
        single_other_row = template == "2019"

    codes = tax.category_codes(single_other_row=single_other_row)
    positional: dict[str, RowParts] = {}
    unlabelled = sum(1 for code, _p in t3_sequence if code is None)
    if unlabelled:
        positional = _by_position(t3_sequence, codes)
        if undecided_other:
            # No （六） row kept its label: the variant (one 其他处理 row or its three sub-rows)
            # in which every unlabelled row finds its place, if exactly one does.
            fits = [
                (single, pos)
                for single in (False, True)
                if len(pos := _by_position(t3_sequence, tax.category_codes(single_other_row=single)))
                == unlabelled
            ]
            if len(fits) == 1:
                single_other_row, positional = fits[0]
                codes = tax.category_codes(single_other_row=single_other_row)
    found = {
        "table 二": len(item_rows),
        "table 三": len([c for c in codes if c in category_rows or c in positional]),
        "table 四": 1 if appeal_cells else 0,
    }
    if doc.glued:
        # Cells run together: split each row's digits jointly under the identities.
        from extract.glued import solve

        applications, proactive, appeals, glued_problems = solve(
            template=template,
            single_other_row=single_other_row,
            category_runs={code: " ".join(p.values) for code, p in category_rows.items()},
            item_runs={code: " ".join(p.values) for code, p in item_rows.items()},
            appeal_run=" ".join(appeal_cells) if appeal_cells else None,
        )
        return Tables(
            template, single_other_row, applications, proactive, appeals, found, problems + glued_problems
        )

    # ---- table 三
    applications: dict[tuple[str, str], Cell] = {}
    for code in codes:
        parts = category_rows.get(code) or positional.get(code)
        if parts is None:
            for a in applicants:
                applications[(code, a)] = Cell.missing("row not found")
            continue
        cells, problem = choose_reading(
            parts.values, n_app, lambda _i, raw: parse_value(raw), _row_total_identity
        )
        if problem:
            problems.append(f"table 三 {code}: {problem}")
        for a, cell in zip(applicants, cells, strict=True):
            applications[(code, a)] = cell

    if positional:
        problems.append(_confirm_positions(applications, positional, single_other_row))

    # ---- table 二
    proactive: dict[tuple[str, str], Cell] = {}
    for item in tax.proactive[template]:
        parts = item_rows.get(item.code)
        measures = item.measures
        if parts is None:
            for m in measures:
                proactive[(item.code, m.code)] = Cell.missing("row not found")
            continue

        def parse(i: int, raw: str, measures=measures) -> CellValue:
            return parse_value(raw, decimal=measures[i].decimal, signed=measures[i].signed)

        cells, problem = choose_reading(parts.values, len(measures), parse)
        if problem:
            problems.append(f"table 二 {item.code}: {problem}")
        for m, cell in zip(measures, cells, strict=True):
            if cell.value is not None and not cell.unit:
                cell.unit = m.unit
            proactive[(item.code, m.code)] = cell

    # ---- table 四
    appeals: dict[tuple[str, str], Cell] = {}
    keys = [(p, o) for p in tax.proceeding_codes for o in tax.outcome_codes]
    if appeal_cells:
        cells, problem = choose_reading(
            appeal_cells, len(keys), lambda _i, raw: parse_value(raw), _appeals_identity
        )
        if problem:
            problems.append(f"table 四: {problem}")
    else:
        cells = [Cell.missing("table not found")] * len(keys)
    appeals = dict(zip(keys, cells, strict=True))
    return Tables(template, single_other_row, applications, proactive, appeals, found, problems)
