"""Naive root-cause baselines, computed from the same graph the agent reads.

Each takes the store, the paging service and the detection time and returns
ranked guesses (graph node ids: a change, or an entity for a dependency
failure). Changes are read from ``LOOKBACK`` before detection up to detection,
production (or unknown environment) only:

``latest_anywhere``
    every change in the estate, the most recent first;
``latest_on_alerting``
    changes on the paging service itself, the most recent first;
``latest_in_dependencies``
    changes on the paging service and everything it depends on (``DEPENDS_ON``
    up to 3 hops), the most recent first;
``alerting_dependencies_first``
    the dependencies (up to 3 hops) that alerted in the 30 minutes before
    detection, the deepest first: the latest change on each, else the
    dependency itself (a dependency failure); then the rest as
    ``latest_in_dependencies``::

    >>> guesses = BASELINES["latest_anywhere"](store, "service:default/checkout", detected_at)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from graph.schema import NodeLabel, RelType
from graph.store import GraphStore, TimelineEvent

CHANGE_LABELS = (NodeLabel.DEPLOYMENT, NodeLabel.CONFIG_CHANGE, NodeLabel.FLAG_CHANGE, NodeLabel.MIGRATION)
LOOKBACK = timedelta(hours=6)
ALERT_WINDOW = timedelta(minutes=30)
DEPTH = 3
#: the window's end is exclusive: a change at detection still counts
_END = timedelta(seconds=1)
_PRODUCTION = frozenset({"production", "prod", "prd", "live"})
MAX_GUESSES = 10

Baseline = Callable[[GraphStore, str, datetime], list[str]]


def _production(store: GraphStore, events: list[TimelineEvent]) -> list[TimelineEvent]:
    ids = [e.node.id for e in events]
    envs: dict[str, str] = {}
    for edge in store.incident_edges(ids, "out", (RelType.IN_ENVIRONMENT,)) if ids else []:
        envs.setdefault(edge.src, edge.dst.partition(":")[2])
    return [e for e in events if envs.get(e.node.id, "production") in _PRODUCTION]


def _latest(store: GraphStore, at: datetime, services: list[str] | None) -> list[str]:
    events = store.events(CHANGE_LABELS, at - LOOKBACK, at + _END, services, limit=100_000)
    events = _production(store, [e for e in events if e.node.at is not None and e.node.at <= at])
    events.sort(key=lambda e: (e.node.at, e.node.id), reverse=True)
    return [e.node.id for e in events[:MAX_GUESSES]]


def _dependencies(store: GraphStore, service: str, at: datetime) -> dict[str, int]:
    hops = store.neighbours(service, direction="out", types=(RelType.DEPENDS_ON,), depth=DEPTH, as_of=at)
    return {h.node.id: h.depth for h in hops}


def latest_anywhere(store: GraphStore, service: str, at: datetime) -> list[str]:
    return _latest(store, at, None)


def latest_on_alerting(store: GraphStore, service: str, at: datetime) -> list[str]:
    return _latest(store, at, [service])


def latest_in_dependencies(store: GraphStore, service: str, at: datetime) -> list[str]:
    return _latest(store, at, sorted({service, *_dependencies(store, service, at)}))


def alerting_dependencies_first(store: GraphStore, service: str, at: datetime) -> list[str]:
    deps = _dependencies(store, service, at)
    alerts = store.events((NodeLabel.ALERT,), at - ALERT_WINDOW, at + _END, sorted(deps), limit=10_000)
    alerting = sorted({s for e in alerts for s in e.services if s in deps}, key=lambda s: (-deps[s], s))
    guesses: list[str] = []
    for entity in alerting:
        changes = _latest(store, at, [entity])
        guesses.append(changes[0] if changes else entity)
    rest = [g for g in latest_in_dependencies(store, service, at) if g not in guesses]
    return (guesses + rest)[:MAX_GUESSES]


BASELINES: dict[str, Baseline] = {
    "latest_anywhere": latest_anywhere,
    "latest_on_alerting": latest_on_alerting,
    "latest_in_dependencies": latest_in_dependencies,
    "alerting_dependencies_first": alerting_dependencies_first,
}
