"""Compare an extracted report (``Report.to_json()``) with the generator's truth, cell by cell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synth.corpus import expected_json
from synth.model import SyntheticReport

TABLES = {"applications": "count", "proactive": "value", "appeals": "count"}


@dataclass(frozen=True)
class Mismatch:
    table: str
    row: str
    column: str
    got: dict[str, Any] | None
    expected: dict[str, Any] | None
    flagged: bool  # the extractor flagged this cell (it knows it could not read it)

    @property
    def wrong(self) -> bool:
        """A number that differs from the truth, rather than a flagged null: never acceptable."""
        if self.got is None or self.expected is None:
            return True
        return self.got[TABLES[self.table]] is not None or not self.flagged


def _key(table: str, cell: dict[str, Any]) -> tuple[str, str]:
    row, column = (v for k, v in cell.items() if k not in ("count", "value", "unit"))
    return row, column


def mismatches(got: dict[str, Any], report: SyntheticReport) -> list[Mismatch]:
    """Template cells whose extracted entry differs from the truth (value or unit)."""
    expected = expected_json(report)
    flagged = {(f["table"], f["row"], f["column"]) for f in got.get("flags", [])}
    out = []
    for table in TABLES:
        g_cells = {_key(table, c): c for c in got.get(table, [])}
        e_cells = {_key(table, c): c for c in expected[table]}
        for key in [*e_cells, *(k for k in g_cells if k not in e_cells)]:
            g, e = g_cells.get(key), e_cells.get(key)
            if g != e:
                out.append(Mismatch(table, *key, g, e, (table, *key) in flagged))
    return out
