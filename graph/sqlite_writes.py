"""The write side of the SQLite backend: one batch is one transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from datetime import datetime
from operator import itemgetter

from graph.model import Edge, Node, Provenance, WriteStats
from graph.model_plain import plain_id_label
from graph.planner import (
    FUNCTIONAL,
    EdgeState,
    NodeState,
    chunks,
    functional_groups,
    last_wins,
    placeholder_node,
    plan_edges,
    plan_nodes,
    sibling_probes,
)
from graph.schema import NodeLabel
from graph.sqlite_schema import (
    EDGE_INSERT_COLUMNS,
    NODE_COLUMNS,
    dump_props,
    edge_key,
    edge_keys,
    edge_rows,
    ids_param,
    node_row,
    parse_ts,
    placeholder_row,
    ts,
)

_INSERT_NODE = f"INSERT INTO nodes ({NODE_COLUMNS}) VALUES ({', '.join('?' * 15)})"
# a placeholder is created once; a retired one comes back when an edge names it again
_INSERT_PLACEHOLDER = (
    f"INSERT INTO nodes ({NODE_COLUMNS}) VALUES ({', '.join('?' * 15)}) ON CONFLICT(id) DO UPDATE SET "
    "retired_at = NULL, valid_to = NULL WHERE nodes.placeholder = 1 AND nodes.retired_at IS NOT NULL"
)
#: the rid of each endpoint that exists, and whether it is a retired placeholder (to revive)
_ENDS = (
    "SELECT id, rid, placeholder = 1 AND retired_at IS NOT NULL FROM nodes "
    "WHERE id IN (SELECT value FROM json_each(?))"
)
_RIDS = "SELECT id, rid FROM nodes WHERE id IN (SELECT value FROM json_each(?))"
_UNLESS_REFERENCED = (
    " AND NOT (placeholder = 1 AND EXISTS (SELECT 1 FROM edges e WHERE (e.src = nodes.rid OR e.dst = nodes.rid) "
    "AND e.retired_at IS NULL))"
)
#: every stored version of the edges with the given keys (``eid``), with its source node's text
#: id and its source; a version of another id with the same key is dropped by the caller
_VERSIONS = (
    "SELECT e.id, a.id, e.type, e.content_hash, p.source, e.valid_from, e.valid_to, e.retired_at IS NULL "
    "FROM edges e JOIN nodes a ON a.rid = e.src JOIN edge_provenance p ON p.k = e.prov "
    "WHERE e.eid IN (SELECT value FROM json_each(?))"
)
#: the current version of one edge id (parameters: its key, its id)
_CURRENT = "eid = ? AND id = ? AND retired_at IS NULL"
_SIBLINGS = (
    "SELECT e.id, a.id, e.type, e.content_hash, p.source, e.valid_from, e.valid_to, 1 "
    "FROM edges e JOIN nodes a ON a.rid = e.src JOIN edge_provenance p ON p.k = e.prov "
    "WHERE e.retired_at IS NULL AND (e.src, e.type) IN "
    "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"
)
#: the current versions a new functional edge can act on (see :func:`graph.planner.sibling_probes`): per
#: probe ``[src rid, type, start]``, those in force at the start and the first that starts after it
_SIBLINGS_AT = (
    "WITH probe(src, type, at) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]') FROM json_each(?)), "
    "hit(seq) AS ("
    "SELECT e.seq FROM probe JOIN edges e ON e.src = probe.src AND e.type = probe.type WHERE e.retired_at IS NULL "
    "AND (e.valid_from IS NULL OR e.valid_from <= probe.at) AND (e.valid_to IS NULL OR e.valid_to > probe.at) "
    "UNION SELECT (SELECT x.seq FROM edges x WHERE x.src = probe.src AND x.type = probe.type "
    "AND x.retired_at IS NULL AND x.valid_from > probe.at ORDER BY x.valid_from LIMIT 1) FROM probe) "
    "SELECT e.id, a.id, e.type, e.content_hash, p.source, e.valid_from, e.valid_to, 1 "
    "FROM hit JOIN edges e ON e.seq = hit.seq JOIN nodes a ON a.rid = e.src JOIN edge_provenance p ON p.k = e.prov"
)
_UPDATE_NODE = (
    "UPDATE nodes SET label = ?, name = ?, props = ?, at = ?, valid_from = ?, valid_to = ?, placeholder = ?, "
    "source = ?, source_location = ?, run_id = ?, ingested_at = ?, retired_at = NULL, content_hash = ? WHERE id = ?"
)
_INSERT_EDGE = f"INSERT INTO edges ({EDGE_INSERT_COLUMNS}) VALUES ({', '.join('?' * len(EDGE_INSERT_COLUMNS.split(',')))})"
_FIND_PROVENANCE = (
    "SELECT k FROM edge_provenance WHERE source = ? AND run_id = ? AND ingested_at = ? AND source_location IS ?"
)
_INSERT_PROVENANCE = "INSERT INTO edge_provenance(source, run_id, ingested_at, source_location) VALUES (?, ?, ?, ?)"
#: the stored keys of many locations of one (source, run, time); the lowest key of each, as the single lookup finds
_FIND_PROVENANCES = (
    "SELECT source_location, MIN(k) FROM edge_provenance WHERE source = ? AND run_id = ? AND ingested_at = ? "
    "AND (source_location IN (SELECT value FROM json_each(?)) OR (? AND source_location IS NULL)) "
    "GROUP BY source_location"
)
#: new records take the keys SQLite would give them one by one (the batch's transaction holds the write lock)
_ADD_PROVENANCE = "INSERT INTO edge_provenance(k, source, run_id, ingested_at, source_location) VALUES (?, ?, ?, ?, ?)"
_NEXT_PROVENANCE = "SELECT COALESCE(MAX(k), 0) + 1 FROM edge_provenance"
#: the edges of a source, as a condition on ``edges``
_OF_SOURCE = "prov IN (SELECT k FROM edge_provenance WHERE source = :source)"
_IN_IDS = "IN (SELECT value FROM json_each(?))"
#: edges planned and written per round of statements: a bigger round looks up each endpoint
#: shared by its edges (an environment, a service) once, and costs fewer statements
EDGE_CHUNK = 10_000
#: provenance keys a batch remembers past a chunk (an event stream's are one per event, each used by
#: its own chunk only; a large source's batch would otherwise hold them all)
_PROVENANCE_KEYS = 1_000
#: the source node key of an insert row (its columns are :data:`EDGE_INSERT_COLUMNS`)
_BY_SRC = itemgetter(EDGE_INSERT_COLUMNS.split(", ").index("src"))


class SqliteBatch:
    """Writes inside an open SQLite transaction (see ``SqliteGraphStore.batch``)."""

    def __init__(self, conn: sqlite3.Connection, now: datetime) -> None:
        self._conn = conn
        self.now = now
        self._now = ts(now)
        self.stats = WriteStats()
        #: edge_provenance keys used in this transaction, by (source, run_id, ingested_at, location)
        self._provenance: dict[tuple[str, str, str | None, str | None], int] = {}

    def upsert_nodes(self, nodes: Iterable[Node]) -> None:
        for chunk in chunks(nodes):
            chunk = last_wins(chunk)
            rows = self._conn.execute(
                f"SELECT id, content_hash, source, placeholder, retired_at FROM nodes WHERE id {_IN_IDS}",
                (ids_param([n.id for n in chunk]),),
            )
            existing = {
                r[0]: NodeState(r[0], r[1], r[2], bool(r[3]), r[4] is not None) for r in rows
            }
            plan = plan_nodes(chunk, existing)
            self._conn.executemany(_INSERT_NODE, [node_row(n, self._now) for n in plan.inserts])
            self._conn.executemany(_UPDATE_NODE, [_node_update(n) for n in plan.updates])
            self.stats.add(plan.stats())

    def upsert_edges(self, edges: Iterable[Edge]) -> None:
        for chunk in chunks(edges, EDGE_CHUNK):
            if len(self._provenance) > _PROVENANCE_KEYS:  # an event's location is used by that event alone
                self._provenance.clear()
            chunk = last_wins(chunk)
            rids = self._endpoints(chunk)
            current: dict[str, EdgeState] = {}
            history: set[str] = set()
            eids = edge_keys(chunk)
            for state, is_current in self._edge_states(_VERSIONS, ids_param(set(eids.values()))):
                if state.id not in eids:  # another id with the same key
                    continue
                history.add(state.id)
                if is_current:
                    current[state.id] = state
            functional = [e for e in chunk if e.type in FUNCTIONAL]
            siblings = self._siblings(functional, rids) if functional else []
            plan = plan_edges(chunk, current, history, siblings, self.now)
            if plan.retires:
                self._conn.executemany(
                    f"UPDATE edges SET retired_at = ?, valid_to = ? WHERE {_CURRENT}",
                    [(self._now, ts(valid_to), edge_key(edge_id), edge_id) for edge_id, valid_to in plan.retires],
                )
            if plan.closes:
                self._conn.executemany(
                    f"UPDATE edges SET valid_to = ? WHERE {_CURRENT}",
                    [(ts(valid_to), edge_key(edge_id), edge_id) for edge_id, valid_to in plan.closes],
                )
            if plan.reprovenance:
                self._conn.executemany(
                    f"UPDATE edges SET prov = ? WHERE {_CURRENT}",
                    [(self._provenance_key(e.provenance), edge_key(e.id), e.id) for e in plan.reprovenance],
                )
            self._add_provenances([insert[0].provenance for insert in plan.inserts])
            rows = edge_rows(plan.inserts, rids, eids, self._provenance_key, self._now)
            # in source-node order: the rows go into the adjacency index by source in key order
            rows.sort(key=_BY_SRC)
            self._conn.executemany(_INSERT_EDGE, rows)
            self.stats.add(plan.stats())

    def _provenance_key(self, prov: Provenance) -> int:
        """The ``edge_provenance`` key of a provenance record, added if it is new."""
        values = (prov.source, prov.run_id, ts(prov.ingested_at), prov.location)
        key = self._provenance.get(values)
        if key is None:
            row = self._conn.execute(_FIND_PROVENANCE, values).fetchone()
            key = row[0] if row is not None else self._conn.execute(_INSERT_PROVENANCE, values).lastrowid
            assert key is not None  # an INSERT always sets lastrowid
            self._provenance[values] = key
        return key

    def _add_provenances(self, records: list[Provenance]) -> None:
        """Find or add the ``edge_provenance`` keys of ``records`` in a few statements, not two per record.

        An event stream gives each event its own location, so a chunk of edges
        holds thousands of new provenance records. New ones are numbered as
        SQLite numbers them (the largest key plus one).
        """
        wanted: dict[tuple[str, str, str | None], dict[str | None, None]] = {}
        seen: set[int] = set()
        for prov in records:
            if id(prov) in seen:  # the caller holds the records, so an id() is not reused meanwhile
                continue
            seen.add(id(prov))
            values = (prov.source, prov.run_id, ts(prov.ingested_at), prov.location)
            if values not in self._provenance:
                wanted.setdefault(values[:3], {})[prov.location] = None
        new: list[tuple[str, str, str | None, str | None]] = []
        for (source, run_id, at), locations in wanted.items():
            listed = json.dumps([loc for loc in locations if loc is not None], ensure_ascii=False)
            for location, key in self._conn.execute(_FIND_PROVENANCES, (source, run_id, at, listed, None in locations)):
                self._provenance[(source, run_id, at, location)] = key
                del locations[location]
            new += [(source, run_id, at, location) for location in locations]
        if new:
            (first,) = self._conn.execute(_NEXT_PROVENANCE).fetchone()
            self._conn.executemany(_ADD_PROVENANCE, [(first + i, *values) for i, values in enumerate(new)])
            self._provenance.update((values, first + i) for i, values in enumerate(new))

    def _endpoints(self, chunk: list[Edge]) -> dict[str, int]:
        """The rid of every endpoint of ``chunk``, after adding stand-ins for the missing ones."""
        ends = {e.src for e in chunk}
        ends.update([e.dst for e in chunk])
        rids: dict[str, int] = {}
        revive: set[str] = set()
        for id_, rid, retired_stub in self._conn.execute(_ENDS, (ids_param(list(ends)),)):
            rids[id_] = rid
            if retired_stub:
                revive.add(id_)
        if len(rids) == len(ends) and not revive:  # every endpoint is there: no stand-in to add
            return rids
        # only endpoints that are missing (or retired placeholders to revive) need a stand-in
        stubs = self._placeholder_rows(chunk, skip=rids.keys() - revive)
        if stubs:
            self._conn.executemany(_INSERT_PLACEHOLDER, stubs.values())
            missing = stubs.keys() - rids.keys()
            rids.update(self._conn.execute(_RIDS, (ids_param(missing),)))
        return rids

    def _placeholder_rows(self, chunk: list[Edge], skip: Collection[str]) -> dict[str, tuple[object, ...]]:
        """The node rows of stand-ins for every endpoint not in ``skip``, with the provenance of the edge that named it.

        The rows are what :func:`graph.planner.placeholder_node` would store, built without a
        :class:`Node` each: a stand-in's hash depends on its label only.
        """
        rows: dict[str, tuple[object, ...]] = {}
        for edge in chunk:
            for end in (edge.src, edge.dst):
                if end not in rows and end not in skip:
                    rows[end] = self._placeholder_row(end, edge.provenance)
        return rows

    def _placeholder_row(self, node_id: str, prov: Provenance) -> tuple[object, ...]:
        label = plain_id_label(node_id)
        content_hash = _PLACEHOLDER_HASH.get(label) if label is not None else None
        if label is None or content_hash is None:  # an unusual id, or the label's first stand-in
            stub = placeholder_node(node_id, prov)
            if label is not None:
                _PLACEHOLDER_HASH[label] = stub.content_hash
            return node_row(stub, self._now)
        return placeholder_row(node_id, label, prov, self._now, content_hash)

    def _edge_states(self, sql: str, *params: str | None) -> list[tuple[EdgeState, bool]]:
        """Stored edge versions (``sql`` is :data:`_VERSIONS` or :data:`_SIBLINGS`) and whether each is current."""
        return [
            (EdgeState(r[0], r[1], r[2], r[3], r[4], parse_ts(r[5]), parse_ts(r[6])), bool(r[7]))
            for r in self._conn.execute(sql, params)
        ]

    def _siblings(self, functional: list[Edge], rids: dict[str, int]) -> list[EdgeState]:
        """The stored versions of the functional edges' groups that those edges can close or end at."""
        probes = sibling_probes(functional)
        if probes is None:  # an undated edge: its groups whole
            groups = sorted([rids[src], type_] for src, type_ in functional_groups(functional))
            return [state for state, _ in self._edge_states(_SIBLINGS, json.dumps(groups))]
        listed = json.dumps([[rids[src], type_, ts(at)] for src, type_, at in probes])
        return [state for state, _ in self._edge_states(_SIBLINGS_AT, listed)]

    def retire_source(
        self, source: str, *, keep_nodes: Collection[str] = (), keep_edges: Collection[str] = ()
    ) -> None:
        # edges first: a placeholder stays while a current edge still points at it
        for table, keep, of_source, extra in (
            ("edges", keep_edges, _OF_SOURCE, ""),
            ("nodes", keep_nodes, "source = :source", _UNLESS_REFERENCED),
        ):
            cur = self._conn.execute(
                f"UPDATE {table} SET retired_at = :now, valid_to = COALESCE(valid_to, :now) "
                f"WHERE {of_source} AND retired_at IS NULL "
                f"AND id NOT IN (SELECT value FROM json_each(:keep)){extra}",
                {"now": self._now, "source": source, "keep": ids_param(list(keep))},
            )
            self.stats.retired += cur.rowcount

    def delete_source(self, source: str) -> None:
        cur = self._conn.execute(f"DELETE FROM edges WHERE {_OF_SOURCE}", {"source": source})
        self.stats.deleted += cur.rowcount
        self._conn.execute(
            "DELETE FROM edge_provenance WHERE source = ? AND NOT EXISTS (SELECT 1 FROM edges WHERE prov = k)",
            (source,),
        )
        self._provenance.clear()
        referenced = self._conn.execute(
            "SELECT n.rid, n.id FROM nodes n WHERE n.source = ? AND EXISTS "
            "(SELECT 1 FROM edges e WHERE e.src = n.rid OR e.dst = n.rid)",
            (source,),
        ).fetchall()
        for rid, node_id in referenced:
            self._demote(rid, node_id)
        cur = self._conn.execute("DELETE FROM nodes WHERE source = ?", (source,))
        self.stats.deleted += cur.rowcount

    def _demote(self, rid: int, node_id: str) -> None:
        """Turn a node into a placeholder owned by the first edge (by source, id) that names it."""
        row = self._conn.execute(
            "SELECT p.source, p.source_location, p.run_id, p.ingested_at FROM edges e "
            "JOIN edge_provenance p ON p.k = e.prov WHERE e.src = ? OR e.dst = ? ORDER BY p.source, e.id LIMIT 1",
            (rid, rid),
        ).fetchone()
        prov = Provenance(source=row[0], run_id=row[2], location=row[1], ingested_at=datetime.fromisoformat(row[3]))
        stub = placeholder_node(node_id, prov)
        self._conn.execute(
            "UPDATE nodes SET name = NULL, props = '{}', at = NULL, valid_from = NULL, valid_to = NULL, "
            "placeholder = 1, retired_at = NULL, source = ?, source_location = ?, run_id = ?, ingested_at = ?, "
            "content_hash = ? WHERE id = ?",
            (prov.source, prov.location, prov.run_id, row[3], stub.content_hash, node_id),
        )
        self.stats.updated += 1


#: the content hash of a stand-in node, by label (it asserts nothing else)
_PLACEHOLDER_HASH: dict[NodeLabel, str] = {}


def _node_update(node: Node) -> tuple[object, ...]:
    p = node.provenance
    return (
        str(node.label), node.name, dump_props(node.props), ts(node.at), ts(node.valid_from), ts(node.valid_to),
        int(node.placeholder), p.source, p.location, p.run_id, ts(p.ingested_at), node.content_hash, node.id,
    )
