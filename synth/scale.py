"""A national-scale synthetic corpus: N reports in a realistic mix of formats, with known answers.

``write_scale_corpus(raw_dir, count=100_000, formats="html=55,text=15,pdf=20,docx=10")`` writes
``<year>/synth_<agency>_<year>.<suffix>`` and ``manifest.csv`` like ``synth.corpus.write_corpus``:
agencies × years fill ``count`` (agencies = ceil(count / years); the last agency may cover only
the first years), every agency keeps one format across its years (a site keeps its export
style), carried-over counts chain from year to year, and the same shares of reports carry a
planted identity break or blank cells. Formats are given to agencies by largest remainder, so
the mix is exact to the agency (every named format gets at least one agency when there are
enough), and shuffled by the seed.

Formats: ``html``, ``docx``, ``pdf`` (a ruled text-layer PDF, see ``synth.pdf_template``),
``text`` (one of the text layouts below per agency), or one layout by name: ``text/cells``,
``text/pipes``, ``text/tabs``, ``text/spaces`` (``pdftotext -layout``), ``text/runon`` (archived
pages, every cell run together), ``markdown``.

Deterministic by seed, whatever the number of worker processes: each agency draws from its own
stream. The truth of every file is re-made without rendering by ``corpus_truths`` (the reports
are generated before anything is rendered from the same stream).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth.corpus import BLANK_SHARE, BREAK_SHARE, MANIFEST_COLUMNS, _published
from synth.layouts import LAYOUTS
from synth.model import SyntheticReport, random_report, template_for_year
from synth.names import make_agencies
from synth.quirks import Quirks

TEXT_LAYOUTS = (*LAYOUTS, "text/spaces", "text/runon", "markdown")
KINDS = ("html", "pdf", "docx", *TEXT_LAYOUTS)
GROUPS = {"text": TEXT_LAYOUTS}
ALIASES = {"md": "markdown", "htm": "html"}
SUFFIX = {"html": ".html", "pdf": ".pdf", "docx": ".docx", "markdown": ".md"}  # else .txt
DEFAULT_FORMATS = "html=55,text=15,pdf=20,docx=10"
CHUNK_AGENCIES = 40  # agencies per task handed to a worker
MIN_PARALLEL = 400  # fewer reports are written in-process: a pool costs more than it saves


class FormatSpecError(ValueError):
    """``--formats`` could not be read."""


def parse_formats(spec: str) -> dict[str, float]:
    """``"html=55,text=15,pdf"`` → {"html": 55.0, "text": 15.0, "pdf": 1.0} (weights, any scale)."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, weight = part.partition("=")
        name = ALIASES.get(name.strip().lower(), name.strip().lower())
        if name not in KINDS and name not in GROUPS:
            known = ", ".join([*GROUPS, *KINDS])
            raise FormatSpecError(f"unknown format {name!r} in --formats: one of {known}")
        try:
            value = float(weight.rstrip("%")) if weight else 1.0
        except ValueError:
            raise FormatSpecError(f"not a weight: {part!r} (use NAME=NUMBER)") from None
        if value < 0 or not math.isfinite(value):
            raise FormatSpecError(f"a weight must be a non-negative number: {part!r}")
        out[name] = out.get(name, 0.0) + value
    out = {k: v for k, v in out.items() if v > 0}
    if not out:
        raise FormatSpecError(f"no format with a positive weight in {spec!r}")
    return out


def apportion(weights: dict[str, float], n: int) -> list[str]:
    """``n`` slots shared by weight (largest remainder); each name gets one when n allows."""
    total = sum(weights.values())
    names = list(weights)
    exact = {k: n * weights[k] / total for k in names}
    counts = {k: int(exact[k]) for k in names}
    by_remainder = sorted(names, key=lambda k: (counts[k] - exact[k], names.index(k)))
    for k in by_remainder[: n - sum(counts.values())]:
        counts[k] += 1
    if n >= len(names):
        for k in names:
            if counts[k] == 0:
                donor = max(names, key=lambda d: (counts[d], -names.index(d)))
                counts[donor] -= 1
                counts[k] = 1
    return [k for k in names for _ in range(counts[k])]


# ---------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class AgencyPlan:
    index: int
    name: str
    region: str
    kind: str  # one of KINDS
    years: tuple[int, ...]
    single_other_row: bool  # keeps （六）其他处理 as one row from 2021 on
    style: int  # PDF base style (synth.pdf_template)
    seed: int  # the stream its reports are drawn from
    width: int  # digits of the index in file names

    def file(self, year: int) -> str:
        return f"{year}/synth_{self.index:0{self.width}d}_{year}{SUFFIX.get(self.kind, '.txt')}"

    def url(self, year: int) -> str:
        suffix = ".html" if self.kind not in ("pdf", "docx") else SUFFIX[self.kind]
        return f"https://xxgk.example.org/{self.index:0{self.width}d}/{year}/ndbg{suffix}"


def plan_corpus(
    count: int, formats: str | dict[str, float], years: Sequence[int], seed: int
) -> list[AgencyPlan]:
    """Which agency writes which years in which format: cheap, and the same in every process."""
    if count < 1:
        raise ValueError("count must be at least 1")
    weights = parse_formats(formats) if isinstance(formats, str) else dict(formats)
    years = sorted(years)
    rng = random.Random(f"gongkai-scale:{seed}")
    n = math.ceil(count / len(years))
    agencies = make_agencies(rng, n)
    groups = apportion(weights, n)
    rng.shuffle(groups)
    width = max(3, len(str(n - 1)))
    plans = []
    for i, (agency, group) in enumerate(zip(agencies, groups, strict=True)):
        ar = random.Random(rng.getrandbits(64))
        kind = ar.choice(GROUPS[group]) if group in GROUPS else group
        single = ar.random() < 0.1
        style = ar.randrange(1 << 16)
        own = tuple(years[: min(len(years), count - i * len(years))])
        plans.append(
            AgencyPlan(i, agency.name, agency.region, kind, own, single, style, ar.getrandbits(64), width)
        )
    return plans


def agency_reports(plan: AgencyPlan) -> Iterator[tuple[int, SyntheticReport, random.Random, str]]:
    """(year, truth, the stream its rendering continues from, publication date) per year."""
    ar = random.Random(plan.seed)
    carried_over: dict[str, int] | None = None
    for year in plan.years:
        r = random.Random(ar.getrandbits(64))
        broken = r.random() < BREAK_SHARE
        blanks = r.random() < BLANK_SHARE
        report = random_report(
            r,
            agency=plan.name,
            year=year,
            single_other_row=plan.single_other_row if year >= 2021 else None,
            carried_over=carried_over,
            break_identity=r.choice(["A", "B", "C", "D"]) if broken else None,
            blank_cells=r.randint(1, 4) if blanks else 0,
        )
        carried_over = report.carried_forward
        yield year, report, r, _published(r, year)


def pdf_specs(plans: Iterable[AgencyPlan]) -> list[Any]:
    """The PDF bases the plan's PDF agencies use."""
    from synth.pdf_template import STYLES, BaseSpec

    specs = set()
    for p in plans:
        if p.kind == "pdf":
            for year in p.years:
                if template_for_year(year) == "2019":
                    variant = "2019"
                else:
                    variant = "2021-single" if p.single_other_row else "2021"
                specs.add(BaseSpec(variant, p.style % STYLES))
    return sorted(specs, key=lambda s: s.name)


def corpus_truths(plans: Iterable[AgencyPlan]) -> dict[str, SyntheticReport]:
    """The truth of every file (path relative to the raw folder), without rendering anything."""
    return {p.file(year): report for p in plans for year, report, _, _ in agency_reports(p)}


# ---------------------------------------------------------------------------- rendering


_BASES: dict[Any, Any] = {}  # BaseSpec -> pdf_template.Base, per process


def _load_bases(pdfs: dict[Any, bytes]) -> None:
    from synth.pdf_template import Base

    _BASES.clear()
    _BASES.update({spec: Base(spec, data) for spec, data in pdfs.items()})


def render_kind(
    kind: str, report: SyntheticReport, r: random.Random, published: str, style: int = 0
) -> bytes:
    """One report's file bytes in ``kind`` (PDF bases must be loaded in this process)."""
    quirks = Quirks.random(r)
    if kind in LAYOUTS:
        from synth.render import render

        if kind == "text/pipes" and r.random() < 0.5:  # both places of the spanned-cell markers
            quirks = dataclasses.replace(quirks, markers_after_label=True)
        return render(report, kind, r, quirks)
    if kind == "text/spaces":
        from synth.render_spaced import render_spaced

        return render_spaced(report, r, quirks)
    if kind == "text/runon":
        from synth.render_runon import render_runon

        return render_runon(report, r, quirks)
    if kind == "markdown":
        from synth.render_markdown import render_markdown

        # As converters make it (one table), or one small table per row, label repeated or lost.
        per_row = r.choice([None, None, "label", "heading"])
        return render_markdown(report, r, quirks, per_row=per_row)
    if kind == "html":
        from synth.render_html import render_html

        return render_html(report, r, quirks)
    if kind == "docx":
        from synth.render_docx import render_docx

        return render_docx(report, r, quirks)
    if kind == "pdf":
        from synth.pdf_template import spec_for

        return _BASES[spec_for(report, style)].render(report, r, quirks, published)
    raise ValueError(f"unknown format {kind!r}")


@dataclass
class ChunkResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: Counter[str] = field(default_factory=Counter)  # CPU time rendering+writing, per kind
    files: Counter[str] = field(default_factory=Counter)
    size: Counter[str] = field(default_factory=Counter)


def _write_chunk(raw_dir: str, plans: list[AgencyPlan]) -> ChunkResult:
    out = ChunkResult()
    made: set[Path] = set()
    for plan in plans:
        started = time.process_time()
        for year, report, r, published in agency_reports(plan):
            data = render_kind(plan.kind, report, r, published, plan.style)
            path = Path(raw_dir) / plan.file(year)
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            path.write_bytes(data)
            out.size[plan.kind] += len(data)
            out.rows.append(
                {
                    "path": plan.file(year),
                    "agency": plan.name,
                    "year": year,
                    "region": plan.region,
                    "url": plan.url(year),
                    "published": published,
                }
            )
        out.seconds[plan.kind] += time.process_time() - started
        out.files[plan.kind] += len(plan.years)
    return out


@dataclass
class ScaleCorpus:
    raw_dir: Path
    plans: list[AgencyPlan]
    rows: list[dict[str, Any]]  # the manifest, in file order
    seconds: float  # wall time, bases included
    base_seconds: float  # making or loading the PDF bases
    render_seconds: Counter[str]  # CPU seconds per kind (render + write), summed over workers
    files: Counter[str]
    size: Counter[str]  # bytes per kind
    workers: int

    @property
    def count(self) -> int:
        return len(self.rows)

    def truths(self) -> dict[str, SyntheticReport]:
        return corpus_truths(self.plans)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def write_scale_corpus(
    raw_dir: Path,
    *,
    count: int,
    formats: str | dict[str, float] = DEFAULT_FORMATS,
    years: Iterable[int] = range(2019, 2025),
    seed: int = 0,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScaleCorpus:
    """Write ``count`` reports under ``raw_dir`` with a manifest. Raises ``SofficeMissing`` when
    the mix has PDFs, their bases are not cached and LibreOffice is not installed."""
    started = time.perf_counter()
    raw_dir = Path(raw_dir)
    plans = plan_corpus(count, formats, sorted(years), seed)
    specs = pdf_specs(plans)
    pdfs: dict[Any, bytes] = {}
    if specs:
        from synth.pdf_template import base_pdfs

        pdfs = base_pdfs(specs)
    base_seconds = time.perf_counter() - started
    raw_dir.mkdir(parents=True, exist_ok=True)
    workers = workers or default_workers()
    chunks = [plans[i : i + CHUNK_AGENCIES] for i in range(0, len(plans), CHUNK_AGENCIES)]
    results: list[ChunkResult] = []
    done = 0
    if workers <= 1 or count < MIN_PARALLEL:
        workers = 1
        _load_bases(pdfs)
        for chunk in chunks:
            results.append(_write_chunk(str(raw_dir), chunk))
            done += sum(len(p.years) for p in chunk)
            if progress:
                progress(done, count)
    else:
        with ProcessPoolExecutor(workers, initializer=_load_bases, initargs=(pdfs,)) as pool:
            for chunk, result in zip(
                chunks, pool.map(_write_chunk, [str(raw_dir)] * len(chunks), chunks), strict=True
            ):
                results.append(result)
                done += sum(len(p.years) for p in chunk)
                if progress:
                    progress(done, count)
    rows = [row for result in results for row in result.rows]
    with (raw_dir / "manifest.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    total = ChunkResult()
    for result in results:
        total.seconds.update(result.seconds)
        total.files.update(result.files)
        total.size.update(result.size)
    return ScaleCorpus(
        raw_dir,
        plans,
        rows,
        time.perf_counter() - started,
        base_seconds,
        total.seconds,
        total.files,
        total.size,
        workers,
    )


def synth_command(
    out: Path, *, count: int, formats: str | None, years: list[int], seed: int, workers: int | None
) -> int:
    """``gongkai synth --count/--formats``: write the corpus, print one summary line; 1 when the
    PDF bases cannot be made. Raises ``FormatSpecError`` for a bad --formats or --count."""
    import sys

    from synth.pdf_template import PdfTemplateError, SofficeMissing

    if count < 1:
        raise FormatSpecError("--count must be at least 1")
    weights = parse_formats(formats or DEFAULT_FORMATS)
    step = max(1, count // 10)
    shown = [0]

    def progress(done: int, total: int) -> None:
        if total >= 5000 and done // step > shown[0]:
            shown[0] = done // step
            print(f"  {done:,} / {total:,} reports", file=sys.stderr, flush=True)

    try:
        corpus = write_scale_corpus(
            out, count=count, formats=weights, years=years, seed=seed, workers=workers, progress=progress
        )
    except SofficeMissing:
        print(
            "gongkai: PDF reports need LibreOffice to make their base documents once: "
            "apt-get install libreoffice-writer-nogui fonts-noto-cjk (or leave pdf out of --formats)",
            file=sys.stderr,
        )
        return 1
    except PdfTemplateError as exc:
        print(f"gongkai: cannot make the PDF base documents: {exc}", file=sys.stderr)
        return 1
    mix = ", ".join(f"{kind} {n:,}" for kind, n in corpus.files.most_common())
    size = sum(corpus.size.values()) / 2**20
    print(
        f"wrote {corpus.count:,} synthetic reports for {len(corpus.plans):,} agencies, "
        f"{years[0]}–{years[-1]}, into {out} in {corpus.seconds:.1f} s "
        f"({corpus.workers} worker{'s' * (corpus.workers > 1)}, {size:,.1f} MiB): {mix}"
    )
    return 0


__all__ = [
    "DEFAULT_FORMATS",
    "KINDS",
    "TEXT_LAYOUTS",
    "AgencyPlan",
    "FormatSpecError",
    "ScaleCorpus",
    "corpus_truths",
    "parse_formats",
    "plan_corpus",
    "synth_command",
    "write_scale_corpus",
]
