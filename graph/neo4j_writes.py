"""The write side of the Neo4j backend.

A batch records its operations and runs them all in one managed write
transaction when the ``with`` block ends, so the driver can retry the whole
unit on a transient error (leader switch, deadlock) and a failure leaves
nothing behind. Decisions come from :mod:`graph.planner`, exactly as for SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from neo4j import ManagedTransaction

from graph import neo4j_cypher as cy
from graph.model import Edge, Node, Provenance, WriteStats, utc
from graph.planner import (
    EdgeState,
    NodeState,
    chunks,
    functional_groups,
    last_wins,
    placeholder_node,
    placeholders,
    plan_edges,
    plan_nodes,
)
from graph.schema import LABELS, RelType

Op = Callable[[ManagedTransaction, WriteStats], None]


def native_time(value: Any) -> datetime | None:
    """A driver time value as an aware UTC :class:`datetime`."""
    if value is None:
        return None
    native = value.to_native() if hasattr(value, "to_native") else value
    return utc(native)


def node_props(node: Node, recorded_at: datetime | None) -> dict[str, Any]:
    p = node.provenance
    core: dict[str, Any] = {
        "id": node.id, "label": str(node.label), "name": node.name, "at": node.at,
        "valid_from": node.valid_from, "valid_to": node.valid_to, "placeholder": node.placeholder,
        "source": p.source, "source_location": p.location, "run_id": p.run_id, "ingested_at": p.ingested_at,
        "recorded_at": recorded_at, "content_hash": node.content_hash,
    }
    return {**node.props, **{k: v for k, v in core.items() if v is not None}}


def _edge_props(edge: Edge, recorded_at: datetime, valid_from: datetime | None, valid_to: datetime | None) -> dict[str, Any]:
    p = edge.provenance
    core: dict[str, Any] = {
        "id": edge.id, "key": edge.key, "valid_from": valid_from, "valid_to": valid_to, "source": p.source,
        "source_location": p.location, "run_id": p.run_id, "ingested_at": p.ingested_at,
        "recorded_at": recorded_at, "content_hash": edge.content_hash,
    }
    return {**edge.props, **{k: v for k, v in core.items() if v is not None}}


def _edge_state(record: Any) -> EdgeState:
    return EdgeState(
        record["id"], record["src"], record["type"], record["hash"], record["source"],
        native_time(record["valid_from"]), native_time(record["valid_to"]),
    )


class Neo4jBatch:
    """Operations of one transaction; see ``Neo4jGraphStore.batch``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.stats = WriteStats()
        self.ops: list[Op] = []

    def run(self, tx: ManagedTransaction) -> None:
        """Run every recorded operation (the driver may call this again on retry)."""
        self.stats = WriteStats()
        for op in self.ops:
            op(tx, self.stats)

    def upsert_nodes(self, nodes: Iterable[Node]) -> None:
        for chunk in chunks(nodes):
            self.ops.append(self._nodes_op(last_wins(chunk)))

    def _nodes_op(self, chunk: list[Node]) -> Op:
        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            existing = {
                r["id"]: NodeState(r["id"], r["hash"], r["source"], bool(r["placeholder"]), r["retired"])
                for r in tx.run(cy.NODE_STATES, ids=[n.id for n in chunk])
            }
            plan = plan_nodes(chunk, existing)
            if plan.inserts:
                rows = [{"label": str(n.label), "props": node_props(n, self.now)} for n in plan.inserts]
                tx.run(cy.NODE_INSERT, rows=rows).consume()
            if plan.updates:
                tx.run(cy.NODE_UPDATE, rows=[{"props": node_props(n, None)} for n in plan.updates]).consume()
            stats.add(plan.stats())

        return op

    def upsert_edges(self, edges: Iterable[Edge]) -> None:
        for chunk in chunks(edges):
            self.ops.append(self._edges_op(last_wins(chunk)))

    def _edges_op(self, chunk: list[Edge]) -> Op:
        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            stubs = [{"label": str(n.label), "props": node_props(n, self.now)} for n in placeholders(chunk)]
            tx.run(cy.NODE_PLACEHOLDERS, rows=stubs).consume()
            keys = [{"id": e.id, "src": e.src, "dst": e.dst} for e in chunk]
            found = [(r["current"], _edge_state(r)) for r in tx.run(cy.EDGE_STATES, rows=keys)]
            current = {s.id: s for is_current, s in found if is_current}
            history = {s.id for _, s in found}
            groups = sorted(functional_groups(chunk))
            siblings = [_edge_state(r) for r in tx.run(cy.EDGE_SIBLINGS, groups=groups)] if groups else []
            plan = plan_edges(chunk, current, history, siblings, self.now)
            src_of = {s.id: s.src for s in siblings} | {e.id: e.src for e in chunk}
            if plan.retires:
                rows = [{"id": i, "src": src_of[i], "valid_to": vt} for i, vt in plan.retires]
                tx.run(cy.EDGE_RETIRE, rows=rows, now=self.now).consume()
            if plan.closes:
                rows = [{"id": i, "src": src_of[i], "valid_to": vt} for i, vt in plan.closes]
                tx.run(cy.EDGE_CLOSE, rows=rows).consume()
            if plan.reprovenance:
                tx.run(cy.EDGE_REPROVENANCE, rows=[_reprovenance_row(e) for e in plan.reprovenance]).consume()
            if plan.inserts:
                rows = [
                    {"src": i.edge.src, "dst": i.edge.dst, "type": str(i.edge.type),
                     "props": _edge_props(i.edge, self.now, i.valid_from, i.valid_to)}
                    for i in plan.inserts
                ]
                tx.run(cy.EDGE_INSERT, rows=rows).consume()
            stats.add(plan.stats())

        return op

    def retire_source(
        self, source: str, *, keep_nodes: Collection[str] = (), keep_edges: Collection[str] = ()
    ) -> None:
        keep_n, keep_e = sorted(set(keep_nodes)), sorted(set(keep_edges))

        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            params = {"source": source, "now": self.now}
            # edges first: a placeholder stays while a current edge still points at it
            for type_ in RelType:
                stats.retired += _count(tx, cy.EDGES_RETIRE_SOURCE[type_], params | {"keep": keep_e})
            stats.retired += _count(tx, cy.NODES_RETIRE_SOURCE, params | {"keep": keep_n})

        self.ops.append(op)

    def delete_source(self, source: str) -> None:
        hashes = {
            str(label): placeholder_node(f"{spec.prefix}:x", _STUB_PROVENANCE).content_hash
            for label, spec in LABELS.items()
        }

        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            for type_ in RelType:
                stats.deleted += _count(tx, cy.EDGES_DELETE_SOURCE[type_], {"source": source})
            stats.updated += _count(tx, cy.NODES_DEMOTE_SOURCE, {"source": source, "hashes": hashes})
            stats.deleted += _count(tx, cy.NODES_DELETE_SOURCE, {"source": source})

        self.ops.append(op)


_STUB_PROVENANCE = Provenance(source="-", run_id="-")


def _count(tx: ManagedTransaction, query: str, params: dict[str, Any]) -> int:
    record = tx.run(query, params).single()
    return int(record["c"]) if record else 0


def _reprovenance_row(edge: Edge) -> dict[str, Any]:
    p = edge.provenance
    return {
        "id": edge.id, "src": edge.src, "source": p.source, "source_location": p.location,
        "run_id": p.run_id, "ingested_at": p.ingested_at,
    }
