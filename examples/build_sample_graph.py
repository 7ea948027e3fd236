"""Build ``examples/sample-graph.ttl``: a small, realistic estate for ``vidya demo``.

Run ``python examples/build_sample_graph.py`` after changing the schema; the file
is committed so the demo needs nothing but Vidya itself.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from graph.factory import GraphConfig, open_store
from graph.model import Edge, Node, Provenance
from graph.rdf import export_graph
from graph.schema import NodeLabel as L
from graph.schema import RelType as R
from graph.schema import node_id

OUT = Path(__file__).with_name("sample-graph.ttl")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

SERVICES = {
    "web-frontend": ["checkout", "catalog", "search"],
    "checkout": ["payments", "cart", "orders-db"],
    "cart": ["session-cache"],
    "payments": ["fraud", "payments-db"],
    "fraud": [],
    "catalog": ["catalog-db"],
    "search": ["catalog"],
}
RESOURCES = {"orders-db": "database", "payments-db": "database", "catalog-db": "database", "session-cache": "cache"}
TEAMS = {"payments-team": ["checkout", "payments", "fraud"], "storefront-team": ["web-frontend", "cart", "catalog", "search"]}


def _ref(name: str) -> str:
    label = L.RESOURCE if name in RESOURCES else L.SERVICE
    return node_id(label, f"default/{name}")


def _topology(p: Provenance) -> tuple[list[Node], list[Edge]]:
    nodes = [Node(id=_ref(s), label=L.SERVICE, name=s, props={"lifecycle": "production"}, provenance=p) for s in SERVICES]
    nodes += [Node(id=_ref(r), label=L.RESOURCE, name=r, props={"type": t}, provenance=p) for r, t in RESOURCES.items()]
    nodes += [Node(id=node_id(L.TEAM, f"default/{t}"), label=L.TEAM, name=t, provenance=p) for t in TEAMS]
    system = node_id(L.SYSTEM, "default/storefront")
    nodes.append(Node(id=system, label=L.SYSTEM, name="storefront", provenance=p))
    edges = [Edge(type=R.DEPENDS_ON, src=_ref(s), dst=_ref(d), provenance=p) for s, deps in SERVICES.items() for d in deps]
    edges += [
        Edge(type=R.OWNED_BY, src=_ref(s), dst=node_id(L.TEAM, f"default/{t}"), provenance=p)
        for t, owned in TEAMS.items()
        for s in owned
    ]
    edges += [Edge(type=R.PART_OF, src=_ref(s), dst=system, provenance=p) for s in SERVICES]
    return nodes, edges


def _provenance_chain(p: Provenance) -> tuple[list[Node], list[Edge]]:
    nodes: list[Node] = []
    edges: list[Edge] = []
    req = node_id(L.REQUIREMENT, "PAY-142")
    title = {"title": "Retry card authorisation on 503"}
    nodes.append(Node(id=req, label=L.REQUIREMENT, name="PAY-142", props=title, provenance=p))
    for i, (version, sha) in enumerate([("1.41.0", "3f9c2a1e" * 5), ("1.42.0", "a7d04b9c" * 5)]):
        at = T0 + timedelta(days=i, hours=2)
        commit, pr = node_id(L.COMMIT, sha), node_id(L.PULL_REQUEST, f"payments#{311 + i}")
        build = node_id(L.BUILD, f"payments-{version}")
        artifact = node_id(L.ARTIFACT, "sha256:" + (sha[:8] * 8))
        deploy = node_id(L.DEPLOYMENT, f"0b1e7c52-6f3a-4d2e-9c1b-00000000000{i}")
        nodes += [
            Node(id=commit, label=L.COMMIT, name=sha[:8], props={"message": f"payments {version}"},
                 at=at - timedelta(hours=3), provenance=p),
            Node(id=pr, label=L.PULL_REQUEST, name=f"payments#{311 + i}", provenance=p),
            Node(id=build, label=L.BUILD, name=f"payments {version}", at=at - timedelta(hours=1), provenance=p),
            Node(id=artifact, label=L.ARTIFACT, name=f"payments:{version}", props={"version": version}, provenance=p),
            Node(id=deploy, label=L.DEPLOYMENT, name=f"payments {version} to production", at=at,
                 props={"environment": "production"}, provenance=p),
        ]
        edges += [
            Edge(type=R.INCLUDED_IN, src=commit, dst=pr, provenance=p),
            Edge(type=R.IMPLEMENTS, src=pr, dst=req, provenance=p),
            Edge(type=R.BUILT_FROM, src=build, dst=commit, provenance=p),
            Edge(type=R.PRODUCED, src=build, dst=artifact, provenance=p),
            Edge(type=R.DEPLOYS, src=deploy, dst=artifact, provenance=p),
            Edge(type=R.TARGETS, src=deploy, dst=_ref("payments"), provenance=p),
            Edge(type=R.RUNS, src=_ref("payments"), dst=artifact, key=deploy, valid_from=at, provenance=p),
        ]
    alert = node_id(L.ALERT, "7c1f4e2a9b3d5e6f")
    nodes.append(
        Node(id=alert, label=L.ALERT, name="PaymentsHighLatency", at=T0 + timedelta(days=1, hours=2, minutes=9),
             props={"severity": "critical", "status": "resolved"}, provenance=p)
    )
    edges.append(Edge(type=R.AFFECTS, src=alert, dst=_ref("payments"), provenance=p))
    return nodes, edges


def main() -> None:
    catalog = Provenance(source="catalog/all.yaml", run_id="sample", ingested_at=T0)
    events = Provenance(source="events/payments.jsonl", run_id="sample", ingested_at=T0)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(GraphConfig(backend="sqlite", sqlite_path=Path(tmp) / "g.db"))
        for nodes, edges in (_topology(catalog), _provenance_chain(events)):
            store.upsert_nodes(nodes)
            store.upsert_edges(edges)
        OUT.write_text(export_graph(store, "turtle"), encoding="utf-8")
        store.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
