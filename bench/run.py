"""Run the benchmarks and write ``docs/benchmarks.md``.

uv run python -m bench.run              # the full run (make bench): ≥ 500 reports
uv run python -m bench.run --quick      # a smoke run: small corpus, nothing written
uv run python -m bench.run --seed 7 --per-format 80 --output /tmp/bench.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import national, report
from bench.accuracy import real_documents, run_accuracy, score_real
from bench.corpus import KINDS, build_corpus
from bench.machine import Machine, load_average
from bench.speed import SpeedRow, calibrate, fastest_round, real_kind, time_files

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GONGKAI_SHARED", ROOT.parent / "shared"))
DOC_SPEED_DOCS, DOC_SPEED_REPS = 3, 2  # each DOC extraction starts LibreOffice: seconds


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small corpus for a smoke run; writes nothing")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    p.add_argument("--per-format", type=int, default=None, help="reports per format (default 50; quick 3)")
    p.add_argument("--speed-docs", type=int, default=None, help="documents timed per format (default 10)")
    p.add_argument("--reps", type=int, default=None, help="timed runs per document (default 7)")
    p.add_argument("--rounds", type=int, default=None, help="timing rounds, the fastest kept (default 3)")
    p.add_argument("--output", type=Path, default=None, help="markdown file (default docs/benchmarks.md)")
    args = p.parse_args(argv)
    args.per_format = args.per_format or (3 if args.quick else 50)
    args.speed_docs = args.speed_docs or (1 if args.quick else 10)
    args.reps = args.reps or (3 if args.quick else 7)
    args.rounds = args.rounds or (1 if args.quick else 3)
    if args.output is None and not args.quick:
        args.output = ROOT / "docs" / "benchmarks.md"
    return args


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    machine = Machine.now(ROOT)
    started = time.perf_counter()

    _say(f"building {args.per_format} reports × {len(KINDS)} formats (seed {args.seed}) …")
    cases, notes = build_corpus(args.seed, args.per_format, progress=_say)
    _say(f"extracting {len(cases)} reports …")
    accuracy = run_accuracy(cases)
    real_files = real_documents(SHARED) if SHARED.is_dir() else []
    real_accuracy = score_real(real_files)
    load_after_accuracy = load_average()

    # Several rounds, minutes apart, each over every format and real document: the machine is
    # shared, and a load spike slows a whole stretch of minutes (see fastest_round).
    rounds: dict[str, list[SpeedRow]] = {}
    calibration: list[float] = []
    for r in range(args.rounds):
        _say(f"timing, round {r + 1} of {args.rounds} …")
        calibration.append(calibrate())
        for kind in KINDS:
            docs = [c for c in cases if c.kind == kind]
            n, reps = (args.speed_docs, args.reps)
            if kind == "doc":  # every run starts LibreOffice: a few runs in one round say enough
                if r:
                    continue
                n, reps = min(n, DOC_SPEED_DOCS), min(reps, DOC_SPEED_REPS)
            if docs:
                rounds.setdefault(kind, []).append(
                    time_files(kind, [(c.data, c.name) for c in docs[:n]], reps)
                )
        for path, _ in real_files:
            label = f"{path.parent.name}/{path.name}"
            row = time_files(real_kind(path), [(path.read_bytes(), path.name)], args.reps)
            rounds.setdefault(label, []).append(row)
    speed = [fastest_round(rounds[kind]) for kind in KINDS if kind in rounds]
    real_speed = [
        (label, fastest_round(rounds[label]))
        for label in (f"{path.parent.name}/{path.name}" for path, _ in real_files)
    ]
    load_end = load_average()

    text = report.markdown(
        args=args,
        machine=machine,
        loads={"start": machine.load_start, "after accuracy": load_after_accuracy, "end": load_end},
        elapsed_s=time.perf_counter() - started,
        accuracy=accuracy,
        real_accuracy=real_accuracy,
        speed=speed,
        real_speed=real_speed,
        calibration=calibration,
        notes=notes,
        shared=SHARED if real_files else None,
    )
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        # The national-scale section is make bench-national's: kept as it was.
        kept = national.read_section(args.output)
        args.output.write_text(text + (f"\n{kept}" if kept else ""), encoding="utf-8")
        _say(f"wrote {args.output}")
    wrong = sum(len(t.wrong) for t in [*accuracy.values(), *real_accuracy.values()])
    if wrong:  # a benchmark measures, it does not fail; but this figure must not go unseen
        _say(f"!! {wrong} accepted cells differ from the truth: see 'Wrong cells' above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
