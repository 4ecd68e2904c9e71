"""Writing what was fetched: report files into ``raw/<year>/``, pages into ``raw/<year>/.pages/``
(hidden folders are never scanned as reports), and rows of ``raw/manifest.csv``.

Every write is a temporary file in the same folder renamed over the target, so a reader (an
ingest running meanwhile) sees the old file or the new one, never half of one. File names are
``<agency>-<first 12 hex of sha256><suffix>``: the same bytes get the same name, so writing
them again is a no-op, and a changed report gets a name of its own beside the old one (a new
revision, which the manifest's ``published`` or the file time orders: README, Revisions).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from warehouse.faults import guarded
from warehouse.inventory import MANIFEST, MANIFEST_COLUMNS

PAGES = ".pages"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


class ManifestError(Exception):
    """The manifest cannot take rows (unreadable): ``str()`` is the one line to print."""


@dataclass(frozen=True)
class ManifestRow:
    path: str  # posix, relative to the raw folder
    agency: str
    year: int
    region: str | None
    url: str
    published: str | None  # ISO date

    def cells(self) -> dict[str, str]:
        return {
            "path": self.path,
            "agency": self.agency,
            "year": str(self.year),
            "region": self.region or "",
            "url": self.url,
            "published": self.published or "",
        }


def file_name(agency: str, sha256: str, suffix: str) -> str:
    """A name safe on any file system, readable, and the same for the same bytes."""
    stem = _UNSAFE.sub("_", agency).strip(" ._")[:80] or "report"
    return f"{stem}-{sha256[:12]}{suffix}"


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` by rename; a full disk or a read-only folder is one line."""
    with guarded("writing a fetched file", target.parent, needed=len(data)):
        target.parent.mkdir(parents=True, exist_ok=True)
        # Hidden temporary name: a scan running meanwhile skips it.
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _manifest_table(raw: Path) -> tuple[list[str], list[list[str]], bool]:
    """(header, rows, had a BOM) of the manifest as it is; a fresh header when there is none."""
    file = raw / MANIFEST
    if not file.exists():
        return list(MANIFEST_COLUMNS), [], False
    try:
        data = file.read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(
            f"{file}: unreadable ({exc}); fetched files need rows there — fix or move it, then fetch again"
        ) from None
    table = list(csv.reader(io.StringIO(text)))
    if not table:
        return list(MANIFEST_COLUMNS), [], data.startswith(b"\xef\xbb\xbf")
    header = [h.strip() for h in table[0]]
    if "path" not in header:
        raise ManifestError(
            f"{file}: no 'path' column (header: {','.join(header)}); fetched files need rows there — "
            "fix its header, then fetch again"
        )
    return header, table[1:], data.startswith(b"\xef\xbb\xbf")


def check_manifest(raw: Path) -> None:
    """Raise ``ManifestError`` now, before anything is downloaded, if rows could not be added."""
    _manifest_table(raw)


def add_manifest_rows(raw: Path, rows: list[ManifestRow]) -> int:
    """Add or update the rows of ``rows``' paths, keeping every other row and column as it is;
    the file is rewritten (atomically) only when something changed. Returns rows changed."""
    if not rows:
        return 0
    header, table, bom = _manifest_table(raw)
    header = header + [c for c in MANIFEST_COLUMNS if c not in header]  # older manifests gain columns
    table = [r + [""] * (len(header) - len(r)) for r in table]  # every row as wide as the header
    at = {name: i for i, name in enumerate(header)}
    index = {r[at["path"]].strip(): n for n, r in enumerate(table) if len(r) > at["path"]}
    changed = 0
    for row in rows:
        n = index.get(row.path)
        if n is None:
            table.append([""] * len(header))
            n = index[row.path] = len(table) - 1
        line = table[n] + [""] * (len(header) - len(table[n]))
        before = list(line)
        for name, value in row.cells().items():
            line[at[name]] = value
        table[n] = line
        changed += line != before
    if not changed:
        return 0
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(table)
    write_atomic(raw / MANIFEST, (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))
    return changed
