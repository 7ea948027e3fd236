"""Tables, indexes and row codecs of the SQLite backend.

Times are stored as fixed-width ISO-8601 UTC text (microseconds, ``+00:00``),
so text order is time order and every time comparison can use an index.

Nodes have an integer key (``rid``) beside their text id, and edges name their
endpoints by it: the adjacency indexes hold small integers rather than long
text ids, and every join from an edge to its endpoints is a rowid lookup. An
edge is found by ``eid``, a 32-bit checksum of its id (:func:`edge_key`), with
``eid = ? AND id = ?``: the index over it holds small integers, and a bulk load
inserts ids in random order, so an index of long text ids was rewritten nearly
whole by every batch (two ids sharing a checksum only cost a row read). The
adjacency indexes (``edges_out``, ``edges_in``) hold every column a traversal
step reads, so a step never visits the edge rows themselves.

An edge row names its provenance (source, location, ingest run and time) by an
integer key into ``edge_provenance``: a batch shares a few provenance records
between thousands of edges, so the rows and the per-source index stay small.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from graph.errors import StoreError
from graph.model import Edge, Node, Provenance, trusted_edge, trusted_node, trusted_provenance
from graph.schema import NodeLabel, RelType

SCHEMA_VERSION = 4

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    name TEXT,
    props TEXT NOT NULL,
    at TEXT,
    valid_from TEXT,
    valid_to TEXT,
    placeholder INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    source_location TEXT,
    run_id TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    retired_at TEXT,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_label_name ON nodes(label, name);
CREATE INDEX IF NOT EXISTS nodes_label_at ON nodes(label, at) WHERE at IS NOT NULL;
CREATE INDEX IF NOT EXISTS nodes_source ON nodes(source);
CREATE TABLE IF NOT EXISTS edges (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    eid INTEGER NOT NULL,
    type TEXT NOT NULL,
    src INTEGER NOT NULL,
    dst INTEGER NOT NULL,
    key TEXT NOT NULL,
    props TEXT NOT NULL,
    valid_from TEXT,
    valid_to TEXT,
    prov INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    retired_at TEXT,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS edges_eid ON edges(eid);
CREATE INDEX IF NOT EXISTS edges_out ON edges(src, type, dst, retired_at, valid_to, valid_from);
CREATE INDEX IF NOT EXISTS edges_in ON edges(dst, type, src, retired_at, valid_to, valid_from);
CREATE INDEX IF NOT EXISTS edges_prov ON edges(prov);
CREATE TABLE IF NOT EXISTS edge_provenance (
    k INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    source_location TEXT,
    run_id TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
-- the whole record: a provenance is found by all of it (an event source has one location per line)
DROP INDEX IF EXISTS edge_provenance_source;
CREATE INDEX IF NOT EXISTS edge_provenance_record ON edge_provenance(source, run_id, ingested_at, source_location);
"""

#: page cache per connection: the indexes of a ~1M-edge estate fit (the 2 MiB default thrashes
#: from ~100k edges on, and at ~1M edges 128 MiB makes a 2-hop read a third slower); taken as pages are read
CACHE_MIB = 256
#: the page cache while a bulk load writes (``SqliteGraphStore.bulk_load``): an ingest's lookups cost
#: the same CPU with it, and its memory stays flat once the cache is full, however much it writes
BULK_CACHE_MIB = 64
#: no memory map: mapped pages would count in the process's memory up to this size, and at ~1M
#: edges reading through the page cache costs the same
MMAP_MIB = 0
#: the write-ahead log is copied into the database (and synced) once it holds this many
#: pages, 64 MiB (the default 1000 syncs after nearly every bulk batch: a batch of new edges
#: dirties pages all over the id index, and a page rewritten by several batches is copied once)
WAL_CHECKPOINT_PAGES = 8192
#: the page size of a new file (an existing file keeps its own): fewer, fuller b-tree pages
#: for the edge indexes, and fewer page splits when a bulk load inserts ids all over them
PAGE_SIZE = 8192
PRAGMAS = (
    # before the journal mode: the first write fixes the page size, and WAL mode cannot change it
    f"PRAGMA page_size={PAGE_SIZE}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}",
    # after a checkpoint the log file is cut back to this size rather than left at its peak
    f"PRAGMA journal_size_limit={WAL_CHECKPOINT_PAGES * PAGE_SIZE}",
    "PRAGMA foreign_keys=OFF",
    f"PRAGMA cache_size=-{CACHE_MIB * 1024}",
    "PRAGMA temp_store=MEMORY",
    f"PRAGMA mmap_size={MMAP_MIB * 2**20}",
)

NODE_COLUMNS = (
    "id, label, name, props, at, valid_from, valid_to, placeholder, source, source_location, "
    "run_id, ingested_at, recorded_at, retired_at, content_hash"
)
_NODE_FIELDS = NODE_COLUMNS.split(", ")
#: the columns of a node row, read from table alias ``n``
NODE_SELECT = ", ".join(f"n.{c}" for c in _NODE_FIELDS)
#: an edge row with its endpoints' text ids, in the order :func:`row_edge` reads
EDGE_SELECT = (
    "e.id, e.type, a.id, b.id, e.key, e.props, e.valid_from, e.valid_to, p.source, p.source_location, "
    "p.run_id, p.ingested_at, e.recorded_at, e.retired_at"
)
#: the tables of :data:`EDGE_SELECT`: edges with both endpoint nodes and their provenance
EDGE_FROM = (
    "edges e JOIN nodes a ON a.rid = e.src JOIN nodes b ON b.rid = e.dst JOIN edge_provenance p ON p.k = e.prov"
)
#: the columns a new edge version is inserted with (``retired_at`` starts NULL)
EDGE_INSERT_COLUMNS = "id, eid, type, src, dst, key, props, valid_from, valid_to, prov, recorded_at, content_hash"
#: the condition that finds the versions of one edge id (parameters: ``edge_key(id)``, ``id``)
EDGE_BY_ID = "e.eid = ? AND e.id = ?"


def edge_key(edge_id: str) -> int:
    """The ``eid`` column of an edge id: a signed 32-bit checksum (stored in four bytes).

    >>> edge_key("DEPENDS_ON:0123") == edge_key("DEPENDS_ON:0123")
    True
    """
    return zlib.crc32(edge_id.encode()) - 2**31


def edge_keys(edges: Iterable[Edge]) -> dict[str, int]:
    """The :func:`edge_key` of each edge's id, by id."""
    crc = zlib.crc32
    return {edge_id: crc(edge_id.encode()) - 2**31 for edge_id in [e.id for e in edges]}


def check_version(conn: sqlite3.Connection, where: str) -> None:
    """Refuse a database written with another table layout, naming what to do about it."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "nodes" not in tables:
        return
    found = None
    if "meta" in tables:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        found = None if row is None else row[0]
    if found != str(SCHEMA_VERSION):
        raise StoreError(
            f"the graph database {where} has schema version {found or 'unknown'}, this version of Vidya "
            f"reads version {SCHEMA_VERSION}: move or delete the file (with its -wal and -shm files) "
            "and ingest the sources again"
        )



#: recently encoded times: a batch repeats a few ingestion and validity times many times over
_TS_CACHE: dict[datetime, str] = {}


def ts(value: datetime | None) -> str | None:
    """Encode a time as fixed-width UTC text."""
    if value is None:
        return None
    text = _TS_CACHE.get(value)
    if text is None:
        if len(_TS_CACHE) >= 4096:
            _TS_CACHE.clear()
        text = _TS_CACHE[value] = value.astimezone(UTC).isoformat(timespec="microseconds")
    return text


def parse_ts(value: str | None) -> datetime | None:
    return _time(value)


_DUMP = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def dump_props(props: dict[str, Any]) -> str:
    return _DUMP(props) if props else "{}"


def ids_param(ids: Any) -> str:
    """A list parameter for ``IN (SELECT value FROM json_each(?))``."""
    return json.dumps(sorted(set(ids)) if not isinstance(ids, list) else ids, ensure_ascii=False)


def node_row(node: Node, recorded_at: str | None) -> tuple[Any, ...]:
    p = node.provenance
    return (
        node.id, node.label.value, node.name, dump_props(node.props), ts(node.at), ts(node.valid_from),
        ts(node.valid_to), int(node.placeholder), p.source, p.location, p.run_id, ts(p.ingested_at),
        recorded_at, None, node.content_hash,
    )


def placeholder_row(
    node_id: str, label: NodeLabel, prov: Provenance, recorded_at: str | None, content_hash: str
) -> tuple[Any, ...]:
    """What :func:`node_row` gives for a stand-in (:func:`graph.planner.placeholder_node`), without building the node."""
    return (
        node_id, label.value, None, "{}", None, None, None, 1, prov.source, prov.location, prov.run_id,
        ts(prov.ingested_at), recorded_at, None, content_hash,
    )


def edge_rows(
    inserts: Iterable[tuple[Edge, datetime | None, datetime | None]],
    rids: dict[str, int],
    eids: dict[str, int],
    prov_key: Callable[[Provenance], int],
    recorded_at: str | None,
) -> list[tuple[Any, ...]]:
    """The insert rows of edge versions, ``(edge, valid_from, valid_to)`` each.

    ``rids`` maps endpoint ids to rids, ``eids`` edge ids to :func:`edge_key` and ``prov_key`` a provenance record to its
    ``edge_provenance`` key; a batch shares a few provenance records between thousands of
    edges, so each is looked up once. The stored hash is of what the caller asserted, not of
    the interval the planner stored: the planner compares it with the next assertion, so
    re-sending the same record is a no-op.
    """
    keys: dict[int, int] = {}
    types = _TYPE_TEXT
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for edge, valid_from, valid_to in inserts:
        p = edge.provenance
        key = keys.get(id(p))
        if key is None:  # the edges hold the record, so its id() is not reused while this runs
            key = keys[id(p)] = prov_key(p)
        props, edge_id = edge.props, edge.id
        append((
            edge_id, eids[edge_id], types[edge.type], rids[edge.src], rids[edge.dst], edge.key,
            _DUMP(props) if props else "{}",
            None if valid_from is None else ts(valid_from), None if valid_to is None else ts(valid_to),
            key, recorded_at, edge.content_hash,
        ))
    return rows


_LABELS = {str(label): label for label in NodeLabel}
_TYPES = {str(type_): type_ for type_ in RelType}
#: the stored text of each type (a plain ``str``: binding an enum member costs an adapter lookup)
_TYPE_TEXT: dict[RelType, str] = {type_: str(type_) for type_ in RelType}
# Decoded values shared between rows: the rows of one read repeat a few times and sources
# (datetimes and provenance records are immutable, so sharing them is safe).
#: decoded times by stored text (a loop that decodes many rows may look them up itself, then call :func:`time_of`)
TIMES: dict[str, datetime] = {}
#: decoded provenance records by (source, run_id, location, ingested_at) columns (likewise, then
#: :func:`provenance_by_columns`)
PROVENANCES: dict[tuple[str, str, str | None, str], Provenance] = {}
_CACHE_SIZE = 8192
#: the JSON scanner itself: props columns hold one JSON object written by :func:`dump_props`
scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def scan_props(text: str) -> Any:
    """The properties a stored JSON object holds."""
    return {} if text == "{}" else scan_json(text, 0)[0]


def time_of(text: str) -> datetime:
    """The time a stored fixed-width text holds (shared with other rows that hold the same text)."""
    value = TIMES.get(text)
    if value is None:
        if len(TIMES) >= _CACHE_SIZE:
            TIMES.clear()
        value = TIMES[text] = datetime.fromisoformat(text)
    return value


def _time(text: str | None) -> datetime | None:
    return None if text is None else time_of(text)


def provenance_by_columns(source: str, run_id: str, location: str | None, ingested_at: str) -> Provenance:
    """The :class:`Provenance` of a stored record's columns, shared with earlier rows that named the same record."""
    key = (source, run_id, location, ingested_at)
    prov = PROVENANCES.get(key)
    if prov is None:
        if len(PROVENANCES) >= _CACHE_SIZE:
            PROVENANCES.clear()
        prov = PROVENANCES[key] = trusted_provenance(source, run_id, location, time_of(ingested_at))
    return prov


def row_node(row: tuple[Any, ...]) -> Node:
    """Decode a row of :data:`NODE_COLUMNS` (validated when it was written)."""
    (id_, label, name, props, at, valid_from, valid_to, placeholder, source, location, run_id,
     ingested_at, recorded_at, retired_at, content_hash) = row
    return trusted_node(
        id_, _LABELS[label], provenance_by_columns(source, run_id, location, ingested_at), name,
        scan_props(props), _time(at), _time(valid_from), _time(valid_to),
        bool(placeholder), _time(recorded_at), _time(retired_at), content_hash,
    )


def row_edge(row: tuple[Any, ...]) -> Edge:
    """Decode a row of :data:`EDGE_SELECT` (validated when it was written)."""
    (id_, type_, src, dst, key, props, valid_from, valid_to, source, location, run_id, ingested_at,
     recorded_at, retired_at) = row[:14]
    return trusted_edge(
        id_, _TYPES[type_], src, dst, provenance_by_columns(source, run_id, location, ingested_at),
        scan_props(props), key, _time(valid_from), _time(valid_to),
        _time(recorded_at), _time(retired_at),
    )


def visible(alias: str, as_of: datetime | None) -> tuple[str, dict[str, str | None]]:
    """The SQL condition (and its named parameters) for a record visible now or at ``as_of``.

    ``alias`` is one of a fixed set of table aliases chosen by the code, never input.
    """
    if alias not in {"n", "e", "a", "b"}:
        raise ValueError(f"unknown alias {alias}")
    if as_of is None:
        cond = f"{alias}.retired_at IS NULL AND ({alias}.valid_to IS NULL OR {alias}.valid_to > :now)"
        return cond, {}
    # an event node exists from its ``at`` on: a timeline as of T has nothing that happened after T
    start = f"{alias}.valid_from" if alias == "e" else f"COALESCE({alias}.valid_from, {alias}.at)"
    cond = f"({start} IS NULL OR {start} <= :as_of) AND ({alias}.valid_to IS NULL OR {alias}.valid_to > :as_of)"
    return cond, {"as_of": ts(as_of)}
