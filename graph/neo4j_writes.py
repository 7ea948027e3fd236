"""The write side of the Neo4j backend.

A batch records its operations and runs them all in one managed write
transaction when the ``with`` block ends, so the driver can retry the whole
unit on a transient error (leader switch, deadlock) and a failure leaves
nothing behind. Decisions come from :mod:`graph.planner`, exactly as for SQLite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from neo4j import ManagedTransaction

from graph import neo4j_cypher as cy
from graph.model import Edge, Node, Provenance, WriteStats, edge_type_of
from graph.neo4j_records import edge_props, from_micros, node_props, to_micros
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
#: records per write statement: one round trip carries a whole chunk of a type
CHUNK = 10_000


def _edge_state(record: Any) -> EdgeState:
    return EdgeState(
        record["id"], record["src"], record["type"], record["hash"], record["source"],
        from_micros(record["valid_from"]), from_micros(record["valid_to"]),
    )


def _ids_by_type(edges: Iterable[Edge]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        out[str(edge.type)].append(edge.id)
    return out


class Neo4jBatch:
    """Operations of one transaction; see ``Neo4jGraphStore.batch``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.now_us = to_micros(now)
        self.stats = WriteStats()
        self.ops: list[Op] = []

    def run(self, tx: ManagedTransaction) -> None:
        """Run every recorded operation (the driver may call this again on retry)."""
        self.stats = WriteStats()
        for op in self.ops:
            op(tx, self.stats)

    def upsert_nodes(self, nodes: Iterable[Node]) -> None:
        for chunk in chunks(nodes, CHUNK):
            self.ops.append(self._nodes_op(last_wins(chunk)))

    def _nodes_op(self, chunk: list[Node]) -> Op:
        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            existing = {
                r["id"]: NodeState(r["id"], r["hash"], r["source"], bool(r["placeholder"]), r["retired"])
                for r in _rows(tx, cy.NODE_STATES, ids=[n.id for n in chunk])
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
        for chunk in chunks(edges, CHUNK):
            self.ops.append(self._edges_op(last_wins(chunk)))

    def _edges_op(self, chunk: list[Edge]) -> Op:
        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            _placeholders(tx, chunk, self.now)
            current, history = _edge_states(tx, chunk)
            groups = sorted(functional_groups(chunk))
            siblings = _siblings(tx, groups)
            plan = plan_edges(chunk, current, history, siblings, self.now)
            if plan.retires:
                _per_type_rows(tx, cy.EDGE_RETIRE, _closing_rows(plan.retires), now=self.now_us)
            if plan.closes:
                _per_type_rows(tx, cy.EDGE_CLOSE, _closing_rows(plan.closes))
            if plan.reprovenance:
                _per_type_rows(tx, cy.EDGE_REPROVENANCE, [_reprovenance_row(e) for e in plan.reprovenance])
            if plan.inserts:
                now_us = self.now_us
                rows = [
                    {"type": str(i.edge.type), "src": i.edge.src, "dst": i.edge.dst,
                     "props": edge_props(i.edge, now_us, i.valid_from, i.valid_to)}
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
            params = {"source": source, "now": self.now_us}
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


def _placeholders(tx: ManagedTransaction, chunk: list[Edge], now: datetime) -> None:
    """Make a placeholder for every endpoint that is not a real node yet (or revive a retired one)."""
    ends = list({end: None for e in chunk for end in (e.src, e.dst)})
    real = set(_rows(tx, cy.REAL_NODES, ids=ends))
    stubs = [{"label": str(n.label), "props": node_props(n, now)} for n in placeholders(chunk, skip=real)]
    if stubs:
        tx.run(cy.NODE_PLACEHOLDERS, rows=stubs).consume()


def _edge_states(tx: ManagedTransaction, chunk: list[Edge]) -> tuple[dict[str, EdgeState], set[str]]:
    """The current versions of the chunk's edges, and the ids that have any stored version."""
    current: dict[str, EdgeState] = {}
    history: set[str] = set()
    for r in _rows(tx, cy.EDGE_STATES, ids=_ids_by_type(chunk)):
        history.add(r["id"])
        if r["current"]:
            current[r["id"]] = _edge_state(r)
    return current, history


def _siblings(tx: ManagedTransaction, groups: list[tuple[str, str]]) -> list[EdgeState]:
    if not groups:
        return []
    by_type: dict[str, list[str]] = defaultdict(list)
    for src, type_ in groups:
        by_type[type_].append(src)
    return [_edge_state(r) for r in _rows(tx, cy.EDGE_SIBLINGS, srcs=by_type)]


def _closing_rows(closings: list[tuple[str, datetime]]) -> list[dict[str, Any]]:
    return [{"id": i, "valid_to": to_micros(vt)} for i, vt in closings]


def _per_type_rows(tx: ManagedTransaction, statements: dict[RelType, str], rows: list[dict[str, Any]], **params: Any) -> None:
    """Run the statement of each relationship type on the rows whose edge id names that type."""
    groups: dict[RelType, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[edge_type_of(row["id"])].append(row)
    for type_, group in groups.items():
        tx.run(statements[type_], rows=group, **params).consume()


def _rows(tx: ManagedTransaction, query: str, **params: Any) -> list[Any]:
    """The ``rows`` list a statement collects into its single record (one message, not one per row)."""
    record = tx.run(query, params).single(strict=True)
    return list(record["rows"])


def _count(tx: ManagedTransaction, query: str, params: dict[str, Any]) -> int:
    record = tx.run(query, params).single()
    return int(record["c"]) if record else 0


def _reprovenance_row(edge: Edge) -> dict[str, Any]:
    p = edge.provenance
    return {
        "id": edge.id, "source": p.source, "source_location": p.location,
        "run_id": p.run_id, "ingested_at": to_micros(p.ingested_at),
    }
