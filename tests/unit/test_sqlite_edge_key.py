"""SQLite finds an edge by a 32-bit checksum of its id and the id itself: two ids sharing a checksum stay apart."""

from __future__ import annotations

from pathlib import Path

from graph.factory import GraphConfig, open_store
from graph.model import Edge, Node, Provenance
from graph.schema import NodeLabel, RelType
from graph.sqlite_schema import edge_key

PROV = Provenance(source="catalog.yaml", run_id="run-1")
# two keys whose DEPENDS_ON a -> b edge ids have the same checksum (found by search)
KEY_A, KEY_B = "k13673", "k16731"


def _edge(key: str, note: str) -> Edge:
    return Edge(RelType.DEPENDS_ON, "service:a", "service:b", PROV, {"note": note}, key=key)


def test_edges_whose_ids_share_a_checksum_are_kept_apart(tmp_path: Path) -> None:
    first, second = _edge(KEY_A, "first"), _edge(KEY_B, "second")
    assert first.id != second.id and edge_key(first.id) == edge_key(second.id)
    store = open_store(GraphConfig(backend="sqlite", sqlite_path=tmp_path / "graph.db"))
    try:
        store.upsert_nodes([Node(f"service:{k}", NodeLabel.SERVICE, PROV, k) for k in ("a", "b")])
        store.upsert_edges([first, second])

        store.upsert_edges([_edge(KEY_A, "first, changed")])  # retires only its own current version

        assert [e.props["note"] for e in store.edge_history(first.id)] == ["first", "first, changed"]
        assert [e.props["note"] for e in store.edge_history(second.id)] == ["second"]
        current = store.get_edge(second.id)
        assert current is not None and current.retired_at is None and current.props == {"note": "second"}
        assert store.counts().relationships == {"DEPENDS_ON": 2}
    finally:
        store.close()
