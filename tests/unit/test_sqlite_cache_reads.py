"""Neighbourhood reads of the SQLite backend give the records a plain build would give."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from graph.model import Hop
from graph.sqlite_read import hops_at
from graph.sqlite_store import SqliteGraphStore
from tests.contract.helpers import dep, node, services

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

