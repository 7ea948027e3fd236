"""Linked events of a diagnosis: which changes and alerts point at its entities within a period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents.reads import linked_events
from agents.records import CHANGE_KINDS
from graph.model import Edge
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from graph.traversal import TraversalMixin
from tests.agents.helpers import PROV, T, at, res, shop, svc

START = T - timedelta(hours=6)


def _estate(store: GraphStore) -> None:
    builder = (
        shop()
        .change("deploy:pay-1", svc("payments"), 60)
        .change("deploy:pay-0", svc("payments"), 7 * 60)  # before the period
        .change("config:db-1", res("payments-db"), 30)
        .change("deploy:cart-1", svc("cart"), 20)  # an entity not asked about
        .change("deploy:late", svc("payments"), -10)  # after the period
        .alert("a1", "HighLatency", svc("payments"), 15)
    )
    # two targets: listed once per entity asked about
    builder.edges.append(Edge(RelType.TARGETS, "config:db-1", svc("payments"), PROV))
    # an edge from an event never written: its node is a placeholder
    builder.edges.append(Edge(RelType.TARGETS, "deploy:ghost", svc("payments"), PROV))
    builder.write(store)


def _pairs(store: Any, link: RelType, labels: Any) -> list[tuple[str, str]]:
    entities = [svc("payments"), res("payments-db")]
    return [(node.id, entity) for node, entity in linked_events(store, entities, link, labels, START, T)]


def test_changes_of_the_entities_in_the_period_by_time_each_with_the_entities_it_targets(
    graph_store: GraphStore,
) -> None:
    _estate(graph_store)
    assert _pairs(graph_store, RelType.TARGETS, CHANGE_KINDS) == [
        ("deploy:pay-1", svc("payments")),
        ("config:db-1", res("payments-db")),
        ("config:db-1", svc("payments")),
    ]
    assert [node.at for node, _ in linked_events(graph_store, [svc("payments")], RelType.TARGETS, CHANGE_KINDS,
                                                  START, T)] == [at(60), at(30)]


def test_alerts_are_read_by_their_own_link_and_label(graph_store: GraphStore) -> None:
    _estate(graph_store)
    assert _pairs(graph_store, RelType.AFFECTS, [NodeLabel.ALERT]) == [("alert:a1", svc("payments"))]
    assert _pairs(graph_store, RelType.AFFECTS, CHANGE_KINDS) == []
    assert linked_events(graph_store, [], RelType.TARGETS, CHANGE_KINDS, START, T) == []


def test_the_store_read_and_edges_then_nodes_give_the_same_answer(graph_store: GraphStore) -> None:
    # the generic read (incident edges, then nodes) is what every backend's own read must equal
    _estate(graph_store)
    for link, labels in ((RelType.TARGETS, CHANGE_KINDS), (RelType.AFFECTS, [NodeLabel.ALERT])):
        for start in (START, T - timedelta(days=1), T - timedelta(minutes=25)):
            entities = [svc("payments"), res("payments-db"), svc("cart")]
            own = graph_store.linked_events(entities, link, labels, start, T)
            generic = TraversalMixin.linked_events(graph_store, entities, link, labels, start, T)  # type: ignore[arg-type]
            assert [(n.id, e) for n, e in own] == [(n.id, e) for n, e in generic]
            assert own == generic
