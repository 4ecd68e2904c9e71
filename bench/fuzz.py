"""Fuzzing the extractor: mutated real and generated documents in every format.

``uv run python -m bench.fuzz --inputs 10000`` runs each mutated document through
``extract.guarded.extract_guarded`` (a child process with a time and memory limit) and counts
what came back. The promise (docs/reliability.md, promise 6): every input ends as a report
with status ok / warning / rejected — no exception escapes (``reader failed`` / ``matcher
failed`` / ``extractor crashed`` count as escapes: they are bugs caught by a safety net), no
input hits the time limit. ``--write-doc`` puts the figures into docs/reliability.md.

The seeds and mutators here are shared with the fast test (tests/test_fuzz.py):

* seeds — synthetic reports rendered in every layout (text cells/pipes/tabs, pdftotext-style
  spaces, run-on, markdown, HTML, DOCX, a LibreOffice PDF, a hand-written PDF, DOC via
  LibreOffice), plus the real documents of ../shared when present;
* ``mutate`` — byte flips, truncation, random insertions, duplicated and deleted slices,
  deleted lines, swapped cells, splices from another seed; for DOCX also the same on
  ``word/document.xml`` inside a well-formed zip (so the XML reader is reached, not just the
  zip check);
* ``mutate_narrative`` — edits only the prose around the tables (一、总体情况 and 五/六): the
  extracted values must stay exactly the truth or be null (promise 7).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from extract.report import Report
from synth.model import SyntheticReport, random_report
from synth.names import make_agency
from synth.quirks import Quirks
from synth.raw_pdf import minimal_pdf
from synth.render import render
from synth.render_docx import render_docx
from synth.render_html import render_html
from synth.render_markdown import render_markdown
from synth.render_runon import render_runon
from synth.render_spaced import render_spaced

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GONGKAI_SHARED", ROOT.parent / "shared"))
STATUSES = ("ok", "warning", "rejected")
# Reasons that mean an exception reached a safety net: a bug, counted as escaped.
ESCAPED = ("reader failed", "matcher failed", "extractor crashed")


@dataclass(frozen=True)
class Seed:
    name: str  # file name given to the extractor: its suffix picks the reader
    data: bytes
    kind: str  # txt | md | html | docx | pdf | doc
    truth: SyntheticReport | None = None  # known values (synthetic seeds)
    encoding: str = "utf-8"  # of text seeds, for narrative edits


# ---------------------------------------------------------------------------- seeds


def _report(seed: int) -> tuple[SyntheticReport, random.Random]:
    rng = random.Random(seed)
    year = rng.choice([2019, 2020, 2021, 2022, 2023, 2024])
    report = random_report(
        rng, agency=make_agency(rng).name, year=year, blank_cells=rng.choice([0, 0, 5, 20])
    )
    return report, rng


def synthetic_seeds(count: int, *, pdf: bool = False, doc: bool = False) -> list[Seed]:
    """``count`` reports, each in every cheap format; ``pdf``/``doc`` add LibreOffice renderings."""
    seeds: list[Seed] = []
    for n in range(count):
        report, rng = _report(1000 + n)
        quirks = Quirks.random(rng) if n % 2 else Quirks()
        enc = quirks.encoding
        seeds += [
            Seed(f"s{n}-cells.txt", render(report, "text/cells", rng, quirks), "txt", report, enc),
            Seed(f"s{n}-pipes.txt", render(report, "text/pipes", rng, quirks), "txt", report, enc),
            Seed(f"s{n}-tabs.txt", render(report, "text/tabs", rng, quirks), "txt", report, enc),
            Seed(f"s{n}-spaces.txt", render_spaced(report, rng, Quirks()), "txt", report),
            Seed(f"s{n}-runon.txt", render_runon(report, rng, Quirks()), "txt", report),
            Seed(f"s{n}-report.md", render_markdown(report, rng, Quirks()), "md", report),
            Seed(f"s{n}-report.html", render_html(report, rng, quirks), "html", report, _html_encoding(enc)),
            Seed(f"s{n}-report.docx", render_docx(report, rng, quirks), "docx", report),
        ]
        if pdf or doc:
            from synth.render_pdf import build_docx, docx_to_pdf, soffice

            if soffice() is None:
                continue
            built = build_docx(report, rng, Quirks())
            if pdf:
                seeds.append(Seed(f"s{n}-report.pdf", docx_to_pdf(built), "pdf", report))
            if doc:
                seeds.append(Seed(f"s{n}-report.doc", _docx_to_doc(built), "doc", report))
    seeds.append(Seed("minimal.pdf", minimal_pdf(3, ("2022 annual report", "x 1 2 3")), "pdf"))
    return seeds


def _html_encoding(encoding: str) -> str:
    # synth.render_html: GB18030 pages stay GB18030, every other report is published as UTF-8.
    return {"gb18030": "gb18030", "utf-8-sig": "utf-8-sig"}.get(encoding, "utf-8")


def _docx_to_doc(docx: bytes) -> bytes:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.docx"
        src.write_bytes(docx)
        profile = f"-env:UserInstallation=file://{tmp}/p"
        subprocess.run(
            ["soffice", "--headless", profile, "--convert-to", "doc", "--outdir", tmp, str(src)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return (Path(tmp) / "in.doc").read_bytes()


def real_seeds() -> list[Seed]:
    """The real documents of ../shared (test material, read in place, never copied)."""
    out: list[Seed] = []
    kinds = {".txt": "txt", ".html": "html", ".pdf": "pdf", ".docx": "docx", ".md": "md"}
    for folder in ("seeds", "realdocs"):
        base = SHARED / folder
        if not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            if path.suffix in kinds:
                out.append(Seed(f"real-{path.name}", path.read_bytes(), kinds[path.suffix]))
    return out


# ---------------------------------------------------------------------------- mutations


def _pos(rng: random.Random, data: bytes | bytearray) -> int:
    return rng.randrange(len(data) + 1)


def _flip(data: bytearray, rng: random.Random) -> None:
    for _ in range(rng.choice([1, 1, 2, 8, 64])):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)


def _truncate(data: bytearray, rng: random.Random) -> None:
    del data[_pos(rng, data) :]


def _insert(data: bytearray, rng: random.Random) -> None:
    junk = rng.choice(
        [
            rng.randbytes(rng.randint(1, 64)),
            b"\0" * rng.randint(1, 4096),
            rng.choice([b"|", b"\t", b"  ", b"\n", b"<td>", b"</tr>", b"<", b"&#", b"\xe3\x80", b"-", b"/"])
            * rng.randint(1, 50),
            str(rng.randint(0, 10**12)).encode(),
            "总计申请数量予以公开（一）".encode()[: rng.randint(1, 36)],
        ]
    )
    i = _pos(rng, data)
    data[i:i] = junk


def _duplicate(data: bytearray, rng: random.Random) -> None:
    if data:
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randint(1, 4096))
        i = _pos(rng, data)
        data[i:i] = data[a:b] * rng.choice([1, 1, 2, 50])


def _delete(data: bytearray, rng: random.Random) -> None:
    if data:
        a = rng.randrange(len(data))
        del data[a : a + rng.randint(1, 2048)]


def _delete_lines(data: bytearray, rng: random.Random) -> None:
    lines = bytes(data).split(b"\n")
    for _ in range(rng.randint(1, max(1, len(lines) // 10))):
        if len(lines) > 1:
            del lines[rng.randrange(len(lines))]
    data[:] = b"\n".join(lines)


_CELL_SPLIT = re.compile(rb"(\t|\||</t[dh]>)")


def _swap_cells(data: bytearray, rng: random.Random) -> None:
    """Swap two cells of one row (tab, pipe or HTML cell separated) or two whole lines."""
    lines = bytes(data).split(b"\n")
    if not lines:
        return
    for _ in range(20):
        i = rng.randrange(len(lines))
        parts = _CELL_SPLIT.split(lines[i])
        cells = list(range(0, len(parts), 2))
        if len(cells) >= 3:
            a, b = rng.sample(cells, 2)
            parts[a], parts[b] = parts[b], parts[a]
            lines[i] = b"".join(parts)
            break
    else:
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[a], lines[b] = lines[b], lines[a]
    data[:] = b"\n".join(lines)


BYTE_MUTATIONS: tuple[Callable[[bytearray, random.Random], None], ...] = (
    _flip,
    _truncate,
    _insert,
    _duplicate,
    _delete,
    _delete_lines,
    _swap_cells,
)


def _mutate_bytes(data: bytes, rng: random.Random, other: bytes | None) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
        if other is not None and rng.random() < 0.05:  # splice in a piece of another document
            a = rng.randrange(len(other) + 1)
            i = _pos(rng, buf)
            buf[i:i] = other[a : a + rng.randint(1, 8192)]
        else:
            rng.choice(BYTE_MUTATIONS)(buf, rng)
    return bytes(buf)


def _rezip(docx: bytes, change: Callable[[bytes], bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, change(body) if info.filename == "word/document.xml" else body)
    return out.getvalue()


def mutate(seed: Seed, rng: random.Random, other: Seed | None = None) -> bytes:
    """One mutant of ``seed`` (deterministic for a given ``rng`` state)."""
    splice = other.data if other is not None else None
    if seed.kind == "docx" and rng.random() < 0.6:
        try:
            return _rezip(seed.data, lambda xml: _mutate_bytes(xml, rng, splice))
        except (zipfile.BadZipFile, KeyError):
            pass
    return _mutate_bytes(seed.data, rng, splice)


# ---------------------------------------------------------------------------- narrative-only edits

# The prose regions: after the 一、总体情况 heading up to the table-二 heading, and from the
# 五、存在的主要问题 heading to the end. Only CJK characters there are touched, and only replaced
# by CJK characters, digits and CJK punctuation: never by markup, pipes, tabs or spaces, so the
# tables and the document's structure are exactly as rendered.
_START, _TABLES, _CLOSING = "总体情况", "主动公开政府信息情况", "存在的主要问题"
_PROSE_CHARS = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"
_PROSE_EXTRA = "0123456789０１２３４５６７８９，。、：；（）“”《》%"


def _prose_spans(text: str, *, xml: bool = False) -> list[tuple[int, int]]:
    """Where the prose is: whole lines of text, or (``xml``) from a marker to the paragraph
    holding the next heading (document.xml has no line breaks)."""

    def line_end(at: int, marker: str) -> int:
        return at + len(marker) if xml else text.find("\n", at)

    def before(at: int) -> int:
        return text.rfind("<w:p", 0, at) if xml else text.rfind("\n", 0, at)

    spans = []
    head = text.find(_START)
    tables = text.find(_TABLES, head + 1) if head >= 0 else -1
    if head >= 0 and tables > head:
        start, end = line_end(head, _START), before(tables)  # the heading lines themselves stay intact
        if 0 <= start < end:
            spans.append((start, end))
    closing = text.find(_CLOSING, max(tables, 0))
    if closing >= 0:
        start = line_end(closing, _CLOSING)
        if start >= 0:
            spans.append((start, len(text)))
    return spans


def _edit_prose(text: str, rng: random.Random, *, lines: bool, xml: bool = False) -> str:
    spans = _prose_spans(text, xml=xml)
    if not spans:
        return text
    chars = list(text)
    alphabet = _PROSE_CHARS + _PROSE_EXTRA
    positions = [i for a, b in spans for i in range(a, b) if "\u4e00" <= chars[i] <= "\u9fff"]
    if not positions:
        return text
    for _ in range(rng.randint(1, 40)):
        i = rng.choice(positions)
        op = rng.random()
        if op < 0.5:
            chars[i] = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
        elif op < 0.8:
            chars[i] += "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        else:
            chars[i] = ""
    out = "".join(chars)
    if lines and rng.random() < 0.5:  # duplicate or drop whole prose lines
        spans = _prose_spans(out)
        if spans:
            a, b = spans[0]
            prose = out[a:b].split("\n")
            k = rng.randrange(len(prose))
            if rng.random() < 0.5:
                prose.insert(k, prose[k])
            elif len(prose) > 2:
                del prose[k]
            out = out[:a] + "\n".join(prose) + out[b:]
    return out


def mutate_narrative(seed: Seed, rng: random.Random) -> bytes:
    """``seed`` with only its prose edited (text, markdown, HTML, DOCX seeds)."""
    if seed.kind == "docx":
        return _rezip(
            seed.data,
            lambda xml: _edit_prose(xml.decode("utf-8"), rng, lines=False, xml=True).encode("utf-8"),
        )
    text = seed.data.decode(seed.encoding)
    return _edit_prose(text, rng, lines=seed.kind != "html").encode(seed.encoding)


NARRATIVE_KINDS = frozenset({"txt", "md", "html", "docx"})


# ---------------------------------------------------------------------------- checks


def problems(report: Report) -> list[str]:
    """What is wrong with a report as an answer to any input (empty: nothing)."""
    out = []
    if report.status not in STATUSES:
        out.append(f"status {report.status!r}")
    if report.status == "rejected":
        if not report.error or "\n" in report.error:
            out.append(f"rejection reason is not one line: {report.error!r}")
        elif report.error.startswith(ESCAPED):
            out.append(f"escaped: {report.error}")
    elif report.year is None:
        out.append("loaded without a year")
    try:
        json.dumps(report.to_json(), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        out.append(f"report is not JSON: {exc}")
    return out


# ---------------------------------------------------------------------------- the long run


def _doc_section(figures: dict[str, object]) -> str:
    f = figures
    per_kind = ", ".join(f"{k} {v:,}" for k, v in sorted(f["per_kind"].items()))  # type: ignore[attr-defined]
    statuses = ", ".join(f"{k} {v:,}" for k, v in f["statuses"].items())  # type: ignore[attr-defined]
    return (
        f"<!-- fuzz figures: written by `uv run python -m bench.fuzz --inputs {f['inputs']} --write-doc` -->\n"
        f"| figure | value |\n|---|---|\n"
        f"| inputs | {f['inputs']:,} ({f['seeds']} seeds, {f['real_seeds']} of them real documents) |\n"
        f"| per format | {per_kind} |\n"
        f"| statuses | {statuses} |\n"
        f"| exceptions escaped | {f['escaped']} |\n"
        f"| timeouts ({f['timeout_s']:g} s limit) | {f['timeouts']} |\n"
        f"| out of memory ({f['memory_mb']} MB limit) | {f['out_of_memory']} |\n"
        f"| narrative-only mutants: values wrong while accepted | {f['narrative_wrong']} "
        f"of {f['narrative_inputs']:,} |\n"
        f"| max time per input | {f['max_seconds']:.2f} s ({f['max_seconds_name']}) |\n"
        f"| p99 time per input | {f['p99_seconds']:.2f} s |\n"
        f"| max peak RSS of a guarded child (ru_maxrss; LibreOffice excluded) | {f['max_rss_mb']:.0f} MB |\n"
        f"| wall time | {f['wall_s']:.0f} s on {f['workers']} workers |\n"
        f"<!-- end fuzz figures -->\n"
    )


def write_doc(figures: dict[str, object], path: Path = ROOT / "docs" / "reliability.md") -> None:
    text = path.read_text(encoding="utf-8")
    section = _doc_section(figures)
    pattern = re.compile(r"<!-- fuzz figures:.*?<!-- end fuzz figures -->\n", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no fuzz figures block to replace")
    path.write_text(pattern.sub(lambda _m: section, text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from extract.guarded import extract_guarded
    from synth.verify import mismatches

    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reports", type=int, default=6, help="synthetic reports to render as seeds")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory", type=int, default=1024)
    parser.add_argument("--write-doc", action="store_true", help="put the figures in docs/reliability.md")
    parser.add_argument("--json", type=Path, help="also write the figures and failures here")
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    seeds = synthetic_seeds(args.reports, pdf=True, doc=True) + real_seeds()
    real = sum(s.name.startswith("real-") for s in seeds)
    print(f"{len(seeds)} seeds ({real} real) in {time.monotonic() - t0:.0f} s", flush=True)
    # LibreOffice-backed DOC inputs take seconds each: a small share keeps the run to minutes.
    weights = [0.2 if s.kind == "doc" else 1.0 for s in seeds]
    narrative_seeds = [s for s in seeds if s.truth is not None and s.kind in NARRATIVE_KINDS]

    def job(i: int) -> tuple[int, Seed, bool, Report, dict[str, float]]:
        rng = random.Random(f"{args.seed}:{i}")
        narrative = rng.random() < 0.15
        if narrative:
            seed = rng.choice(narrative_seeds)
            data = mutate_narrative(seed, rng)
        else:
            seed = rng.choices(seeds, weights)[0]
            data = mutate(seed, rng, rng.choice(seeds))
        stats: dict[str, float] = {}
        report = extract_guarded(data, seed.name, timeout_s=args.timeout, memory_mb=args.memory, stats=stats)
        return i, seed, narrative, report, stats

    per_kind: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    failures: list[dict[str, object]] = []
    times: list[tuple[float, str]] = []
    rss: list[float] = []
    timeouts = oom = narrative_n = narrative_wrong = 0
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        for done, (i, seed, narrative, report, stats) in enumerate(pool.map(job, range(args.inputs)), 1):
            per_kind[seed.kind] += 1
            statuses[report.status] += 1
            times.append((stats.get("seconds", 0.0), f"{seed.name} #{i}"))
            if "peak_rss_mb" in stats:
                rss.append(stats["peak_rss_mb"])
            if (report.error or "").startswith("extraction timed out"):
                timeouts += 1
            if (report.error or "").startswith("extraction ran out of memory"):
                oom += 1
            found = problems(report)
            if narrative:
                narrative_n += 1
                if report.status != "rejected" and seed.truth is not None:
                    wrong = [m for m in mismatches(report.to_json(), seed.truth) if m.wrong]
                    if wrong:
                        narrative_wrong += 1
                        found.append(f"narrative edit changed {len(wrong)} values, e.g. {wrong[0]}")
            if found:
                failures.append({"input": i, "seed": seed.name, "narrative": narrative, "problems": found})
                print(f"  #{i} {seed.name}: {found}", flush=True)
            if done % 500 == 0:
                print(f"{done:,}/{args.inputs:,} inputs, {time.monotonic() - start:.0f} s", flush=True)

    times.sort()
    figures: dict[str, object] = {
        "inputs": args.inputs,
        "seeds": len(seeds),
        "real_seeds": real,
        "per_kind": dict(per_kind),
        "statuses": {s: statuses.get(s, 0) for s in (*STATUSES, *sorted(set(statuses) - set(STATUSES)))},
        "escaped": sum(any(p.startswith(("escaped", "status")) for p in f["problems"]) for f in failures),  # type: ignore[attr-defined]
        "timeouts": timeouts,
        "out_of_memory": oom,
        "timeout_s": args.timeout,
        "memory_mb": args.memory,
        "narrative_inputs": narrative_n,
        "narrative_wrong": narrative_wrong,
        "max_seconds": times[-1][0],
        "max_seconds_name": times[-1][1],
        "p99_seconds": times[int(len(times) * 0.99) - 1][0] if times else 0.0,
        "max_rss_mb": max(rss, default=0.0),
        "wall_s": time.monotonic() - start,
        "workers": args.workers,
        "failures": len(failures),
    }
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps({**figures, "failure_list": failures}, ensure_ascii=False, indent=1))
    if args.write_doc:
        write_doc(figures)
    return 1 if failures or timeouts else 0


if __name__ == "__main__":
    sys.exit(main())
