"""Neighbourhoods: ``neighbours`` and ``subgraph``."""

from __future__ import annotations

import pytest

from graph.errors import RecordError
from graph.model import Edge, Hop
from graph.schema import RelType
from graph.store import GraphStore
from graph.traversal import TraversalMixin
from tests.contract.helpers import ClockLike, dep, edge, hops, ids, minutes, node, services, stored


def _chain(store: GraphStore) -> list[Edge]:
    """a -> b -> c -> d, plus a -> e; every node real."""
    edges = [dep("a", "b"), dep("b", "c"), dep("c", "d"), dep("a", "e")]
    store.upsert_nodes(services("a", "b", "c", "d", "e"))
    store.upsert_edges(edges)
    return edges


def test_neighbours_are_whole_nodes_by_depth_then_id(graph_store: GraphStore) -> None:
    _chain(graph_store)

    got = graph_store.neighbours("service:b")

    assert got == [Hop(stored(services("a")[0]), 1), Hop(stored(services("c")[0]), 1)]


def test_neighbours_by_direction(graph_store: GraphStore) -> None:
    _chain(graph_store)

    assert hops(graph_store.neighbours("service:b", direction="out")) == [("service:c", 1)]
    assert hops(graph_store.neighbours("service:b", direction="in")) == [("service:a", 1)]
    assert hops(graph_store.neighbours("service:a", direction="in")) == []


def test_neighbours_within_depth(graph_store: GraphStore) -> None:
    _chain(graph_store)

    assert hops(graph_store.neighbours("service:a", direction="out", depth=2)) == [
        ("service:b", 1),
        ("service:e", 1),
        ("service:c", 2),
    ]
    assert hops(graph_store.neighbours("service:a", depth=3)) == [
        ("service:b", 1),
        ("service:e", 1),
        ("service:c", 2),
        ("service:d", 3),
    ]
    assert hops(graph_store.neighbours("service:d", direction="in", depth=10)) == [
        ("service:c", 1),
        ("service:b", 2),
        ("service:a", 3),
    ]


def test_each_neighbour_appears_once_at_its_shortest_distance(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b"), dep("b", "c"), dep("a", "c"), dep("c", "d")])

    assert hops(graph_store.neighbours("service:a", direction="out", depth=3)) == [
        ("service:b", 1),
        ("service:c", 1),
        ("service:d", 2),
    ]


def test_cycles_do_not_return_the_start_or_repeat_nodes(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b"), dep("b", "c"), dep("c", "a")])

    assert hops(graph_store.neighbours("service:a", direction="out", depth=5)) == [
        ("service:b", 1),
        ("service:c", 2),
    ]
    assert hops(graph_store.neighbours("service:a", depth=5)) == [("service:b", 1), ("service:c", 1)]


def test_self_loop_does_not_make_a_node_its_own_neighbour(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "a"), dep("a", "b")])

    assert hops(graph_store.neighbours("service:a", depth=2)) == [("service:b", 1)]
    assert hops(graph_store.neighbours("service:b", depth=2)) == [("service:a", 1)]


def test_neighbours_filtered_by_type(graph_store: GraphStore) -> None:
    graph_store.upsert_edges(
        [
            dep("a", "b"),
            edge(RelType.OWNED_BY, "service:a", "team:t"),
            edge(RelType.MEMBER_OF, "person:p", "team:t"),
        ]
    )

    assert hops(graph_store.neighbours("service:a", types=[RelType.DEPENDS_ON])) == [("service:b", 1)]
    assert hops(graph_store.neighbours("service:a", types=[RelType.OWNED_BY, RelType.MEMBER_OF], depth=2)) == [
        ("team:t", 1),
        ("person:p", 2),
    ]
    assert graph_store.neighbours("service:a", types=[]) == []


def test_neighbours_limit_cuts_after_ordering(graph_store: GraphStore) -> None:
    _chain(graph_store)

    assert hops(graph_store.neighbours("service:a", depth=3, limit=3)) == [
        ("service:b", 1),
        ("service:e", 1),
        ("service:c", 2),
    ]
    assert graph_store.neighbours("service:a", limit=0) == []


def test_neighbours_of_an_absent_node_are_empty(graph_store: GraphStore) -> None:
    _chain(graph_store)

    assert graph_store.neighbours("service:nowhere") == []


def test_neighbours_of_a_retired_node_are_empty_now_but_not_before(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a", "b", source="gone.yaml"))
    graph_store.upsert_edges([dep("a", "b", source="edges.yaml")])
    clock.advance(minutes=5)
    graph_store.retire_source("gone.yaml", keep_nodes={"service:b"})

    assert graph_store.neighbours("service:a") == []
    assert graph_store.neighbours("service:b") == []
    assert hops(graph_store.neighbours("service:a", as_of=minutes(1))) == [("service:b", 1)]


def test_neighbours_as_of(graph_store: GraphStore) -> None:
    graph_store.upsert_edges(
        [
            dep("a", "old", valid_from=minutes(-60), valid_to=minutes(-30)),
            dep("a", "new", valid_from=minutes(-30)),
        ]
    )

    assert hops(graph_store.neighbours("service:a", as_of=minutes(-45))) == [("service:old", 1)]
    assert hops(graph_store.neighbours("service:a", as_of=minutes(-30))) == [("service:new", 1)]
    assert hops(graph_store.neighbours("service:a")) == [("service:new", 1)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"depth": 0}, "depth"), ({"depth": 11}, "depth"), ({"direction": "sideways"}, "direction")],
)
def test_neighbours_rejects_bad_arguments(graph_store: GraphStore, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(RecordError, match=field):
        graph_store.neighbours("service:a", **kwargs)  # type: ignore[arg-type]


def test_subgraph_holds_the_neighbourhood_and_the_edges_among_it(graph_store: GraphStore) -> None:
    edges = _chain(graph_store)

    sub = graph_store.subgraph(["service:b"])

    assert sub.nodes == [stored(n) for n in services("a", "b", "c")]
    assert sub.edges == sorted([stored(edges[0]), stored(edges[1])], key=lambda e: e.id)


def test_subgraph_includes_edges_between_members_beyond_the_walk(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b"), dep("a", "c"), dep("b", "c"), dep("c", "d")])

    sub = graph_store.subgraph(["service:a"], direction="out")

    assert ids(sub.nodes) == ["service:a", "service:b", "service:c"]
    assert ids(sub.edges) == sorted([dep("a", "b").id, dep("a", "c").id, dep("b", "c").id])


def test_subgraph_of_several_starts_and_depth(graph_store: GraphStore) -> None:
    _chain(graph_store)

    sub = graph_store.subgraph(["service:d", "service:e"], depth=2, direction="in")

    assert ids(sub.nodes) == ["service:a", "service:b", "service:c", "service:d", "service:e"]
    assert ids(sub.edges) == sorted(e.id for e in [dep("a", "e"), dep("a", "b"), dep("b", "c"), dep("c", "d")])


def test_subgraph_depth_zero_is_the_given_nodes_and_their_edges(graph_store: GraphStore) -> None:
    _chain(graph_store)

    sub = graph_store.subgraph(["service:a", "service:b", "service:d"], depth=0)

    assert ids(sub.nodes) == ["service:a", "service:b", "service:d"]
    assert ids(sub.edges) == [dep("a", "b").id]


def test_subgraph_max_nodes_keeps_the_starts_and_the_first_ids(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("hub", k) for k in ("e", "d", "c", "b", "a")])

    sub = graph_store.subgraph(["service:hub"], max_nodes=3)

    assert ids(sub.nodes) == ["service:a", "service:b", "service:hub"]
    assert ids(sub.edges) == sorted([dep("hub", "a").id, dep("hub", "b").id])


def test_subgraph_filtered_by_type(graph_store: GraphStore) -> None:
    owned = edge(RelType.OWNED_BY, "service:a", "team:t")
    graph_store.upsert_edges([dep("a", "b"), owned])

    sub = graph_store.subgraph(["service:a"], types=[RelType.OWNED_BY])

    assert ids(sub.nodes) == ["service:a", "team:t"]
    assert sub.edges == [stored(owned)]


def test_subgraph_as_of(graph_store: GraphStore) -> None:
    graph_store.upsert_edges(
        [dep("a", "old", valid_from=minutes(-60), valid_to=minutes(-30)), dep("a", "new", valid_from=minutes(-30))]
    )

    then = graph_store.subgraph(["service:a"], as_of=minutes(-45))
    assert ids(then.nodes) == ["service:a", "service:old"]
    assert ids(then.edges) == [dep("a", "old").id]
    now = graph_store.subgraph(["service:a"])
    assert ids(now.nodes) == ["service:a", "service:new"]


def test_subgraph_of_absent_or_no_ids_is_empty(graph_store: GraphStore) -> None:
    _chain(graph_store)

    for start in ([], ["service:nowhere"]):
        sub = graph_store.subgraph(start)
        assert (sub.nodes, sub.edges) == ([], []), start


def test_parents_are_the_current_sources_of_one_edge_type_into_each_id(graph_store: GraphStore) -> None:
    a, b, old = "runbook:a.md", "runbook:b.md", "runbook:old.md"
    s1, s2, s3, s4 = (f"section:a.md#{i}" for i in range(1, 5))
    graph_store.upsert_nodes([node(a, name="A"), node(b, name="B"), node(old, source="gone.md"),
                              *(node(s) for s in (s1, s2, s3, s4))])
    graph_store.upsert_edges([
        edge(RelType.HAS_SECTION, a, s1), edge(RelType.HAS_SECTION, a, s2), edge(RelType.HAS_SECTION, b, s3),
        edge(RelType.HAS_SECTION, b, s2),  # two parents: the smaller id wins
        edge(RelType.HAS_SECTION, old, s4, source="gone.md"),
    ])
    graph_store.retire_source("gone.md")  # s4's parent and its edge are history

    got = graph_store.parents([s1, s2, s3, s4, "section:missing"], RelType.HAS_SECTION)

    assert {child: parent.id for child, parent in got.items()} == {s1: a, s2: a, s3: b}
    assert got[s1] == graph_store.get_node(a)
    assert got == TraversalMixin.parents(graph_store, [s1, s2, s3, s4], RelType.HAS_SECTION)  # type: ignore[arg-type]
    assert graph_store.parents([s1], RelType.MENTIONS) == {}
    assert graph_store.parents([], RelType.HAS_SECTION) == {}


def test_parents_read_after_a_write_see_it(graph_store: GraphStore) -> None:
    a, s1 = "runbook:a.md", "section:a.md#1"
    graph_store.upsert_nodes([node(a, name="A"), node(s1)])
    graph_store.upsert_edges([edge(RelType.HAS_SECTION, a, s1)])
    assert graph_store.parents([s1], RelType.HAS_SECTION)[s1].name == "A"

    graph_store.upsert_nodes([node(a, name="A, renamed")])

    assert graph_store.parents([s1], RelType.HAS_SECTION)[s1].name == "A, renamed"
