"""An exclusive advisory lock on a lock file (``flock``): a second holder waits, after saying so.

The lock goes with the open file, so a process that dies (even by SIGKILL) releases it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_lock(path: Path, on_wait: Callable[[int], None]) -> Iterator[int]:
    """Hold ``path`` (created if missing) exclusively; yields its descriptor. When another
    process holds it, ``on_wait(fd)`` runs once (to say who holds it) before waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
