"""One extraction in a child process, bounded in time and memory: the batch's last line of defence.

``extract_bytes`` already turns every bad input it can recognise into a rejected report, and
each reader has its own limits (``extract.limits``). What it cannot do in-process is stop code
that loops or allocates without end: a parser stuck in C (lexbor, pdfium, libxml2) cannot be
interrupted from Python, and an allocation that exhausts memory takes the whole run down.
``extract_guarded`` therefore runs the extraction in a child process that

* has its address space limited (``RLIMIT_AS``, soft limit only, so LibreOffice helpers can
  be given their own), turning runaway allocation into a ``MemoryError`` in the child;
* is killed — with its whole process group, LibreOffice included — when the time is up;

and always returns a ``Report``: the child's own, or a rejected one saying what happened::

    extraction timed out after 60 s
    extraction ran out of memory (limit 1024 MB)
    extractor crashed: killed by signal SIGSEGV

Children are forked from a ``forkserver`` that has already imported the extractor, so a file
costs one fork (docs/reliability.md gives the measured overhead), not a fresh interpreter; the
forkserver itself is started once, on first use. ``extract_guarded`` is thread-safe: run it from
a thread pool for throughput (``map_guarded``). ``python -m extract.guarded FILE`` prints the
report as JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext, set_spawning_popen
from pathlib import Path
from typing import Any

from extract.api import PARSER_VERSION, extract_bytes
from extract.limits import MEMORY_MB, TIMEOUT_S
from extract.report import Report, rejected

Extractor = Callable[..., Report]
START_TIMEOUT_S = 120.0  # for the forkserver to start (once) and fork the child

# Imported once by the forkserver, so that every child starts with them loaded.
_PRELOAD = [
    "extract.api",
    "extract.guarded",
    "extract.readers.text",
    "extract.readers.html",
    "extract.readers.docx",
    "extract.readers.markdown",
    "extract.readers.pdf",
    "extract.readers.runon",
    "extract.readers.spaced",
    "extract.readers.office",
]


def _warm() -> None:
    """Fill the extractor's import-time caches, so children forked from the forkserver (which
    imports this module) start with them filled instead of each filling its own."""
    from extract.readers import readers
    from schemas.taxonomy import taxonomy

    readers()
    taxonomy()


_warm()
_context: BaseContext | None = None
_context_lock = threading.Lock()


class _Popen(popen_forkserver.Popen):
    """The forkserver's Popen, minus the caller's ``__main__``.

    multiprocessing makes every child re-import the parent's main module (the pytest or
    dagster launcher script, ``bench.fuzz``) so that functions defined there unpickle; the
    child here runs ``extract.guarded._child`` and never needs it, and the re-import cost
    80–100 ms per file. This is ``popen_forkserver.Popen._launch`` (CPython 3.11) with the two
    main-module keys dropped from the preparation data.
    """

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(multiprocessing.context.ForkServerProcess):  # type: ignore[name-defined,misc]
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


def _get_context() -> BaseContext:
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


def _is_memory_error(report: Report) -> bool:
    # extract_bytes quarantines reader exceptions, MemoryError included, as "reader failed: …".
    return report.status == "rejected" and "MemoryError" in (report.error or "")


def _child(
    conn: Connection, extractor: Extractor, data: bytes, name: str, kwargs: dict[str, Any], memory_mb: int
) -> None:
    os.setpgrp()  # its own process group: a timeout kills LibreOffice helpers along with it
    if memory_mb:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_mb * 2**20
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    conn.send(("started", None))  # the time limit runs from here, not from the fork request
    try:
        report = extractor(data, name, **kwargs)
        outcome: tuple[Any, ...] = ("memory", None) if _is_memory_error(report) else ("report", report)
    except MemoryError:
        outcome = ("memory", None)
    except BaseException as exc:  # anything else is a crash, reported, never re-raised
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    del data  # free the input before pickling the answer, in case memory is what ran out
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the child's peak RSS (Linux: KiB)
    outcome = (*outcome, peak_kb)
    try:
        conn.send(outcome)
    except MemoryError:
        conn.send(("memory", None, peak_kb))
    conn.close()


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


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
    """``extract_bytes(data, name, **kwargs)`` in a child process; never raises.

    ``memory_mb=0`` leaves the address space unlimited. ``extractor`` replaces
    ``extract_bytes`` (a picklable module-level function; tests use it for a slow or crashing
    stand-in). ``stats``, when given, receives ``seconds`` (the extraction's wall time, from the
    child's start) and ``peak_rss_mb`` (the child's peak resident memory, when it answered).
    """
    known = {"parser_version": PARSER_VERSION}
    try:
        ctx = _get_context()
        receiver, sender = ctx.Pipe(duplex=False)
        proc = _Process(
            target=_child,
            args=(sender, extractor or extract_bytes, data, name, kwargs, memory_mb),
            daemon=True,
        )
        proc.start()
    except Exception as exc:
        return rejected(name, _one_line(f"extractor crashed: cannot start a worker process ({exc})"), **known)
    sender.close()  # the child holds the only write end: EOF on the read end means it died
    outcome: tuple[Any, ...] = ("timeout", None)
    try:
        # The first fork request waits for the forkserver to start and import the extractor
        # (seconds on a loaded machine): that wait is not the file's fault.
        if receiver.poll(START_TIMEOUT_S):
            outcome = receiver.recv()
            if outcome[0] == "started":
                started = time.monotonic()
                outcome = receiver.recv() if receiver.poll(timeout_s) else ("timeout", None)
                if stats is not None:
                    stats["seconds"] = time.monotonic() - started
        else:
            outcome = ("error", f"the worker process did not start within {START_TIMEOUT_S:g} s")
    except (EOFError, OSError):
        outcome = ("died", None)
    except Exception as exc:
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    finally:
        # A child that answered exits on its own; one that did not is killed at once.
        proc.join(timeout=5 if outcome[0] != "timeout" else 0)
        if proc.is_alive():
            _kill(proc.pid)
        proc.join()
        receiver.close()

    kind, value = outcome[0], outcome[1]
    if stats is not None and len(outcome) > 2:
        stats["peak_rss_mb"] = outcome[2] / 1024
    if kind == "report" and isinstance(value, Report):
        return value
    if kind == "timeout":
        return rejected(name, f"extraction timed out after {timeout_s:g} s", **known)
    if kind == "memory":
        return rejected(name, f"extraction ran out of memory (limit {memory_mb} MB)", **known)
    if kind == "error":
        return rejected(name, _one_line(f"extractor crashed: {value}"), **known)
    code = proc.exitcode
    if code is not None and code < 0:
        detail = f"killed by signal {_signal_name(-code)}"
        if -code == signal.SIGKILL:
            detail += " (the system may have run out of memory)"
    else:
        detail = f"exited with status {code} without an answer"
    return rejected(name, f"extractor crashed: {detail}", **known)


def _kill(pid: int | None) -> None:
    """Kill the child and everything it started (it leads its own process group)."""
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        # Not yet its own group leader (killed right after the fork): the process alone.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def map_guarded(
    items: Iterable[tuple[bytes, str, dict[str, Any]]],
    *,
    workers: int | None = None,
    timeout_s: float = TIMEOUT_S,
    memory_mb: int = MEMORY_MB,
) -> Iterator[Report]:
    """Guarded extraction of ``(data, name, kwargs)`` items, ``workers`` at a time, in order.

    Threads only wait on children, so ``workers`` = CPU count keeps every core busy."""
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        futures = [
            pool.submit(extract_guarded, data, name, timeout_s=timeout_s, memory_mb=memory_mb, **kw)
            for data, name, kw in items
        ]
        for future in futures:
            yield future.result()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m extract.guarded", description=__doc__.split("\n")[0])
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
    # Through the package module, so the child's target pickles as extract.guarded._child.
    from extract.guarded import main as _main

    sys.exit(_main())
