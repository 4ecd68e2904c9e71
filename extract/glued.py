"""Split run-together value text (archived pages) into template cells with the identities.

An archiver's HTML-to-text joined every table cell with no separator, so ``640020470`` is a
whole table-三 row (64|0|0|2|0|4|70) and ``693665`` three table-二 cells (69|3|665). What can
split such a run, and nothing else:

* a space that survived inside the run is a certain cell boundary (``500000 5``);
* no multi-digit number starts with 0 (a lone 0 is fine); a decimal point only where the
  measure is a decimal; a minus sign only where it may be negative; a unit (元) only at the end;
* C per table-三 row (total = sum of the six applicant columns), then A and B per column
  across rows, and D per proceeding in table 四.

Every split of a row that obeys the local rules is enumerated; the identities prune. A cell
whose value is the same in every surviving combination is kept; any other cell is null and
flagged "ambiguous: several splits fit". Table 二 has no identity, so a cell there survives
only if all of its row's splits agree on it. Nothing is ever chosen by preference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extract.matcher import Cell
from extract.normalize import nfkc
from schemas.taxonomy import Taxonomy, taxonomy

Value = int | float | None
Candidate = tuple[tuple[Value, ...], tuple[str, ...]]  # (values, printed pieces)
Key = tuple[str, str]

AMBIGUOUS = "ambiguous: several splits fit"
NO_SPLIT = "no split of the run-together digits fits the identities"
UNDECIDED = "undecided: too many splits to search"
# Search limits: beyond them the undecided cells are null and flagged, never guessed.
ROW_CAP = 5000  # splits kept per row (or per table-四 run)
STEP_CAP = 200_000  # recursion steps per enumeration of one row's splits
NODE_CAP = 200_000  # search nodes of the joint A/B search

_UNIT = re.compile(r"(万元|亿元|元|件)\s*$")
_INT = re.compile(r"0|[1-9]\d*|[1-9]\d{0,2}(?:,\d{3})+")
_DEC = re.compile(r"(?:0|[1-9]\d*|[1-9]\d{0,2}(?:,\d{3})+)\.\d+")
# Blank marks that can sit inside a run as a cell of their own (QUIRKS "Values").
_BLANKS = frozenset({"/", "—", "——", "―", "–", "-"})


@dataclass(frozen=True)
class Spec:
    """What one cell of the run may hold."""

    decimal: bool = False
    signed: bool = False


@dataclass(frozen=True)
class Run:
    chars: str  # the run without whitespace and without its trailing unit
    cuts: frozenset[int]  # offsets in ``chars`` where whitespace stood: certain boundaries
    unit: str | None
    raw: str


class Capped(Exception):
    """The number of splits or search steps passed a cap: the caller nulls what is undecided."""


def prepare(text: str) -> Run:
    """Normalise a value run: full-width to ASCII, spaces recorded as cuts, trailing unit off."""
    raw = text.strip()
    t = nfkc(raw).replace("−", "-").replace("\u3000", " ")
    unit = None
    m = _UNIT.search(t)
    if m and t[: m.start()].strip():
        unit, t = m.group(1), t[: m.start()]
    cuts: set[int] = set()
    chars = ""
    for token in t.split():
        if chars:
            cuts.add(len(chars))
        chars += token
    return Run(chars, frozenset(cuts), unit, raw)


def parse_piece(piece: str, spec: Spec, followed_by_digit: bool) -> tuple[bool, Value]:
    """(valid, value) for one cell's characters under the local rules."""
    if piece in _BLANKS:
        # "-" directly before digits is a minus sign, not a dash cell.
        return (not (piece == "-" and followed_by_digit)), None
    body, negative = piece, False
    if spec.signed and piece.startswith("-"):
        body, negative = piece[1:], True
    if _INT.fullmatch(body):
        value: int | float = int(body.replace(",", ""))
    elif spec.decimal and _DEC.fullmatch(body):
        value = float(body.replace(",", ""))
    else:
        return False, None
    if negative:
        if value == 0:
            return False, None  # "-0" is not how anyone prints zero
        value = -value
    return True, value


def enumerate_splits(
    run: Run, specs: Sequence[Spec], blocks: Sequence[tuple[int, bool]], cap: int | None = None
) -> list[Candidate]:
    """Every split of ``run`` into ``len(specs)`` cells that obeys the local rules.

    ``blocks`` groups consecutive cells: ``(n, True)`` means the n-th cell of the group is the
    sum of the n-1 before it (C for a table-三 row, D for each table-四 proceeding). Raises
    ``Capped`` when more than ``cap`` splits (or ``STEP_CAP`` steps) would be needed.
    """
    cap = ROW_CAP if cap is None else cap
    chars, n = run.chars, len(run.chars)
    assert sum(b[0] for b in blocks) == len(specs)
    starts = [0]
    for size, _ in blocks:
        starts.append(starts[-1] + size)
    total_pieces = len(specs)
    # The first cut after each offset: no cell may extend over it.
    next_cut = [n] * (n + 1)
    upcoming = n
    for i in range(n, -1, -1):
        next_cut[i] = upcoming
        if i in run.cuts:
            upcoming = i
    memo: dict[tuple[int, int], list[Candidate]] = {}
    steps = 0

    def fill_block(pos: int, bi: int) -> list[tuple[int, Candidate]]:
        nonlocal steps
        size, summed = blocks[bi]
        first = starts[bi]
        found: list[tuple[int, Candidate]] = []
        values: list[Value] = []
        pieces: list[str] = []

        def step(p: int, k: int, running: int | float, known: bool) -> None:
            nonlocal steps
            steps += 1
            if steps > STEP_CAP:
                raise Capped
            index = first + k
            later = total_pieces - index - 1  # cells after this one, each at least one char
            is_last = k == size - 1
            limit = min(next_cut[p], n - later)
            for end in range(p + 1, limit + 1):
                piece = chars[p:end]
                ok, value = parse_piece(piece, specs[index], end < n and chars[end].isdigit())
                if not ok:
                    if len(piece) >= 2 and piece[0] == "0" and piece[1].isdigit():
                        break  # a leading zero stays a leading zero however long the cell gets
                    continue
                if is_last:
                    if summed and known and value is not None and value != running:
                        continue
                    found_values = (*values, value)
                    found.append((end, (found_values, (*pieces, piece))))
                    continue
                new_known = known and value is not None
                new_running = running + value if value is not None else running
                if summed and new_known and new_running > 0:
                    # The group's total is at least as long as its running sum: leave room.
                    room = n - end - (size - 1 - k - 1) - (total_pieces - starts[bi + 1])
                    if len(str(int(new_running))) > room:
                        if value is not None and value >= 0:
                            break  # longer cells only make the sum larger
                        continue
                values.append(value)
                pieces.append(piece)
                step(end, k + 1, new_running, new_known)
                values.pop()
                pieces.pop()

        step(pos, 0, 0, True)
        return found

    def suffix(pos: int, bi: int) -> list[Candidate]:
        if bi == len(blocks):
            return [((), ())] if pos == n else []
        key = (pos, bi)
        if key in memo:
            return memo[key]
        out: list[Candidate] = []
        for end, (vals, pieces) in fill_block(pos, bi):
            for rest_vals, rest_pieces in suffix(end, bi + 1):
                out.append(((*vals, *rest_vals), (*pieces, *rest_pieces)))
                if len(out) > cap:
                    raise Capped
        memo[key] = out
        return out

    if n < total_pieces:
        return []
    return suffix(0, 0)


# ---------------------------------------------------------------------------- joint search


@dataclass
class Var:
    name: str
    candidates: list[Candidate]


def joint_support(
    variables: list[Var], constraints: list[dict[str, int]], width: int
) -> tuple[list[set[int]] | None, bool]:
    """Which candidates of each variable take part in some combination satisfying every constraint.

    A constraint ``{row: coefficient}`` says Σ coefficient·row[column] = 0 for every column.
    Returns (per-variable supported candidate indices, capped). ``None`` when no combination
    fits at all. A ``None`` value in a candidate (a blank cell) satisfies any constraint.
    """
    index = {v.name: i for i, v in enumerate(variables)}
    cons = [[(index[name], coef) for name, coef in c.items()] for c in constraints]
    var_cons: list[list[int]] = [[] for _ in variables]
    for ci, c in enumerate(cons):
        for vi, _ in c:
            var_cons[vi].append(ci)
    inf = float("inf")
    # Range of coefficient·value over each variable's candidates, per constraint and column.
    spans: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for ci, c in enumerate(cons):
        for vi, coef in c:
            per_col = []
            for col in range(width):
                vals = [cand[0][col] for cand in variables[vi].candidates]
                if any(v is None for v in vals):
                    per_col.append((-inf, inf))
                else:
                    a, b = coef * min(vals), coef * max(vals)  # type: ignore[type-var, operator]
                    per_col.append((min(a, b), max(a, b)))
            spans[(ci, vi)] = per_col
    steps = 0

    def feasible(ci: int, assignment: dict[int, int]) -> bool:
        for col in range(width):
            lo = hi = 0.0
            for vi, coef in cons[ci]:
                if vi in assignment:
                    v = variables[vi].candidates[assignment[vi]][0][col]
                    if v is None:
                        lo, hi = -inf, inf
                        break
                    lo += coef * v
                    hi += coef * v
                else:
                    a, b = spans[(ci, vi)][col]
                    lo += a
                    hi += b
            if not lo - 1e-9 <= 0 <= hi + 1e-9:
                return False
        return True

    order = sorted(range(len(variables)), key=lambda i: len(variables[i].candidates))

    def search(fixed: dict[int, int]) -> dict[int, int] | None:
        """A full assignment extending ``fixed`` that satisfies every constraint, or None."""
        assignment = dict(fixed)
        if not all(feasible(ci, assignment) for ci in range(len(cons))):
            return None
        free = [vi for vi in order if vi not in fixed]

        def dfs(i: int) -> bool:
            nonlocal steps
            steps += 1
            if steps > NODE_CAP:
                raise Capped
            if i == len(free):
                return True
            vi = free[i]
            for k in range(len(variables[vi].candidates)):
                assignment[vi] = k
                if all(feasible(ci, assignment) for ci in var_cons[vi]) and dfs(i + 1):
                    return True
            del assignment[vi]
            return False

        return assignment if dfs(0) else None

    supported: list[set[int]] = [set() for _ in variables]
    try:
        first = search({})
        if first is None:
            return None, False
        for vi, k in first.items():
            supported[vi].add(k)
        for vi, var in enumerate(variables):
            for k in range(len(var.candidates)):
                if k in supported[vi]:
                    continue
                found = search({vi: k})
                if found is not None:
                    for wi, kk in found.items():
                        supported[wi].add(kk)
    except Capped:
        return supported, True
    return supported, False


# ---------------------------------------------------------------------------- cells


def _cells_from(candidates: list[Candidate], width: int, raw: str, problem: str) -> list[Cell]:
    """One Cell per column: the agreed value, or null and flagged where candidates differ."""
    cells = []
    for col in range(width):
        values = {c[0][col] for c in candidates}
        pieces = {c[1][col] for c in candidates}
        if len(values) == 1:
            value = next(iter(values))
            piece = next(iter(pieces)) if len(pieces) == 1 else raw
            cells.append(Cell(value, piece, value is None and piece in _BLANKS))
        else:
            cells.append(Cell(None, raw, problem=problem))
    return cells


def _split_row(
    text: str, specs: Sequence[Spec], blocks: Sequence[tuple[int, bool]]
) -> tuple[Run, list[Candidate] | None]:
    run = prepare(text)
    try:
        return run, enumerate_splits(run, specs, blocks)
    except Capped:
        return run, None


def solve(
    *,
    template: str,
    single_other_row: bool,
    category_runs: dict[str, str],
    item_runs: dict[str, str],
    appeal_run: str | None,
) -> tuple[dict[Key, Cell], dict[Key, Cell], dict[Key, Cell], list[str]]:
    """Every template cell from run-together value text; ambiguous cells null and flagged."""
    tax = taxonomy()
    problems: list[str] = []
    applications = _solve_applications(tax, single_other_row, category_runs, problems)
    proactive = _solve_proactive(tax, template, item_runs, problems)
    appeals = _solve_appeals(tax, appeal_run, problems)
    return applications, proactive, appeals, problems


def _solve_applications(
    tax: Taxonomy, single_other_row: bool, category_runs: dict[str, str], problems: list[str]
) -> dict[Key, Cell]:
    applicants = tax.applicant_codes
    width = len(applicants)
    codes = tax.category_codes(single_other_row=single_other_row)
    specs = [Spec()] * width
    blocks = [(width, True)]
    rows: dict[str, tuple[Run, list[Candidate]]] = {}
    cells: dict[str, list[Cell]] = {}
    for code in codes:
        text = category_runs.get(code)
        if text is None:
            cells[code] = [Cell.missing("row not found") for _ in range(width)]
            continue
        run, candidates = _split_row(text, specs, blocks)
        if candidates is None:
            problems.append(f"table 三 {code}: too many splits of {run.raw!r} to decide")
            cells[code] = [Cell(None, run.raw, problem=UNDECIDED) for _ in range(width)]
        elif not candidates:
            problems.append(f"table 三 {code}: no split of {run.raw!r} makes the row total the sum")
            cells[code] = [Cell(None, run.raw, problem=NO_SPLIT) for _ in range(width)]
        else:
            rows[code] = (run, candidates)

    # A and B per column, over the rows that could be split at all.
    leaves = tax.result_leaves(single_other_row=single_other_row)
    constraints = []
    a_rows = {"new_received": 1, "carried_over": 1, "total_processed": -1, "carried_forward": -1}
    if all(c in rows for c in a_rows):
        constraints.append(a_rows)
    b_rows = {"total_processed": -1, **dict.fromkeys(leaves, 1)}
    if all(c in rows for c in b_rows):
        constraints.append(b_rows)
    variables = [Var(code, rows[code][1]) for code in rows]
    supported, capped = joint_support(variables, constraints, width)
    if supported is None:
        problems.append(
            "table 三: identities A/B hold for no combination of splits; rows with several splits are null"
        )
    elif capped:
        problems.append("table 三: search capped; rows not yet decided are null")
    for vi, var in enumerate(variables):
        run, candidates = rows[var.name]
        if supported is not None and not capped:
            chosen = [candidates[k] for k in sorted(supported[vi])]
        else:
            # A/B could not be used: only what every split of this row agrees on survives.
            chosen = candidates
        row_cells = _cells_from(chosen, width, run.raw, AMBIGUOUS)
        cells[var.name] = row_cells
        nulls = sum(1 for c in row_cells if c.problem)
        if nulls:
            problems.append(f"table 三 {var.name}: {nulls} cells null ({AMBIGUOUS}: {run.raw!r})")
    return {(code, a): cells[code][i] for code in codes for i, a in enumerate(applicants)}


def _solve_proactive(
    tax: Taxonomy, template: str, item_runs: dict[str, str], problems: list[str]
) -> dict[Key, Cell]:
    out: dict[Key, Cell] = {}
    for item in tax.proactive[template]:
        measures = item.measures
        text = item_runs.get(item.code)
        if text is None:
            for m in measures:
                out[(item.code, m.code)] = Cell.missing("row not found")
            continue
        specs = [Spec(decimal=m.decimal, signed=m.signed) for m in measures]
        run, candidates = _split_row(text, specs, [(1, False)] * len(measures))
        if candidates is None:
            row_cells = [Cell(None, run.raw, problem=UNDECIDED) for _ in measures]
            problems.append(f"table 二 {item.code}: too many splits of {run.raw!r} to decide")
        elif not candidates:
            row_cells = [Cell(None, run.raw, problem=NO_SPLIT) for _ in measures]
            problems.append(f"table 二 {item.code}: {run.raw!r} cannot be {len(measures)} cells")
        else:
            row_cells = _cells_from(candidates, len(measures), run.raw, AMBIGUOUS)
            nulls = sum(1 for c in row_cells if c.problem)
            if nulls:
                problems.append(f"table 二 {item.code}: {nulls} cells null ({AMBIGUOUS}: {run.raw!r})")
        for i, (m, cell) in enumerate(zip(measures, row_cells, strict=True)):
            if cell.value is not None:
                cell.unit = run.unit if (run.unit and i == len(measures) - 1) else m.unit
            out[(item.code, m.code)] = cell
    return out


def _solve_appeals(tax: Taxonomy, appeal_run: str | None, problems: list[str]) -> dict[Key, Cell]:
    keys = [(p, o) for p in tax.proceeding_codes for o in tax.outcome_codes]
    if appeal_run is None:
        return {k: Cell.missing("table not found") for k in keys}
    per = len(tax.outcome_codes)
    run, candidates = _split_row(appeal_run, [Spec()] * len(keys), [(per, True)] * len(tax.proceeding_codes))
    if candidates is None:
        problems.append(f"table 四: too many splits of {run.raw!r} to decide")
        cells = [Cell(None, run.raw, problem=UNDECIDED) for _ in keys]
    elif not candidates:
        problems.append(f"table 四: no split of {run.raw!r} makes every total the sum of its outcomes")
        cells = [Cell(None, run.raw, problem=NO_SPLIT) for _ in keys]
    else:
        cells = _cells_from(candidates, len(keys), run.raw, AMBIGUOUS)
        nulls = sum(1 for c in cells if c.problem)
        if nulls:
            problems.append(f"table 四: {nulls} cells null ({AMBIGUOUS}: {run.raw!r})")
    return dict(zip(keys, cells, strict=True))
