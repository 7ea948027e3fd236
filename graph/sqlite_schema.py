"""Tables, indexes and row codecs of the SQLite backend.

Times are stored as fixed-width ISO-8601 UTC text (microseconds, ``+00:00``),
so text order is time order and every time comparison can use an index.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from graph.model import Edge, Node, Provenance
from graph.schema import NodeLabel, RelType

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
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
    type TEXT NOT NULL,
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    key TEXT NOT NULL,
    props TEXT NOT NULL,
    valid_from TEXT,
    valid_to TEXT,
    source TEXT NOT NULL,
    source_location TEXT,
    run_id TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    retired_at TEXT,
    content_hash TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS edges_current ON edges(id) WHERE retired_at IS NULL;
CREATE INDEX IF NOT EXISTS edges_history ON edges(id, seq);
CREATE INDEX IF NOT EXISTS edges_src ON edges(src, type);
CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst, type);
CREATE INDEX IF NOT EXISTS edges_source ON edges(source);
"""

NODE_COLUMNS = (
    "id, label, name, props, at, valid_from, valid_to, placeholder, source, source_location, "
    "run_id, ingested_at, recorded_at, retired_at, content_hash"
)
EDGE_COLUMNS = (
    "id, type, src, dst, key, props, valid_from, valid_to, source, source_location, "
    "run_id, ingested_at, recorded_at, retired_at, content_hash"
)


def ts(value: datetime | None) -> str | None:
    """Encode a time as fixed-width UTC text."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def dump_props(props: dict[str, Any]) -> str:
    return json.dumps(props, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def ids_param(ids: Any) -> str:
    """A list parameter for ``IN (SELECT value FROM json_each(?))``."""
    return json.dumps(sorted(set(ids)) if not isinstance(ids, list) else ids, ensure_ascii=False)


def node_row(node: Node, recorded_at: datetime) -> tuple[Any, ...]:
    p = node.provenance
    return (
        node.id, str(node.label), node.name, dump_props(node.props), ts(node.at), ts(node.valid_from),
        ts(node.valid_to), int(node.placeholder), p.source, p.location, p.run_id, ts(p.ingested_at),
        ts(recorded_at), None, node.content_hash,
    )


def edge_row(edge: Edge, recorded_at: datetime, valid_from: datetime | None, valid_to: datetime | None) -> tuple[Any, ...]:
    p = edge.provenance
    return (
        edge.id, str(edge.type), edge.src, edge.dst, edge.key, dump_props(edge.props), ts(valid_from),
        ts(valid_to), p.source, p.location, p.run_id, ts(p.ingested_at), ts(recorded_at), None,
        # the hash of what the caller asserted, not of the interval the planner stored: the
        # planner compares it with the next assertion, so re-sending the same record is a no-op
        edge.content_hash,
    )


def _provenance(row: sqlite3.Row) -> Provenance:
    return Provenance(
        source=row["source"], run_id=row["run_id"], location=row["source_location"],
        ingested_at=datetime.fromisoformat(row["ingested_at"]),
    )


def row_node(row: sqlite3.Row) -> Node:
    return Node(
        id=row["id"], label=NodeLabel(row["label"]), provenance=_provenance(row), name=row["name"],
        props=json.loads(row["props"]), at=parse_ts(row["at"]), valid_from=parse_ts(row["valid_from"]),
        valid_to=parse_ts(row["valid_to"]), placeholder=bool(row["placeholder"]),
        recorded_at=parse_ts(row["recorded_at"]), retired_at=parse_ts(row["retired_at"]),
    )


def row_edge(row: sqlite3.Row) -> Edge:
    return Edge(
        type=RelType(row["type"]), src=row["src"], dst=row["dst"], provenance=_provenance(row),
        props=json.loads(row["props"]), key=row["key"], valid_from=parse_ts(row["valid_from"]),
        valid_to=parse_ts(row["valid_to"]), recorded_at=parse_ts(row["recorded_at"]),
        retired_at=parse_ts(row["retired_at"]),
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
