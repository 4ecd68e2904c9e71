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

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

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
    if raw.isascii() and raw.isdigit():
        return Run(raw, frozenset(), None, raw)  # the usual run: nothing to normalise or cut
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

    The reference is the walk: a depth-first search over cell ends, one step per cell placed,
    memoised per (offset, block), listing splits by ascending cell ends. Faster routes give its
    exact list (and its ``Capped``): a run of ASCII digits only (nearly every run) walks with the
    same steps in the same order (``_digit_walk``); and where the walk's step count provably
    stays under ``STEP_CAP``, the common shapes skip the walk (``_separate_cells`` for a table-二
    row, ``_one_digit_each`` for 0000000, ``_digit_row_total`` for a table-三 row).
    """
    cap = ROW_CAP if cap is None else cap
    chars, n = run.chars, len(run.chars)
    assert sum(b[0] for b in blocks) == len(specs)
    total_pieces = len(specs)
    if n < total_pieces:
        return []
    next_cut = _next_cuts(run)
    digits = chars.isascii() and chars.isdigit()
    if blocks and all(block == (1, False) for block in blocks) and total_pieces * (n + 1) <= STEP_CAP:
        # One cell per block, none summed (a table-二 row): the walk takes one step per
        # (offset, cell) it reaches, so no step cap can trip.
        return _separate_cells(chars, specs, next_cut, cap, digits)
    if digits:
        # Shortcuts that find what the walk finds, in its order, where no step cap can trip
        # on the way (the walk takes one step per node of its search tree: at most
        # C(n-1, k) nodes with k cells placed).
        fast: list[Candidate] | None = None
        if n == total_pieces and total_pieces <= STEP_CAP:
            fast = _one_digit_each(chars, blocks)
        elif (
            len(blocks) == 1
            and blocks[0][1]
            and total_pieces >= 2
            and _tree_bound(n, total_pieces) <= STEP_CAP
        ):
            fast = _digit_row_total(chars, total_pieces, next_cut)
        if fast is not None:
            if len(fast) > cap:
                raise Capped
            return fast
    return _walk_splits(chars, specs, blocks, next_cut, cap, _digit_walk if digits else _general_walk)


def _next_cuts(run: Run) -> list[int]:
    """The first cut after each offset of the run: no cell may extend over it."""
    n = len(run.chars)
    next_cut = [n] * (n + 1)
    if run.cuts:
        upcoming = n
        for i in range(n, -1, -1):
            next_cut[i] = upcoming
            if i in run.cuts:
                upcoming = i
    return next_cut


def _walk_splits(
    chars: str,
    specs: Sequence[Spec],
    blocks: Sequence[tuple[int, bool]],
    next_cut: list[int],
    cap: int,
    walk: Callable[..., _Walk],
) -> list[Candidate]:
    """The walk: block after block, each block's splits from ``walk`` joined to every split of
    the rest of the run after it."""
    n = len(chars)
    starts = [0]
    for size, _ in blocks:
        starts.append(starts[-1] + size)
    fill_block = walk(chars, specs, blocks, starts, next_cut)
    memo: dict[tuple[int, int], list[Candidate]] = {}
    last_block = len(blocks) - 1

    def suffix(pos: int, bi: int) -> list[Candidate]:
        key = (pos, bi)
        if key in memo:
            return memo[key]
        out: list[Candidate] = []
        if bi == last_block:
            # fill_block keeps only the last block's splits that end the run (see _Walk).
            for _end, candidate in fill_block(pos, bi):
                out.append(candidate)
                if len(out) > cap:
                    raise Capped
        else:
            for end, (vals, pieces) in fill_block(pos, bi):
                for rest_vals, rest_pieces in suffix(end, bi + 1):
                    out.append(((*vals, *rest_vals), (*pieces, *rest_pieces)))
                    if len(out) > cap:
                        raise Capped
        memo[key] = out
        return out

    return suffix(0, 0) if blocks else ([((), ())] if n == 0 else [])


def _one_digit_each(chars: str, blocks: Sequence[tuple[int, bool]]) -> list[Candidate]:
    """The one split of a digit run exactly as long as the cells are many (``0000000``): a
    digit per cell, kept when each summed block's last digit is the sum of the others. The
    walk would take at most one step per cell, so no cap can trip."""
    values = tuple(map(int, chars))
    start = 0
    for size, summed in blocks:
        if summed and sum(values[start : start + size - 1]) != values[start + size - 1]:
            return []
        start += size
    return [(values, tuple(chars))]


def _separate_cells(
    chars: str, specs: Sequence[Spec], next_cut: list[int], cap: int, digits: bool
) -> list[Candidate]:
    """The walk's splits when every block is one cell and none is summed, without its
    per-block machinery: the splits of chars[p:] into cells k.. are memoised per (p, k) and
    listed by ascending cell end, as the walk lists them. Each such list, put after a prefix
    that reaches it, is part of the whole list, so one passes ``cap`` only if the whole does."""
    n, last = len(chars), len(specs) - 1
    memo: dict[tuple[int, int], list[Candidate]] = {}

    def parse(p: int, end: int, k: int) -> tuple[bool, Value]:
        if digits:  # no blank, sign or decimal point: only a leading zero can spoil a piece
            return (chars[p] != "0" or end == p + 1), int(chars[p:end])
        return parse_piece(chars[p:end], specs[k], end < n and chars[end].isdigit())

    def suffix(p: int, k: int) -> list[Candidate]:
        key = (p, k)
        if key in memo:
            return memo[key]
        out: list[Candidate] = []
        if k == last:  # the last cell runs to the end
            if next_cut[p] == n and p < n:
                ok, value = parse(p, n, k)
                if ok:
                    out.append(((value,), (chars[p:],)))
        else:
            for end in range(p + 1, min(next_cut[p], n - (last - k)) + 1):
                ok, value = parse(p, end, k)
                if not ok:
                    if end - p >= 2 and chars[p] == "0" and chars[p + 1].isdigit():
                        break  # a leading zero stays a leading zero however long the cell gets
                    continue
                piece = chars[p:end]
                for rest_values, rest_pieces in suffix(end, k + 1):
                    out.append(((value, *rest_values), (piece, *rest_pieces)))
                if len(out) > cap:
                    raise Capped
        if len(out) > cap:
            raise Capped
        memo[key] = out
        return out

    return suffix(0, 0)


@cache
def _spec(decimal: bool, signed: bool) -> Spec:
    return Spec(decimal, signed)  # built once: a frozen dataclass is slow to build


@cache
def _tree_bound(n: int, cells: int) -> int:
    """The most nodes the walk's search tree over ``cells`` cells of an ``n``-character run has."""
    return sum(math.comb(n - 1, k) for k in range(cells))


def _digit_row_total(chars: str, size: int, next_cut: list[int]) -> list[Candidate]:
    """The walk's splits of a digit run into one summed block (a table-三 row), found from the
    total instead: for each suffix that can be the total, the splits of the rest into
    ``size - 1`` cells adding up to it, with the sum bounding the search both ways.

    In a digit run every piece without a leading zero is valid and the walk's pruning never
    drops a split that fits, so the walk finds exactly the splits that obey the local rules and
    C, in the order of their cell ends: the same list, sorted the same way.
    """
    n = len(chars)
    found: list[tuple[list[int], Candidate]] = []
    # A number is congruent to its digit sum mod 9, so the cells' sum is congruent to the digit
    # sum of the characters before the total however they are split.
    digit_sum = [0]
    for ch in chars:
        digit_sum.append(digit_sum[-1] + ord(ch) - 48)
    values: list[Value] = []
    pieces: list[str] = []
    ends: list[int] = []

    def cells(p: int, k: int, needed: int, q: int) -> None:
        """Cells k.. of chars[p:q], adding up to ``needed``."""
        rest = size - 2 - k  # cells after this one, before the total
        if rest == 0:  # this cell is chars[p:q]
            if next_cut[p] >= q and (chars[p] != "0" or q - p == 1) and int(chars[p:q]) == needed:
                total = chars[q:]
                found.append(([*ends, q], ((*values, needed, int(total)), (*pieces, chars[p:q], total))))
            return
        limit = min(next_cut[p], q - rest)
        if chars[p] == "0":
            limit = min(limit, p + 1)  # "0" is a cell; "01" never is
        for end in range(p + 1, limit + 1):
            piece = chars[p:end]
            value = int(piece)
            left = needed - value
            if left < 0:
                break  # longer cells only take more
            # The most ``rest`` cells of the q - end characters left can add up to: one long
            # cell and the others single digits.
            if left > 10 ** (q - end - rest + 1) - 1 + 9 * (rest - 1):
                continue
            values.append(value)
            pieces.append(piece)
            ends.append(end)
            cells(end, k + 1, left, q)
            values.pop()
            pieces.pop()
            ends.pop()

    for q in range(size - 1, n):  # the total is chars[q:]
        if next_cut[q] != n or (chars[q] == "0" and q != n - 1):
            continue  # a cut inside the total, or a leading zero
        if (2 * digit_sum[q] - digit_sum[n]) % 9:
            continue
        cells(0, 0, int(chars[q:]), q)
    found.sort(key=lambda f: f[0])
    return [candidate for _, candidate in found]


# fill_block(pos, bi): the splits of block ``bi`` starting at offset ``pos``, each with the
# offset where it ends. For the last block only splits ending the run are returned: any other
# one could never be completed, and leaving it out changes neither the steps taken nor the
# order of what is found. Steps are counted across the calls of one walk (one row).
_Walk = Callable[[int, int], list[tuple[int, Candidate]]]


def _step_counter() -> Callable[[], None]:
    steps = 0

    def count() -> None:
        nonlocal steps
        steps += 1
        if steps > STEP_CAP:
            raise Capped

    return count


def _general_walk(
    chars: str,
    specs: Sequence[Spec],
    blocks: Sequence[tuple[int, bool]],
    starts: list[int],
    next_cut: list[int],
) -> _Walk:
    """Any run: each piece checked by ``parse_piece`` (blank marks, signs, decimals, commas)."""
    n, total_pieces, last_block = len(chars), len(specs), len(blocks) - 1
    count = _step_counter()
    # The room check below assumes the total is a number; a blank mark after a cell may be the
    # total (670000—: 6|7|0|0|0|0|—), so no room is reserved while one is still ahead.
    last_mark = max(chars.rfind(mark) for mark in "/—―–-")

    def fill_block(pos: int, bi: int) -> list[tuple[int, Candidate]]:
        size, summed = blocks[bi]
        first = starts[bi]
        final = bi == last_block
        found: list[tuple[int, Candidate]] = []
        values: list[Value] = []
        pieces: list[str] = []

        def step(p: int, k: int, running: int | float, known: bool) -> None:
            count()
            index = first + k
            later = total_pieces - index - 1  # cells after this one, each at least one char
            is_last = k == size - 1
            limit = min(next_cut[p], n - later)
            if is_last and final:
                # Only a last cell reaching the end of the run can complete a split. (Skipping
                # the shorter pieces skips no step: a last cell recurses no further.)
                ends = range(n, n + 1) if limit == n else range(0)
            else:
                ends = range(p + 1, limit + 1)
            for end in ends:
                piece = chars[p:end]
                ok, value = parse_piece(piece, specs[index], end < n and chars[end].isdigit())
                if not ok:
                    if len(piece) >= 2 and piece[0] == "0" and piece[1].isdigit():
                        break  # a leading zero stays a leading zero however long the cell gets
                    continue
                if is_last:
                    if summed and known and value is not None and value != running:
                        continue
                    found.append((end, ((*values, value), (*pieces, piece))))
                    continue
                new_known = known and value is not None
                new_running = running + value if value is not None else running
                if summed and new_known and new_running > 0 and end > last_mark:
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

    return fill_block


def _digit_walk(
    chars: str,
    specs: Sequence[Spec],
    blocks: Sequence[tuple[int, bool]],
    starts: list[int],
    next_cut: list[int],
) -> _Walk:
    """``_general_walk`` for a run of ASCII digits, where the local rules come down to "no
    leading zero": no blank mark, sign or decimal point can occur, so every piece is valid
    except a multi-digit one starting with 0, every value is a non-negative int, and a summed
    block's last cell can only be its running sum printed. Same steps, same order."""
    n, total_pieces, last_block = len(chars), len(specs), len(blocks) - 1
    count = _step_counter()

    def fill_block(pos: int, bi: int) -> list[tuple[int, Candidate]]:
        size, summed = blocks[bi]
        first = starts[bi]
        final = bi == last_block
        # Characters the cells after the block's total need, one each.
        after_block = total_pieces - starts[bi + 1]
        found: list[tuple[int, Candidate]] = []
        values: list[Value] = []
        pieces: list[str] = []

        def step(p: int, k: int, running: int) -> None:
            count()
            later = total_pieces - first - k - 1
            limit = min(next_cut[p], n - later)
            if k == size - 1:  # the block's last cell
                if final:
                    if limit == n and p < n:
                        piece = chars[p:]
                        if (piece[0] != "0" or n - p == 1) and (not summed or int(piece) == running):
                            found.append((n, ((*values, int(piece)), (*pieces, piece))))
                elif summed:
                    total = str(running)
                    end = p + len(total)
                    if end <= limit and chars.startswith(total, p):
                        found.append((end, ((*values, running), (*pieces, total))))
                else:
                    stop = min(limit, p + 1) if chars[p] == "0" else limit  # "01" is never a cell
                    for end in range(p + 1, stop + 1):
                        piece = chars[p:end]
                        found.append((end, ((*values, int(piece)), (*pieces, piece))))
                return
            if chars[p] == "0":
                limit = min(limit, p + 1)  # "0" is a cell; "01" never is
            for end in range(p + 1, limit + 1):
                piece = chars[p:end]
                value = int(piece)
                new_running = running + value
                if summed and new_running > 0:
                    # The group's total is at least as long as its running sum: leave room.
                    room = n - end - (size - k - 2) - after_block
                    if len(str(new_running)) > room:
                        break  # longer cells only make the sum larger
                values.append(value)
                pieces.append(piece)
                step(end, k + 1, new_running)
                values.pop()
                pieces.pop()

        step(pos, 0, 0)
        return found

    return fill_block


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
    Every variable has at least one candidate.

    The search: fix a variable's candidate, then find any full assignment by depth-first search
    over the variables (fewest candidates first), pruning when a constraint's column can no
    longer reach 0 (the unassigned variables counted by the range of their candidates). The
    search nodes are counted against ``NODE_CAP``.

    Most rows split one way only. A variable with one candidate counts the same in a
    constraint assigned or not (its range is its value), so it never prunes anything: the
    search walks through each one in a single node (its candidates sort first), and only the
    variables with several candidates are searched. Their sums are exact integers when they
    can be (see ``_Sums``).
    """
    index = {v.name: i for i, v in enumerate(variables)}
    cons = [[(index[name], coef) for name, coef in c.items()] for c in constraints]
    cands = [v.candidates for v in variables]
    var_cons: list[list[int]] = [[] for _ in variables]
    for ci, c in enumerate(cons):
        for vi, _ in c:
            var_cons[vi].append(ci)
    order = sorted(range(len(variables)), key=lambda i: len(cands[i]))
    singles = {vi: 0 for vi in order if len(cands[vi]) == 1}
    multis = [vi for vi in order if len(cands[vi]) > 1]
    sums = _Sums(cons, cands, width, singles)
    feasible = sums.feasible if sums.exact else _float_feasible(cons, cands, width)
    steps = 0

    def search(fixed: dict[int, int]) -> dict[int, int] | None:
        """A full assignment extending ``fixed`` that satisfies every constraint, or None."""
        nonlocal steps
        assignment = {**singles, **fixed}
        if not all(feasible(ci, assignment) for ci in range(len(cons))):
            return None
        # The single-candidate variables come first in the search order and always fit.
        steps += sum(1 for vi in singles if vi not in fixed)
        if steps > NODE_CAP:
            raise Capped
        free = [vi for vi in multis if vi not in fixed]

        def dfs(i: int) -> bool:
            nonlocal steps
            steps += 1
            if steps > NODE_CAP:
                raise Capped
            if i == len(free):
                return True
            vi = free[i]
            for k in range(len(cands[vi])):
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
        for vi in range(len(variables)):
            for k in range(len(cands[vi])):
                if k in supported[vi]:
                    continue
                found = search({vi: k})
                if found is not None:
                    for wi, kk in found.items():
                        supported[wi].add(kk)
    except Capped:
        return supported, True
    return supported, False


# Below this bound every sum of the search is an integer a float holds exactly.
_EXACT = 2**53


_INT_OR_NONE = frozenset({int, type(None)})


def _magnitude(candidates: list[Candidate]) -> int | None:
    """The largest |value| among the candidates; None if some value is not an int."""
    biggest = 0
    for values, _ in candidates:
        if not _INT_OR_NONE.issuperset(map(type, values)):
            return None
        biggest = max(biggest, max(map(abs, filter(None, values)), default=0))  # type: ignore[arg-type]
    return biggest


def _span(coef: int, column: tuple[Value, ...]) -> tuple[int, int] | None:
    """The range of coef·value over one column of a variable's candidates; None if one is blank."""
    if None in column:
        return None
    a, b = coef * min(column), coef * max(column)  # type: ignore[type-var, operator]
    return (min(a, b), max(a, b))


class _Sums:
    """Constraint sums with the single-candidate variables folded into per-column constants.

    ``exact`` when every value is an int and no sum can leave ±2**53: then these integer sums
    decide exactly as the float sums of ``_float_feasible`` do, whatever the order of addition
    (and the 1e-9 tolerance there cannot matter between integers). Otherwise the caller uses
    ``_float_feasible``, which adds in the original order.
    """

    def __init__(
        self,
        cons: list[list[tuple[int, int]]],
        cands: list[list[Candidate]],
        width: int,
        singles: dict[int, int],
    ) -> None:
        self.cands = cands
        # Per constraint: columns a blank single leaves unconstrained are dropped; the rest
        # start from the singles' sum. Per multi-candidate term: (var, coef, per-column range
        # of coef·value, None where some candidate is blank).
        self.columns: list[list[tuple[int, int]]] = []
        self.terms: list[list[tuple[int, int, list[tuple[int, int] | None]]]] = []
        magnitude = {vi: _magnitude(cands[vi]) for c in cons for vi, _ in c}
        self.exact = all(
            type(coef) is int and magnitude[vi] is not None for c in cons for vi, coef in c
        ) and all(sum(abs(coef) * magnitude[vi] for vi, coef in c) < _EXACT for c in cons)  # type: ignore[operator]
        if not self.exact:
            return
        for c in cons:
            const: list[int | None] = [0] * width
            terms = []
            for vi, coef in c:
                if vi in singles:
                    const = [
                        None if total is None or v is None else total + coef * v  # type: ignore[operator]
                        for total, v in zip(const, cands[vi][0][0], strict=True)
                    ]
                else:
                    columns = zip(*(values for values, _ in cands[vi]), strict=True)
                    terms.append((vi, coef, [_span(coef, column) for column in columns]))
            self.columns.append([(col, total) for col, total in enumerate(const) if total is not None])
            self.terms.append(terms)

    def feasible(self, ci: int, assignment: dict[int, int]) -> bool:
        """Can every column of constraint ``ci`` still sum to 0, given ``assignment``?"""
        terms = self.terms[ci]
        cands = self.cands
        for col, total in self.columns[ci]:
            lo = hi = total
            for vi, coef, spans in terms:
                k = assignment.get(vi)
                if k is None:
                    span = spans[col]
                    if span is None:
                        break  # a blank candidate: this column can sum to anything
                    lo += span[0]
                    hi += span[1]
                else:
                    v = cands[vi][k][0][col]
                    if v is None:
                        break
                    lo += coef * v  # type: ignore[operator]
                    hi += coef * v  # type: ignore[operator]
            else:
                if not lo <= 0 <= hi:
                    return False
        return True


def _float_feasible(
    cons: list[list[tuple[int, int]]], cands: list[list[Candidate]], width: int
) -> Callable[[int, dict[int, int]], bool]:
    """The feasibility test in floats, every term in constraint order (values past 2**53)."""
    inf = float("inf")
    # Range of coefficient·value over each variable's candidates, per constraint and column.
    spans: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for ci, c in enumerate(cons):
        for vi, coef in c:
            per_col = []
            for col in range(width):
                vals = [cand[0][col] for cand in cands[vi]]
                if any(v is None for v in vals):
                    per_col.append((-inf, inf))
                else:
                    a, b = coef * min(vals), coef * max(vals)  # type: ignore[type-var, operator]
                    per_col.append((min(a, b), max(a, b)))
            spans[(ci, vi)] = per_col

    def feasible(ci: int, assignment: dict[int, int]) -> bool:
        for col in range(width):
            lo = hi = 0.0
            for vi, coef in cons[ci]:
                if vi in assignment:
                    v = cands[vi][assignment[vi]][0][col]
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

    return feasible


# ---------------------------------------------------------------------------- cells


def _cells_from(candidates: list[Candidate], width: int, raw: str, problem: str) -> list[Cell]:
    """One Cell per column: the agreed value, or null and flagged where candidates differ."""
    if len(candidates) == 1:  # the usual case: nothing to compare
        values, pieces = candidates[0]
        return [Cell(v, p, v is None and p in _BLANKS) for v, p in zip(values, pieces, strict=True)]
    cells = []
    for col in range(width):
        values = {c[0][col] for c in candidates}
        pieces = {c[1][col] for c in candidates}
        if len(values) == 1:
            value = next(iter(values))
            piece = next(iter(pieces)) if len(pieces) == 1 else raw
            cells.append(Cell(value, piece, value is None and piece in _BLANKS))
        else:
            choices = tuple(sorted(v for v in values if v is not None))
            cells.append(Cell(None, raw, problem=problem, candidates=choices))
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
    splits: dict[str, tuple[Run, list[Candidate] | None]] = {}
    for code in codes:
        text = category_runs.get(code)
        if text is None:
            cells[code] = [Cell.missing("row not found") for _ in range(width)]
            continue
        # Most rows of a table are the same few runs (0000000): each is split once.
        split = splits.get(text)
        if split is None:
            split = splits[text] = _split_row(text, specs, blocks)
        run, candidates = split
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
        specs = [_spec(m.decimal, m.signed) for m in measures]
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
