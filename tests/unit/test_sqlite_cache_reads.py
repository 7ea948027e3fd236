"""Neighbourhood reads of the SQLite backend give the records a plain build would give."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from graph.model import Hop, slot_values
from graph.schema import RelType
from graph.sqlite_read import hops_at
from graph.sqlite_store import SqliteGraphStore
from tests.contract.helpers import dep, edge, node, services

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_hops_are_built_as_the_dataclass_builds_them() -> None:
    nodes = services("a", "b")

    hops = hops_at(nodes, 2)

    assert [f.name for f in fields(Hop)] == ["node", "depth"]  # the fields hops_at fills in
    assert hops == [Hop(nodes[0], 2), Hop(nodes[1], 2)]
    assert all(type(hop) is Hop for hop in hops)


def test_a_node_whose_validity_ends_leaves_the_neighbourhood_when_it_ends(tmp_path: Path) -> None:
    clock = [NOW]
    store = SqliteGraphStore(tmp_path / "graph.db", clock=lambda: clock[0])
    store.ensure_schema()
    ending = NOW + timedelta(hours=1)
    store.upsert_nodes([*services("a", "b"), node("service:c", name="c", valid_to=ending)])
    store.upsert_edges([dep("a", "b"), dep("b", "c")])

    before = [hop.node.id for hop in store.neighbours("service:a", depth=2)]
    clock[0] = ending  # nothing was written: only the clock moved
    after = [hop.node.id for hop in store.neighbours("service:a", depth=2)]

    assert before == ["service:b", "service:c"]
    assert after == ["service:b"]



def _filled_store(path: Path) -> SqliteGraphStore:
    store = SqliteGraphStore(path, clock=lambda: NOW)
    store.ensure_schema()
    store.upsert_nodes([
        *services("a", "b"),
        node("service:c", name="c", props={"tier": 1, "tags": ["x", "y"]}, valid_from=NOW - timedelta(days=3)),
        node("alert:c-1", props={"severity": "page"}, at=NOW - timedelta(minutes=5), source="alerts/c.json"),
    ])
    store.upsert_edges([
        dep("a", "b"),
        dep("b", "c", props={"weight": 0.5}, valid_from=NOW - timedelta(days=1)),
        edge(RelType.AFFECTS, "alert:c-1", "service:c", source="alerts/c.json"),
    ])
    return store


def test_neighbourhood_nodes_are_the_records_a_single_read_gives(tmp_path: Path) -> None:
    store = _filled_store(tmp_path / "graph.db")

    reached = [hop.node for hop in store.neighbours("service:a", depth=3)]

    assert [n.id for n in reached] == ["service:b", "service:c", "alert:c-1"]
    for found in reached:
        single = store.get_node(found.id)
        assert single is not None
        assert slot_values(found) == slot_values(single)  # every field, provenance and stored hash included
        assert found.content_hash == single.content_hash


def test_incident_edges_are_the_records_a_single_read_gives_each_once(tmp_path: Path) -> None:
    store = _filled_store(tmp_path / "graph.db")

    # a -> b and b -> c each touch two of the ids: found from both ends, returned once
    edges = store.incident_edges(["service:a", "service:b", "service:c"], "both")

    assert sorted((e.src, e.dst) for e in edges) == [
        ("alert:c-1", "service:c"), ("service:a", "service:b"), ("service:b", "service:c"),
    ]
    assert [e.id for e in edges] == sorted(e.id for e in edges)
    for found in edges:
        single = store.get_edge(found.id)
        assert single is not None
        assert slot_values(found) == slot_values(single)
        assert type(found) is type(single)
