"""A SQLite data file written by an older schema is refused with what to do, never misread."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from graph.errors import StoreError
from graph.factory import GraphConfig, open_store


def test_an_old_schema_file_is_refused_with_a_way_out(tmp_path: Path) -> None:
    path = tmp_path / "graph.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute("CREATE TABLE nodes (id TEXT PRIMARY KEY)")
    with pytest.raises(StoreError, match=r"schema version 1.*ingest the sources again"):
        open_store(GraphConfig(backend="sqlite", sqlite_path=path))


def test_a_current_file_reopens(tmp_path: Path) -> None:
    path = tmp_path / "graph.db"
    open_store(GraphConfig(backend="sqlite", sqlite_path=path)).close()
    store = open_store(GraphConfig(backend="sqlite", sqlite_path=path))
    assert store.counts().nodes == {}
    store.close()
