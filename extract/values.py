"""Reading one value cell: the number printed, or null for a blank or dash, or a flag."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from extract.normalize import ARTEFACTS, nfkc

# A cell holding only one of these is "not filled": recorded as null, never as 0.
BLANK_MARKS = frozenset({"", "/", "-", "—", "——", "－", "–", "无", "\\", "空", "−", "―"})

# The leading number of a cell: sign, digits with optional thousands separators, decimals.
_NUMBER = re.compile(r"^([-+−]?)\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
# What may follow the number: a unit, or a remark in brackets (22（其中修订16件）).
_TRAILER = re.compile(
    r"^\s*(?P<unit>万元|亿元|元|件|个|项|条|次|人)?\s*(?P<remark>\(.*\)|\[.*\]|【.*】)?\s*$"
)


@dataclass(frozen=True)
class CellValue:
    value: int | float | None
    blank: bool = False  # an empty or dash cell: null by design
    problem: str | None = None  # set when the cell could not be read: null and flagged
    unit: str | None = None
    remark: str | None = None


@lru_cache(maxsize=16384)
def looks_like_value(cell: str) -> bool:
    """True for cells a table reader should treat as a value position, not a label."""
    text = ARTEFACTS.sub("", nfkc(cell)).strip()
    if text in BLANK_MARKS:
        return True
    match = _NUMBER.match(text)
    return bool(match) and bool(_TRAILER.match(text[match.end() :]))


@lru_cache(maxsize=16384)
def parse_value(cell: str, *, decimal: bool = False, signed: bool = False) -> CellValue:
    """Parse a printed cell. Never raises; unreadable cells come back with ``problem`` set."""
    text = ARTEFACTS.sub("", nfkc(cell)).strip().replace("\u3000", " ")
    if text in BLANK_MARKS:
        return CellValue(None, blank=True)
    match = _NUMBER.match(text)
    if not match:
        return CellValue(None, problem=f"not a number: {cell.strip()[:40]!r}")
    trailer = _TRAILER.match(text[match.end() :])
    if not trailer:
        return CellValue(None, problem=f"unexpected text after the number: {cell.strip()[:40]!r}")
    sign, digits, fraction = match.groups()
    number = int(digits.replace(",", ""))
    value: int | float = number
    if fraction is not None:
        if not decimal and set(fraction) != {"0"}:
            return CellValue(None, problem=f"fraction in a count cell: {cell.strip()[:40]!r}")
        value = float(f"{number}.{fraction}") if decimal else number
    if sign in ("-", "−"):
        if not signed:
            return CellValue(None, problem=f"negative count: {cell.strip()[:40]!r}")
        value = -value
    return CellValue(value, unit=trailer["unit"], remark=trailer["remark"])
