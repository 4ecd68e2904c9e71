"""The true content of one synthetic report, and a generator of consistent values.

Values are what the report *prints*: ``None`` is a cell printed blank or as a dash, which the
extractor must record as null. Codes, orders and labels all come from ``schemas.taxonomy``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from schemas.taxonomy import taxonomy

Number = int | float | None
Key = tuple[str, str]
Rule = Literal["A", "B", "C", "D"]
PARTS_WEIGHT = {  # relative share of requests by applicant column: most come from individuals
    "natural_person": 1.0,
    "commercial_enterprise": 0.3,
    "research_institution": 0.03,
    "social_welfare_org": 0.03,
    "legal_service_org": 0.12,
    "other_org": 0.15,
}
LEAF_WEIGHT = {  # how requests are usually answered: disclosed or "not held" dominate
    "disclosed": 10,
    "partially_disclosed": 2,
    "unavailable_not_held": 5,
    "not_processed_petition": 1.5,
    "not_processed_duplicate": 1,
    "other": 1.5,
    "other_other": 1.5,
}


@dataclass(frozen=True)
class Check:
    """One identity check, shaped like the extractor's ``checks`` rows."""

    rule: str
    subject: str
    expected: Number
    actual: Number
    passed: bool | None


@dataclass
class SyntheticReport:
    agency: str
    year: int
    template: str  # "2019" | "2021"
    single_other_row: bool
    applications: dict[Key, int | None]  # (category, applicant_type) -> count
    proactive: dict[Key, Number]  # (item, measure) -> value
    appeals: dict[Key, int | None]  # (proceeding, outcome) -> count
    units: dict[Key, str] = field(default_factory=dict)  # a unit printed inside the cell (251000元)
    planted: list[str] = field(default_factory=list)  # identity breaks planted on purpose
    # carried_forward before any cell was blanked: next year's carried_over (identity E).
    carried_forward_true: dict[str, int] = field(default_factory=dict)

    @property
    def category_codes(self) -> list[str]:
        return taxonomy().category_codes(single_other_row=self.single_other_row)

    @property
    def carried_forward(self) -> dict[str, int]:
        """What next year's report carries over: the printed value, else the true one."""
        printed = {a: self.applications[("carried_forward", a)] for a in taxonomy().applicant_codes}
        return {a: v if v is not None else self.carried_forward_true[a] for a, v in printed.items()}

    def null_cells(self) -> int:
        return sum(
            v is None for table in (self.applications, self.proactive, self.appeals) for v in table.values()
        )

    def checks(self) -> list[Check]:
        """Identities A, B, C, D in the extractor's order; a null input leaves a check undecided."""
        tax = taxonomy()
        app = self.applications
        leaves = tax.result_leaves(single_other_row=self.single_other_row)
        out = []
        for a in tax.applicant_codes:
            out.append(
                _check(
                    "A",
                    a,
                    _sum([app[("new_received", a)], app[("carried_over", a)]]),
                    _sum([app[("total_processed", a)], app[("carried_forward", a)]]),
                )
            )
        for a in tax.applicant_codes:
            out.append(_check("B", a, _sum([app[(c, a)] for c in leaves]), app[("total_processed", a)]))
        parts = [a for a in tax.applicant_codes if a != "total"]
        for code in self.category_codes:
            out.append(_check("C", code, _sum([app[(code, a)] for a in parts]), app[(code, "total")]))
        outcomes = [o for o in tax.outcome_codes if o != "total"]
        for p in tax.proceeding_codes:
            values = [self.appeals[(p, o)] for o in outcomes]
            out.append(_check("D", p, _sum(values), self.appeals[(p, "total")]))
        return out

    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks() if c.passed is False]

    @property
    def expected_status(self) -> str:
        """``ok`` only for a complete report whose identities all hold."""
        return "ok" if self.null_cells() == 0 and not self.failed_checks() else "warning"


def _sum(values: list[Number]) -> Number:
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


def _check(rule: str, subject: str, expected: Number, actual: Number) -> Check:
    passed = None if expected is None or actual is None else abs(expected - actual) < 1e-9
    return Check(rule, subject, expected, actual, passed)


def template_for_year(year: int) -> str:
    return "2019" if year <= 2020 else "2021"


# ---------------------------------------------------------------------------- random values


def _count(rng: random.Random, mean: float) -> int:
    """A skewed non-negative count: usually near the mean, sometimes far above it."""
    if mean <= 0:
        return 0
    return int(rng.expovariate(1 / mean))


def _split(rng: random.Random, n: int, weights: dict[str, float]) -> dict[str, int]:
    """Share n among the keys, randomly but roughly by weight, summing exactly to n."""
    keys = list(weights)
    noisy = [weights[k] * rng.random() ** 2 for k in keys]
    total = sum(noisy) or 1.0
    shares = [int(n * w / total) for w in noisy]
    for _ in range(n - sum(shares)):
        shares[rng.choices(range(len(keys)), weights=[w + 1e-9 for w in noisy])[0]] += 1
    return dict(zip(keys, shares, strict=True))


def _decimal(rng: random.Random, low: float, high: float) -> int | float:
    """A money amount with 1–6 decimals, as printed; an integral one is kept an int."""
    value = round(rng.uniform(low, high), rng.choice([1, 2, 2, 4, 6]))
    return int(value) if value == int(value) else value


def _applications(
    rng: random.Random, codes: list[str], leaves: list[str], carried_over: dict[str, int] | None
) -> tuple[dict[Key, int | None], dict[str, int]]:
    tax = taxonomy()
    # The scale of requests: most agencies get a handful, a few get thousands.
    scale = rng.choices([0, 2, 8, 40, 300, 2500], weights=[15, 30, 25, 15, 10, 5])[0]
    leaf_weights = {leaf: LEAF_WEIGHT.get(leaf, 0.3) for leaf in leaves}
    values: dict[Key, int | None] = {}
    for a, weight in PARTS_WEIGHT.items():
        active = a == "natural_person" or rng.random() < min(0.9, weight * 2)
        new = _count(rng, scale * weight) if active else 0
        over = (
            carried_over[a]
            if carried_over is not None
            else (_count(rng, new * 0.05) if rng.random() < 0.3 else 0)
        )
        available = new + over
        forward = int(available * rng.uniform(0, 0.12)) if rng.random() < 0.4 else 0
        shares = _split(rng, available - forward, leaf_weights)
        row = {"new_received": new, "carried_over": over, "total_processed": available - forward}
        row |= {"carried_forward": forward, **shares}
        for code in codes:
            values[(code, a)] = row[code]
    for code in codes:
        values[(code, "total")] = sum(values[(code, a)] or 0 for a in PARTS_WEIGHT)
    forward_true = {a: values[("carried_forward", a)] or 0 for a in tax.applicant_codes}
    return values, forward_true


def _appeals(rng: random.Random) -> dict[Key, int | None]:
    tax = taxonomy()
    values: dict[Key, int | None] = {}
    for p, mean in zip(tax.proceeding_codes, (3, 1.5, 1), strict=True):
        n = _count(rng, mean) if rng.random() < 0.45 else 0
        shares = _split(rng, n, {"upheld": 6, "corrected": 1, "other": 1.5, "pending": 2})
        for o in tax.outcome_codes:
            values[(p, o)] = n if o == "total" else shares[o]
    return values


def _proactive(rng: random.Random, template: str) -> tuple[dict[Key, Number], dict[Key, str]]:
    values: dict[Key, Number] = {}
    units: dict[Key, str] = {}
    busy = rng.random() < 0.4  # a busy agency (licences, penalties) rather than a quiet office
    for item in taxonomy().proactive[template]:
        previous = 0
        for m in item.measures:
            key = (item.code, m.code)
            if m.code in ("issued", "new_made", "new_published", "repealed"):
                v: Number = _count(rng, 6 if item.code == "normative_documents" else 0.6)
            elif m.code in ("in_force", "total_published"):
                v = _count(rng, 80 if item.code == "normative_documents" else 4)
            elif m.code == "decisions":
                v = _count(rng, 3000 if busy else 15) if rng.random() < 0.6 else 0
            elif m.code == "previous_year_items":
                v = previous = _count(rng, 60 if busy else 5)
            elif m.code == "change":
                v = rng.randint(-min(previous, 20), 20) if rng.random() < 0.5 else 0
            elif m.code == "amount_10k_yuan":
                v = _decimal(rng, 0.01, 30000) if rng.random() < 0.35 else 0
            elif m.code == "procurement_items":
                v = _count(rng, 12)
            elif m.code == "procurement_amount":
                unit = rng.choice(["万元", "元", None])
                v = 0
                if rng.random() < 0.7:
                    v = _decimal(rng, 1, 5000) if unit != "元" else rng.randint(1000, 9_000_000)
                if unit:
                    units[key] = unit
            else:  # a measure added to the taxonomy later: a plain small count
                v = _count(rng, 5)
            values[key] = v
    return values, units


def _plant(rng: random.Random, report: SyntheticReport, rule: Rule) -> None:
    """Make one identity fail the way real reports do (a 总计 that does not add up)."""
    app, k = report.applications, rng.randint(1, 9)
    if rule == "A":  # carried_forward too large in one column (and its total): A fails only
        col = rng.choice([a for a in PARTS_WEIGHT])
        for key in (("carried_forward", col), ("carried_forward", "total")):
            app[key] = (app[key] or 0) + k
    elif rule == "B":  # a result leaf off in one column and its row total: B fails only
        col = rng.choice([a for a in PARTS_WEIGHT])
        for key in (("disclosed", col), ("disclosed", "total")):
            app[key] = (app[key] or 0) + k
    elif rule == "C":  # a row total that is not the sum of its columns
        app[("disclosed", "total")] = (app[("disclosed", "total")] or 0) + k
    else:  # D: a 总计 that is not the sum of the outcomes (often 0 under 10+1+0+0)
        p = rng.choice(taxonomy().proceeding_codes)
        total = report.appeals[(p, "total")] or 0
        report.appeals[(p, "total")] = 0 if total else k
    report.planted.append(rule)


def _blank(rng: random.Random, report: SyntheticReport, cells: int, total_column: bool) -> None:
    """Print some cells blank or as a dash: their value becomes None (null, not 0)."""
    if total_column:  # a whole 总计 column left empty (seen in real 2019 reports)
        for code in report.category_codes:
            report.applications[(code, "total")] = None
    tables = [report.applications, report.proactive, report.appeals]
    for _ in range(cells):
        table = rng.choices(tables, weights=[6, 3, 1])[0]
        table[rng.choice(list(table))] = None


def random_report(
    rng: random.Random,
    *,
    agency: str,
    year: int,
    template: str | None = None,
    single_other_row: bool | None = None,
    carried_over: dict[str, int] | None = None,
    break_identity: Rule | None = None,
    blank_cells: int = 0,
    blank_total_column: bool = False,
) -> SyntheticReport:
    """A report whose identities A–D hold, unless ``break_identity`` plants one failure.

    ``template`` defaults to the year's (2019 for 2019–2020, 2021 after); a 2021 report keeps
    the single （六）其他处理 row when ``single_other_row`` is true (random when None, rarely).
    ``carried_over`` is last year's carried_forward per applicant column (identity E).
    ``blank_cells`` cells, and the whole 总计 column if ``blank_total_column``, print blank.
    """
    tax = taxonomy()
    template = template or template_for_year(year)
    if template == "2019":
        single_other_row = True
    elif single_other_row is None:
        single_other_row = rng.random() < 0.1
    codes = tax.category_codes(single_other_row=single_other_row)
    leaves = tax.result_leaves(single_other_row=single_other_row)
    applications, forward_true = _applications(rng, codes, leaves, carried_over)
    proactive, units = _proactive(rng, template)
    report = SyntheticReport(
        agency=agency,
        year=year,
        template=template,
        single_other_row=single_other_row,
        applications=applications,
        proactive=proactive,
        appeals=_appeals(rng),
        units=units,
        carried_forward_true=forward_true,
    )
    if break_identity:
        _plant(rng, report, break_identity)
        report.carried_forward_true = dict(report.carried_forward)
    _blank(rng, report, blank_cells, blank_total_column)
    return report
