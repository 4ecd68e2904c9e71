"""Identities A, B, C, D (TAXONOMY.md) computed per report into check rows.

A check whose inputs include a null cell cannot be decided: ``passed`` is None and the
missing side is None, so "not checkable" is never confused with "holds" or "fails".
"""

from __future__ import annotations

from dataclasses import dataclass

from extract.matcher import Tables
from schemas.taxonomy import taxonomy

Number = int | float | None


@dataclass(frozen=True)
class Check:
    rule: str
    subject: str
    expected: Number  # what the identity says the printed cell should be
    actual: Number  # what is printed
    passed: bool | None


def _sum(values: list[Number]) -> Number:
    total: int | float = 0
    for v in values:
        if v is None:
            return None
        total += v
    return total


def _check(rule: str, subject: str, expected: Number, actual: Number) -> Check:
    passed = None if expected is None or actual is None else abs(expected - actual) < 1e-9
    return Check(rule, subject, expected, actual, passed)


def compute_checks(tables: Tables) -> list[Check]:
    tax = taxonomy()
    app = {k: c.value for k, c in tables.applications.items()}
    checks: list[Check] = []
    leaves = tax.result_leaves(single_other_row=tables.single_other_row)
    for a in tax.applicant_codes:
        # A: new_received + carried_over = total_processed + carried_forward
        checks.append(
            _check(
                "A",
                a,
                _sum([app[("new_received", a)], app[("carried_over", a)]]),
                _sum([app[("total_processed", a)], app[("carried_forward", a)]]),
            )
        )
    for a in tax.applicant_codes:
        # B: total_processed = sum of the result leaves
        checks.append(_check("B", a, _sum([app[(c, a)] for c in leaves]), app[("total_processed", a)]))
    parts = [a for a in tax.applicant_codes if a != "total"]
    for code in tax.category_codes(single_other_row=tables.single_other_row):
        # C: total = the sum of the six applicant columns
        checks.append(_check("C", code, _sum([app[(code, a)] for a in parts]), app[(code, "total")]))
    outcomes = [o for o in tax.outcome_codes if o != "total"]
    for p in tax.proceeding_codes:
        # D: total = upheld + corrected + other + pending
        values = [tables.appeals[(p, o)].value for o in outcomes]
        checks.append(_check("D", p, _sum(values), tables.appeals[(p, "total")].value))
    return checks
