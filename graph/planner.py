"""Write planning shared by every backend.

A backend reads the current state of the records a batch touches, asks the
planner what to do, and applies the plan with a few bulk statements. Keeping
the decisions here means both backends version, supersede and skip exactly
alike:

* a node is inserted, replaced (props, name, times, provenance) or left alone
  when it asserts the same content from the same source; a placeholder never
  overwrites a real node;
* an edge whose content changed gets a new version; the old one is retired
  with its validity closed, so it stays answerable for ``as_of`` queries;
* a new edge of a *functional* type closes its current siblings (same source
  node and type) at its ``valid_from``; an older edge arriving late is stored
  as history, ending where its successor began.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple, TypeVar

from graph.model import Edge, Node, Provenance, WriteStats
from graph.schema import RELS, label_of

CHUNK = 2000
T = TypeVar("T")
#: relationship types with at most one current edge per source node
FUNCTIONAL = frozenset(type_ for type_, spec in RELS.items() if spec.functional)


@dataclass(frozen=True, slots=True)
class NodeState:
    id: str
    content_hash: str
    source: str
    placeholder: bool
    retired: bool


@dataclass(slots=True)
class EdgeState:
    """The current (non-retired) version of an edge, as stored."""

    id: str
    src: str
    type: str
    content_hash: str
    source: str
    valid_from: datetime | None
    valid_to: datetime | None


@dataclass(slots=True)
class NodePlan:
    inserts: list[Node] = field(default_factory=list)
    updates: list[Node] = field(default_factory=list)
    unchanged: int = 0

    def stats(self) -> WriteStats:
        return WriteStats(created=len(self.inserts), updated=len(self.updates), unchanged=self.unchanged)


class EdgeInsert(NamedTuple):
    """A new edge version and the validity interval to store it with."""

    edge: Edge
    valid_from: datetime | None
    valid_to: datetime | None


_new_tuple = tuple.__new__


@dataclass(slots=True)
class EdgePlan:
    inserts: list[EdgeInsert] = field(default_factory=list)
    #: (edge id, valid_to): retire the current version, closing its validity
    retires: list[tuple[str, datetime]] = field(default_factory=list)
    #: (edge id, valid_to): end a current version's validity (superseded), keep it current
    closes: list[tuple[str, datetime]] = field(default_factory=list)
    #: same content, new source: move the provenance
    reprovenance: list[Edge] = field(default_factory=list)
    unchanged: int = 0

    def stats(self) -> WriteStats:
        replaced = len(self.retires)
        return WriteStats(
            created=len(self.inserts) - replaced,
            updated=replaced + len(self.reprovenance) + len(self.closes),
            unchanged=self.unchanged,
        )


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Split a stream of records into lists of at most ``size``."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def last_wins(records: Iterable[Node | Edge]) -> list:  # type: ignore[type-arg]
    """Drop earlier duplicates of an id (the last record of an id in a batch wins)."""
    out = {r.id: r for r in records}
    return list(out.values())


def plan_nodes(nodes: list[Node], existing: dict[str, NodeState]) -> NodePlan:
    plan = NodePlan()
    for node in nodes:
        state = existing.get(node.id)
        if state is None:
            plan.inserts.append(node)
        elif node.placeholder or (
            not state.retired
            and not state.placeholder
            and state.content_hash == node.content_hash
            and state.source == node.provenance.source
        ):
            plan.unchanged += 1
        else:
            plan.updates.append(node)
    return plan


def placeholder_node(node_id: str, provenance: Provenance) -> Node:
    """A stand-in for a node known only because something points at it."""
    return Node(id=node_id, label=label_of(node_id), provenance=provenance, placeholder=True)


def placeholders(edges: Iterable[Edge], skip: Collection[str] = frozenset()) -> list[Node]:
    """Stand-in nodes for every endpoint not in ``skip``, with the provenance of the edge that named it."""
    out: dict[str, Node] = {}
    for edge in edges:
        for end in (edge.src, edge.dst):
            if end not in out and end not in skip:
                out[end] = placeholder_node(end, edge.provenance)
    return list(out.values())


def functional_groups(edges: Iterable[Edge]) -> set[tuple[str, str]]:
    """(source node, type) pairs of the functional edges in a batch."""
    return {(e.src, str(e.type)) for e in edges if e.type in FUNCTIONAL}


def sibling_probes(edges: Iterable[Edge]) -> list[tuple[str, str, datetime]] | None:
    """Where the functional edges of a batch start: distinct (source node, type, start), in order.

    A new edge starting at ``t`` closes only the stored siblings in force at
    ``t`` and ends, if it is late, where the first sibling after ``t`` starts:
    reading those per probe gives the planner every sibling it can act on, so
    a write reads a few versions per edge however long a group's history is.
    ``None`` when one is undated: an undated edge starts now only if its group
    has any current sibling at all, so such a batch reads its groups whole.
    """
    probes: dict[tuple[str, str, datetime], None] = {}
    for e in edges:
        if e.type in FUNCTIONAL:
            if e.valid_from is None:
                return None
            probes[(e.src, str(e.type), e.valid_from)] = None
    return list(probes)


def plan_edges(
    edges: list[Edge],
    current: dict[str, EdgeState],
    history: set[str],
    siblings: list[EdgeState],
    now: datetime,
) -> EdgePlan:
    """Plan an edge batch.

    ``current`` holds the current versions of the batch's edge ids, ``history``
    the ids that have any stored version, ``siblings`` the current versions of
    edges in the batch's functional groups.
    """
    plan = EdgePlan()
    # edge id -> [edge, valid_from, valid_to] of each new version (the list becomes its EdgeInsert)
    inserted: dict[str, list[Any]] = {}
    for edge in edges:
        edge_id = edge.id
        state = current.get(edge_id) if current else None
        if state is not None and state.content_hash == edge.content_hash:
            if state.source == edge.provenance.source:
                plan.unchanged += 1
            else:
                plan.reprovenance.append(edge)
            continue
        valid_from = edge.valid_from
        if state is not None:
            plan.retires.append((edge_id, state.valid_to or valid_from or now))
            valid_from = valid_from or now
        elif valid_from is None and history and edge_id in history:
            valid_from = now
        inserted[edge_id] = [edge, valid_from, edge.valid_to]
    _supersede(inserted, siblings, plan, now)
    # tuple.__new__ skips the keyword parsing of the named tuple's own constructor (same record)
    plan.inserts = [_new_tuple(EdgeInsert, slot) for slot in inserted.values()]
    return plan


@dataclass(slots=True)
class _Slot:
    id: str
    valid_from: datetime | None
    valid_to: datetime | None
    new: bool
    closed: bool = False


def _supersede(inserted: dict[str, list[Any]], siblings: list[EdgeState], plan: EdgePlan, now: datetime) -> None:
    """Apply functional-type supersession to the new versions (``[edge, valid_from, valid_to]`` by id) and their siblings."""
    # in insertion order: the batch order of the edges to insert
    new_ids = [i for i, slot in inserted.items() if slot[0].type in FUNCTIONAL]
    if not new_ids:  # siblings are only ever closed by a new functional edge
        return
    replaced = {edge_id for edge_id, _ in plan.retires}
    groups: dict[tuple[str, str], list[_Slot]] = defaultdict(list)
    for sib in siblings:
        if sib.id not in replaced and sib.id not in inserted:
            groups[(sib.src, sib.type)].append(_Slot(sib.id, sib.valid_from, sib.valid_to, new=False))
    new_ids.sort(key=lambda i: (inserted[i][1] is not None, inserted[i][1] or now))
    for edge_id in new_ids:
        edge = inserted[edge_id][0]
        slot = _Slot(edge_id, inserted[edge_id][1], inserted[edge_id][2], new=True)
        group = groups[(edge.src, str(edge.type))]
        if slot.valid_from is None and group:
            # an undated successor starts now, or it would overlap its predecessor in as_of reads
            slot.valid_from = now
        for other in group:
            if slot.valid_from is not None and other.valid_from is not None and other.valid_from > slot.valid_from:
                slot.valid_to = other.valid_from if slot.valid_to is None else min(slot.valid_to, other.valid_from)
                continue
            close_at = slot.valid_from or now
            if other.valid_to is None or other.valid_to > close_at:
                other.valid_to = close_at
                other.closed = True
        group.append(slot)
    for group in groups.values():
        for slot in group:
            if slot.new:
                inserted[slot.id][1:] = [slot.valid_from, slot.valid_to]
            elif slot.closed and slot.valid_to is not None:
                plan.closes.append((slot.id, slot.valid_to))
