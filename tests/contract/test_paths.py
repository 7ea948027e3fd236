"""Simple paths between two nodes: ``paths``."""

from __future__ import annotations

from itertools import pairwise

import pytest

from graph.errors import RecordError
from graph.model import Path
from graph.schema import RelType
from graph.store import GraphStore
from tests.contract.helpers import ClockLike, dep, edge, minutes, path_nodes, services, stored


def S(*keys: str) -> list[str]:
    return [f"service:{k}" for k in keys]


def test_path_holds_node_ids_and_whole_edges(graph_store: GraphStore) -> None:
    a_b, b_c = dep("a", "b"), dep("b", "c")
    graph_store.upsert_edges([a_b, b_c])

    assert graph_store.paths("service:a", "service:c") == [Path(S("a", "b", "c"), [stored(a_b), stored(b_c)])]


def test_no_path_is_empty(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b"), dep("c", "d")])

    assert graph_store.paths("service:a", "service:d") == []
    assert graph_store.paths("service:a", "service:nowhere") == []
    assert graph_store.paths("service:nowhere", "service:a") == []


def test_path_from_a_node_to_itself_is_empty(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "a"), dep("a", "b"), dep("b", "a")])

    assert graph_store.paths("service:a", "service:a") == []


def test_paths_follow_direction(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b"), dep("c", "b")])

    assert graph_store.paths("service:a", "service:c") == []
    assert path_nodes(graph_store.paths("service:a", "service:c", direction="both")) == [S("a", "b", "c")]
    assert graph_store.paths("service:b", "service:a") == []
    assert path_nodes(graph_store.paths("service:b", "service:a", direction="in")) == [S("b", "a")]


def test_max_length_bounds_paths(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep(x, y) for x, y in pairwise("abcdefg")])

    assert graph_store.paths("service:a", "service:g", max_length=5) == []
    assert path_nodes(graph_store.paths("service:a", "service:g", max_length=6)) == [S(*"abcdefg")]
    assert path_nodes(graph_store.paths("service:a", "service:f", max_length=5)) == [S(*"abcdef")]
    assert path_nodes(graph_store.paths("service:b", "service:f", max_length=4)) == [S(*"bcdef")]


def test_paths_are_shortest_first_then_by_node_ids(graph_store: GraphStore) -> None:
    graph_store.upsert_edges(
        [dep("a", "z"), dep("a", "m"), dep("m", "z"), dep("a", "c"), dep("c", "z"), dep("c", "d"), dep("d", "z")]
    )

    assert path_nodes(graph_store.paths("service:a", "service:z")) == [
        S("a", "z"),
        S("a", "c", "z"),
        S("a", "m", "z"),
        S("a", "c", "d", "z"),
    ]


def test_parallel_edges_give_separate_paths_ordered_by_edge_id(graph_store: GraphStore) -> None:
    one, two = (
        edge(RelType.MENTIONS, "runbook:r", "service:a", key="1"),
        edge(RelType.MENTIONS, "runbook:r", "service:a", key="2"),
    )
    graph_store.upsert_edges([one, two])

    got = graph_store.paths("runbook:r", "service:a")

    assert [p.nodes for p in got] == [["runbook:r", "service:a"]] * 2
    assert [p.edges[0].id for p in got] == sorted([one.id, two.id])


def test_paths_are_simple_in_a_cycle(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b"), dep("b", "c"), dep("c", "a"), dep("c", "d")])

    assert path_nodes(graph_store.paths("service:a", "service:d", max_length=10)) == [S("a", "b", "c", "d")]
    both = graph_store.paths("service:a", "service:d", direction="both", max_length=10)
    assert path_nodes(both) == [S("a", "c", "d"), S("a", "b", "c", "d")]


def test_paths_filtered_by_type(graph_store: GraphStore) -> None:
    graph_store.upsert_edges(
        [
            edge(RelType.BUILT_FROM, "artifact:x", "commit:c1"),
            edge(RelType.AUTHORED_BY, "commit:c1", "person:ada"),
            edge(RelType.RUNS, "service:a", "artifact:x"),
            edge(RelType.OWNED_BY, "service:a", "person:ada"),
        ]
    )
    provenance = [RelType.RUNS, RelType.BUILT_FROM, RelType.AUTHORED_BY]

    assert path_nodes(graph_store.paths("service:a", "person:ada", types=provenance)) == [
        ["service:a", "artifact:x", "commit:c1", "person:ada"]
    ]
    assert path_nodes(graph_store.paths("service:a", "person:ada")) == [
        ["service:a", "person:ada"],
        ["service:a", "artifact:x", "commit:c1", "person:ada"],
    ]


def test_paths_limit(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([e for k in "bcdef" for e in (dep("a", k), dep(k, "z"))])

    assert path_nodes(graph_store.paths("service:a", "service:z", limit=2)) == [S("a", "b", "z"), S("a", "c", "z")]
    assert graph_store.paths("service:a", "service:z", limit=0) == []
    assert len(graph_store.paths("service:a", "service:z")) == 5


def test_paths_as_of(graph_store: GraphStore) -> None:
    graph_store.upsert_edges(
        [dep("a", "b", valid_to=minutes(-30)), dep("b", "c"), dep("a", "x", valid_from=minutes(-30)), dep("x", "c")]
    )

    assert path_nodes(graph_store.paths("service:a", "service:c", as_of=minutes(-45))) == [S("a", "b", "c")]
    assert path_nodes(graph_store.paths("service:a", "service:c", as_of=minutes(-30))) == [S("a", "x", "c")]
    assert path_nodes(graph_store.paths("service:a", "service:c")) == [S("a", "x", "c")]


def test_paths_avoid_retired_nodes(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a", "c") + services("b", source="gone.yaml"))
    graph_store.upsert_edges([dep("a", "b"), dep("b", "c")])
    clock.advance(minutes=1)
    graph_store.retire_source("gone.yaml")

    assert graph_store.paths("service:a", "service:c") == []


@pytest.mark.parametrize("length", [3, 4, 5])
def test_long_paths_are_found_from_both_ends(graph_store: GraphStore, length: int) -> None:
    keys = [f"n{i}" for i in range(length + 1)]
    graph_store.upsert_edges([dep(x, y) for x, y in pairwise(keys)])
    graph_store.upsert_edges([dep("n0", "side"), dep(keys[-1], "tail")])

    got = graph_store.paths("service:n0", f"service:{keys[-1]}", max_length=length)

    assert path_nodes(got) == [S(*keys)]
    assert [e.id for e in got[0].edges] == [dep(x, y).id for x, y in pairwise(keys)]


@pytest.mark.parametrize("kwargs", [{"max_length": 0}, {"max_length": 11}, {"direction": "up"}])
def test_paths_rejects_bad_arguments(graph_store: GraphStore, kwargs: dict[str, object]) -> None:
    with pytest.raises(RecordError):
        graph_store.paths("service:a", "service:b", **kwargs)  # type: ignore[arg-type]
