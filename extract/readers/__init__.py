"""Format readers: bytes in, a ``Document`` (rows of cells) out.

Each reader module exposes ``SUFFIXES`` (file suffixes it claims), optional ``SIGNATURES``
(leading bytes that identify its format whatever the file is called) and
``read(data: bytes) -> Document``. Adding a format = adding a module to ``READER_MODULES``;
the matcher never changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from extract.document import Document

READER_MODULES = ("text", "html", "docx", "office", "pdf", "markdown")


@dataclass(frozen=True)
class Reader:
    name: str
    read: Callable[[bytes], Document]
    suffixes: frozenset[str]
    signatures: tuple[bytes, ...]


@cache
def readers() -> tuple[Reader, ...]:
    found = []
    for name in READER_MODULES:
        try:
            module: ModuleType = importlib.import_module(f"extract.readers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("extract.readers"):
                continue  # that format is not built (yet)
            raise
        found.append(
            Reader(
                name=name,
                read=module.read,
                suffixes=frozenset(getattr(module, "SUFFIXES", ())),
                signatures=tuple(getattr(module, "SIGNATURES", ())),
            )
        )
    return tuple(found)


def reader_for(suffix: str, data: bytes) -> Reader | None:
    """The reader for a file: by content signature first (a PDF named .html is a PDF), then suffix."""
    head = data[:8]
    for reader in readers():
        if any(head.startswith(sig) for sig in reader.signatures):
            return reader
    for reader in readers():
        if suffix in reader.suffixes:
            return reader
    return None
