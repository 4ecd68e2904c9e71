"""Long-lived extraction workers, one per core, each task bounded in time and memory.

``extract_bytes`` turns every bad input it can recognise into a rejected report, and each reader
has its own limits (``extract.limits``). What it cannot do in-process is stop code that loops or
allocates without end: a parser stuck in C (lexbor, pdfium, libxml2) cannot be interrupted from
Python, and an allocation that exhausts memory takes the whole run down. ``ExtractionPool`` runs
any picklable module-level function in a worker process (pebble's ``ProcessPool``) so that:

* **time** — a task still running ``timeout_s`` after its worker picked it up is stopped: pebble
  terminates the worker (SIGTERM, SIGKILL 3 s later if it does not exit) and starts a fresh one;
  the future raises ``ExtractionTimeout``. The worker's helper processes go with it (below);
* **memory** — every worker runs under a soft ``RLIMIT_AS`` (set in the worker initializer and
  again per task, so one pool can serve tasks with different limits); runaway allocation becomes
  a ``MemoryError`` in the worker. A task that ends in a ``MemoryError`` — raised, or quarantined
  by ``extract_bytes`` as a rejected report that names it (``is_memory_error``) — makes its worker
  exit at once with ``OUT_OF_MEMORY_EXIT`` instead of answering: the future raises
  ``ExtractionOutOfMemory`` and pebble replaces the worker, so a heap fragmented by a huge
  allocation never serves another file. (Exiting inside the task is what makes the retirement
  race-free: pebble attributes a worker's death to the task it was running, whereas a worker
  that retired *after* answering could already have taken the next task.)
* **crashes** — a worker that dies (SIGSEGV, ``abort()``, ``os._exit``) fails its task with
  ``WorkerCrashed`` and is replaced; a task that raises fails with ``ExtractorRaised``. Other
  tasks and the pool carry on.

All four are ``ExtractionFailure``s carrying the one-line rejection reason that ``gongkai``
reports (``failure.reason``; ``failure.report(name)`` or ``failure_report(exc, name)`` build the
rejected ``Report``)::

    extraction timed out after 60 s
    extraction ran out of memory (limit 1024 MB)
    extractor crashed: killed by signal SIGSEGV
    extractor crashed: killed by signal SIGKILL (the system may have run out of memory)
    extractor crashed: exited with status 3 without an answer
    extractor crashed: RuntimeError: boom second line

**Helper processes.** LibreOffice (``extract.readers.office``) runs in its own session, and
``oosplash`` forks ``soffice.bin``: killing a worker does not kill them. Two mechanisms do:
(1) each worker puts its pid in its environment (``WORKER_ENV``), which every process a task
starts inherits, however deep; whenever a task ends with its worker dead (timeout, out of
memory, crash) and at shutdown, the pool kills every process whose mark names a worker that is
gone (``kill_orphaned_helpers``), before the task's future resolves; (2) office.py starts
LibreOffice with ``PR_SET_PDEATHSIG`` = SIGKILL, so the helper dies with its worker even if the
pool's own process is gone too. Both are Linux (``/proc``, ``prctl``); elsewhere a helper relies
on its own time limit (``SOFFICE_TIMEOUT_S``).

**Start method.** Workers are started from a ``forkserver`` (single-threaded, so forking is safe
however many threads the caller runs — Dagster does) that has imported the extractor and filled
its caches (``PRELOAD``); each worker starts warm once and then serves files for its whole life
(``max_tasks`` of them; 0 = no limit). multiprocessing still makes every new worker re-import
the caller's ``__main__`` script (the pytest or dagster launcher): that is part of a worker's
start, paid once per worker, never per file. docs/reliability.md gives the measured costs.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import resource
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, Generic, TypeVar

from pebble import ProcessExpired, ProcessPool

from extract.limits import MEMORY_MB, TIMEOUT_S
from extract.report import Report, rejected

T = TypeVar("T")

MiB = 2**20
# A worker exits with this status when its task ran out of memory (see the module docstring). A
# task that calls os._exit(86) itself is reported as out of memory too: nothing else can tell.
OUT_OF_MEMORY_EXIT = 86
# Set in each worker's environment to its pid: every process a task starts inherits it (subprocess
# passes the environment on, and office.py extends it), so helpers left by a dead worker can be
# found and killed, however deep they forked and whatever session they are in.
WORKER_ENV = "GONGKAI_EXTRACTION_WORKER"
MAX_TASKS = 1000  # a worker is replaced after this many files (bounds any slow leak in a parser)
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

# Imported once by the forkserver, so that every worker starts with them loaded (under the
# spawn start method each worker imports them in its initializer instead). Not extract.guarded:
# workers never need it, and under `python -m extract.guarded` multiprocessing runs it again in
# each worker as the caller's main module (runpy warns when that module is already imported).
PRELOAD = [
    "extract.api",
    "extract.pool",
    "extract.readers.text",
    "extract.readers.html",
    "extract.readers.docx",
    "extract.readers.markdown",
    "extract.readers.pdf",
    "extract.readers.runon",
    "extract.readers.spaced",
    "extract.readers.office",
]


def warm() -> None:
    """Fill the extractor's import-time caches, so workers started from the forkserver (which
    imports this module) share them instead of each filling its own."""
    from extract.readers import readers
    from schemas.taxonomy import taxonomy

    readers()
    taxonomy()


warm()


# ---------------------------------------------------------------------------- outcomes


class ExtractionFailure(Exception):
    """A task that gave no answer. ``reason`` is the one-line rejection reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def report(self, name: str, **known: Any) -> Report:
        """The rejected report for file ``name`` (``known``: fields to keep, e.g. parser_version)."""
        return rejected(name, self.reason, **known)


class ExtractionTimeout(ExtractionFailure):
    """Still running ``timeout_s`` after its worker picked it up; the worker was killed."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"extraction timed out after {timeout_s:g} s")
        self.timeout_s = timeout_s


class ExtractionOutOfMemory(ExtractionFailure):
    """Ended in a MemoryError under the address-space limit; the worker was retired."""

    def __init__(self, memory_mb: int) -> None:
        super().__init__(f"extraction ran out of memory (limit {memory_mb} MB)")
        self.memory_mb = memory_mb


class WorkerCrashed(ExtractionFailure):
    """The worker died while running the task (a signal, an exit), or could not run it."""

    def __init__(self, detail: str, *, exitcode: int | None = None) -> None:
        super().__init__(one_line(f"extractor crashed: {detail}"))
        self.detail = detail
        self.exitcode = exitcode


class ExtractorRaised(ExtractionFailure):
    """The task raised an exception (other than MemoryError); ``traceback`` is the worker's."""

    def __init__(self, exc_type: str, message: str, traceback: str = "") -> None:
        super().__init__(one_line(f"extractor crashed: {exc_type}: {message}"))
        self.exc_type = exc_type
        self.message = message
        self.traceback = traceback


def failure_report(error: BaseException, name: str, **known: Any) -> Report:
    """The rejected report for a task that raised ``error`` (an ``ExtractionFailure`` or anything
    else a future may raise, e.g. an argument that cannot be pickled)."""
    if isinstance(error, ExtractionFailure):
        return error.report(name, **known)
    return rejected(name, one_line(f"extractor crashed: {type(error).__name__}: {error}"), **known)


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def crash_detail(exitcode: int | None) -> str:
    """What a worker's exit code says: ``killed by signal SIGSEGV``, ``exited with status 3 …``."""
    if exitcode is not None and exitcode < 0:
        detail = f"killed by signal {signal_name(-exitcode)}"
        if -exitcode == signal.SIGKILL:
            detail += " (the system may have run out of memory)"
        return detail
    return f"exited with status {exitcode} without an answer"


def is_memory_error(report: Report) -> bool:
    """``extract_bytes`` quarantines reader exceptions, MemoryError included, as rejected reports
    (``reader failed: MemoryError…``): such a report means the file ran out of memory."""
    return report.status == "rejected" and "MemoryError" in (report.error or "")


def raise_if_out_of_memory(report: Report) -> Report:
    """The report, or MemoryError if it quarantined one. A task that returns something other than
    the ``Report`` itself (a compact result) calls this on the report, so its worker is retired
    and the task ends as ``ExtractionOutOfMemory``; a returned ``Report`` is checked anyway."""
    if is_memory_error(report):
        raise MemoryError(report.error)
    return report


@dataclass(frozen=True)
class Measured(Generic[T]):
    """A task's value with what it cost in the worker."""

    value: T
    seconds: float  # the function's wall time in the worker
    # The worker's peak resident memory during the task: on Linux the peak is reset before each
    # task (/proc/self/clear_refs), elsewhere it is the worker's lifetime peak (exact per task
    # only with max_tasks=1). Includes the worker's baseline (the imported extractor).
    peak_rss_mb: float
    pid: int


# ---------------------------------------------------------------------------- in the worker


@dataclass(frozen=True)
class _Raised:
    exc_type: str
    message: str
    traceback: str


def _set_memory_limit(memory_mb: int) -> None:
    """Soft RLIMIT_AS only: the hard limit stays, so a helper (LibreOffice) can be given its own."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = hard
    if memory_mb:
        limit = memory_mb * MiB if hard == resource.RLIM_INFINITY else min(memory_mb * MiB, hard)
    if limit != soft:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:  # "5": reset the peak RSS (Linux ≥ 4.0)
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _alive(pid: int) -> bool:
    try:
        stat = Path("/proc", str(pid), "stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :][:1] not in ("Z", "X")  # a zombie is dead


def kill_orphaned_helpers() -> list[int]:
    """Kill every process carrying the ``WORKER_ENV`` mark of a worker that no longer exists —
    helpers (LibreOffice and whatever it forked) left by a worker that was killed — and return
    their pids. Linux (/proc); elsewhere nothing is found."""
    mark = WORKER_ENV.encode() + b"="
    killed: list[int] = []
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return killed
    for entry in entries:
        try:
            environ = Path("/proc", entry, "environ").read_bytes()  # other users': PermissionError
        except OSError:
            continue
        if mark not in environ:
            continue
        owner = next((v[len(mark) :] for v in environ.split(b"\0") if v.startswith(mark)), b"")
        if not owner.isdigit() or _alive(int(owner)):
            continue
        with contextlib.suppress(OSError):
            os.kill(int(entry), signal.SIGKILL)
            killed.append(int(entry))
    return killed


def _init_worker(memory_mb: int, preload: list[str]) -> None:
    """pebble's worker initializer: imports (a no-op under the forkserver, which preloaded them),
    the memory limit, and the mark its helpers inherit (``kill_orphaned_helpers``)."""
    for module in preload:
        with contextlib.suppress(Exception):
            __import__(module)
    _set_memory_limit(memory_mb)
    os.environ[WORKER_ENV] = str(os.getpid())


def _run_task(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], memory_mb: int) -> Any:
    """What a worker runs for every task: ``fn(*args, **kwargs)`` under the memory limit."""
    _set_memory_limit(memory_mb)
    _reset_peak_rss()
    started = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
        if isinstance(value, Report):
            raise_if_out_of_memory(value)
    except MemoryError:
        # Retire this worker now (the module docstring says why): its death is this task's answer.
        os._exit(OUT_OF_MEMORY_EXIT)
    except BaseException as exc:  # anything else is reported, never re-raised into pebble
        return _Raised(type(exc).__name__, str(exc), traceback.format_exc())
    return Measured(value, time.perf_counter() - started, _peak_rss_mb(), os.getpid())


# ---------------------------------------------------------------------------- in the caller


@dataclass
class _Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    timeout_s: float
    memory_mb: int
    future: Future[Any]
    unwrap: bool  # resolve to the value alone (submit), not the Measured (submit_measured)
    attempts: int = 0


class ExtractionPool:
    """``workers`` long-lived processes running functions under a time and a memory limit.

    ::

        with ExtractionPool() as pool:
            future = pool.submit(extract_file, path)     # any picklable module-level function
            try:
                result = future.result()
            except ExtractionFailure as failure:
                report = failure.report(path)            # "extraction timed out after 60 s", …

    ``workers=None`` is one per core; ``timeout_s`` and ``memory_mb`` are per task (0 = none);
    ``max_tasks`` replaces a worker after that many tasks (0 = never). Thread-safe: submit from
    any thread. At most two tasks per worker are handed to pebble at a time, the rest wait here,
    so a broken pebble pool (which pebble cannot recover from) is replaced and the tasks it held
    are run again, once. ``shutdown()`` (or leaving the ``with`` block) waits for pending tasks.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout_s: float = TIMEOUT_S,
        memory_mb: int = MEMORY_MB,
        max_tasks: int = MAX_TASKS,
        context: str | BaseContext = START_METHOD,
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_tasks = max_tasks
        ctx = multiprocessing.get_context(context) if isinstance(context, str) else context
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload(PRELOAD)  # type: ignore[attr-defined]
        self._ctx = ctx
        self._lock = threading.RLock()
        self._backlog: deque[_Call] = deque()
        self._running: dict[Future[Any], _Call] = {}  # pebble's futures not yet settled
        self._closed = False  # no new tasks
        self._shut_down = False  # shutdown() has run
        self._idle = threading.Condition(self._lock)
        self._pool = self._new_pool()

    # ------------------------------------------------------------------ public
    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """``fn(*args, **kwargs)`` in a worker. The future gives fn's value, or raises an
        ``ExtractionFailure`` (``ExtractionTimeout``, ``ExtractionOutOfMemory``, ``WorkerCrashed``,
        ``ExtractorRaised``)."""
        return self._submit(fn, args, kwargs, None, None, unwrap=True)

    def submit_measured(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
    ) -> Future[Measured[T]]:
        """Like ``submit``, with the task's time and peak memory, and per-task limits (``None``:
        the pool's)."""
        return self._submit(fn, tuple(args), dict(kwargs or {}), timeout_s, memory_mb, unwrap=False)

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting tasks; with ``wait``, finish the pending ones first, else cancel the
        waiting ones and stop the running ones with their workers (their futures raise
        ``WorkerCrashed``)."""
        with self._lock:
            if self._shut_down:
                return
            self._closed = self._shut_down = True
            if wait:
                while self._backlog or self._running:
                    self._idle.wait()
            while self._backlog:
                call = self._backlog.popleft()
                if not call.future.cancel():  # a task waiting to run again is already running
                    call.future.set_exception(
                        WorkerCrashed("the extraction pool was shut down during the task")
                    )
            pool = self._pool
        if wait:
            pool.close()
        else:
            pool.stop()
        pool.join()
        with self._lock:  # pebble leaves the futures of tasks it stopped unresolved
            stopped = list(self._running.values())
            self._running.clear()
        kill_orphaned_helpers()
        for call in stopped:
            if not call.future.done():
                call.future.set_exception(WorkerCrashed("the extraction pool was shut down during the task"))

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=exc[0] is None)

    # ------------------------------------------------------------------ internals
    def _new_pool(self) -> ProcessPool:
        pool = ProcessPool(
            max_workers=self.workers,
            max_tasks=self.max_tasks,
            initializer=_init_worker,
            initargs=(self.memory_mb, [] if self._ctx.get_start_method() == "forkserver" else PRELOAD),
            context=self._ctx,
        )
        pool.active  # noqa: B018  # starts the workers now, not at the first task
        return pool

    def _submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout_s: float | None,
        memory_mb: int | None,
        *,
        unwrap: bool,
    ) -> Future[Any]:
        call = _Call(
            fn,
            args,
            kwargs,
            self.timeout_s if timeout_s is None else timeout_s,
            self.memory_mb if memory_mb is None else memory_mb,
            Future(),
            unwrap,
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the extraction pool is shut down")
            self._backlog.append(call)
            self._pump()
        return call.future

    def _pump(self) -> None:
        """Hand waiting tasks to pebble, two per worker at most (called with the lock held)."""
        while self._backlog and len(self._running) < 2 * self.workers:
            call = self._backlog.popleft()
            if call.attempts == 0 and not call.future.set_running_or_notify_cancel():
                continue  # cancelled while waiting
            call.attempts += 1
            task = (call.fn, call.args, call.kwargs, call.memory_mb)
            try:
                try:
                    inner = self._pool.schedule(_run_task, args=task, timeout=call.timeout_s or None)
                except RuntimeError:  # pebble's pool is broken: a new one, and this task again
                    if self._shut_down:
                        raise
                    self._replace_pool()
                    inner = self._pool.schedule(_run_task, args=task, timeout=call.timeout_s or None)
            except Exception as exc:
                call.future.set_exception(WorkerCrashed(f"cannot start a worker process ({exc})"))
                continue
            self._running[inner] = call
            inner.add_done_callback(self._settle)

    def _replace_pool(self) -> None:
        broken, self._pool = self._pool, self._new_pool()

        def dispose() -> None:
            broken.stop()
            broken.join()

        # Not from this thread: it may be one of the broken pool's own, which join() waits for.
        threading.Thread(target=dispose, name="extraction-pool-dispose", daemon=True).start()

    def _settle(self, done: Future[Any]) -> None:
        """A pebble future is done (in one of pebble's threads): resolve the caller's future, or
        run the task again."""
        with self._lock:
            call = self._running.pop(done, None)
        if call is None:
            return  # settled by shutdown(wait=False)
        outcome: Any
        retry = False
        try:
            answer = done.result()
        except TimeoutError:
            outcome = ExtractionTimeout(call.timeout_s)
        except ProcessExpired as exc:
            if exc.exitcode == OUT_OF_MEMORY_EXIT:
                outcome = ExtractionOutOfMemory(call.memory_mb)
            else:
                outcome = WorkerCrashed(crash_detail(exc.exitcode), exitcode=exc.exitcode)
        except BrokenProcessPool as exc:
            # pebble gave up on its pool (a worker died before its task was seen to start):
            # nothing says this task was the cause, so it runs once more on a fresh pool.
            retry = call.attempts < 2
            outcome = WorkerCrashed(f"the worker pool broke ({exc})")
        except BaseException as exc:  # pebble could not send the task or its answer (pickling)
            outcome = ExtractorRaised(type(exc).__name__, str(exc))
        else:
            if isinstance(answer, _Raised):
                outcome = ExtractorRaised(answer.exc_type, answer.message, answer.traceback)
            else:
                outcome = answer.value if call.unwrap else answer
        with self._lock:
            if retry and self._closed and not self._pool.active:
                retry = False  # shutting down: no new pool
            if retry:
                if not self._pool.active:
                    self._replace_pool()
                self._backlog.appendleft(call)
            self._pump()
            self._idle.notify_all()
        if retry:
            return
        if isinstance(outcome, (ExtractionTimeout, ExtractionOutOfMemory, WorkerCrashed)):
            kill_orphaned_helpers()  # the worker is dead (pebble reaped it): its helpers go too
        if isinstance(outcome, BaseException):
            call.future.set_exception(outcome)
        else:
            call.future.set_result(outcome)


# ---------------------------------------------------------------------------- a shared pool

_shared: ExtractionPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ExtractionPool:
    """One pool per process for ``extract.guarded``: one worker per core, the default limits
    (tasks pass their own), started on first use and shut down at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ExtractionPool()
            atexit.register(_shutdown_shared)
        return _shared


def _shutdown_shared() -> None:
    global _shared
    with _shared_lock:
        pool, _shared = _shared, None
    if pool is not None:
        pool.shutdown(wait=False)
