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

from graph.model import EDGE_RESERVED, NODE_RESERVED, Edge, Node, Provenance, utc
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
def node_props(node: Node, recorded_at: datetime | None) -> dict[str, Any]:
    """The stored properties of a node (``recorded_at`` None leaves the stored one alone)."""
    p = node.provenance
    core: dict[str, Any] = {
        "id": node.id, "label": str(node.label), "name": node.name, "at": opt_micros(node.at),
        "valid_from": opt_micros(node.valid_from), "valid_to": opt_micros(node.valid_to),
        "placeholder": node.placeholder, "source": p.source, "source_location": p.location, "run_id": p.run_id,
        "ingested_at": to_micros(p.ingested_at), "recorded_at": opt_micros(recorded_at),
        "content_hash": node.content_hash,
    }
    return {**node.props, **{k: v for k, v in core.items() if v is not None}}


def edge_props(edge: Edge, recorded_at: int, valid_from: datetime | None, valid_to: datetime | None) -> dict[str, Any]:
    """The stored properties of one version of an edge."""
    p = edge.provenance
    core: dict[str, Any] = {
        "id": edge.id, "key": edge.key or None, "valid_from": opt_micros(valid_from), "valid_to": opt_micros(valid_to),
        "source": p.source, "source_location": p.location, "run_id": p.run_id,
        "ingested_at": to_micros(p.ingested_at), "recorded_at": recorded_at, "content_hash": edge.content_hash,
    }
    return {**edge.props, **{k: v for k, v in core.items() if v is not None}}


# --- reads -----------------------------------------------------------------------
class Decoder:
    """Turns stored property maps into records; one per query, sharing provenance objects."""

    def __init__(self) -> None:
        self._provenance: dict[tuple[Any, ...], Provenance] = {}

    def provenance(self, p: dict[str, Any]) -> Provenance:
        key = (p["source"], p["run_id"], p.get("source_location"), p.get("ingested_at"))
        found = self._provenance.get(key)
        if found is None:
            found = self._provenance[key] = Provenance(
                source=key[0], run_id=key[1], location=key[2], ingested_at=from_micros(key[3]) or _EPOCH
            )
        return found

    def node(self, p: dict[str, Any]) -> Node:
        """A node from its stored properties."""
        props = {k: v for k, v in p.items() if k not in NODE_RESERVED}
        placeholder = bool(p.get("placeholder", False))
        fields: dict[str, Any] = {
            "id": p["id"], "label": _LABELS[p["label"]], "provenance": self.provenance(p), "name": p.get("name"),
            "props": props, "at": from_micros(p.get("at")), "valid_from": from_micros(p.get("valid_from")),
            "valid_to": from_micros(p.get("valid_to")), "placeholder": placeholder,
            "recorded_at": from_micros(p.get("recorded_at")), "retired_at": from_micros(p.get("retired_at")),
        }
        stored_hash = p.get("content_hash")
        if placeholder or fields["retired_at"] is not None or not isinstance(stored_hash, str):
            # retiring closes valid_to and reviving a placeholder clears it, without
            # rewriting the stored hash: let the record compute its own
            return Node(**fields)
        return _trusted(Node, fields, _hash=stored_hash)

    def edge(self, type_: str, src: str, dst: str, p: dict[str, Any]) -> Edge:
        """One version of an edge from its type, endpoints and stored properties."""
        return Edge(
            type=_TYPES[type_], src=src, dst=dst, provenance=self.provenance(p),
            props={k: v for k, v in p.items() if k not in EDGE_RESERVED}, key=p.get("key", ""),
            valid_from=from_micros(p.get("valid_from")), valid_to=from_micros(p.get("valid_to")),
            recorded_at=from_micros(p.get("recorded_at")), retired_at=from_micros(p.get("retired_at")),
        )


def _trusted(cls: type[Node], fields: dict[str, Any], **computed: Any) -> Node:
    """Build a frozen record from stored values without re-validating them."""
    record = object.__new__(cls)
    for name, value in (fields | computed).items():
        object.__setattr__(record, name, value)
    return record
