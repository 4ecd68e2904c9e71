"""The benchmark corpus: synthetic reports with known answers, rendered into every format.

Deterministic by seed: each case draws from its own ``random.Random(f"{seed}:{kind}:{index}")``
(string seeds hash stably), so a case does not change when the corpus grows or another format
is added. DOC and PDF go through LibreOffice in batches, one ``soffice`` start per batch, since
each start costs seconds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from synth.model import SyntheticReport, random_report
from synth.names import make_agency
from synth.quirks import Quirks
from synth.render import render
from synth.render_docx import render_docx
from synth.render_html import render_html
from synth.render_markdown import render_markdown_parts
from synth.render_pdf import build_docx, soffice
from synth.render_runon import render_runon_parts
from synth.render_spaced import render_spaced

KINDS = (
    "text/cells",
    "text/pipes",
    "text/tabs",
    "text/spaces",
    "text/runon",
    "markdown",
    "markdown/transcript",
    "html",
    "docx",
    "doc",
    "pdf",
    "pdf/unruled",
)
SUFFIX = {
    "markdown": ".md",
    "markdown/transcript": ".md",
    "html": ".html",
    "docx": ".docx",
    "doc": ".doc",
    "pdf": ".pdf",
    "pdf/unruled": ".pdf",
}
# The format the extractor should detect; an unruled PDF is read from text positions.
EXPECTED_FORMAT = {"pdf/unruled": "pdf/spaces", "markdown/transcript": "markdown"}
OFFICE_KINDS = {"doc": "doc", "pdf": "pdf", "pdf/unruled": "pdf"}  # kind -> LibreOffice target
VARIANTS = ("2019", "2021", "2021-single")  # 2021-single keeps （六）其他处理 as one row
BREAK_SHARE = 0.1  # reports with a planted identity break (a 总计 that does not add up)
CLEAN_SHARE = 0.15  # reports rendered with no quirks at all
SOFFICE_BATCH = 40  # files per soffice start: big enough to amortise it, small enough to time out sanely
SOFFICE_WORKERS = 2  # LibreOffice is single-threaded: two batches at once use a 2-core machine


@dataclass
class Case:
    kind: str
    index: int
    seed: str  # the case's own rng seed: re-creates it alone
    name: str  # file name handed to extract_bytes (no year in it: the title must give the year)
    report: SyntheticReport
    quirks: Quirks
    data: bytes = b""
    # Rows whose cells are null by construction (Markdown rows that lost a cell): (table, row code).
    damaged: set[tuple[str, str]] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.kind}#{self.index:03d} (seed {self.seed!r})"

    @property
    def expected_format(self) -> str:
        return EXPECTED_FORMAT.get(self.kind, self.kind)


def case_seed(seed: int, kind: str, index: int) -> str:
    return f"{seed}:{kind}:{index}"


def _report(rng: random.Random, index: int) -> SyntheticReport:
    variant = VARIANTS[index % len(VARIANTS)]  # both templates, evenly
    year = rng.choice([2019, 2020] if variant == "2019" else [2021, 2022, 2023, 2024])
    return random_report(
        rng,
        agency=make_agency(rng).name,
        year=year,
        single_other_row=None if variant == "2019" else variant == "2021-single",
        break_identity=rng.choice("ABCD") if rng.random() < BREAK_SHARE else None,  # type: ignore[arg-type]
        blank_cells=rng.choice([0, 0, 0, 1, 3, 8]),
        blank_total_column=rng.random() < 0.04,
    )


def _render(kind: str, report: SyntheticReport, rng: random.Random, quirks: Quirks, case: Case) -> bytes:
    """The file's bytes; for DOC/PDF the DOCX that LibreOffice will convert."""
    if kind.startswith("text/") and kind not in ("text/spaces", "text/runon"):
        if kind == "text/pipes" and rng.random() < 0.5:  # spanned-cell markers right after the label
            quirks = replace(quirks, markers_after_label=True)
        return render(report, kind, rng, quirks)
    if kind == "text/spaces":
        return render_spaced(report, rng, quirks)
    if kind == "text/runon":
        return render_runon_parts(report, rng, quirks).text.encode(quirks.encoding)
    if kind == "markdown":
        detach, drop = rng.choice([0.0, 0.05, 0.2]), rng.choice([0.0, 0.0, 0.05])
        parts = render_markdown_parts(report, rng, quirks, detach=detach, drop=drop)
        case.damaged = set(parts.damaged)  # ("appeals", "appeals") stands for the whole table
        return parts.text.encode(quirks.encoding)
    if kind == "markdown/transcript":
        # As transcripts and some converters leave them: one small table per row (label
        # repeated, or only in the heading), or one table cut by a page break with some rows'
        # labels lost (those rows are placed only when identities A and B confirm it).
        shape = rng.choice(["label", "heading", "split"])
        if shape == "split":
            label_lost = rng.choice([0.0, 0.2, 1.0])
            text = render_markdown_parts(
                report, rng, quirks, detach=0.0, page_break=True, label_lost=label_lost
            ).text
        else:
            text = render_markdown_parts(report, rng, quirks, per_row=shape).text
        return text.encode(quirks.encoding)
    if kind == "html":
        return render_html(report, rng, quirks)
    if kind in ("docx", "doc"):
        return render_docx(report, rng, quirks)
    if kind in ("pdf", "pdf/unruled"):
        return build_docx(report, rng, quirks, ruled=kind == "pdf")
    raise ValueError(f"unknown kind {kind!r}")


def make_case(seed: int, kind: str, index: int) -> Case:
    """One case, rendered (DOC/PDF still as the DOCX to convert)."""
    s = case_seed(seed, kind, index)
    rng = random.Random(s)
    report = _report(rng, index)
    quirks = Quirks() if rng.random() < CLEAN_SHARE else Quirks.random(rng)
    stem = kind.replace("/", "_") + f"_{index:03d}"
    case = Case(kind, index, s, stem + SUFFIX.get(kind, ".txt"), report, quirks)
    case.data = _render(kind, report, rng, quirks, case)
    return case


# ---------------------------------------------------------------------------- LibreOffice


def _convert_batch(sources: dict[str, bytes], target: str) -> dict[str, bytes]:
    """One soffice start converting every DOCX in ``sources`` (stem -> bytes) to ``target``."""
    binary = soffice()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="gongkai-bench-") as tmp:
        work = Path(tmp)
        paths = []
        for stem, data in sources.items():
            path = work / f"{stem}.docx"
            path.write_bytes(data)
            paths.append(str(path))
        out = work / "out"
        cmd = [binary, "--headless", "--norestore", f"-env:UserInstallation={(work / 'profile').as_uri()}"]
        cmd += ["--convert-to", target, "--outdir", str(out), *paths]
        # Own session, so a hung conversion's helpers die with it; a throw-away HOME and profile
        # so two batches never share LibreOffice's lock.
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "HOME": tmp},
        )
        try:
            proc.communicate(timeout=60 + 10 * len(sources))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {}
        return {
            stem: (out / f"{stem}.{target}").read_bytes()
            for stem in sources
            if (out / f"{stem}.{target}").is_file()
        }


def convert_office(cases: list[Case], batch: int = SOFFICE_BATCH) -> list[str]:
    """Replace each DOC/PDF case's DOCX by its conversion; returns notes on failures."""
    jobs: list[tuple[dict[str, bytes], str]] = []
    by_stem: dict[str, Case] = {}
    for target in ("pdf", "doc"):
        todo = [c for c in cases if OFFICE_KINDS.get(c.kind) == target]
        for i in range(0, len(todo), batch):
            chunk = todo[i : i + batch]
            jobs.append(({Path(c.name).stem: c.data for c in chunk}, target))
            by_stem |= {Path(c.name).stem: c for c in chunk}
    notes = []
    with ThreadPoolExecutor(SOFFICE_WORKERS) as pool:
        for (sources, target), converted in zip(
            jobs, pool.map(lambda job: _convert_batch(*job), jobs), strict=True
        ):
            for stem in sources:
                if stem in converted:
                    by_stem[stem].data = converted[stem]
                else:
                    by_stem[stem].data = b""
                    notes.append(f"{by_stem[stem].label}: LibreOffice did not convert it to {target}")
    return notes


def build_corpus(
    seed: int, per_kind: int, kinds: tuple[str, ...] = KINDS, progress: Callable[[str], None] = print
) -> tuple[list[Case], list[str]]:
    """``per_kind`` cases of every kind; returns the cases that have bytes, and notes."""
    notes: list[str] = []
    if soffice() is None:
        notes.append("soffice (LibreOffice) is not installed: DOC and PDF were left out")
        kinds = tuple(k for k in kinds if k not in OFFICE_KINDS)
    cases = [make_case(seed, kind, i) for kind in kinds for i in range(per_kind)]
    office = [c for c in cases if c.kind in OFFICE_KINDS]
    if office:
        progress(f"converting {len(office)} DOCX to DOC/PDF with LibreOffice …")
        notes += convert_office(office)
    return [c for c in cases if c.data], notes
