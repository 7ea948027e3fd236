"""Placeholders: nodes known only because an edge names them, filled when the real record arrives."""

from __future__ import annotations

from graph.model import Node
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from tests.contract.helpers import ClockLike, dep, edge, hops, minutes, node, placeholder, prov, services, stats, stored


def test_edge_to_unknown_nodes_creates_placeholders_with_its_provenance(graph_store: GraphStore) -> None:
    e = edge(RelType.DEPLOYS, "deploy:d1", "artifact:sha256:abc", source="events/cd.json", run_id="run-7")

    assert graph_store.upsert_edges([e]) == stats(created=1)  # placeholders are not counted as writes
    assert graph_store.get_nodes(["artifact:sha256:abc", "deploy:d1"]) == [
        stored(placeholder("artifact:sha256:abc", prov("events/cd.json", "run-7"))),
        stored(placeholder("deploy:d1", prov("events/cd.json", "run-7"))),
    ]


def test_placeholder_label_comes_from_the_id_prefix(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([edge(RelType.OWNED_BY, "runbook:db", "person:ada")])

    got = graph_store.get_node("person:ada")
    assert got is not None and (got.label, got.placeholder, got.name, got.props) == (NodeLabel.PERSON, True, None, {})


def test_real_node_fills_a_placeholder(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_edges([dep("a", "b")])
    clock.advance(minutes=1)
    real = node("service:b", name="b", source="catalog/b.yaml", props={"tier": 2})

    assert graph_store.upsert_nodes([real]) == stats(updated=1)
    # the id was first recorded when the placeholder was made
    assert graph_store.get_node("service:b") == stored(real)
    assert [n.id for n in graph_store.find_nodes(NodeLabel.SERVICE, {"tier": 2})] == ["service:b"]


def test_edge_never_overwrites_a_real_node_with_a_placeholder(graph_store: GraphStore, clock: ClockLike) -> None:
    real = node("service:b", name="b", source="catalog/b.yaml", props={"tier": 1})
    graph_store.upsert_nodes([real])
    clock.advance(minutes=1)

    graph_store.upsert_edges([dep("a", "b", source="catalog/a.yaml")])

    assert graph_store.get_node("service:b") == stored(real)


def test_placeholder_record_never_overwrites_a_real_node(graph_store: GraphStore) -> None:
    real = node("service:b", name="b")
    graph_store.upsert_nodes([real])

    assert graph_store.upsert_nodes([placeholder("service:b", prov("other.yaml"))]) == stats(unchanged=1)
    assert graph_store.get_node("service:b") == stored(real)


def test_placeholder_record_for_a_new_id_is_stored_as_placeholder(graph_store: GraphStore) -> None:
    stub = placeholder("team:sre", prov())

    assert graph_store.upsert_nodes([stub]) == stats(created=1)
    assert graph_store.get_node("team:sre") == stored(stub)


def test_second_edge_to_a_placeholder_keeps_the_first_provenance(graph_store: GraphStore, clock: ClockLike) -> None:
    graph_store.upsert_edges([dep("a", "z", source="one.yaml")])
    clock.advance(minutes=1)
    graph_store.upsert_edges([dep("b", "z", source="two.yaml")])

    assert graph_store.get_node("service:z") == stored(placeholder("service:z", prov("one.yaml")))


def test_placeholders_are_neighbours_but_not_counted(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(services("a"))
    graph_store.upsert_edges([dep("a", "b")])

    [hop] = graph_store.neighbours("service:a")
    assert (hop.node.id, hop.depth, hop.node.placeholder) == ("service:b", 1, True)
    assert graph_store.counts().nodes == {"Service": 1}
    assert graph_store.counts().relationships == {"DEPENDS_ON": 1}


def test_filled_placeholder_is_counted(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b")])
    assert graph_store.counts().nodes == {}

    graph_store.upsert_nodes(services("a", "b"))

    assert graph_store.counts().nodes == {"Service": 2}
    assert hops(graph_store.neighbours("service:a")) == [("service:b", 1)]


def test_placeholder_events_are_not_in_timelines(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([edge(RelType.AFFECTS, "alert:fp1", "service:a")])
    real = Node("alert:fp2", NodeLabel.ALERT, prov(), name="HighLatency", at=minutes(-5))
    graph_store.upsert_nodes([real])
    graph_store.upsert_edges([edge(RelType.AFFECTS, "alert:fp2", "service:a")])

    timeline = graph_store.events([NodeLabel.ALERT], minutes(-60), minutes(60))
    assert [(t.node.id, t.services) for t in timeline] == [("alert:fp2", ["service:a"])]


def test_find_nodes_by_label_includes_placeholders(graph_store: GraphStore) -> None:
    graph_store.upsert_nodes(services("a"))
    graph_store.upsert_edges([dep("a", "b")])

    assert [(n.id, n.placeholder) for n in graph_store.find_nodes(NodeLabel.SERVICE)] == [
        ("service:a", False),
        ("service:b", True),
    ]
    assert [n.id for n in graph_store.find_nodes(NodeLabel.SERVICE, name="a")] == ["service:a"]


def test_deleting_the_source_that_named_a_filled_placeholder_keeps_the_real_node(graph_store: GraphStore) -> None:
    graph_store.upsert_edges([dep("a", "b", source="one.yaml")])
    real = node("service:b", name="b", source="two.yaml")
    graph_store.upsert_nodes([real])

    assert graph_store.delete_source("one.yaml") == stats(deleted=2)  # the edge and placeholder a
    assert graph_store.get_nodes(["service:a", "service:b"]) == [stored(real)]


def test_re_ingest_keeps_placeholders_its_kept_edges_point_at(graph_store: GraphStore, clock: ClockLike) -> None:
    deploy = edge(RelType.TARGETS, "deploy:d1", "service:default/checkout", source="events.jsonl")
    graph_store.upsert_edges([deploy])
    clock.advance(minutes=1)
    graph_store.retire_source("events.jsonl", keep_nodes=[], keep_edges=[deploy.id])
    assert [h.node.id for h in graph_store.neighbours("deploy:d1")] == ["service:default/checkout"]
    assert graph_store.get_node("service:default/checkout").retired_at is None  # type: ignore[union-attr]


def test_placeholder_retired_with_its_last_edge_comes_back_when_named_again(
    graph_store: GraphStore, clock: ClockLike
) -> None:
    deploy = edge(RelType.TARGETS, "deploy:d1", "service:default/checkout", source="events.jsonl")
    graph_store.upsert_edges([deploy])
    clock.advance(minutes=1)
    stats = graph_store.retire_source("events.jsonl")
    assert stats.retired == 3  # the edge, then both placeholders it alone pointed at
    assert graph_store.neighbours("deploy:d1") == []
    clock.advance(minutes=1)
    graph_store.upsert_edges([edge(RelType.TARGETS, "deploy:d2", "service:default/checkout", source="other.jsonl")])
    assert [h.node.id for h in graph_store.neighbours("service:default/checkout")] == ["deploy:d2"]
    assert graph_store.get_node("service:default/checkout").retired_at is None  # type: ignore[union-attr]
