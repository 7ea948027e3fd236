"""Batches are all-or-nothing, and their stats add up every write inside them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph.errors import RecordError
from graph.model import Counts, Node
from graph.schema import NodeLabel
from graph.store import GraphStore
from tests.contract.helpers import SOURCE, ClockLike, dep, hops, node, prov, services, stats, stored


class Boom(Exception):
    pass


def test_exception_inside_a_batch_writes_nothing(graph_store: GraphStore) -> None:
    with pytest.raises(Boom), graph_store.batch() as batch:
        batch.upsert_nodes(services("a", "b"))
        batch.upsert_edges([dep("a", "b"), dep("b", "c")])
        raise Boom

    assert list(graph_store.iter_nodes(include_retired=True)) == []
    assert list(graph_store.iter_edges(include_retired=True)) == []
    assert graph_store.counts() == Counts(nodes={}, relationships={})


def test_failed_batch_leaves_earlier_state_untouched(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a", "b"))
    graph_store.upsert_edges([dep("a", "b", props={"v": 1})])
    clock.advance(minutes=1)

    with pytest.raises(Boom), graph_store.batch() as batch:
        batch.upsert_nodes([node("service:a", name="renamed")])
        batch.upsert_edges([dep("a", "b", props={"v": 2})])
        batch.retire_source(SOURCE, keep_nodes={"service:a"})
        batch.delete_source(SOURCE)
        raise Boom

    assert graph_store.get_nodes(["service:a", "service:b"]) == [stored(n) for n in services("a", "b")]
    assert graph_store.edge_history(dep("a", "b").id) == [stored(dep("a", "b", props={"v": 1}))]


def test_store_keeps_working_after_a_failed_batch(graph_store: GraphStore) -> None:
    with pytest.raises(Boom), graph_store.batch() as batch:
        batch.upsert_nodes(services("a"))
        raise Boom

    assert graph_store.upsert_nodes(services("a")) == stats(created=1)
    assert graph_store.get_node("service:a") == stored(services("a")[0])


def test_invalid_record_met_mid_stream_writes_nothing(graph_store: GraphStore) -> None:
    def records() -> Iterator[Node]:
        # enough valid records first that a backend writing in chunks has already sent some
        yield from services(*(f"s{i:04}" for i in range(2500)))
        yield Node("service:c", NodeLabel.SERVICE, prov(), props={"nested": {"no": 1}})  # type: ignore[dict-item]

    with pytest.raises(RecordError, match="nested"):
        graph_store.upsert_nodes(records())

    assert list(graph_store.iter_nodes(include_retired=True)) == []


def test_batch_stats_add_up_every_write(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a", "b") + services("old", source="old.yaml"))
    clock.advance(minutes=1)

    with graph_store.batch() as batch:
        batch.upsert_nodes([*services("a", "c"), node("service:b", name="B")])
        batch.upsert_edges([dep("a", "b"), dep("a", "c")])
        batch.retire_source("old.yaml")

    assert batch.stats == stats(created=3, updated=1, unchanged=1, retired=1)


def test_writes_in_one_batch_see_each_other(graph_store: GraphStore) -> None:
    with graph_store.batch() as batch:
        batch.upsert_edges([dep("a", "b")])
        batch.upsert_nodes(services("a", "b"))
        batch.upsert_edges([dep("b", "c")])

    assert graph_store.get_nodes(["service:a", "service:b"]) == [stored(n) for n in services("a", "b")]
    assert hops(graph_store.neighbours("service:b")) == [("service:a", 1), ("service:c", 1)]
    c = graph_store.get_node("service:c")
    assert c is not None and c.placeholder


def test_large_batch_is_written_whole(graph_store: GraphStore) -> None:
    leaves = [f"s{i:04}" for i in range(2500)]

    with graph_store.batch() as batch:
        batch.upsert_nodes(services("hub", *leaves))
        batch.upsert_edges([dep("hub", k) for k in leaves])

    assert batch.stats == stats(created=5001)
    assert graph_store.counts() == Counts(nodes={"Service": 2501}, relationships={"DEPENDS_ON": 2500})
    assert len(graph_store.get_nodes(f"service:{k}" for k in leaves)) == 2500
    assert hops(graph_store.neighbours("service:hub", limit=2)) == [("service:s0000", 1), ("service:s0001", 1)]
