"""Typed records that cross layers: provenance, nodes, edges and query results.

Records are validated when they are built, so a bad value fails at the edge
with the field named, never deep inside a backend::

    >>> prov = Provenance(source="catalog/checkout.yaml", run_id="run-1")
    >>> Node(id="service:default/checkout", label=NodeLabel.SERVICE, name="checkout",
    ...      props={"tier": 1}, provenance=prov).name
    'checkout'

Property values are flat (strings, numbers, booleans or homogeneous lists of
them) because that is what every backend and RDF can store faithfully.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, make_dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal, TypeVar, cast

from graph.errors import RecordError
from graph.model_plain import INT64, all_utc, plain_id_label, plain_props
from graph.model_plain import Props as Props
from graph.model_plain import PropValue as PropValue
from graph.model_plain import Scalar as Scalar
from graph.schema import (
    RELS,
    NodeLabel,
    RelType,
    check_edge,
    check_node_id,
    is_unicode_text,
)

Direction = Literal["out", "in", "both"]

_SHARED_FIELDS = {
    "id", "valid_from", "valid_to", "source", "source_location", "run_id", "ingested_at", "recorded_at",
    "retired_at", "content_hash",
}
#: field names the stores keep beside a node's properties; a property may not take them
NODE_RESERVED = frozenset(_SHARED_FIELDS | {"label", "name", "at", "placeholder"})
#: field names the stores keep beside an edge's properties
EDGE_RESERVED = frozenset(_SHARED_FIELDS | {"key"})


def utc(value: datetime, what: str = "time") -> datetime:
    """Return ``value`` in UTC; a naive datetime is refused (its zone is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise RecordError(f"{what}: {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _check_scalar(value: object, where: str, prop: str | None = None) -> None:
    """Raise unless ``value`` is a storable scalar; ``prop`` names the property it is the value of."""
    kind = type(value)
    if kind is str:  # the common cases first, without building the message
        text = cast(str, value)
        if text.isascii() or is_unicode_text(text):
            return
    elif kind is bool:
        return
    elif kind is int:
        if INT64[0] <= cast(int, value) <= INT64[1]:
            return
    elif kind is float and math.isfinite(cast(float, value)):
        return
    _refuse_scalar(value, where if prop is None else f"{where}.props[{prop!r}]")


def _refuse_scalar(value: object, where: str) -> None:
    if isinstance(value, str):
        if not is_unicode_text(value):
            raise RecordError(f"{where}: contains characters that are not valid Unicode text")
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise RecordError(f"{where}: integer {value} does not fit in 64 bits")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordError(f"{where}: {value} is not a finite number")
        return
    raise RecordError(f"{where}: expected a string, number or boolean, got {type(value).__name__}")


def clean_props(props: Mapping[str, object], where: str, reserved: frozenset[str]) -> Props:
    """Validate and normalise properties: None values are dropped, lists kept homogeneous."""
    out: Props = {}
    for key, value in props.items():
        if not isinstance(key, str) or not key:
            raise RecordError(f"{where}: property names must be non-empty strings")
        if key in reserved:
            raise RecordError(f"{where}.props[{key!r}]: {key!r} is reserved for the store")
        if value is None:
            continue
        if isinstance(value, list | tuple):
            for item in value:
                _check_scalar(item, where, key)
            if len({type(item) for item in value}) > 1:
                raise RecordError(f"{where}.props[{key!r}]: list items must all have the same type")
            out[key] = list(value)
        else:
            _check_scalar(value, where, key)
            out[key] = value  # type: ignore[assignment]
    return out


def _times_to_utc(record: object, names: tuple[str, ...], where: str) -> None:
    """Normalise a record's optional time fields to UTC (naive times are refused)."""
    for name in names:
        value = getattr(record, name)
        if value is not None and value.tzinfo is not UTC:
            object.__setattr__(record, name, utc(value, f"{where}.{name}"))


_NODE_TIMES = ("at", "valid_from", "valid_to", "recorded_at", "retired_at")
_EDGE_TIMES = ("valid_from", "valid_to", "recorded_at", "retired_at")


# built once: ``json.dumps`` with options builds a new encoder on every call (same output)
_ENCODE = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":")).encode


#: a string as the encoder above writes it (``ensure_ascii=False``), quotes included
_JSON_STRING: Callable[[str], str] = json.encoder.encode_basestring


def _digest(*parts: object) -> str:
    return hashlib.sha256(_ENCODE(parts).encode()).hexdigest()[:32]


#: most edges (a deploy's target, environment, artifact) carry no props and no validity
_BARE_EDGE_HASH = _digest({}, None, None)


def _text(value: datetime | None) -> str | None:
    """A time as the encoder's ``default=str`` writes it, made beforehand (the same digest, found faster)."""
    return None if value is None else str(value)


def _edge_hash(props: Props, valid_from: datetime | None, valid_to: datetime | None) -> str:
    if not props and valid_from is None and valid_to is None:
        return _BARE_EDGE_HASH
    return _digest(props, _text(valid_from), _text(valid_to))


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a fact came from: the source, the place in it, the run and the time."""

    source: str
    run_id: str
    location: str | None = None
    ingested_at: datetime = field(default_factory=now_utc)

    def __post_init__(self) -> None:
        source, run_id, location = self.source, self.run_id, self.location
        if (
            source.__class__ is str and source.isascii() and source
            and run_id.__class__ is str and run_id.isascii() and run_id
            and (location is None or (location.__class__ is str and location.isascii()))
            and self.ingested_at.tzinfo is UTC
        ):
            return
        if not self.source:
            raise RecordError("provenance.source: must not be empty")
        if not self.run_id:
            raise RecordError("provenance.run_id: must not be empty")
        for name in ("source", "run_id", "location"):
            value = getattr(self, name)
            if value is not None and not is_unicode_text(value):
                raise RecordError(f"provenance.{name}: contains characters that are not valid Unicode text")
        if self.ingested_at.tzinfo is not UTC:
            object.__setattr__(self, "ingested_at", utc(self.ingested_at, "provenance.ingested_at"))


@dataclass(frozen=True, slots=True)
class Node:
    """A graph node. ``at`` is the event time for event labels.

    ``valid_from``/``valid_to`` bound when the entity existed in the world;
    ``recorded_at``/``retired_at`` are set by the store (when Vidya learned of it,
    and when it stopped believing it). A *placeholder* is a node known only
    because an edge points at it; it is filled in when the real record arrives.
    """

    id: str
    label: NodeLabel
    provenance: Provenance
    name: str | None = None
    props: Props = field(default_factory=dict)
    at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    placeholder: bool = False
    recorded_at: datetime | None = None
    retired_at: datetime | None = None
    # computed once: the planners and backends ask for it many times per write
    _hash: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        name = self.name
        props = plain_props(self.props, NODE_RESERVED)
        if (
            props is None
            or plain_id_label(self.id) is not self.label
            or (name is not None and (name.__class__ is not str or not name.isascii()))
            or not all_utc(self.at, self.valid_from, self.valid_to, self.recorded_at, self.retired_at)
        ):  # something to refuse, convert or look at closely: the full checks decide and name it
            check_node_id(self.id, self.label)
            where = f"node {self.id[:80]!r}"
            if name is not None:
                _check_scalar(name, f"{where}.name")
            props = clean_props(self.props, where, NODE_RESERVED)
            _times_to_utc(self, _NODE_TIMES, where)
        object.__setattr__(self, "props", props)
        object.__setattr__(self, "_hash", self._digest())

    def _digest(self) -> str:
        return _digest(
            self.label, self.name, self.props, _text(self.at), _text(self.valid_from), _text(self.valid_to),
            self.placeholder,
        )

    @property
    def content_hash(self) -> str:
        """A digest of what the node asserts (not of when or by whom)."""
        if not self._hash:  # a record read back from a store computes it when first asked
            object.__setattr__(self, "_hash", self._digest())
        return self._hash


def edge_id(type_: RelType, src: str, dst: str, key: str = "") -> str:
    """The stable id of an edge, from its type, endpoints and optional key: ``TYPE:digest``."""
    if src.__class__ is str and dst.__class__ is str and key.__class__ is str:  # what _digest would encode, built directly
        text = "[" + ",".join(map(_JSON_STRING, (str(type_), src, dst, key))) + "]"
        return f"{type_}:" + hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{type_}:" + _digest(str(type_), src, dst, key)


def edge_type_of(id_: str) -> RelType:
    """The relationship type an edge id names."""
    try:
        return RelType(id_.partition(":")[0])
    except ValueError:
        raise RecordError(f"edge id {id_[:80]!r}: expected '<TYPE>:<digest>'") from None


@dataclass(frozen=True, slots=True)
class Edge:
    """A directed, typed relationship. Edges are versioned in time.

    ``key`` tells apart several edges of one type between the same two nodes
    (for instance one ``RUNS`` edge per deploy). A changed edge is stored as a
    new version; the old version is retired and keeps its validity interval.
    """

    type: RelType
    src: str
    dst: str
    provenance: Provenance
    props: Props = field(default_factory=dict)
    key: str = ""
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    recorded_at: datetime | None = None
    retired_at: datetime | None = None
    # computed once: the planners and backends ask for them many times per write
    _id: str = field(init=False, repr=False, compare=False, default="")
    _hash: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        key, spec = self.key, RELS.get(self.type)
        props = plain_props(self.props, EDGE_RESERVED) if self.props else {}
        if (
            props is None
            or spec is None
            or plain_id_label(self.src) not in spec.sources
            or plain_id_label(self.dst) not in spec.targets
            or key.__class__ is not str
            or not key.isascii()
            or not all_utc(self.valid_from, self.valid_to, self.recorded_at, self.retired_at)
        ):  # something to refuse, convert or look at closely: the full checks decide and name it
            check_edge(self.type, self.src, self.dst)
            where = f"{self.type} edge {self.src[:60]!r}->{self.dst[:60]!r}"
            _check_scalar(key, f"{where}.key")
            props = clean_props(self.props, where, EDGE_RESERVED)
            _times_to_utc(self, _EDGE_TIMES, where)
        object.__setattr__(self, "props", props)
        object.__setattr__(self, "_id", edge_id(self.type, self.src, self.dst, self.key))
        object.__setattr__(self, "_hash", _edge_hash(self.props, self.valid_from, self.valid_to))

    @property
    def id(self) -> str:
        return self._id

    @property
    def content_hash(self) -> str:
        if not self._hash:  # a record read back from a store computes it when first asked
            object.__setattr__(self, "_hash", _edge_hash(self.props, self.valid_from, self.valid_to))
        return self._hash

    def other(self, node: str) -> str:
        return self.dst if node == self.src else self.src


# Records read back from a store were validated when they were written: these build them
# without validating again (the hash is computed only if asked for). Stores only.
_new = object.__new__


def mutable_twin(cls: type) -> Any:
    """A mutable class with the slot layout of the frozen slotted ``cls``, for building trusted records fast.

    A record is filled in as an instance of the twin (plain attribute stores are
    the cheapest way to set slots; the constructor takes every slot in order) and
    then becomes ``cls`` by assigning ``__class__``, which Python allows because
    the layouts are identical. Only for values that were validated before::

        >>> hop = mutable_twin(Hop)(None, 2)
        >>> hop.__class__ = Hop
        >>> hop.depth
        2
    """
    names = cls.__dict__["__slots__"]
    return make_dataclass(f"_Mutable{cls.__name__}", [(name, Any) for name in names], slots=True, eq=False)


_PROVENANCE_TWIN = mutable_twin(Provenance)
_NODE_TWIN = mutable_twin(Node)
_EDGE_TWIN = mutable_twin(Edge)
_TWINS: dict[type, Any] = {Provenance: _PROVENANCE_TWIN, Node: _NODE_TWIN, Edge: _EDGE_TWIN}
_SLOT_VALUES: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    cls: attrgetter(*cls.__dict__["__slots__"]) for cls in _TWINS
}
_Record = TypeVar("_Record", Provenance, Node, Edge)


def slot_values(record: Provenance | Node | Edge) -> tuple[Any, ...]:
    """The record's slot values in ``__slots__`` order: what :func:`records_from_slots` takes back."""
    return _SLOT_VALUES[type(record)](record)


def records_from_slots(cls: type[_Record], rows: Iterable[tuple[Any, ...]]) -> list[_Record]:
    """Records of ``cls`` from :func:`slot_values` tuples, not validated or hashed again.

    Only for records that were validated when they were first built and have
    merely been copied since (sent from another process, say)::

        >>> prov = Provenance(source="catalog/checkout.yaml", run_id="run-1")
        >>> records_from_slots(Provenance, [slot_values(prov)]) == [prov]
        True
    """
    twin, out = _TWINS[cls], []
    for row in rows:
        record = twin(*row)
        record.__class__ = cls
        out.append(record)
    return out


def trusted_provenance(source: str, run_id: str, location: str | None, ingested_at: datetime) -> Provenance:
    """A :class:`Provenance` from a store's own row, not validated again."""
    prov = _new(_PROVENANCE_TWIN)
    prov.source = source
    prov.run_id = run_id
    prov.location = location
    prov.ingested_at = ingested_at
    prov.__class__ = Provenance
    return prov  # type: ignore[no-any-return]


def trusted_node(
    id_: str,
    label: NodeLabel,
    provenance: Provenance,
    name: str | None,
    props: Props,
    at: datetime | None,
    valid_from: datetime | None,
    valid_to: datetime | None,
    placeholder: bool,
    recorded_at: datetime | None,
    retired_at: datetime | None,
    content_hash: str = "",
) -> Node:
    """A :class:`Node` from a store's own row (UTC times, clean props), not validated again."""
    node = _new(_NODE_TWIN)
    node.id = id_
    node.label = label
    node.provenance = provenance
    node.name = name
    node.props = props
    node.at = at
    node.valid_from = valid_from
    node.valid_to = valid_to
    node.placeholder = placeholder
    node.recorded_at = recorded_at
    node.retired_at = retired_at
    node._hash = content_hash
    node.__class__ = Node
    return node  # type: ignore[no-any-return]


def trusted_edge(
    id_: str,
    type_: RelType,
    src: str,
    dst: str,
    provenance: Provenance,
    props: Props,
    key: str,
    valid_from: datetime | None,
    valid_to: datetime | None,
    recorded_at: datetime | None,
    retired_at: datetime | None,
) -> Edge:
    """An :class:`Edge` from a store's own row (its stored id, UTC times), not validated again."""
    edge = _new(_EDGE_TWIN)
    edge.type = type_
    edge.src = src
    edge.dst = dst
    edge.provenance = provenance
    edge.props = props
    edge.key = key
    edge.valid_from = valid_from
    edge.valid_to = valid_to
    edge.recorded_at = recorded_at
    edge.retired_at = retired_at
    edge._id = id_
    edge._hash = ""
    edge.__class__ = Edge
    return edge  # type: ignore[no-any-return]


def without_system_time(record: Node | Edge) -> Node | Edge:
    """The record as a caller wrote it, with the store's bookkeeping cleared."""
    return replace(record, recorded_at=None, retired_at=None)


@dataclass(frozen=True, slots=True)
class Hop:
    """A node reached by a traversal, at its shortest distance from the start."""

    node: Node
    depth: int


@dataclass(frozen=True, slots=True)
class Subgraph:
    nodes: list[Node]
    edges: list[Edge]


@dataclass(frozen=True, slots=True)
class Path:
    """A simple path: ``nodes[i]`` and ``nodes[i+1]`` are joined by ``edges[i]``."""

    nodes: list[str]
    edges: list[Edge]

    @property
    def length(self) -> int:
        return len(self.edges)


@dataclass(frozen=True, slots=True)
class Counts:
    nodes: dict[str, int]
    relationships: dict[str, int]

    def as_json(self) -> dict[str, dict[str, int]]:
        return {"nodes": dict(sorted(self.nodes.items())), "relationships": dict(sorted(self.relationships.items()))}


@dataclass(slots=True)
class WriteStats:
    """What a write did: records created, changed, left alone, retired."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    deleted: int = 0

    def add(self, other: WriteStats) -> WriteStats:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.retired += other.retired
        self.deleted += other.deleted
        return self
