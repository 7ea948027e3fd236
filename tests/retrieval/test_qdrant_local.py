"""Qdrant local mode's storage file logs ahead (one disk sync per checkpoint) and keeps what was written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from retrieval.qdrant_local import sync_at_checkpoints
from retrieval.vector_index import VectorIndex, VectorPoint

pytestmark = pytest.mark.usefixtures("qdrant")


def storage_file(root: Path) -> Path:
    (found,) = list(root.rglob("storage.sqlite"))
    return found


def test_local_index_storage_is_write_ahead_logged_and_durable(tmp_path: Path) -> None:
    points = [VectorPoint(f"section:r{i}.md#1", [1.0, float(i), 0.0], source=f"r{i}.md") for i in range(40)]
    with VectorIndex(3, path=tmp_path / "index") as index:
        assert index.upsert(points) == 40
        index.delete({"section:r0.md#1"})
    mode = sqlite3.connect(storage_file(tmp_path / "index")).execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)
    with VectorIndex(3, path=tmp_path / "index") as index:
        by_source = index.ids_by_source()
    assert len(by_source) == 39 and "r0.md" not in by_source
    assert by_source["r7.md"] == {"section:r7.md#1"}


def test_only_an_open_local_collection_is_switched(tmp_path: Path) -> None:
    from qdrant_client import QdrantClient, models

    assert sync_at_checkpoints(object(), "sections") is False
    client = QdrantClient(path=str(tmp_path / "plain"))
    try:
        client.create_collection("sections", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE))
        assert sync_at_checkpoints(client, "no-such-collection") is False
        assert sync_at_checkpoints(client, "sections") is True
    finally:
        client.close()
    mode = sqlite3.connect(storage_file(tmp_path / "plain")).execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)
