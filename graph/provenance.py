"""Provenance archaeology: walk from any node of the delivery chain to everything it connects.

The chain is requirement -> pull request -> commit -> build -> artifact ->
deployment -> service (and the incidents a deployment caused). Starting from
any link, :func:`provenance_chain` walks it in both directions and returns the
nodes stage by stage with the edges that join them::

    chain = provenance_chain(store, "deploy:0b1e7c52-...")
    [s.label for s in chain.stages]   # ['Requirement', 'PullRequest', 'Commit', ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from graph.errors import NotFound
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType, label_of
from graph.store import GraphStore

L, R = NodeLabel, RelType
#: the stages of the delivery chain, from what was asked for to what it touched
STAGES: tuple[NodeLabel, ...] = (
    L.REQUIREMENT, L.PULL_REQUEST, L.COMMIT, L.REPOSITORY, L.BUILD, L.ARTIFACT, L.DEPLOYMENT, L.SERVICE, L.INCIDENT,
)
CHAIN_RELS: frozenset[RelType] = frozenset(
    {R.IMPLEMENTS, R.INCLUDED_IN, R.BUILT_FROM, R.PRODUCED, R.DEPLOYS, R.TARGETS, R.RUNS, R.CAUSED_BY, R.IN_REPOSITORY}
)
#: which stage may follow which when walking; stops the walk from fanning out across the estate
_STEPS: dict[NodeLabel, frozenset[NodeLabel]] = {
    L.REQUIREMENT: frozenset({L.PULL_REQUEST, L.COMMIT}),
    L.PULL_REQUEST: frozenset({L.REQUIREMENT, L.COMMIT}),
    L.COMMIT: frozenset({L.PULL_REQUEST, L.REQUIREMENT, L.BUILD, L.ARTIFACT, L.REPOSITORY}),
    L.REPOSITORY: frozenset(),
    L.BUILD: frozenset({L.COMMIT, L.ARTIFACT}),
    L.ARTIFACT: frozenset({L.BUILD, L.COMMIT, L.DEPLOYMENT, L.SERVICE}),
    L.DEPLOYMENT: frozenset({L.ARTIFACT, L.SERVICE, L.INCIDENT}),
    L.SERVICE: frozenset(),
    L.INCIDENT: frozenset(),
}
MAX_NODES = 500


@dataclass(frozen=True)
class Stage:
    label: NodeLabel
    nodes: list[Node]


@dataclass(frozen=True)
class Chain:
    start: Node
    stages: list[Stage]
    edges: list[Edge]

    def as_json(self) -> dict[str, object]:
        return {
            "node": self.start.id,
            "chain": [
                {"stage": str(s.label), "nodes": [_node_json(n) for n in s.nodes]} for s in self.stages
            ],
            "edges": [{"type": str(e.type), "from": e.src, "to": e.dst} for e in self.edges],
        }


def _node_json(node: Node) -> dict[str, object]:
    at: datetime | None = node.at
    return {"id": node.id, "name": node.name, "at": at.isoformat() if at else None, "placeholder": node.placeholder}


def find_start(store: GraphStore, ref: str) -> Node:
    """A node by id, or by name when exactly one node has it."""
    node = store.get_node(ref)
    if node is not None:
        return node
    if ref.startswith(("sha256:", "sha512:")):
        node = store.get_node(f"artifact:{ref}")
        if node is not None:
            return node
    named = store.find_nodes(name=ref, limit=5)
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        options = ", ".join(n.id for n in named)
        raise NotFound(f"{ref!r} names several nodes ({options}); give an id")
    raise NotFound(f"{ref!r}: no node with that id or name")


def provenance_chain(store: GraphStore, ref: str) -> Chain:
    """The delivery chain through ``ref`` (an id or a unique name)."""
    start = find_start(store, ref)
    seen: dict[str, NodeLabel] = {start.id: start.label}
    edges: dict[str, Edge] = {}
    frontier = [start.id]
    while frontier and len(seen) < MAX_NODES:
        nxt: list[str] = []
        current = set(frontier)
        for edge in store.incident_edges(frontier, "both", CHAIN_RELS):
            for here, there in ((edge.src, edge.dst), (edge.dst, edge.src)):
                if here not in current:
                    continue
                there_label = label_of(there)
                if there_label not in _STEPS.get(seen[here], frozenset()):
                    continue
                edges[edge.id] = edge
                if there not in seen:
                    seen[there] = there_label
                    nxt.append(there)
        frontier = sorted(set(nxt))
    nodes = {n.id: n for n in store.get_nodes(seen)}
    stages = [
        Stage(label, sorted((n for n in nodes.values() if n.label == label), key=lambda n: (n.at is None, n.at, n.id)))
        for label in STAGES
    ]
    return Chain(start=start, stages=[s for s in stages if s.nodes], edges=sorted(edges.values(), key=lambda e: e.id))
