"""One extraction in a worker process, bounded in time and memory: the batch's last line of defence.

``extract_guarded(data, name, **kw)`` is ``extract_bytes(data, name, **kw)`` run in a long-lived
worker of ``extract.pool`` (one per core, started warm from a forkserver once per process), with
a time limit (the worker is killed, helpers included, and replaced) and an address-space limit
(``RLIMIT_AS``). It always returns a ``Report``: the worker's own, or a rejected one saying what
happened::

    extraction timed out after 60 s
    extraction ran out of memory (limit 1024 MB)
    extractor crashed: killed by signal SIGSEGV

The workers are shared by every call in the process (``extract.pool.shared_pool``, shut down at
exit): the first call pays for starting them, each later one only for sending the file and the
report between processes (docs/reliability.md gives the measured overhead). ``extract_guarded``
is thread-safe: run it from a thread pool for throughput, or use ``map_guarded``. Code that
extracts many files of its own (the ingest) submits its function to an ``ExtractionPool``
directly. ``python -m extract.guarded FILE`` prints the report as JSON.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from extract.api import PARSER_VERSION, extract_bytes
from extract.limits import MEMORY_MB, TIMEOUT_S
from extract.pool import (
    ExtractionPool,
    ExtractionTimeout,
    Measured,
    failure_report,
    shared_pool,
)
from extract.report import Report, rejected

Extractor = Callable[..., Report]


def _submit(
    pool: ExtractionPool,
    data: bytes,
    name: str,
    extractor: Extractor | None,
    timeout_s: float,
    memory_mb: int,
    kwargs: dict[str, Any],
) -> Future[Measured[Any]]:
    return pool.submit_measured(
        extractor or extract_bytes, (data, name), kwargs, timeout_s=timeout_s, memory_mb=memory_mb
    )


def _settle(future: Future[Measured[Any]], name: str, stats: dict[str, float] | None = None) -> Report:
    known = {"parser_version": PARSER_VERSION}
    try:
        measured = future.result()
    except ExtractionTimeout as exc:
        if stats is not None:
            stats["seconds"] = exc.timeout_s
        return exc.report(name, **known)
    except Exception as exc:
        return failure_report(exc, name, **known)
    if stats is not None:
        stats["seconds"] = measured.seconds
        stats["peak_rss_mb"] = measured.peak_rss_mb
    if not isinstance(measured.value, Report):
        return rejected(
            name, f"extractor crashed: returned {type(measured.value).__name__}, not a Report", **known
        )
    return measured.value


def extract_guarded(
    data: bytes,
    name: str,
    *,
    timeout_s: float = TIMEOUT_S,
    memory_mb: int = MEMORY_MB,
    extractor: Extractor | None = None,
    stats: dict[str, float] | None = None,
    **kwargs: Any,
) -> Report:
    """``extract_bytes(data, name, **kwargs)`` in a worker process; never raises.

    ``memory_mb=0`` leaves the address space unlimited. ``extractor`` replaces ``extract_bytes``
    (a picklable module-level function; tests use it for a slow or crashing stand-in).
    ``stats``, when given, receives ``seconds`` (the extraction's wall time in the worker; the
    limit, on a timeout) and ``peak_rss_mb`` (the worker's peak resident memory during this
    file, when it answered: on Linux the worker's peak is reset before each file, so this is
    per file although workers are long-lived; elsewhere it is the worker's peak so far, exact
    per file only in a pool with ``max_tasks=1``).
    """
    try:
        future = _submit(shared_pool(), data, name, extractor, timeout_s, memory_mb, kwargs)
    except Exception as exc:
        return rejected(
            name,
            f"extractor crashed: cannot start a worker process ({exc})",
            parser_version=PARSER_VERSION,
        )
    return _settle(future, name, stats)


def map_guarded(
    items: Iterable[tuple[bytes, str, dict[str, Any]]],
    *,
    workers: int | None = None,
    timeout_s: float = TIMEOUT_S,
    memory_mb: int = MEMORY_MB,
) -> Iterator[Report]:
    """Guarded extraction of ``(data, name, kwargs)`` items, ``workers`` at a time, in order.

    ``workers=None`` uses the shared pool (one worker per core); a number gets a pool of its own
    for this call. At most ``2 × workers`` items are read ahead of the one being yielded."""
    if workers is None:
        yield from _map(shared_pool(), items, timeout_s, memory_mb)
        return
    with ExtractionPool(workers, timeout_s=timeout_s, memory_mb=memory_mb) as pool:
        yield from _map(pool, items, timeout_s, memory_mb)


def _map(
    pool: ExtractionPool,
    items: Iterable[tuple[bytes, str, dict[str, Any]]],
    timeout_s: float,
    memory_mb: int,
) -> Iterator[Report]:
    pending: deque[tuple[Future[Measured[Any]], str]] = deque()
    for data, name, kw in items:
        pending.append((_submit(pool, data, name, None, timeout_s, memory_mb, kw), name))
        if len(pending) >= 2 * pool.workers:
            yield _settle(*pending.popleft())
    while pending:
        yield _settle(*pending.popleft())


def main(argv: list[str] | None = None) -> int:
    import argparse

    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m extract.guarded", description=doc.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds (default %(default)s)")
    parser.add_argument(
        "--memory", type=int, default=MEMORY_MB, help="MB, 0 = unlimited (default %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        report = rejected(
            str(args.file), f"cannot read file: {exc.strerror or exc}", parser_version=PARSER_VERSION
        )
    else:
        report = extract_guarded(data, str(args.file), timeout_s=args.timeout, memory_mb=args.memory)
    json.dump(report.to_json(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0 if report.status != "rejected" else 1


if __name__ == "__main__":
    # Through the package module, so that workers never need this __main__'s functions.
    from extract.guarded import main as _main

    sys.exit(_main())
