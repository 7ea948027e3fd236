"""The embedded graph backend: one SQLite file in WAL mode.

Zero set-up, safe for several reader processes and one writer at a time, and
indexed for every query path of :class:`graph.store.GraphStore`::

    store = SqliteGraphStore(Path(".vidya/graph.db"))
    store.ensure_schema()
    store.upsert_nodes([...])
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from graph.errors import RecordError, StoreUnavailable
from graph.model import Counts, Direction, Edge, Hop, Node, now_utc, utc
from graph.schema import EVENT_LINKS, NodeLabel, RelType
from graph.sqlite_cache import NODE_CACHE_SIZE, NodeCache
from graph.sqlite_read import nodes_by_rid, reach
from graph.sqlite_read_edges import decode_edges, incident_sql
from graph.sqlite_schema import (
    BULK_CACHE_MIB,
    CACHE_MIB,
    DDL,
    EDGE_BY_ID,
    EDGE_FROM,
    EDGE_SELECT,
    NODE_COLUMNS,
    NODE_SELECT,
    PRAGMAS,
    SCHEMA_VERSION,
    check_version,
    edge_key,
    ids_param,
    row_edge,
    row_node,
    ts,
    visible,
)
from graph.sqlite_search import search
from graph.sqlite_text import SEARCH, apply_pending, ensure_text_index, fts5_match
from graph.sqlite_writes import SqliteBatch
from graph.store import TextHit, TimelineEvent
from graph.text_query import TEXT_LABELS, query_terms
from graph.traversal import TraversalMixin

BUSY_TIMEOUT_MS = 10_000
#: (child id, parent id, parent rid) over current ``:type`` edges into ``:ids``: the edge is read from the
#: covering ``edges_in`` index alone, the parent's own visibility from its row
_PARENTS = (
    "SELECT b.id, a.id, a.rid FROM nodes b JOIN edges e ON e.dst = b.rid AND e.type = :type "
    "JOIN nodes a ON a.rid = e.src WHERE b.id IN (SELECT value FROM json_each(:ids)) AND "
    + " AND ".join(visible(alias, None)[0] for alias in ("e", "a", "b"))
)


def _json_list(values: Iterable[str]) -> str:
    return ids_param([str(v) for v in values])


class SqliteGraphStore(TraversalMixin):
    """A :class:`graph.store.GraphStore` in a single SQLite database file."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = now_utc) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            for pragma in PRAGMAS:
                self._conn.execute(pragma)
            self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open the graph database {path}: {exc}") from exc

    def describe(self) -> str:
        return f"sqlite {self.path}"

    def ensure_schema(self) -> None:
        with self._lock:
            check_version(self._conn, str(self.path))
            self._conn.executescript(DDL)
            self._conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            ensure_text_index(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # writes ------------------------------------------------------------------------
    @contextmanager
    def batch(self) -> Iterator[SqliteBatch]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            batch = SqliteBatch(self._conn, utc(self._clock(), "clock"))
            try:
                yield batch
                apply_pending(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """A smaller page cache while an ingest writes (``BULK_CACHE_MIB``), the usual one after it."""
        with self._lock:
            self._conn.execute(f"PRAGMA cache_size=-{BULK_CACHE_MIB * 1024}")
        try:
            yield
        finally:
            with self._lock:
                self._conn.execute(f"PRAGMA cache_size=-{CACHE_MIB * 1024}")

    # reads ---------------------------------------------------------------------------
    def _query(self, sql: str, params: Any = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _now(self) -> str | None:
        return ts(utc(self._clock(), "clock"))

    def get_node(self, id_: str) -> Node | None:
        rows = self._query(f"SELECT {NODE_COLUMNS} FROM nodes WHERE id = ?", (id_,))
        return row_node(rows[0]) if rows else None

    def get_nodes(self, ids: Iterable[str]) -> list[Node]:
        sql = f"SELECT {NODE_COLUMNS} FROM nodes WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"
        return [row_node(r) for r in self._query(sql, (_json_list(ids),))]

    def find_nodes(
        self,
        label: NodeLabel | None = None,
        props: dict[str, object] | None = None,
        *,
        name: str | None = None,
        include_retired: bool = False,
        limit: int = 1000,
    ) -> list[Node]:
        conds: list[str] = ["1 = 1"]
        params: list[object] = []
        if label is not None:
            conds.append("label = ?")
            params.append(str(NodeLabel(label)))
        if name is not None:
            conds.append("name = ?")
            params.append(name)
        for key, value in (props or {}).items():
            if not isinstance(value, str | int | float | bool):
                raise RecordError(f"find_nodes: property {key!r} must be compared with a scalar")
            # json_each gives the raw key and the JSON type, so names need no path escaping and
            # true never equals 1 (SQLite stores JSON booleans as integers)
            conds.append(
                "EXISTS (SELECT 1 FROM json_each(nodes.props) p "
                f"WHERE p.key = ? AND p.value = ? AND p.type IN {_json_types(value)})"
            )
            params.extend([key, value])
        if not include_retired:
            conds.append("retired_at IS NULL")
        sql = f"SELECT {NODE_COLUMNS} FROM nodes WHERE {' AND '.join(conds)} ORDER BY id LIMIT ?"
        return [row_node(r) for r in self._query(sql, (*params, limit))]

    def get_edge(self, id_: str) -> Edge | None:
        sql = (
            f"SELECT {EDGE_SELECT} FROM {EDGE_FROM} WHERE {EDGE_BY_ID} "
            "ORDER BY e.retired_at IS NULL DESC, e.recorded_at DESC, e.retired_at DESC LIMIT 1"
        )
        rows = self._query(sql, (edge_key(id_), id_))
        return row_edge(rows[0]) if rows else None

    def edge_history(self, id_: str) -> list[Edge]:
        sql = (
            f"SELECT {EDGE_SELECT} FROM {EDGE_FROM} WHERE {EDGE_BY_ID} "
            "ORDER BY e.recorded_at, e.retired_at IS NULL, e.retired_at"
        )
        return [row_edge(r) for r in self._query(sql, (edge_key(id_), id_))]

    def incident_edges(
        self,
        ids: Collection[str],
        direction: Direction = "both",
        types: Collection[RelType] | None = None,
        as_of: datetime | None = None,
    ) -> list[Edge]:
        if not ids:
            return []
        sql, params = incident_sql(ids, direction, types, as_of, self._now())
        edges = decode_edges(self._query(sql, params))
        return sorted(edges, key=lambda e: (e.id, e.valid_from is not None, e.valid_from))

    def _bfs(
        self,
        starts: Collection[str],
        depth: int,
        direction: Direction,
        types: Collection[RelType] | None,
        as_of: datetime | None,
        max_nodes: int | None = None,
    ) -> dict[str, int]:
        """The mixin's breadth-first search, done in SQL on node keys only (no edge is decoded)."""
        return {id_: level for id_, (level, _) in self._search(starts, depth, direction, types, as_of, max_nodes).items()}

    def _search(
        self,
        starts: Collection[str],
        depth: int,
        direction: Direction,
        types: Collection[RelType] | None,
        as_of: datetime | None,
        max_nodes: int | None = None,
    ) -> dict[str, tuple[int, int]]:
        """(hop distance, rid) of every node within ``depth`` hops (see :func:`graph.sqlite_search.search`)."""
        with self._lock:
            return search(self._query, starts, depth, direction, types, as_of, self._now(), max_nodes)[0]

    def _hops(
        self,
        id_: str,
        depth: int,
        direction: Direction,
        types: Collection[RelType] | None,
        as_of: datetime | None,
        limit: int | None,
    ) -> list[Hop]:
        """:meth:`neighbours` on integer node keys, reading each returned node once.

        Nodes decoded by earlier reads come from the node cache (see :mod:`graph.sqlite_cache`).
        """
        now = self._now()
        with self._lock:
            hops = reach(self._conn.execute, self._cache(), id_, depth, direction, types, as_of, now)
        return hops if limit is None else hops[:limit]

    def parents(self, ids: Collection[str], type_: RelType) -> dict[str, Node]:
        """:meth:`graph.store.GraphStore.parents` over the covering adjacency index, nodes from the node cache."""
        if not ids:
            return {}
        params: dict[str, Any] = {"ids": ids_param(set(ids)), "type": str(RelType(type_)), "now": self._now()}
        first: dict[str, tuple[str, int]] = {}
        with self._lock:
            for child, parent, rid in self._conn.execute(_PARENTS, params):
                if child not in first or parent < first[child][0]:
                    first[child] = (parent, rid)
            nodes = nodes_by_rid(self._conn.execute, {rid for _, rid in first.values()}, self._cache())
        return {child: nodes[rid] for child, (_, rid) in first.items() if rid in nodes}

    #: decoded nodes kept between reads; 0 turns the cache off (set before the first read)
    node_cache_size = NODE_CACHE_SIZE
    _node_cache: NodeCache | None = None

    def drop_caches(self) -> None:
        """Forget the decoded nodes kept between reads, so the next read is a cold one (benchmarks use it)."""
        if self._node_cache is not None:
            self._node_cache.clear()

    def _cache(self) -> NodeCache | None:
        """The node cache when it may be used now (it empties itself if the database changed)."""
        if self._node_cache is None:
            self._node_cache = NodeCache(self.node_cache_size)
        return self._node_cache if self._node_cache.check(self._conn) else None

    def events(
        self,
        kinds: Collection[NodeLabel],
        start: datetime,
        end: datetime,
        services: Collection[str] | None = None,
        *,
        limit: int = 10000,
    ) -> list[TimelineEvent]:
        params: dict[str, Any] = {
            "kinds": _json_list(str(NodeLabel(k)) for k in kinds),
            "start": ts(utc(start, "start")),
            "end": ts(utc(end, "end")),
            "links": _json_list(str(t) for t in EVENT_LINKS),
            "services": None if services is None else _json_list(services),
            "limit": limit,
        }
        sql = (
            f"SELECT {NODE_SELECT} FROM nodes n WHERE n.label IN (SELECT value FROM json_each(:kinds)) "
            "AND n.at >= :start AND n.at < :end AND n.retired_at IS NULL AND n.placeholder = 0 "
            "AND (:services IS NULL OR EXISTS (SELECT 1 FROM edges e WHERE e.src = n.rid "
            "AND e.type IN (SELECT value FROM json_each(:links)) AND e.retired_at IS NULL "
            "AND e.dst IN (SELECT s.rid FROM nodes s WHERE s.id IN (SELECT value FROM json_each(:services))))) "
            "ORDER BY n.at, n.id LIMIT :limit"
        )
        nodes = [row_node(r) for r in self._query(sql, params)]
        links_sql = (
            "SELECT a.id, b.id FROM edges e JOIN nodes a ON a.rid = e.src JOIN nodes b ON b.rid = e.dst "
            "WHERE a.id IN (SELECT value FROM json_each(:ids)) "
            "AND e.type IN (SELECT value FROM json_each(:links)) AND e.retired_at IS NULL "
            "AND (:services IS NULL OR b.id IN (SELECT value FROM json_each(:services))) ORDER BY b.id"
        )
        links: dict[str, list[str]] = {n.id: [] for n in nodes}
        link_params = {"ids": _json_list(links), "links": params["links"], "services": params["services"]}
        for src, dst in self._query(links_sql, link_params):
            if dst not in links[src]:
                links[src].append(dst)
        return [TimelineEvent(node=n, services=links[n.id]) for n in nodes]

    def search_text(
        self, query: str, *, labels: Collection[NodeLabel] | None = None, limit: int = 50
    ) -> list[TextHit]:
        terms = query_terms(query)
        wanted = {str(NodeLabel(label)) for label in (TEXT_LABELS if labels is None else labels)}
        if not terms or limit <= 0 or not wanted:
            return []
        params = {"match": fts5_match(terms), "now": self._now(), "labels": _json_list(wanted), "limit": limit}
        return [TextHit(node_id, -rank) for node_id, rank in self._query(SEARCH, params)]

    def counts(self) -> Counts:
        now = {"now": self._now()}
        node_vis, _ = visible("n", None)
        edge_vis, _ = visible("e", None)
        nodes = self._query(
            f"SELECT label, count(*) AS c FROM nodes n WHERE n.placeholder = 0 AND {node_vis} GROUP BY label", now
        )
        edges = self._query(f"SELECT type, count(*) AS c FROM edges e WHERE {edge_vis} GROUP BY type", now)
        return Counts(nodes=dict(nodes), relationships=dict(edges))

    def iter_nodes(self, *, include_retired: bool = False) -> Iterator[Node]:
        cond = "" if include_retired else "WHERE retired_at IS NULL"
        for row in self._query(f"SELECT {NODE_COLUMNS} FROM nodes {cond} ORDER BY id"):
            yield row_node(row)

    def iter_edges(self, *, include_retired: bool = False) -> Iterator[Edge]:
        cond = "" if include_retired else "WHERE e.retired_at IS NULL"
        for row in self._query(f"SELECT {EDGE_SELECT} FROM {EDGE_FROM} {cond} ORDER BY e.id, e.recorded_at"):
            yield row_edge(row)


def _json_types(value: str | int | float | bool) -> str:
    """The JSON types a stored value may have to equal ``value`` (a fixed SQL list, never input)."""
    if isinstance(value, bool):
        return "('true', 'false')"
    if isinstance(value, str):
        return "('text')"
    return "('integer', 'real')"
