"""The SQLite backend's node cache never returns a stale, retired or rolled-back node."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph.errors import RecordError
from graph.model import Node
from graph.sqlite_cache import NodeCache
from graph.sqlite_store import SqliteGraphStore
from tests.contract.helpers import dep, services

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _store(path: Path) -> SqliteGraphStore:
    store = SqliteGraphStore(path, clock=lambda: NOW)
    store.ensure_schema()
    return store


def _names(store: SqliteGraphStore, id_: str = "service:a") -> list[tuple[str, str | None]]:
    return [(hop.node.id, hop.node.name) for hop in store.neighbours(id_, depth=2)]


@pytest.fixture
def store(tmp_path: Path) -> SqliteGraphStore:
    store = _store(tmp_path / "graph.db")
    store.upsert_nodes(services("a", "b", "c"))
    store.upsert_edges([dep("a", "b", source="edges.yaml"), dep("b", "c", source="edges.yaml")])
    assert _names(store) == [("service:b", "b"), ("service:c", "c")]  # now cached
    return store


def _renamed(key: str, name: str) -> Node:
    return replace(services(key)[0], name=name)


def test_a_write_through_the_same_store_is_seen_by_the_next_read(store: SqliteGraphStore) -> None:
    store.upsert_nodes([_renamed("c", "c2")])

    assert _names(store) == [("service:b", "b"), ("service:c", "c2")]


def test_a_write_by_another_connection_is_seen_by_the_next_read(store: SqliteGraphStore) -> None:
    other = _store(store.path)
    other.upsert_nodes([_renamed("b", "b2")])
    other.close()

    assert _names(store) == [("service:b", "b2"), ("service:c", "c")]


def test_a_retired_node_is_not_returned_from_the_cache(store: SqliteGraphStore) -> None:
    other = _store(store.path)
    other.upsert_nodes(services("x", source="other.yaml"))
    other.retire_source("catalog/checkout.yaml", keep_nodes={"service:a", "service:b"})
    other.close()

    assert _names(store) == [("service:b", "b")]


def test_a_node_read_inside_a_rolled_back_batch_is_not_kept(store: SqliteGraphStore) -> None:
    with pytest.raises(RuntimeError), store.batch() as batch:
        batch.upsert_nodes([_renamed("c", "uncommitted")])
        assert _names(store) == [("service:b", "b"), ("service:c", "uncommitted")]
        raise RuntimeError("abandon the batch")

    assert _names(store) == [("service:b", "b"), ("service:c", "c")]


def test_reads_are_the_same_with_the_cache_off(tmp_path: Path, store: SqliteGraphStore) -> None:
    uncached = SqliteGraphStore(store.path, clock=lambda: NOW)
    uncached.node_cache_size = 0

    assert uncached.neighbours("service:b", depth=2) == store.neighbours("service:b", depth=2)


def test_the_cache_keeps_the_most_recently_used_nodes_up_to_its_size() -> None:
    cache = NodeCache(2)
    a, b, c = services("a", "b", "c")
    cache.add({1: a, 2: b})
    cache.lookup([1])  # 1 is now more recent than 2
    cache.add({3: c})

    assert cache.lookup([1, 2, 3]) == ({1: a, 3: c}, [2])
    assert len(cache) == 2


def test_a_negative_cache_size_is_refused() -> None:
    with pytest.raises(RecordError, match="node cache size"):
        NodeCache(-1)
