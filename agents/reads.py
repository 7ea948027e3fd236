"""Graph reads of a diagnosis: each entity's own events, and event windows that grow without re-reading.

The change or alert records of several entities are read together, through
the store's ``linked_events``: the events whose ``link`` edges (``TARGETS`` for
changes, ``AFFECTS`` for alerts) point at them as the graph stood at the
period's end, whatever the number of entities (SQLite reads the edges, then the
events; Neo4j answers in one statement). Events after the period are left out by the store (an event exists from its
``at`` on), not read and dropped, and each event node is read once::

    changes = linked_events(store, ["service:default/payments"], RelType.TARGETS, CHANGE_KINDS, start, end)
    [(node.id, entity) for node, entity in changes]     # by (at, id, entity)

A diagnosis that widens its window asks again for the events of the same
neighbourhood up to the same end, from an earlier start. :class:`EventMemo`
answers it by reading only the stretch the window gained::

    memo = EventMemo()
    memo.events(store, [NodeLabel.ALERT], at - timedelta(minutes=30), end)  # one read
    memo.events(store, [NodeLabel.ALERT], at - timedelta(hours=1), end)     # reads the earlier 30 minutes only
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from graph.model import Node
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore, TimelineEvent


def linked_events(
    store: GraphStore,
    entities: Collection[str],
    link: RelType,
    labels: Collection[NodeLabel],
    start: datetime,
    end: datetime,
) -> list[tuple[Node, str]]:
    """Current events of ``labels`` linked by ``link`` to ``entities`` with ``start <= at < end``, with the entity.

    One :meth:`GraphStore.linked_events` read for all the entities (two reads on SQLite, one
    statement on Neo4j). Retired events and placeholders are left out; a pair is listed once,
    by (at, id, entity).
    """
    wanted = set(entities)
    if not wanted:
        return []
    return [
        (node, entity)
        for node, reached in store.linked_events(wanted, link, labels, start, end)
        for entity in reached
        if entity in wanted
    ]


@dataclass
class _Window:
    """The events of one query over ``[start, end)``, ``start`` only ever moving back."""

    end: datetime
    start: datetime | None = None
    events: list[TimelineEvent] = field(default_factory=list)

    def read(
        self, store: GraphStore, kinds: Collection[NodeLabel], services: Collection[str] | None, start: datetime,
        limit: int,
    ) -> list[TimelineEvent]:
        if self.start is None or start < self.start:
            stop = self.end if self.start is None else self.start
            # everything read before is at or after ``stop``: the new stretch goes first, (at, id) order holds
            self.events = store.events(kinds, start, stop, services, limit=limit) + self.events
            self.start = start
        return [e for e in self.events if e.node.at is not None and e.node.at >= start][:limit]


_Key = tuple[tuple[NodeLabel, ...], tuple[str, ...] | None, datetime]


@dataclass
class EventMemo:
    """The event reads of one diagnosis: a window that widens reads only what it gained.

    Answers :meth:`GraphStore.events` calls with the same kinds, services and end as an
    earlier call exactly as the store would (same events, same order, same limit).
    """

    _windows: dict[_Key, _Window] = field(default_factory=dict)
    _environments: dict[str, str | None] = field(default_factory=dict)

    def events(
        self,
        store: GraphStore,
        kinds: Collection[NodeLabel],
        start: datetime,
        end: datetime,
        services: Collection[str] | None = None,
        *,
        limit: int = 10000,
    ) -> list[TimelineEvent]:
        key = (tuple(sorted(kinds)), None if services is None else tuple(sorted(set(services))), end)
        window = self._windows.setdefault(key, _Window(end))
        return window.read(store, key[0], key[1], start, limit)

    def environments(self, store: GraphStore, ids: Iterable[str]) -> dict[str, str]:
        """The environment each node is ``IN_ENVIRONMENT`` of (its first by edge id); nodes without one are left out."""
        wanted = sorted(set(ids) - self._environments.keys())
        if wanted:
            self._environments.update(dict.fromkeys(wanted))
            for edge in store.incident_edges(wanted, "out", (RelType.IN_ENVIRONMENT,)):
                if self._environments.get(edge.src) is None:
                    self._environments[edge.src] = edge.dst.partition(":")[2]
        return {i: env for i in ids if (env := self._environments.get(i)) is not None}
