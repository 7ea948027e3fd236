"""``counts``: current nodes by label and current edges by type."""

from __future__ import annotations

from graph.model import Counts
from graph.schema import RelType
from graph.store import GraphStore
from tests.contract.helpers import ClockLike, dep, edge, minutes, node, services


def test_empty_store_counts_nothing(graph_store: GraphStore) -> None:
    assert graph_store.counts() == Counts(nodes={}, relationships={})


def test_counts_by_label_and_type(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes([*services("a", "b", "c"), node("team:t"), node("deploy:d", at=minutes(-1))])
    graph_store.upsert_edges(
        [
            dep("a", "b"),
            dep("b", "c"),
            edge(RelType.OWNED_BY, "service:a", "team:t"),
            edge(RelType.TARGETS, "deploy:d", "service:a"),
        ]
    )

    got = graph_store.counts()

    assert got == Counts(
        nodes={"Service": 3, "Team": 1, "Deployment": 1},
        relationships={"DEPENDS_ON": 2, "OWNED_BY": 1, "TARGETS": 1},
    )
    assert got.as_json() == {
        "nodes": {"Deployment": 1, "Service": 3, "Team": 1},
        "relationships": {"DEPENDS_ON": 2, "OWNED_BY": 1, "TARGETS": 1},
    }


def test_counts_leave_out_placeholders_retired_and_ended_records(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_nodes(services("a", "b") + services("gone", source="old.yaml"))
    graph_store.upsert_edges(
        [
            dep("a", "b", props={"v": 1}),
            dep("a", "gone", source="old.yaml"),
            dep("a", "ended", valid_to=minutes(-1)),
            edge(RelType.RUNS, "service:a", "artifact:1", valid_from=minutes(-60)),
        ]
    )
    clock.advance(minutes=1)
    graph_store.upsert_edges(
        [dep("a", "b", props={"v": 2}), edge(RelType.RUNS, "service:a", "artifact:2", valid_from=minutes(-5))]
    )
    graph_store.retire_source("old.yaml")

    # one version of a->b, one current RUNS; placeholders ended/artifact:* and the retired gone are left out
    assert graph_store.counts() == Counts(nodes={"Service": 2}, relationships={"DEPENDS_ON": 1, "RUNS": 1})


def test_counts_leave_out_nodes_whose_validity_ended(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(
        [
            node("service:live", valid_from=minutes(-60)),
            node("service:ended", valid_to=minutes(-1)),
            node("service:closing", valid_to=minutes(1)),
        ]
    )

    assert graph_store.counts().nodes == {"Service": 2}
