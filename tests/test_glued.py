"""Splitting run-together digits (``extract.glued``) with the identities, checked against brute force."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract import glued
from extract.glued import AMBIGUOUS, NO_SPLIT, UNDECIDED, Spec, enumerate_splits, prepare, solve
from schemas.taxonomy import taxonomy

TAX = taxonomy()
APPLICANTS = TAX.applicant_codes
CODES_2021 = TAX.category_codes(single_other_row=False)
# The 平潭 2021 page's table-三 value runs, in printed order (realdocs 80613).
PINGTAN_2021 = dict(
    zip(
        CODES_2021,
        [
            "640020470",
            "0000000",
            "270020130",
            "500000 5",
            "0000000",
            "0000000",
            "0000000",
            "0000000",
            "1000001",
            "0000000",
            "6000006",
            "1000001",
            "220000325",
            "0000000",
            "0000000",
            "0000000",
            "0000000",
            "0000000",
            "0000000",
            "0000000",
            "0000000",
            "0000000",
            "1000001",
            "630020469",
            "1000001",
        ],
        strict=True,
    )
)
PINGTAN_2021_ITEMS = {
    "regulations": "000",
    "normative_documents": "693665",
    "licensing": "2293",
    "penalty": "1282",
    "coercion": "42",
    "fees": "24252.311082",
}
PINGTAN_2021_APPEALS = "10203120001200000"


def _solve_2021(
    category_runs: dict[str, str], item_runs: dict[str, str] | None = None, appeal: str | None = None
):
    return solve(
        template="2021",
        single_other_row=False,
        category_runs=category_runs,
        item_runs=item_runs or {},
        appeal_run=appeal,
    )


def _row(cells: dict, code: str) -> list:
    return [cells[(code, a)].value for a in APPLICANTS]


# ---------------------------------------------------------------------------- local rules


def test_prepare_keeps_spaces_as_cuts_and_strips_a_trailing_unit() -> None:
    run = prepare(" 230 000023 ")
    assert (run.chars, sorted(run.cuts), run.unit) == ("230000023", [3], None)
    run = prepare("13575394432.52元")
    assert (run.chars, sorted(run.cuts), run.unit) == ("13575394432.52", [], "元")
    assert prepare("１２ ３").chars == "123"  # full-width digits fold to ASCII


@pytest.mark.parametrize(
    ("text", "specs", "expected"),
    [
        ("000", [Spec()] * 3, [(0, 0, 0)]),
        ("1000", [Spec()] * 3, [(10, 0, 0)]),  # no leading zeros: 1|0|00 and 1|00|0 are not numbers
        ("2293", [Spec()], [(2293,)]),
        ("24252.311082", [Spec(decimal=True)], [(24252.311082,)]),
        ("3.5", [Spec()], []),  # a fraction only where the measure is a decimal
        (
            "396-18181",
            [Spec(), Spec(signed=True), Spec()],
            [(396, -18, 181), (396, -181, 81), (396, -1818, 1), (396, -1, 8181)],
        ),
        ("12 3", [Spec()] * 2, [(12, 3)]),  # the space is a certain boundary
        ("1/2", [Spec()] * 3, [(1, None, 2)]),  # a dash cell
        ("350", [Spec(), Spec(signed=True)], [(3, 50), (35, 0)]),
    ],
)
def test_enumerate_splits_local_rules(text: str, specs: list[Spec], expected: list[tuple]) -> None:
    found = [values for values, _pieces in enumerate_splits(prepare(text), specs, [(1, False)] * len(specs))]
    assert sorted(found, key=repr) == sorted(expected, key=repr)


def test_enumerate_splits_row_total() -> None:
    found = enumerate_splits(prepare("640020470"), [Spec()] * 7, [(7, True)])
    assert [values for values, _ in found] == [(64, 0, 0, 2, 0, 4, 70)]
    found = enumerate_splits(prepare("500000 5"), [Spec()] * 7, [(7, True)])
    assert [values for values, _ in found] == [(5, 0, 0, 0, 0, 0, 5)]
    found = enumerate_splits(prepare("110000011"), [Spec()] * 7, [(7, True)])
    assert sorted(values for values, _ in found) == [(1, 10, 0, 0, 0, 0, 11), (11, 0, 0, 0, 0, 0, 11)]


def test_blank_total_leaves_the_sum_unconstrained() -> None:
    # The total is a dash: the six counts (6+7 = 13, two digits) need no room for it.
    splits = enumerate_splits(prepare("670000 —"), [Spec()] * 7, [(7, True)])
    assert splits == [((6, 7, 0, 0, 0, 0, None), ("6", "7", "0", "0", "0", "0", "—"))]


def test_enumerate_splits_caps() -> None:
    with pytest.raises(glued.Capped):
        enumerate_splits(prepare("1" * 30), [Spec()] * 3, [(1, False)] * 3, cap=10)


# ---------------------------------------------------------------------------- solve


def test_pingtan_2021_runs_split_uniquely() -> None:
    applications, proactive, appeals, problems = _solve_2021(
        PINGTAN_2021, PINGTAN_2021_ITEMS, PINGTAN_2021_APPEALS
    )
    assert _row(applications, "new_received") == [64, 0, 0, 2, 0, 4, 70]
    assert _row(applications, "disclosed") == [27, 0, 0, 2, 0, 1, 30]
    assert _row(applications, "partially_disclosed") == [5, 0, 0, 0, 0, 0, 5]
    assert _row(applications, "unavailable_not_held") == [22, 0, 0, 0, 0, 3, 25]
    assert _row(applications, "total_processed") == [63, 0, 0, 2, 0, 4, 69]
    assert _row(applications, "carried_forward") == [1, 0, 0, 0, 0, 0, 1]
    assert all(c.problem is None for c in applications.values())
    assert len(applications) == 25 * 7
    assert {k: c.value for k, c in proactive.items()} == {
        ("regulations", "issued"): 0,
        ("regulations", "repealed"): 0,
        ("regulations", "in_force"): 0,
        ("normative_documents", "issued"): None,
        ("normative_documents", "repealed"): None,
        ("normative_documents", "in_force"): None,
        ("licensing", "decisions"): 2293,
        ("penalty", "decisions"): 1282,
        ("coercion", "decisions"): 42,
        ("fees", "amount_10k_yuan"): 24252.311082,
    }
    assert {c.problem for k, c in proactive.items() if k[0] == "normative_documents"} == {AMBIGUOUS}
    assert proactive[("fees", "amount_10k_yuan")].unit == "万元"
    assert [c.value for c in appeals.values()] == [1, 0, 2, 0, 3, 12, 0, 0, 0, 12, 0, 0, 0, 0, 0]
    assert problems == [
        "table 二 normative_documents: 3 cells null (ambiguous: several splits fit: '693665')"
    ]


def test_2019_table_two_procurement_is_ambiguous_with_unit() -> None:
    _a, proactive, _d, _p = solve(
        template="2019",
        single_other_row=True,
        category_runs={},
        item_runs={"regulations": "000", "centralized_procurement": "13575394432.52元", "fees": "350"},
        appeal_run=None,
    )
    assert [
        proactive[("regulations", m)].value for m in ("new_made", "new_published", "total_published")
    ] == [0, 0, 0]
    assert proactive[("centralized_procurement", "procurement_items")].value is None
    assert proactive[("centralized_procurement", "procurement_amount")].problem == AMBIGUOUS
    assert proactive[("fees", "previous_year_items")].problem == AMBIGUOUS
    assert proactive[("licensing", "decisions")].problem == "row not found"


def test_single_unique_amount_keeps_cell_unit() -> None:
    _a, proactive, _d, _p = solve(
        template="2019",
        single_other_row=True,
        category_runs={},
        item_runs={"centralized_procurement": "0 251000元"},
        appeal_run=None,
    )
    amount = proactive[("centralized_procurement", "procurement_amount")]
    assert (proactive[("centralized_procurement", "procurement_items")].value, amount.value, amount.unit) == (
        0,
        251000,
        "元",
    )


def _zero_table(**runs: str) -> dict[str, str]:
    return {code: runs.get(code, "0000000") for code in CODES_2021}


def test_ambiguous_cells_are_null_and_agreed_cells_kept() -> None:
    # 110000011 is 11|0|0|0|0|0|11 or 1|10|0|0|0|0|11 in every row, and A/B cannot tell.
    runs = _zero_table(new_received="110000011", disclosed="110000011", total_processed="110000011")
    applications, _p, _d, problems = _solve_2021(runs)
    for code in ("new_received", "disclosed", "total_processed"):
        assert _row(applications, code) == [None, None, 0, 0, 0, 0, 11]
        assert applications[(code, "natural_person")].problem == AMBIGUOUS
    assert "table 三 disclosed: 2 cells null (ambiguous: several splits fit: '110000011')" in problems


def test_identities_across_rows_decide() -> None:
    # disclosed alone is ambiguous; carried_over 100000010 and A pin total_processed, then B pins it.
    runs = _zero_table(
        new_received="1000001",
        carried_over="100000010",
        disclosed="110000011",
        total_processed="110000011",
        carried_forward="0000000",
    )
    applications, _p, _d, _problems = _solve_2021(runs)
    # new 1 + carried 10 = 11 in the first column: total_processed is 11|0|…, so is disclosed.
    assert _row(applications, "disclosed") == [11, 0, 0, 0, 0, 0, 11]
    assert _row(applications, "total_processed") == [11, 0, 0, 0, 0, 0, 11]


def test_row_without_any_split_is_null_and_flagged() -> None:
    runs = _zero_table(withheld_inquiry="1000003")  # no split makes 3 the sum
    applications, _p, _d, problems = _solve_2021(runs)
    assert _row(applications, "withheld_inquiry") == [None] * 7
    assert {applications[("withheld_inquiry", a)].problem for a in APPLICANTS} == {NO_SPLIT}
    assert "table 三 withheld_inquiry: no split of '1000003' makes the row total the sum" in problems
    # B cannot be used without that row, but the rows that split uniquely are kept.
    assert _row(applications, "disclosed") == [0] * 7


def test_missing_rows_and_table_four() -> None:
    applications, _p, appeals, _problems = _solve_2021({"new_received": "1000001"})
    assert applications[("carried_over", "total")].problem == "row not found"
    assert {c.problem for c in appeals.values()} == {"table not found"}


def test_row_cap_nulls_instead_of_guessing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glued, "ROW_CAP", 1)
    applications, _p, _d, _problems = _solve_2021(_zero_table(disclosed="110000011"))
    assert _row(applications, "disclosed") == [None] * 7
    assert applications[("disclosed", "total")].problem == UNDECIDED
    assert _row(applications, "new_received") == [0] * 7


def test_search_cap_keeps_only_row_agreement(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _zero_table(
        new_received="1000001", carried_over="100000010", disclosed="110000011", total_processed="110000011"
    )
    monkeypatch.setattr(glued, "NODE_CAP", 1)
    applications, _p, _d, problems = _solve_2021(runs)
    assert _row(applications, "disclosed") == [None, None, 0, 0, 0, 0, 11]
    assert "table 三: search capped; rows not yet decided are null" in problems


def test_appeals_split_with_d() -> None:
    _a, _p, appeals, _problems = _solve_2021({}, appeal="110020000000000")
    # 1|1|0|0|2 is the only first block whose total is the sum; the rest are zeros.
    assert [c.value for c in appeals.values()] == [1, 1, 0, 0, 2] + [0] * 10
    run = "0010111111110431011012"
    _a, _p, appeals, _problems = _solve_2021({}, appeal=run)
    # The third proceeding reads 1|0|11|0|12, 10|1|1|0|12 or 1|0|1|10|12: only its total is certain.
    assert [c.value for c in appeals.values()] == [
        0,
        0,
        1,
        0,
        1,
        11,
        11,
        11,
        10,
        43,
        None,
        None,
        None,
        None,
        12,
    ]
    assert appeals[("litigation_after_reconsideration", "upheld")].problem == AMBIGUOUS


# ---------------------------------------------------------------------------- brute force

_INT = re.compile(r"0|[1-9]\d*")
_DEC = re.compile(r"(?:0|[1-9]\d*)\.\d+")


def _piece(piece: str, decimal: bool = False, signed: bool = False) -> tuple[bool, float | int | None]:
    if piece in ("/", "—", "——"):
        return True, None
    sign = 1
    if signed and piece.startswith("-") and piece != "-0":
        piece, sign = piece[1:], -1
    if _INT.fullmatch(piece):
        return True, sign * int(piece)
    if decimal and _DEC.fullmatch(piece):
        return True, sign * float(piece)
    return False, None


def brute_splits(text: str, specs: list[tuple[bool, bool]], group: int | None) -> list[tuple]:
    """Every split by trying every set of cut positions (slow, independent of extract.glued)."""
    text = re.sub(r"(万元|元)$", "", text.strip())
    tokens = text.split()
    chars = "".join(tokens)
    required = set(itertools.accumulate(len(t) for t in tokens[:-1]))
    out = []
    for cuts in itertools.combinations(range(1, len(chars)), len(specs) - 1):
        if not required <= set(cuts):
            continue
        bounds = [0, *cuts, len(chars)]
        values = []
        for i, (decimal, signed) in enumerate(specs):
            ok, value = _piece(chars[bounds[i] : bounds[i + 1]], decimal, signed)
            if not ok:
                break
            values.append(value)
        else:
            if group:
                sums_hold = True
                for g in range(0, len(values), group):
                    block = values[g : g + group]
                    if None not in block and sum(block[:-1]) != block[-1]:
                        sums_hold = False
                if not sums_hold:
                    continue
            out.append(tuple(values))
    return out


def _agreed(solutions: list[tuple]) -> list:
    return [column[0] if len(set(column)) == 1 else None for column in zip(*solutions, strict=True)]


def _brute_appeals(text: str) -> list:
    return _agreed(brute_splits(text, [(False, False)] * 15, 5))


def brute_table3(runs: dict[str, str], single_other_row: bool) -> dict[str, list] | None:
    """Per row, the cell values every A/B/C-consistent combination agrees on (None elsewhere)."""
    codes = TAX.category_codes(single_other_row=single_other_row)
    leaves = TAX.result_leaves(single_other_row=single_other_row)
    candidates = {code: brute_splits(runs[code], [(False, False)] * 7, 7) for code in codes}
    free = [c for c in codes if len(candidates[c]) > 1]
    if (
        any(not candidates[c] for c in codes)
        or len(list(itertools.islice(itertools.product(*(candidates[c] for c in free)), 20001))) > 20000
    ):
        return None  # too big to brute-force: the caller picks another report
    solutions: dict[str, list[tuple]] = {c: [] for c in codes}
    for combo in itertools.product(*(candidates[c] for c in free)):
        row = {c: candidates[c][0] for c in codes} | dict(zip(free, combo, strict=True))
        ok = True
        for col in range(7):
            a = [row[c][col] for c in ("new_received", "carried_over", "total_processed", "carried_forward")]
            if None not in a and a[0] + a[1] != a[2] + a[3]:
                ok = False
            b = [row[c][col] for c in leaves]
            tp = row["total_processed"][col]
            if None not in b and tp is not None and sum(b) != tp:
                ok = False
        if ok:
            for c in codes:
                solutions[c].append(row[c])
    return {c: _agreed(solutions[c]) for c in codes}


# ---------------------------------------------------------------------------- round trip


@st.composite
def small_tables(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, list]]:
    """A consistent small table 三 printed as runs, and its true values."""
    single = draw(st.booleans())
    codes = TAX.category_codes(single_other_row=single)
    leaves = TAX.result_leaves(single_other_row=single)
    rows: dict[str, list] = {c: [0] * 7 for c in codes}
    for col in range(6):
        for leaf in draw(st.lists(st.sampled_from(leaves), max_size=3)):
            rows[leaf][col] += draw(st.integers(1, 12))
        tp = sum(rows[leaf][col] for leaf in leaves)
        forward = draw(st.integers(0, 2))
        over = draw(st.integers(0, min(2, tp + forward)))
        rows["total_processed"][col] = tp
        rows["carried_forward"][col] = forward
        rows["carried_over"][col] = over
        rows["new_received"][col] = tp + forward - over
    for c in codes:
        rows[c][6] = sum(rows[c][:6])
    runs = {}
    for c in codes:
        gaps = draw(st.lists(st.sampled_from(["", "", "", "", " "]), min_size=6, max_size=6))
        if draw(st.sampled_from([False, False, False, True])):
            rows[c][6] = None  # the total printed as a dash: the row's sum is unconstrained
        printed = ["—" if v is None else str(v) for v in rows[c]]
        runs[c] = printed[0] + "".join(g + v for g, v in zip(gaps, printed[1:], strict=True))
    return runs, rows


@settings(max_examples=40, deadline=None)
@given(small_tables())
def test_table3_matches_brute_force(table: tuple[dict[str, str], dict[str, list]]) -> None:
    runs, truth = table
    single = "other" in runs
    expected = brute_table3(runs, single)
    if expected is None:
        expected = {}
    applications, _p, _d, _problems = solve(
        template="2021", single_other_row=single, category_runs=runs, item_runs={}, appeal_run=None
    )
    for code, values in expected.items():
        assert _row(applications, code) == values, (code, runs[code])
    for (code, a), cell in applications.items():
        printed = truth[code][APPLICANTS.index(a)]
        if cell.value is not None:  # never wrong while accepted
            assert cell.value == printed
        elif printed is None:
            assert cell.blank and cell.problem is None
        else:
            assert cell.problem in (AMBIGUOUS, UNDECIDED)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=3, max_size=3),
    st.lists(st.sampled_from(["", "", "", " "]), min_size=2, max_size=2),
    st.sampled_from(["2019", "2021"]),
)
def test_table2_matches_brute_force(values: list[int], gaps: list[str], template: str) -> None:
    item = next(i for i in TAX.proactive[template] if len(i.measures) == 3)
    run = str(values[0]) + gaps[0] + str(values[1]) + gaps[1] + str(values[2])
    specs = [(m.decimal, m.signed) for m in item.measures]
    expected = _agreed(brute_splits(run, specs, None))
    _a, proactive, _d, _p = solve(
        template=template,
        single_other_row=True,
        category_runs={},
        item_runs={item.code: run},
        appeal_run=None,
    )
    got = [proactive[(item.code, m.code)].value for m in item.measures]
    assert got == expected
    for v, truth in zip(got, values, strict=True):
        assert v is None or v == truth


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 6), min_size=4, max_size=4), min_size=3, max_size=3), st.data())
def test_table4_matches_brute_force(outcomes: list[list[int]], data: st.DataObject) -> None:
    values = [v for block in outcomes for v in [*block, sum(block)]]
    gaps = data.draw(st.lists(st.sampled_from(["", "", "", "", " "]), min_size=14, max_size=14))
    run = str(values[0]) + "".join(g + str(v) for g, v in zip(gaps, values[1:], strict=True))
    _a, _p, appeals, _problems = _solve_2021({}, appeal=run)
    got = [c.value for c in appeals.values()]
    assert got == _brute_appeals(run)
    for v, truth in zip(got, values, strict=True):
        assert v is None or v == truth


# ---------------------------------------------------------------------------- fast routes


def _reference(run: glued.Run, specs: list[Spec], blocks: list[tuple[int, bool]], cap: int) -> object:
    """The general walk, the one every faster route must agree with (its list or ``Capped``)."""
    try:
        return glued._walk_splits(run.chars, specs, blocks, glued._next_cuts(run), cap, glued._general_walk)
    except glued.Capped:
        return "capped"


def _fast(run: glued.Run, specs: list[Spec], blocks: list[tuple[int, bool]], cap: int) -> object:
    try:
        return enumerate_splits(run, specs, blocks, cap)
    except glued.Capped:
        return "capped"


@st.composite
def digit_runs(draw: st.DrawFn) -> tuple[str, list[tuple[int, bool]], int]:
    """Digit runs shaped like table 三, 四 and 二 rows, often with a split that fits, some with
    surviving spaces."""
    blocks = draw(
        st.sampled_from([[(7, True)], [(3, True)], [(5, True)] * 3, [(1, False)] * 3, [(1, False)] * 2])
    )
    if draw(st.booleans()):
        values = []
        for size, summed in blocks:
            cells = draw(
                st.lists(st.sampled_from([0, 0, 1, 7, 12, 60, 305, 2178]), min_size=size, max_size=size)
            )
            values += [*cells[:-1], sum(cells[:-1])] if summed else cells
        text = "".join(map(str, values))
    else:
        text = draw(st.text("0001123456789", min_size=1, max_size=16))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(1, max(1, len(text) - 1)))
        text = text[:at] + " " + text[at:]
    return text, blocks, draw(st.sampled_from([0, 1, 3, 5000]))


@settings(max_examples=400, deadline=None)
@given(digit_runs())
def test_fast_routes_find_what_the_walk_finds(case: tuple[str, list[tuple[int, bool]], int]) -> None:
    text, blocks, cap = case
    run = prepare(text)
    specs = [Spec()] * sum(size for size, _ in blocks)
    assert _fast(run, specs, blocks, cap) == _reference(run, specs, blocks, cap)


@settings(max_examples=200, deadline=None)
@given(digit_runs(), st.integers(1, 60))
def test_digit_walk_takes_the_general_walks_steps(
    case: tuple[str, list[tuple[int, bool]], int], step_cap: int
) -> None:
    text, blocks, _cap = case
    run = prepare(text)
    specs = [Spec()] * sum(size for size, _ in blocks)
    if not (run.chars.isascii() and run.chars.isdigit()):
        return
    results = []
    for walk in (glued._digit_walk, glued._general_walk):
        original = glued.STEP_CAP
        glued.STEP_CAP = step_cap  # the step cap trips on the same step or on none
        try:
            results.append(glued._walk_splits(run.chars, specs, blocks, glued._next_cuts(run), 5000, walk))
        except glued.Capped:
            results.append("capped")
        finally:
            glued.STEP_CAP = original
    assert results[0] == results[1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=2, max_size=2), min_size=1, max_size=3
        ),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.dictionaries(st.integers(0, 4), st.sampled_from([1, -1]), min_size=1), max_size=3),
    st.data(),
)
def test_exact_sums_decide_as_the_float_sums(
    candidates: list[list[list[int | None]]], raw_constraints: list[dict[int, int]], data: st.DataObject
) -> None:
    cands = [[(tuple(values), ("",) * 2) for values in var] for var in candidates]
    cons = [[(vi, coef) for vi, coef in c.items() if vi < len(cands)] for c in raw_constraints]
    singles = {vi: 0 for vi, var in enumerate(cands) if len(var) == 1}
    sums = glued._Sums(cons, cands, 2, singles)
    assert sums.exact
    floats = glued._float_feasible(cons, cands, 2)
    assignment = dict(singles)
    for vi, var in enumerate(cands):
        if len(var) > 1 and data.draw(st.booleans()):
            assignment[vi] = data.draw(st.integers(0, len(var) - 1))
    for ci in range(len(cons)):
        assert sums.feasible(ci, assignment) == floats(ci, assignment)
