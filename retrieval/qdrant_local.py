"""Qdrant local mode's storage, tuned for bulk writes.

Local mode keeps each collection's points in a SQLite file and commits once
per point, and SQLite's default journal syncs the disk on every commit: about
25 ms a point on an ordinary disk, so indexing a thousand sections spends half
a minute waiting for the disk. In write-ahead-log mode with ``synchronous =
NORMAL`` a commit only appends to the log (the disk is synced at checkpoints):
a crash of the process loses nothing committed, and a power cut can lose at
most the last commits, never corrupt the file. Lost vectors are sections
without vectors, which ``vidya doctor`` finds and repairs::

    client = QdrantClient(path="index")
    sync_at_checkpoints(client, "sections")   # True: the collection's file now logs ahead
"""

from __future__ import annotations

import sqlite3
from typing import Any


def sync_at_checkpoints(client: Any, collection: str) -> bool:
    """Switch a local-mode collection's SQLite file to WAL with ``synchronous = NORMAL``.

    Returns ``False``, changing nothing, when ``client`` is not in local mode, the
    collection is not open, or this qdrant-client keeps its points some other way.
    """
    local = getattr(client, "_client", None)
    collections = getattr(local, "collections", None)
    if not isinstance(collections, dict) or collection not in collections:
        return False
    persistence = getattr(collections[collection], "storage", None)
    connection = getattr(persistence, "storage", None)
    if not isinstance(connection, sqlite3.Connection):
        return False
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()
    connection.execute("PRAGMA synchronous = NORMAL")
    return bool(mode) and str(mode[0]).lower() == "wal"
