"""Per-source lifecycle: ``retire_source`` (with keep lists) and ``delete_source``."""

from __future__ import annotations

from graph.schema import NodeLabel
from graph.store import GraphStore
from tests.contract.helpers import (
    SOURCE,
    ClockLike,
    dep,
    hops,
    ids,
    minutes,
    node,
    placeholder,
    prov,
    services,
    stats,
    stored,
)

OTHER = "catalog/other.yaml"


def _two_sources(store: GraphStore) -> None:
    """SOURCE: a, b, c and a->b, a->c; OTHER: x and x->a."""
    store.upsert_nodes(services("a", "b", "c") + services("x", source=OTHER))
    store.upsert_edges([dep("a", "b"), dep("a", "c"), dep("x", "a", source=OTHER)])


def test_retire_source_retires_what_it_produced_except_the_kept_ids(graph_store: GraphStore, clock: ClockLike) -> None:
    _two_sources(graph_store)
    clock.advance(minutes=1)

    got = graph_store.retire_source(SOURCE, keep_nodes={"service:a", "service:c"}, keep_edges={dep("a", "c").id})

    assert got == stats(retired=2)
    assert graph_store.get_node("service:b") == stored(services("b")[0], retired_at=minutes(1), valid_to=minutes(1))
    assert graph_store.get_edge(dep("a", "b").id) == stored(dep("a", "b"), retired_at=minutes(1), valid_to=minutes(1))
    assert graph_store.get_node("service:a") == stored(services("a")[0])
    assert graph_store.get_edge(dep("a", "c").id) == stored(dep("a", "c"))
    assert hops(graph_store.neighbours("service:a")) == [("service:c", 1), ("service:x", 1)]


def test_retired_facts_stay_answerable_as_of_before_retirement(graph_store: GraphStore, clock: ClockLike) -> None:
    _two_sources(graph_store)
    clock.advance(minutes=10)
    graph_store.retire_source(SOURCE, keep_nodes={"service:a"})

    assert hops(graph_store.neighbours("service:a")) == [("service:x", 1)]
    then = graph_store.neighbours("service:a", as_of=minutes(5))
    assert hops(then) == [("service:b", 1), ("service:c", 1), ("service:x", 1)]
    assert graph_store.neighbours("service:a", as_of=minutes(10)) == graph_store.neighbours("service:a")


def test_retire_source_leaves_other_sources_alone(graph_store: GraphStore, clock: ClockLike) -> None:
    _two_sources(graph_store)
    clock.advance(minutes=1)

    assert graph_store.retire_source(OTHER) == stats(retired=2)
    assert graph_store.get_node("service:x") == stored(services("x", source=OTHER)[0], retired_at=minutes(1), valid_to=minutes(1))
    assert [n.id for n in graph_store.find_nodes(NodeLabel.SERVICE)] == ["service:a", "service:b", "service:c"]
    assert hops(graph_store.neighbours("service:a")) == [("service:b", 1), ("service:c", 1)]


def test_retire_source_keeps_an_explicit_valid_to(graph_store: GraphStore, clock: ClockLike) -> None:
    planned_end = dep("a", "b", valid_to=minutes(60))
    graph_store.upsert_edges([planned_end])
    clock.advance(minutes=1)
    graph_store.retire_source(SOURCE)

    assert graph_store.get_edge(planned_end.id) == stored(planned_end, retired_at=minutes(1))


def test_retire_source_twice_or_of_an_unknown_source_retires_nothing(graph_store: GraphStore, clock: ClockLike) -> None:
    _two_sources(graph_store)
    clock.advance(minutes=1)
    graph_store.retire_source(OTHER)
    clock.advance(minutes=1)

    assert graph_store.retire_source(OTHER) == stats()
    assert graph_store.retire_source("never/seen.yaml") == stats()
    node_x = graph_store.get_node("service:x")
    assert node_x is not None and node_x.retired_at == minutes(1)


def test_reingesting_after_retire_revives_nodes_and_edges(graph_store: GraphStore, clock: ClockLike) -> None:
    _two_sources(graph_store)
    clock.advance(minutes=1)
    graph_store.retire_source(SOURCE)
    clock.advance(minutes=1)

    graph_store.upsert_nodes(services("a", "b", "c"))
    graph_store.upsert_edges([dep("a", "b")])

    assert hops(graph_store.neighbours("service:a")) == [("service:b", 1), ("service:x", 1)]
    assert [n.id for n in graph_store.find_nodes(NodeLabel.SERVICE)] == [
        "service:a",
        "service:b",
        "service:c",
        "service:x",
    ]


def test_delete_source_removes_its_nodes_and_every_edge_version(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a", "b"))
    graph_store.upsert_edges([dep("a", "b", props={"v": 1})])
    clock.advance(minutes=1)
    graph_store.upsert_edges([dep("a", "b", props={"v": 2})])

    graph_store.delete_source(SOURCE)

    assert graph_store.get_nodes(["service:a", "service:b"]) == []
    assert graph_store.get_edge(dep("a", "b").id) is None
    assert graph_store.edge_history(dep("a", "b").id) == []
    assert list(graph_store.iter_nodes(include_retired=True)) == []
    assert list(graph_store.iter_edges(include_retired=True)) == []


def test_delete_source_turns_nodes_others_point_at_into_placeholders(graph_store: GraphStore) -> None:
    _two_sources(graph_store)

    assert graph_store.delete_source(SOURCE) == stats(updated=1, deleted=4)  # a demoted; a->b, a->c, b, c gone

    assert graph_store.get_node("service:a") == stored(placeholder("service:a", prov(OTHER)))
    assert graph_store.get_nodes(["service:b", "service:c"]) == []
    assert ids(graph_store.iter_edges()) == [dep("x", "a").id]
    assert hops(graph_store.neighbours("service:x")) == [("service:a", 1)]
    assert graph_store.counts().nodes == {"Service": 1}


def test_delete_source_keeps_other_sources_whole(graph_store: GraphStore) -> None:
    _two_sources(graph_store)

    graph_store.delete_source(OTHER)

    assert graph_store.get_node("service:x") is None
    assert graph_store.get_node("service:a") == stored(services("a")[0])
    assert hops(graph_store.neighbours("service:a")) == [("service:b", 1), ("service:c", 1)]


def test_delete_source_drops_its_own_unreferenced_placeholders(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b")])

    assert graph_store.delete_source(SOURCE) == stats(deleted=3)
    assert list(graph_store.iter_nodes(include_retired=True)) == []


def test_delete_unknown_source_does_nothing(graph_store: GraphStore) -> None:
    _two_sources(graph_store)

    assert graph_store.delete_source("never/seen.yaml") == stats()
    assert graph_store.counts().nodes == {"Service": 4}


def test_reingest_after_delete_starts_fresh(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes([node("service:a", name="a")])
    graph_store.delete_source(SOURCE)
    clock.advance(minutes=1)

    assert graph_store.upsert_nodes([node("service:a", name="a")]) == stats(created=1)
    assert graph_store.get_node("service:a") == stored(node("service:a", name="a"), minutes(1))
