"""Faults of the machine, in one line a person can act on.

A full disk, a read-only file system or a missing permission surfaces as an ``OSError`` from
Python, as a ``duckdb.Error`` with the OS message inside (DuckDB's own exception types), or as
SQLite's "database or disk is full" (Dagster's instance storage). ``guarded`` turns any of them,
raised by one stage that writes, into a ``MachineFault`` whose text names the path, what the
stage needed and what to do, after removing the stage's temporary files. A damaged warehouse
(truncated or flipped bytes in the catalog or a Parquet file) is a ``DamagedWarehouse``.
The CLI prints these as they are (exit 1): never a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


class MachineFault(RuntimeError):
    """A fault of the machine, not of the data: ``str()`` is the one line to print."""


class DiskFull(MachineFault):
    pass


class ReadOnly(MachineFault):
    pass


class NoPermission(MachineFault):
    pass


class DamagedWarehouse(MachineFault):
    """The catalog or a data file cannot be read back as written."""


FAULT_TYPES: dict[str, type[MachineFault]] = {
    t.__name__: t for t in (MachineFault, DiskFull, ReadOnly, NoPermission, DamagedWarehouse)
}

# The OS message each errno prints (C strerror): DuckDB and SQLite pass only the text on.
_MESSAGES: dict[int, tuple[str, ...]] = {
    errno.ENOSPC: ("no space left on device", "database or disk is full"),
    errno.EDQUOT: ("disk quota exceeded",),
    errno.EROFS: ("read-only file system", "attempt to write a readonly database"),
    errno.EACCES: ("permission denied",),
    errno.EPERM: ("operation not permitted",),
}
_DAMAGE = re.compile(
    r"not a valid DuckDB database file|Could not read enough bytes|Corrupt database file|"
    r"No magic bytes found|Decompression failure|TProtocolException|too small to be a Parquet file|"
    r"Failed to read Parquet|Invalid Parquet file|Out of buffer|corrupt",
    re.I,
)


def fault_errno(exc: BaseException) -> int | None:
    """The errno of a no-space / read-only / permission fault in ``exc`` or its causes, or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _MESSAGES:
            return current.errno
        text = str(current).lower()
        for code, needles in _MESSAGES.items():
            if any(n in text for n in needles):
                return code
        current = current.__cause__ or current.__context__
    return None


def is_damage(exc: BaseException) -> bool:
    """Does ``exc`` (a DuckDB error) say a file of the warehouse is not what was written?"""
    return bool(_DAMAGE.search(str(exc)))


def damage_line(exc: BaseException) -> str:
    """DuckDB's reason, first line, without its 'IO Error:'-style prefixes."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^(\w+ )*Error: ", "", text)


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def free_bytes(path: Path) -> int | None:
    """Free space on the file system holding ``path`` (its nearest existing ancestor)."""
    for candidate in (path, *path.absolute().parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def describe(code: int, path: Path, stage: str, needed: int | None = None) -> MachineFault:
    """The one-line fault for ``code`` (an errno) met at ``path`` while ``stage``."""
    where = f"{path} ({stage})"
    if code in (errno.ENOSPC, errno.EDQUOT):
        free = free_bytes(path)
        need = f"needs about {_size(needed)}" if needed else "needs more room"
        has = f", {_size(free)} free" if free is not None else ""
        what = "no space left on device" if code == errno.ENOSPC else "disk quota exceeded"
        return DiskFull(
            f"{what} at {where}: {need}{has}; free space there (or raise the quota, or point "
            "GONGKAI_DB at a bigger disk) and run again — the published warehouse is unchanged"
        )
    if code == errno.EROFS:
        return ReadOnly(
            f"read-only file system at {where}: remount it read-write, or point GONGKAI_DB at a "
            "writable folder, and run again — the published warehouse is unchanged"
        )
    return NoPermission(
        f"permission denied at {where}: give user {_user()} write access to it (chown/chmod), "
        "or point GONGKAI_DB at a folder you own, and run again — the published warehouse is unchanged"
    )


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())


def remove_quietly(paths: Iterable[Path]) -> None:
    """Delete files or folders a failed stage left; a second fault here must not hide the first."""
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass


@contextmanager
def guarded(
    stage: str, path: Path, *, needed: int | None = None, cleanup: Iterable[Path] = ()
) -> Iterator[None]:
    """Run one writing stage: a no-space / read-only / permission error becomes the stage's
    ``MachineFault`` (naming ``path``, or the file the OS named), after ``cleanup`` is removed."""
    try:
        yield
    except MachineFault:
        remove_quietly(cleanup)
        raise
    except Exception as exc:
        code = fault_errno(exc)
        if code is None:
            raise
        remove_quietly(cleanup)
        named = Path(exc.filename) if isinstance(exc, OSError) and exc.filename else path
        raise describe(code, named, stage, needed) from exc
