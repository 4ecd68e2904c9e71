"""Speed: warm extraction time per report, beside the generic reader a user would reach for.

Each document is run once untimed (imports, caches), then ``reps`` times; its figure is the
median of those runs, and a format's figure the median over its documents. Wall time
(``perf_counter``) and CPU time (``process_time``) are both kept: the machine is shared, and
CPU time is what a load spike does not inflate. ``extract_bytes`` includes everything a user
pays for: decoding, reading, template matching, the identity checks, building the report.
A DOC's time is mostly the LibreOffice conversion, a child process: its CPU time is not in
``process_time``, so for DOC only the wall time means anything.

The generic readers only get at the cells (no template, no values, no checks): pdfplumber's
``extract_tables`` on every page, python-docx reading every cell's text, lxml iterating table
cells, and ``str.split`` of lines and tabs for text.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from extract import extract_bytes

# Targets per report (ms), by the reader a format goes through.
TARGETS_MS = {"text": 2.0, "html": 5.0, "docx": 30.0, "pdf": 150.0}


def target_group(kind: str) -> str | None:
    """Which target applies: text layouts and Markdown are text; DOC has none (a conversion)."""
    if kind.startswith(("text/", "markdown")) or kind in ("txt", "md"):
        return "text"
    if kind.startswith("pdf"):
        return "pdf"
    return {"html": "html", "docx": "docx"}.get(kind)


# ---------------------------------------------------------------------------- generic readers


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def generic_text(data: bytes) -> int:
    return sum(len(line.split("\t")) for line in _decode(data).splitlines())


def generic_html(data: bytes) -> int:
    import lxml.html

    root = lxml.html.fromstring(data)
    n = 0
    for table in root.iter("table"):
        for tr in table.iter("tr"):
            n += sum(len(td.text_content()) >= 0 for td in tr if td.tag in ("td", "th"))
    return n


def generic_docx(data: bytes) -> int:
    import docx  # python-docx

    n = 0
    for table in docx.Document(io.BytesIO(data)).tables:
        for row in table.rows:
            n += sum(len(cell.text) >= 0 for cell in row.cells)
    return n


def generic_pdf(data: bytes) -> int:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return sum(len(t) for page in pdf.pages for t in page.extract_tables())


GENERIC: dict[str, tuple[str, Callable[[bytes], int]]] = {
    "text": ("str.split (lines, tabs)", generic_text),
    "html": ("lxml.html table cells", generic_html),
    "docx": ("python-docx Document.tables", generic_docx),
    "pdf": ("pdfplumber extract_tables", generic_pdf),
}


def generic_for(kind: str) -> tuple[str, Callable[[bytes], int]] | None:
    group = target_group(kind)
    return GENERIC.get(group) if group else None


# ---------------------------------------------------------------------------- timing


@dataclass
class Timing:
    wall_ms: float  # median of the runs
    cpu_ms: float  # median of the runs
    best_ms: float  # fastest run's wall time: closest to an idle machine when others load it


def time_call(fn: Callable[[], object], reps: int) -> Timing:
    """Median wall and CPU time of ``reps`` warm calls (one untimed call first)."""
    fn()
    walls, cpus = [], []
    for _ in range(reps):
        w, c = time.perf_counter(), time.process_time()
        fn()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return Timing(statistics.median(walls) * 1000, statistics.median(cpus) * 1000, min(walls) * 1000)


@dataclass
class SpeedRow:
    kind: str
    docs: int
    ours: Timing  # median over documents of each document's median
    ours_max_wall: float
    generic_name: str | None
    generic: Timing | None
    # ``ours.cpu_ms`` of every round, in order, when rows of several rounds were merged.
    round_cpu_ms: tuple[float, ...] = ()

    @property
    def target_ms(self) -> float | None:
        group = target_group(self.kind)
        return TARGETS_MS.get(group) if group else None


def _median(timings: list[Timing]) -> Timing:
    return Timing(
        *(statistics.median(getattr(t, f) for t in timings) for f in ("wall_ms", "cpu_ms", "best_ms"))
    )


def time_files(kind: str, files: list[tuple[bytes, str]], reps: int) -> SpeedRow:
    """Time ``extract_bytes`` and the generic reader for ``kind`` on the same files."""
    ours = [time_call(lambda d=data, n=name: extract_bytes(d, n), reps) for data, name in files]
    generic = generic_for(kind)
    theirs = [time_call(lambda d=data, f=generic[1]: f(d), reps) for data, _ in files] if generic else []
    return SpeedRow(
        kind=kind,
        docs=len(files),
        ours=_median(ours),
        ours_max_wall=max(t.wall_ms for t in ours),
        generic_name=generic[0] if generic else None,
        generic=_median(theirs) if theirs else None,
    )


def fastest_round(rounds: list[SpeedRow]) -> SpeedRow:
    """The round whose median CPU time is lowest, keeping every round's figure beside it.

    The machine is shared: a round that runs during a neighbour's load spike is up to twice as
    slow in CPU time too (the CPU itself is slower then). The fastest round is what the code
    costs; the others show how much the machine moved. Its generic-reader figures are from the
    same round, so the comparison is made under the same conditions.
    """
    best = min(rounds, key=lambda r: r.ours.cpu_ms)
    return replace(best, round_cpu_ms=tuple(r.ours.cpu_ms for r in rounds))


def calibrate() -> float:
    """CPU ms of a fixed pure-Python workload (string and dict work, like extraction's): timed in
    every round, it shows how fast the machine was running then."""

    def work() -> int:
        seen: dict[str, int] = {}
        for i in range(20_000):
            key = f"{i % 997}:{i}"
            seen[key.split(":")[0]] = seen.get(key, 0) + len(key.strip())
        return len(seen)

    return time_call(work, 7).cpu_ms


def real_kind(path: Path) -> str:
    return PurePath(path.name).suffix.lstrip(".").lower()
