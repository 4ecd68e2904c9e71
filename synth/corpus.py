"""A folder of synthetic reports laid out like ``data/raw``: ``<year>/<file>.txt`` + manifest.csv.

Deterministic by seed. Each agency carries its open requests from one year into the next
(identity E), and a few reports are deliberately imperfect (an identity break, blank cells) so
a demo warehouse shows warnings next to clean reports.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from schemas.taxonomy import taxonomy
from synth.layouts import LAYOUTS
from synth.model import SyntheticReport, random_report
from synth.names import make_agencies
from synth.quirks import Quirks
from synth.render import render

MANIFEST_COLUMNS = ("path", "agency", "year", "region", "url", "published")
BREAK_SHARE = 0.06  # reports with a planted identity break
BLANK_SHARE = 0.08  # reports with some cells left blank


def expected_json(report: SyntheticReport) -> dict[str, Any]:
    """The tables as ``gongkai extract --json`` prints them for this report (nulls included)."""
    tax = taxonomy()
    applications = [
        {"category": c, "applicant_type": a, "count": report.applications[(c, a)]}
        for c in report.category_codes
        for a in tax.applicant_codes
    ]
    proactive = []
    for item in tax.proactive[report.template]:
        for m in item.measures:
            value = report.proactive[(item.code, m.code)]
            # The extractor records the unit printed in the cell, else the measure's own unit.
            unit = None if value is None else report.units.get((item.code, m.code), m.unit)
            proactive.append({"item": item.code, "measure": m.code, "value": value, "unit": unit})
    appeals = [
        {"proceeding": p, "outcome": o, "count": report.appeals[(p, o)]}
        for p in tax.proceeding_codes
        for o in tax.outcome_codes
    ]
    return {
        "agency": report.agency,
        "year": report.year,
        "template": report.template,
        "applications": applications,
        "proactive": proactive,
        "appeals": appeals,
    }


def _published(rng: random.Random, year: int) -> str:
    return f"{year + 1}-{rng.randint(1, 3):02d}-{rng.randint(1, 28):02d}"


def write_corpus(
    raw_dir: Path,
    *,
    agencies: int = 20,
    years: Iterable[int] = range(2019, 2025),
    seed: int = 0,
    layouts: Sequence[str] = LAYOUTS,
) -> list[tuple[Path, SyntheticReport]]:
    """Write ``agencies`` × ``years`` reports under ``raw_dir``; returns (path, truth) pairs."""
    rng = random.Random(seed)
    raw_dir = Path(raw_dir)
    years = sorted(years)
    written: list[tuple[Path, SyntheticReport]] = []
    manifest: list[dict[str, Any]] = []
    for index, agency in enumerate(make_agencies(rng, agencies)):
        layout = rng.choice(list(layouts))  # an agency's site keeps its export style
        keeps_single_other_row = rng.random() < 0.1
        carried_over: dict[str, int] | None = None
        for year in years:
            r = random.Random(rng.getrandbits(64))  # one stream per report: stable when others change
            broken = r.random() < BREAK_SHARE
            blanks = r.random() < BLANK_SHARE
            report = random_report(
                r,
                agency=agency.name,
                year=year,
                single_other_row=keeps_single_other_row if year >= 2021 else None,
                carried_over=carried_over,
                break_identity=r.choice(["A", "B", "C", "D"]) if broken else None,
                blank_cells=r.randint(1, 4) if blanks else 0,
            )
            carried_over = report.carried_forward
            data = render(report, layout, r, Quirks.random(r))
            path = raw_dir / str(year) / f"synth_{index:03d}_{year}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            rel = path.relative_to(raw_dir).as_posix()
            manifest.append(
                {
                    "path": rel,
                    "agency": agency.name,
                    "year": year,
                    "region": agency.region,
                    "url": f"https://xxgk.example.org/{index:03d}/{year}/ndbg.html",
                    "published": _published(r, year),
                }
            )
            written.append((path, report))
    with (raw_dir / "manifest.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(manifest)
    return written
