"""The write side of the Neo4j backend.

A batch records its operations and runs them all in one managed write
transaction when the ``with`` block ends, so the driver can retry the whole
unit on a transient error (leader switch, deadlock) and a failure leaves
nothing behind. Decisions come from :mod:`graph.planner`, exactly as for SQLite.

An edge chunk reads what the planner needs in one statement
(:data:`graph.neo4j_write_cypher.EDGE_CHUNK_STATE`), then writes placeholders,
closings and new versions with one statement each; retiring or deleting a
source is one statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from neo4j import ManagedTransaction

from graph import neo4j_write_cypher as cy
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
    supersedes_from,
)
from graph.schema import LABELS

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
                for r in _rows(tx, cy.NODE_STATES, p={"ids": [n.id for n in chunk]})
            }
            plan = plan_nodes(chunk, existing)
            if plan.inserts:
                rows = [{"label": str(n.label), "props": node_props(n, self.now)} for n in plan.inserts]
                tx.run(cy.NODE_INSERT, p={"rows": rows}).consume()
            if plan.updates:
                tx.run(cy.NODE_UPDATE, p={"rows": [{"props": node_props(n, None)} for n in plan.updates]}).consume()
            stats.add(plan.stats())

        return op

    def upsert_edges(self, edges: Iterable[Edge]) -> None:
        for chunk in chunks(edges, CHUNK):
            self.ops.append(self._edges_op(last_wins(chunk)))

    def _edges_op(self, chunk: list[Edge]) -> Op:
        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            real, current, history, siblings = _chunk_state(tx, chunk)
            stubs = [{"label": str(n.label), "props": node_props(n, self.now)} for n in placeholders(chunk, skip=real)]
            if stubs:
                tx.run(cy.NODE_PLACEHOLDERS, p={"rows": stubs}).consume()
            plan = plan_edges(chunk, current, history, siblings, self.now)
            if plan.retires:
                _by_type(tx, cy.EDGE_RETIRE, _closing_rows(plan.retires), now=self.now_us)
            if plan.closes:
                _by_type(tx, cy.EDGE_CLOSE, _closing_rows(plan.closes))
            if plan.reprovenance:
                _by_type(tx, cy.EDGE_REPROVENANCE, [_reprovenance_row(e) for e in plan.reprovenance])
            if plan.inserts:
                now_us = self.now_us
                rows = [
                    {"type": str(i.edge.type), "src": i.edge.src, "dst": i.edge.dst,
                     "props": edge_props(i.edge, now_us, i.valid_from, i.valid_to)}
                    for i in plan.inserts
                ]
                tx.run(cy.EDGE_INSERT, p={"rows": rows}).consume()
            stats.add(plan.stats())

        return op

    def retire_source(
        self, source: str, *, keep_nodes: Collection[str] = (), keep_edges: Collection[str] = ()
    ) -> None:
        keep_n, keep_e = sorted(set(keep_nodes)), sorted(set(keep_edges))

        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            params = {"source": source, "now": self.now_us, "p": {"keep_nodes": keep_n, "keep_edges": keep_e}}
            stats.retired += int(tx.run(cy.RETIRE_SOURCE, params).single(strict=True)["retired"])

        self.ops.append(op)

    def delete_source(self, source: str) -> None:
        hashes = {
            str(label): placeholder_node(f"{spec.prefix}:x", _STUB_PROVENANCE).content_hash
            for label, spec in LABELS.items()
        }

        def op(tx: ManagedTransaction, stats: WriteStats) -> None:
            record = tx.run(cy.DELETE_SOURCE, source=source, hashes=hashes).single(strict=True)
            stats.deleted += int(record["deleted"])
            stats.updated += int(record["demoted"])

        self.ops.append(op)


_STUB_PROVENANCE = Provenance(source="-", run_id="-")


def _chunk_state(
    tx: ManagedTransaction, chunk: list[Edge]
) -> tuple[set[str], dict[str, EdgeState], set[str], list[EdgeState]]:
    """In one statement: the endpoints that are real nodes, the current versions of the chunk's
    edges, the ids that have any stored version, and the current siblings of its functional groups.
    """
    by_type: dict[str, list[str]] = defaultdict(list)
    for src, type_ in functional_groups(chunk):
        by_type[type_].append(src)
    record = tx.run(
        cy.EDGE_CHUNK_STATE,
        p={"ends": list({end: None for e in chunk for end in (e.src, e.dst)})},
        ids=_ids_by_type(chunk),
        srcs={type_: sorted(srcs) for type_, srcs in by_type.items()},
        since=None if (since := supersedes_from(chunk)) is None else to_micros(since),
    ).single(strict=True)
    current: dict[str, EdgeState] = {}
    history: set[str] = set()
    for r in record["states"]:
        history.add(r["id"])
        if r["current"]:
            current[r["id"]] = _edge_state(r)
    return set(record["real"]), current, history, [_edge_state(r) for r in record["siblings"]]


def _closing_rows(closings: list[tuple[str, datetime]]) -> list[dict[str, Any]]:
    return [{"id": i, "valid_to": to_micros(vt)} for i, vt in closings]


def _by_type(tx: ManagedTransaction, statement: str, rows: list[dict[str, Any]], **params: Any) -> None:
    """Run a statement of :mod:`graph.neo4j_write_cypher` on rows grouped by the type their edge id names."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[str(edge_type_of(row["id"]))].append(row)
    tx.run(statement, rows=dict(groups), **params).consume()


def _rows(tx: ManagedTransaction, query: str, **params: Any) -> list[Any]:
    """The ``rows`` list a statement collects into its single record (one message, not one per row)."""
    record = tx.run(query, params).single(strict=True)
    return list(record["rows"])


def _reprovenance_row(edge: Edge) -> dict[str, Any]:
    p = edge.provenance
    return {
        "id": edge.id, "source": p.source, "source_location": p.location,
        "run_id": p.run_id, "ingested_at": to_micros(p.ingested_at),
    }
