"""Faults of the machine inside an asset: one line in Dagster, and a type ``run_ingest`` reads back.

A ``MachineFault`` (warehouse.faults: full disk, read-only file system, permission denied, a
damaged warehouse) raised by an asset body becomes a ``dg.Failure`` carrying the fault's one
line as its description and the fault's type in its metadata: Dagster shows the line instead of
a stack trace, and ``run_ingest`` stops the whole ingest with the same fault (nothing published).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg

from warehouse.faults import MachineFault

FAULT_KEY = "machine_fault"  # the metadata entry that holds the fault's type name
F = TypeVar("F", bound=Callable[..., Any])


def _failure(fault: MachineFault) -> dg.Failure:
    return dg.Failure(description=str(fault), metadata={FAULT_KEY: type(fault).__name__}, allow_retries=False)


def faults_as_failures(fn: F) -> F:
    """Wrap an asset function (plain or generator) so a ``MachineFault`` fails it in one line."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except MachineFault as fault:
                raise _failure(fault) from None

        return generator  # type: ignore[return-value]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MachineFault as fault:
            raise _failure(fault) from None

    return call  # type: ignore[return-value]
