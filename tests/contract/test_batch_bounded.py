"""Batches larger than a backend holds in memory are still written whole, or not at all.

The Neo4j batch spills into an open transaction past ``SPILL_RECORDS``; every
test here writes more than that, so both ways of writing a batch meet the same
expectations on every backend.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph.errors import RecordError
from graph.model import Counts, Node
from graph.neo4j_writes import SPILL_RECORDS
from graph.schema import NodeLabel
from graph.store import GraphStore
from tests.contract.helpers import SOURCE, ClockLike, dep, hops, node, prov, services, stats, stored

LEAVES = [f"s{i:05}" for i in range(SPILL_RECORDS + 2000)]


class Boom(Exception):
    pass


def test_a_batch_past_the_bound_is_written_whole(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("old", source="old.yaml"))
    clock.advance(minutes=1)

    with graph_store.batch() as batch:
        batch.upsert_nodes(services("hub"))
        for start in range(0, len(LEAVES), 1000):  # in parts, as the ingest pipeline writes a large source
            part = LEAVES[start : start + 1000]
            batch.upsert_nodes(services(*part))
            batch.upsert_edges([dep("hub", k) for k in part])
        batch.upsert_nodes([node("service:hub", name="Hub")])
        batch.retire_source("old.yaml")

    assert batch.stats == stats(created=1 + 2 * len(LEAVES), updated=1, retired=1)
    assert graph_store.counts() == Counts(nodes={"Service": len(LEAVES) + 1}, relationships={"DEPENDS_ON": len(LEAVES)})
    assert len(graph_store.get_nodes(f"service:{k}" for k in LEAVES)) == len(LEAVES)
    hub = graph_store.get_node("service:hub")
    assert hub is not None and hub.name == "Hub"
    assert graph_store.edge_history(dep("hub", LEAVES[-1]).id) == [stored(dep("hub", LEAVES[-1]), recorded_at=clock.now)]
    assert hops(graph_store.neighbours("service:hub", limit=2)) == [("service:s00000", 1), ("service:s00001", 1)]
    old = graph_store.get_node("service:old")
    assert old is not None and old.retired_at == clock.now


def test_an_exception_inside_a_batch_past_the_bound_leaves_nothing_of_it(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a", "b"))
    graph_store.upsert_edges([dep("a", "b", props={"v": 1})])
    clock.advance(minutes=1)

    with pytest.raises(Boom), graph_store.batch() as batch:
        batch.upsert_nodes([node("service:a", name="renamed")])
        batch.upsert_edges([dep("a", "b", props={"v": 2})])
        for start in range(0, len(LEAVES), 1000):
            batch.upsert_nodes(services(*LEAVES[start : start + 1000]))
        batch.upsert_edges([dep("a", k) for k in LEAVES[:100]])
        batch.retire_source(SOURCE, keep_nodes={"service:a"})
        raise Boom

    assert graph_store.counts() == Counts(nodes={"Service": 2}, relationships={"DEPENDS_ON": 1})
    assert graph_store.get_nodes(["service:a", "service:b"]) == [stored(n) for n in services("a", "b")]
    assert graph_store.edge_history(dep("a", "b").id) == [stored(dep("a", "b", props={"v": 1}))]
    assert graph_store.get_node(f"service:{LEAVES[0]}") is None
    assert graph_store.upsert_nodes(services("c")) == stats(created=1)  # the store goes on


def test_an_invalid_record_met_past_the_bound_writes_nothing(graph_store: GraphStore) -> None:
    def records() -> Iterator[Node]:
        yield from services(*LEAVES)
        yield Node("service:c", NodeLabel.SERVICE, prov(), props={"nested": {"no": 1}})  # type: ignore[dict-item]

    with pytest.raises(RecordError, match="nested"):
        graph_store.upsert_nodes(records())

    assert list(graph_store.iter_nodes(include_retired=True)) == []


def test_writes_and_reads_inside_a_bulk_load_work_as_usual(graph_store: GraphStore) -> None:
    with graph_store.bulk_load():
        with graph_store.batch() as batch:
            batch.upsert_nodes(services("hub", *LEAVES[:3]))
            batch.upsert_edges([dep("hub", k) for k in LEAVES[:3]])
        assert graph_store.counts() == Counts(nodes={"Service": 4}, relationships={"DEPENDS_ON": 3})

    assert hops(graph_store.neighbours("service:hub")) == [(f"service:{k}", 1) for k in LEAVES[:3]]
    assert graph_store.upsert_nodes(services("after")) == stats(created=1)
