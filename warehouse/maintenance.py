"""Keeping the lake small: old snapshots expire, files nobody needs any more are deleted.

Runs at the start of every build (under the writer lock, on the build catalog, before the run
writes anything), so it is published with the run or not at all:

- snapshots older than ``GONGKAI_SNAPSHOT_DAYS`` (default 7) expire: the warehouse as it was up
  to that many days ago stays queryable (time travel, README); the newest snapshot never expires;
- data files that only expired snapshots used are deleted once they have been scheduled for
  deletion for ``GRACE_DAYS`` — a reader that opened an older catalog a moment before a publish
  keeps finding its files;
- files in the data folder that no catalog lists (left by a run killed before its publish) are
  deleted when older than ``GRACE_DAYS``.
"""

from __future__ import annotations

import os

import duckdb

from warehouse.lake import ALIAS

SNAPSHOT_DAYS = 7
GRACE_DAYS = 1


def snapshot_days() -> int:
    try:
        return max(0, int(os.environ.get("GONGKAI_SNAPSHOT_DAYS", SNAPSHOT_DAYS)))
    except ValueError:
        return SNAPSHOT_DAYS


def maintain(
    con: duckdb.DuckDBPyConnection, *, keep_days: int | None = None, grace_days: int = GRACE_DAYS
) -> dict[str, int]:
    """Expire old snapshots and delete unneeded files; returns how many of each."""
    days = snapshot_days() if keep_days is None else keep_days
    expired = con.execute(
        f"CALL ducklake_expire_snapshots('{ALIAS}', older_than => now() - INTERVAL ({int(days)}) DAY)"
    ).fetchall()
    cleaned = con.execute(
        f"CALL ducklake_cleanup_old_files('{ALIAS}', older_than => now() - INTERVAL ({int(grace_days)}) DAY)"
    ).fetchall()
    orphans = con.execute(
        f"CALL ducklake_delete_orphaned_files('{ALIAS}', older_than => now() - INTERVAL ({int(grace_days)}) DAY)"
    ).fetchall()
    return {"snapshots_expired": len(expired), "files_deleted": len(cleaned), "orphans_deleted": len(orphans)}
