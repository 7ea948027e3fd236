"""How records are laid out in Neo4j, both ways.

Times are stored as integer microseconds since the Unix epoch (UTC), not as
driver ``DateTime`` values: integers compare and index the same way, and the
driver packs and unpacks them without its pure-Python temporal conversions,
which dominated both bulk loads and reads. :data:`LAYOUT` names this layout;
:mod:`graph.neo4j_schema` migrates older databases to it.

Decoding trusts what the store wrote (it was validated on the way in), so a
read does not pay for validation again::

    >>> to_micros(from_micros(1_700_000_000_123_456))
    1700000000123456
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from graph.model import (
    EDGE_RESERVED,
    NODE_RESERVED,
    Edge,
    Node,
    Provenance,
    trusted_edge,
    trusted_node,
    trusted_provenance,
    utc,
)
from graph.model import edge_id as model_edge_id
from graph.schema import NodeLabel, RelType

#: version of the property layout this code writes and reads
LAYOUT = 2
#: properties that hold times, on nodes and relationships alike
TIME_FIELDS = ("at", "valid_from", "valid_to", "ingested_at", "recorded_at", "retired_at")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_LABELS = {str(label): label for label in NodeLabel}
_TYPES = {str(type_): type_ for type_ in RelType}


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (value - _EPOCH) // _MICRO


def opt_micros(value: datetime | None) -> int | None:
    return None if value is None else to_micros(value)


def from_micros(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (a driver ``DateTime`` from an old layout works too)."""
    if value is None:
        return None
    if type(value) is int:
        return _EPOCH + timedelta(microseconds=value)
    native = value.to_native() if hasattr(value, "to_native") else value
    return utc(native)


# --- writes ----------------------------------------------------------------------
#: the stored provenance properties of the records' provenance objects, by ``id()`` (each entry keeps
#: its object, so the id is not reused while cached): a batch's records share a few provenances
_WRITTEN: dict[int, tuple[Provenance, dict[str, Any]]] = {}
_WRITTEN_SIZE = 8192


def _provenance_props(p: Provenance) -> dict[str, Any]:
    found = _WRITTEN.get(id(p))
    if found is None or found[0] is not p:
        if len(_WRITTEN) >= _WRITTEN_SIZE:
            _WRITTEN.clear()
        props: dict[str, Any] = {"source": p.source, "run_id": p.run_id, "ingested_at": to_micros(p.ingested_at)}
        if p.location is not None:
            props["source_location"] = p.location
        found = _WRITTEN[id(p)] = (p, props)
    return found[1]


def node_props(node: Node, recorded_at: datetime | None) -> dict[str, Any]:
    """The stored properties of a node (``recorded_at`` None leaves the stored one alone); None values are left out."""
    out = {**node.props, **_provenance_props(node.provenance)}
    out["id"] = node.id
    out["label"] = str(node.label)
    if node.name is not None:
        out["name"] = node.name
    for key, value in (("at", node.at), ("valid_from", node.valid_from), ("valid_to", node.valid_to),
                       ("recorded_at", recorded_at)):
        if value is not None:
            out[key] = to_micros(value)
    out["placeholder"] = node.placeholder
    out["content_hash"] = node.content_hash
    return out


def edge_props(edge: Edge, recorded_at: int, valid_from: datetime | None, valid_to: datetime | None) -> dict[str, Any]:
    """The stored properties of one version of an edge; None values are left out."""
    out = {**edge.props, **_provenance_props(edge.provenance)}
    out["id"] = edge.id
    if edge.key:
        out["key"] = edge.key
    if valid_from is not None:
        out["valid_from"] = to_micros(valid_from)
    if valid_to is not None:
        out["valid_to"] = to_micros(valid_to)
    out["recorded_at"] = recorded_at
    out["content_hash"] = edge.content_hash
    return out


# --- reads -----------------------------------------------------------------------
#: entries each shared read cache keeps before it starts again (like SQLite's, in graph.sqlite_schema)
_CACHE_SIZE = 8192


class _Times(dict[Any, datetime | None]):
    """Stored times by stored value, shared by every read: the same instants recur across rows and
    queries (``ingested_at``, ``recorded_at`` of a batch), so each is converted once; ``None`` maps to None."""

    def __missing__(self, value: Any) -> datetime | None:
        if len(self) >= _CACHE_SIZE:
            self.clear()
            self[None] = None
        found = self[value] = from_micros(value)
        return found


class _Provenances(dict[tuple[Any, ...], Provenance]):
    """Provenance records by (source, run_id, location, ingested_at), shared by every read."""

    def __missing__(self, key: tuple[Any, ...]) -> Provenance:
        if len(self) >= _CACHE_SIZE:
            self.clear()
        found = self[key] = trusted_provenance(key[0], key[1], key[2], from_micros(key[3]) or _EPOCH)
        return found


_TIMES = _Times({None: None})
_PROVENANCES = _Provenances()


class Decoder:
    """Turns stored property maps into records (the records are immutable, so equal times and
    provenances are shared objects)."""

    def provenance(self, p: dict[str, Any]) -> Provenance:
        get = p.get
        return _PROVENANCES[p["source"], p["run_id"], get("source_location"), get("ingested_at")]

    def node(self, p: dict[str, Any]) -> Node:
        """A node from its stored properties."""
        get = p.get
        times = _TIMES
        placeholder = bool(get("placeholder", False))
        retired_at = times[get("retired_at")]
        stored_hash = get("content_hash")
        # retiring closes valid_to and reviving a placeholder clears it, without rewriting
        # the stored hash: such a record computes its own when asked
        content_hash = stored_hash if isinstance(stored_hash, str) and not placeholder and retired_at is None else ""
        return trusted_node(
            p["id"], _LABELS[p["label"]],
            _PROVENANCES[p["source"], p["run_id"], get("source_location"), get("ingested_at")], get("name"),
            {k: v for k, v in p.items() if k not in NODE_RESERVED},
            times[get("at")], times[get("valid_from")], times[get("valid_to")], placeholder,
            times[get("recorded_at")], retired_at, content_hash,
        )

    def edge(self, type_: str, src: str, dst: str, p: dict[str, Any]) -> Edge:
        """One version of an edge from its type, endpoints and stored properties."""
        get = p.get
        times = _TIMES
        rel_type = _TYPES[type_]
        key = get("key", "")
        edge_id = get("id") or model_edge_id(rel_type, src, dst, key)
        return trusted_edge(
            edge_id, rel_type, src, dst,
            _PROVENANCES[p["source"], p["run_id"], get("source_location"), get("ingested_at")],
            {k: v for k, v in p.items() if k not in EDGE_RESERVED}, key,
            times[get("valid_from")], times[get("valid_to")], times[get("recorded_at")], times[get("retired_at")],
        )
