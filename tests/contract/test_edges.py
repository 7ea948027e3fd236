"""Edge upserts, point reads and one-hop reads (``incident_edges``)."""

from __future__ import annotations

from graph.model import Edge, edge_id
from graph.schema import RelType
from graph.store import GraphStore
from tests.contract.helpers import ClockLike, dep, edge, edge_sort_key, ids, minutes, prov, services, stats, stored


def test_new_edge_is_created_and_read_back_whole(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(services("a", "b"))
    e = dep("a", "b", props={"protocol": "grpc", "weight": 0.7})

    assert graph_store.upsert_edges([e]) == stats(created=1)
    assert graph_store.get_edge(e.id) == stored(e)
    assert graph_store.edge_history(e.id) == [stored(e)]


def test_edge_id_is_derived_from_type_endpoints_and_key(graph_store: GraphStore) -> None:
    e = edge(RelType.RUNS, "service:a", "artifact:sha256:1", key="deploy-1")
    graph_store.upsert_edges([e])

    got = graph_store.get_edge(edge_id(RelType.RUNS, "service:a", "artifact:sha256:1", "deploy-1"))
    assert got == stored(e)
    assert graph_store.get_edge(edge_id(RelType.RUNS, "service:a", "artifact:sha256:1")) is None


def test_same_edge_again_is_unchanged(graph_store: GraphStore, clock: ClockLike) -> None:
    e = dep("a", "b", props={"p": 1})
    graph_store.upsert_edges([e])
    clock.advance(minutes=5)

    assert graph_store.upsert_edges([dep("a", "b", props={"p": 1}, run_id="run-2")]) == stats(unchanged=1)
    assert graph_store.edge_history(e.id) == [stored(e)]


def test_same_edge_from_another_source_moves_provenance_without_a_new_version(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_edges([dep("a", "b", source="one.yaml")])
    clock.advance(minutes=5)
    moved = dep("a", "b", source="two.yaml")

    assert graph_store.upsert_edges([moved]) == stats(updated=1)
    assert graph_store.edge_history(moved.id) == [stored(moved)]


def test_last_record_of_an_edge_in_one_call_wins(graph_store: GraphStore) -> None:
    first, last = dep("a", "b", props={"n": 1}), dep("a", "b", props={"n": 2})

    assert graph_store.upsert_edges([first, last]) == stats(created=1)
    assert graph_store.edge_history(last.id) == [stored(last)]


def test_unknown_edge_reads_are_empty(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b")])
    missing = dep("b", "a").id

    assert graph_store.get_edge(missing) is None
    assert graph_store.edge_history(missing) == []


def test_keys_tell_apart_edges_between_the_same_nodes(graph_store: GraphStore) -> None:
    first = edge(RelType.MENTIONS, "runbook:db", "service:a", key="step-1")
    second = edge(RelType.MENTIONS, "runbook:db", "service:a", key="step-2")

    assert graph_store.upsert_edges([first, second]) == stats(created=2)
    assert graph_store.incident_edges(["runbook:db"]) == sorted([stored(first), stored(second)], key=lambda e: e.id)


def test_incident_edges_by_direction(graph_store: GraphStore) -> None:
    out_edge, in_edge = dep("b", "c"), dep("a", "b")
    graph_store.upsert_edges([out_edge, in_edge])

    assert graph_store.incident_edges(["service:b"], "out") == [stored(out_edge)]
    assert graph_store.incident_edges(["service:b"], "in") == [stored(in_edge)]
    both = graph_store.incident_edges(["service:b"], "both")
    assert both == sorted([stored(out_edge), stored(in_edge)], key=lambda e: e.id)
    assert graph_store.incident_edges(["service:b"]) == both


def test_incident_edges_of_several_nodes_in_id_order_each_once(graph_store: GraphStore) -> None:
    edges = [dep("a", "b"), dep("b", "c"), dep("c", "d"), dep("x", "y")]
    graph_store.upsert_edges(edges)

    got = graph_store.incident_edges(["service:b", "service:c"])

    assert ids(got) == sorted(e.id for e in edges[:3])
    assert graph_store.incident_edges([]) == []
    assert graph_store.incident_edges(["service:nowhere"]) == []


def test_incident_edges_filtered_by_type(graph_store: GraphStore) -> None:
    owner = edge(RelType.OWNED_BY, "service:a", "team:t")
    graph_store.upsert_edges([dep("a", "b"), owner, edge(RelType.PROVIDES_API, "service:a", "api:x")])

    assert graph_store.incident_edges(["service:a"], types=[RelType.OWNED_BY]) == [stored(owner)]
    both_types = graph_store.incident_edges(["service:a"], types={RelType.OWNED_BY, RelType.DEPENDS_ON})
    assert sorted(e.type for e in both_types) == [RelType.DEPENDS_ON, RelType.OWNED_BY]
    assert graph_store.incident_edges(["service:a"], types=[]) == []


def test_self_loop_is_one_incident_edge(graph_store: GraphStore) -> None:
    loop = dep("a", "a")
    graph_store.upsert_edges([loop])

    for direction in ("out", "in", "both"):
        assert graph_store.incident_edges(["service:a"], direction) == [stored(loop)], direction


def test_incident_edges_hide_edges_whose_far_end_is_retired(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a") + services("gone", source="old.yaml"))
    kept = dep("a", "b")
    graph_store.upsert_edges([dep("a", "gone"), kept])
    clock.advance(minutes=1)
    graph_store.retire_source("old.yaml")

    assert graph_store.incident_edges(["service:a"]) == [stored(kept)]
    assert graph_store.incident_edges(["service:gone"]) == []


def test_iter_edges_lists_current_or_every_version(graph_store: GraphStore, clock: ClockLike) -> None:
    a_b, b_c = dep("a", "b", props={"v": 1}), dep("b", "c")
    graph_store.upsert_edges([a_b, b_c])
    clock.advance(minutes=1)
    a_b2 = dep("a", "b", props={"v": 2})
    graph_store.upsert_edges([a_b2])

    current = sorted(graph_store.iter_edges(), key=edge_sort_key)
    assert current == sorted([stored(a_b2, minutes(1), valid_from=minutes(1)), stored(b_c)], key=edge_sort_key)
    every = sorted(graph_store.iter_edges(include_retired=True), key=edge_sort_key)
    assert every == sorted(
        [
            stored(a_b, retired_at=minutes(1), valid_to=minutes(1)),
            stored(a_b2, minutes(1), valid_from=minutes(1)),
            stored(b_c),
        ],
        key=edge_sort_key,
    )


def test_edge_properties_keep_their_types(graph_store: GraphStore) -> None:
    props = {"s": "x", "i": 3, "f": 2.0, "b": False, "l": ["p", "q"], "li": [5, 6]}
    e = dep("a", "b", props=props)
    graph_store.upsert_edges([e])

    got = graph_store.get_edge(e.id)
    assert got is not None and got.props == props
    assert {k: type(v) for k, v in got.props.items()} == {k: type(v) for k, v in props.items()}


def test_edge_provenance_round_trips(graph_store: GraphStore) -> None:
    e = Edge(RelType.OWNED_BY, "service:a", "team:t", prov("catalog/a.yaml", "run-3", "catalog/a.yaml:4"))
    graph_store.upsert_edges([e])

    got = graph_store.get_edge(e.id)
    assert got is not None and got.provenance == prov("catalog/a.yaml", "run-3", "catalog/a.yaml:4")
