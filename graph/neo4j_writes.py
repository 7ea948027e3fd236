"""The write side of the Neo4j backend.

A batch is all-or-nothing and holds a bounded number of records however much
is written into it. While it is small it records its operations and runs them
in one managed write transaction when the ``with`` block ends, so the driver
can retry the whole unit on a transient error (leader switch, deadlock). Once
the records it holds reach :data:`SPILL_RECORDS` it *spills*: it opens an
explicit transaction, runs what it recorded and from then runs each operation
as it comes, holding nothing; the end of the block commits. A spilled batch
cannot be replayed from memory, so a transient failure rolls it back and
raises :class:`graph.errors.StoreRetryable` (its writer runs it again). Any
exception rolls the batch back whole. Decisions come from
:mod:`graph.planner`, exactly as for SQLite.

An edge chunk reads what the planner needs (real endpoints, then per type the
stored versions of its edges and, per functional edge, the stored siblings
it can close or end at), then writes placeholders, closings and new versions; every statement
is short and pinned to its index (:mod:`graph.neo4j_write_cypher`). Retiring or
deleting a source runs one indexed statement per relationship type, then one
for its nodes.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any, TypeVar

from neo4j import ManagedTransaction, Session, Transaction
from neo4j.exceptions import DriverError, Neo4jError

from graph import neo4j_write_cypher as cy
from graph.errors import StoreError
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
    sibling_probes,
)
from graph.schema import LABELS, RelType

#: a managed transaction (a batch run whole) or the explicit one of a spilled batch
Tx = ManagedTransaction | Transaction
Op = Callable[[Tx, WriteStats], None]
T = TypeVar("T")
#: records per write statement: one round trip carries a whole chunk of a type
CHUNK = 10_000
#: records a batch holds before it spills into an open transaction (see the module docstring)
SPILL_RECORDS = CHUNK
#: what the driver raises (``OSError``: a socket failing under it)
DRIVER_ERRORS = (Neo4jError, DriverError, OSError)
#: turns a driver error into the store's error; ``True`` when the batch had spilled (it cannot be replayed)
ErrorMap = Callable[[Exception, bool], StoreError]


def _edge_state(record: Any) -> EdgeState:
    return EdgeState(
        record["id"], record["src"], record["type"], record["hash"], record["source"],
        from_micros(record["valid_from"]), from_micros(record["valid_to"]),
    )


def _by_type(rows: Iterable[tuple[RelType, T]]) -> dict[RelType, list[T]]:
    """Rows grouped by relationship type, types in first-seen order."""
    out: dict[RelType, list[T]] = defaultdict(list)
    for type_, row in rows:
        out[type_].append(row)
    return out


class Neo4jBatch:
    """The writes of one transaction on ``session``; see the module docstring and ``Neo4jGraphStore.batch``.

    The store calls :meth:`commit` when the ``with`` block ends and :meth:`rollback`
    when it raises; ``errors`` names the store's error for a driver failure.
    """

    def __init__(self, now: datetime, session: Session, errors: ErrorMap) -> None:
        self.now = now
        self.now_us = to_micros(now)
        self.stats = WriteStats()
        #: recorded operations, not yet run (always empty once the batch has spilled)
        self.ops: list[Op] = []
        #: records the recorded operations hold
        self.pending = 0
        self._session = session
        self._errors = errors
        self._tx: Transaction | None = None
        self._rolled_back = False

    @property
    def spilled(self) -> bool:
        """Whether the batch runs its operations as they come, in an open transaction."""
        return self._tx is not None

    def run(self, tx: Tx) -> None:
        """Run every recorded operation (the driver may call this again on retry)."""
        self.stats = WriteStats()
        for op in self.ops:
            op(tx, self.stats)

    def commit(self) -> None:
        """Write the batch: the recorded operations in one managed transaction, or commit the spilled one."""
        self._check_open()
        if self._tx is not None:
            self._guarded(self._tx.commit)
            self._tx = None
        elif self.ops:
            try:
                self._session.execute_write(self.run)
            except DRIVER_ERRORS as exc:
                raise self._errors(exc, False) from exc

    def rollback(self) -> None:
        """Drop what the batch recorded and roll back its open transaction, if any."""
        self.ops, self.pending, self._rolled_back = [], 0, True
        tx, self._tx = self._tx, None
        if tx is not None:
            with contextlib.suppress(*DRIVER_ERRORS):  # the error that brought us here is the one to report
                tx.close()

    def _check_open(self) -> None:
        if self._rolled_back:  # a write failed and was caught: nothing more of this batch may be written
            raise StoreError("this batch was rolled back after a failed write; start a new batch")

    def _add(self, op: Op, records: int) -> None:
        self._check_open()
        if self._tx is not None:
            tx = self._tx
            self._guarded(lambda: self._run_now(tx, op))
            return
        self.ops.append(op)
        self.pending += records
        if self.pending >= SPILL_RECORDS:
            self._spill()

    def _spill(self) -> None:
        """Open the transaction, run what was recorded and drop it."""
        ops, self.ops, self.pending = self.ops, [], 0
        self._guarded(lambda: self._begin_with(ops))

    def _begin_with(self, ops: list[Op]) -> None:
        self._tx = tx = self._session.begin_transaction()
        while ops:
            self._run_now(tx, ops.pop(0))

    def _run_now(self, tx: Transaction, op: Op) -> None:
        op(tx, self.stats)

    def _guarded(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the open transaction; any failure rolls the batch back, a driver's becomes a store error."""
        try:
            work()
        except BaseException as exc:
            self.rollback()
            if isinstance(exc, DRIVER_ERRORS):
                raise self._errors(exc, True) from exc
            raise

    def upsert_nodes(self, nodes: Iterable[Node]) -> None:
        for chunk in chunks(nodes, CHUNK):
            unique = last_wins(chunk)
            self._add(self._nodes_op(unique), len(unique))

    def _nodes_op(self, chunk: list[Node]) -> Op:
        def op(tx: Tx, stats: WriteStats) -> None:
            existing = {
                r["id"]: NodeState(r["id"], r["hash"], r["source"], bool(r["placeholder"]), r["retired"])
                for r in _rows(tx, cy.NODE_STATES, p={"ids": [n.id for n in chunk]})
            }
            plan = plan_nodes(chunk, existing)
            if plan.inserts:
                rows = [{"label": str(n.label), "props": node_props(n, self.now)} for n in plan.inserts]
                _send(tx, cy.NODE_INSERT, {"rows": rows})
            if plan.updates:
                _send(tx, cy.NODE_UPDATE, {"rows": [{"props": node_props(n, None)} for n in plan.updates]})
            stats.add(plan.stats())

        return op

    def upsert_edges(self, edges: Iterable[Edge]) -> None:
        for chunk in chunks(edges, CHUNK):
            unique = last_wins(chunk)
            self._add(self._edges_op(unique), len(unique))

    def _edges_op(self, chunk: list[Edge]) -> Op:
        def op(tx: Tx, stats: WriteStats) -> None:
            real, current, history, siblings = _chunk_state(tx, chunk)
            stubs = [{"label": str(n.label), "props": node_props(n, self.now)} for n in placeholders(chunk, skip=real)]
            if stubs:
                _send(tx, cy.NODE_PLACEHOLDERS, {"rows": stubs})
            plan = plan_edges(chunk, current, history, siblings, self.now)
            if plan.retires:
                _per_type(tx, cy.EDGE_RETIRE, _closing_rows(plan.retires), now=self.now_us)
            if plan.closes:
                _per_type(tx, cy.EDGE_CLOSE, _closing_rows(plan.closes))
            if plan.reprovenance:
                _per_type(tx, cy.EDGE_REPROVENANCE, [(e.type, _reprovenance_row(e)) for e in plan.reprovenance])
            if plan.inserts:
                now_us = self.now_us
                rows = [
                    {"type": str(i.edge.type), "src": i.edge.src, "dst": i.edge.dst,
                     "props": edge_props(i.edge, now_us, i.valid_from, i.valid_to)}
                    for i in plan.inserts
                ]
                _send(tx, cy.EDGE_INSERT, {"rows": rows})
            stats.add(plan.stats())

        return op

    def retire_source(
        self, source: str, *, keep_nodes: Collection[str] = (), keep_edges: Collection[str] = ()
    ) -> None:
        keep_n = sorted(set(keep_nodes))
        # an edge id names its type: each type's statement gets only its own ids
        keep_e: dict[str, list[str]] = defaultdict(list)
        for edge_id in sorted(set(keep_edges)):
            keep_e[edge_id.partition(":")[0]].append(edge_id)

        def op(tx: Tx, stats: WriteStats) -> None:
            # edges first, so a placeholder stays while a current edge still points at it
            for type_, statement in cy.SOURCE_EDGES_RETIRE.items():
                keep = keep_e.get(str(type_), [])
                stats.retired += _count(tx, statement, source=source, now=self.now_us, p={"keep": keep})
            stats.retired += _count(tx, cy.SOURCE_NODES_RETIRE, source=source, now=self.now_us, p={"keep": keep_n})

        self._add(op, 1 + len(keep_n) + len(keep_edges))

    def delete_source(self, source: str) -> None:
        hashes = {
            str(label): placeholder_node(f"{spec.prefix}:x", _STUB_PROVENANCE).content_hash
            for label, spec in LABELS.items()
        }

        def op(tx: Tx, stats: WriteStats) -> None:
            for statement in cy.SOURCE_EDGES_DELETE.values():
                stats.deleted += _count(tx, statement, source=source)
            stats.updated += _count(tx, cy.SOURCE_NODES_DEMOTE, source=source, hashes=hashes)
            stats.deleted += _count(tx, cy.SOURCE_NODES_DELETE, source=source)

        self._add(op, 1)


_STUB_PROVENANCE = Provenance(source="-", run_id="-")


def _chunk_state(
    tx: Tx, chunk: list[Edge]
) -> tuple[set[str], dict[str, EdgeState], set[str], list[EdgeState]]:
    """The endpoints that are real nodes, the current versions of the chunk's edges, the ids
    that have any stored version, and the current siblings of its functional groups.
    """
    real = set(_rows(tx, cy.REAL_ENDS, p={"ends": list({end: None for e in chunk for end in (e.src, e.dst)})}))
    current: dict[str, EdgeState] = {}
    history: set[str] = set()
    for type_, ids in _by_type((e.type, e.id) for e in chunk).items():
        for r in _rows(tx, cy.EDGE_STATES[type_], p={"ids": ids}):
            history.add(r["id"])
            if r["current"]:
                current[r["id"]] = _edge_state(r)
    probes = sibling_probes(chunk)
    reads: list[tuple[str, dict[str, Any]]]
    if probes is None:  # an undated functional edge: its groups whole
        groups = _by_type((RelType(type_), src) for src, type_ in sorted(functional_groups(chunk)))
        reads = [(cy.SIBLINGS[type_], {"srcs": srcs}) for type_, srcs in groups.items()]
    else:
        by_type = _by_type((RelType(type_), {"src": src, "at": to_micros(at)}) for src, type_, at in probes)
        reads = [(cy.SIBLINGS_AT[type_], {"probes": rows}) for type_, rows in by_type.items()]
    siblings = [_edge_state(r) for statement, p in reads for r in _rows(tx, statement, p=p)]
    return real, current, history, siblings


def _closing_rows(closings: list[tuple[str, datetime]]) -> list[tuple[RelType, dict[str, Any]]]:
    return [(edge_type_of(i), {"id": i, "valid_to": to_micros(vt)}) for i, vt in closings]


def _per_type(
    tx: Tx, statements: dict[RelType, str], rows: list[tuple[RelType, dict[str, Any]]], **params: Any
) -> None:
    """Run each type's statement of ``statements`` on the rows of that type."""
    for type_, group in _by_type(rows).items():
        _send(tx, statements[type_], {"rows": group}, **params)


def _send(tx: Tx, query: str, p: dict[str, Any], **params: Any) -> None:
    """Run a statement whose list parameters are in ``p``, and consume it."""
    try:
        tx.run(query, params, p=p).consume()
    finally:
        _release(p)


def _single(tx: Tx, query: str, params: dict[str, Any]) -> Any:
    try:
        return tx.run(query, params).single(strict=True)
    finally:
        _release(params.get("p"))


def _release(p: dict[str, Any] | None) -> None:
    """Empty a statement's ``p`` once it has run.

    The driver's result keeps its parameters in a reference cycle (result and summary), and
    the ingest pauses the cyclic collector while it writes a source: without this, every row
    a batch sends would stay in memory until the source is done.
    """
    if p is not None:
        p.clear()


def _count(tx: Tx, query: str, **params: Any) -> int:
    """The ``c`` a statement returns."""
    return int(_single(tx, query, params)["c"])


def _rows(tx: Tx, query: str, **params: Any) -> list[Any]:
    """The ``rows`` list a statement collects into its single record (one message, not one per row)."""
    return list(_single(tx, query, params)["rows"])


def _reprovenance_row(edge: Edge) -> dict[str, Any]:
    p = edge.provenance
    return {
        "id": edge.id, "source": p.source, "source_location": p.location,
        "run_id": p.run_id, "ingested_at": to_micros(p.ingested_at),
    }
