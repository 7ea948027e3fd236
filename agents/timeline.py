"""The event timeline around an anomaly: changes, alerts and incidents on its neighbourhood in a window.

Three store reads per window: changes and incidents linked (``TARGETS`` /
``AFFECTS``) to the neighbourhood, every alert in the window (alerts on
entities outside the neighbourhood still help triangulate a silent
dependency through its other callers), and the environment of each change.
They go through the topology's :class:`agents.reads.EventMemo`: a widened
window reads only the stretch it adds, and each change's environment once::

    timeline = load_timeline(store, topo, start, end, detected_at=at, config=config)
    [e.name for e in timeline.entries]
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agents.config import DiagnosisConfig
from agents.records import CHANGE_KINDS, CandidateKind, TimelineEntry
from agents.topology import Topology
from graph.model import Node
from graph.schema import NodeLabel
from graph.store import GraphStore, TimelineEvent

CHANGE_LABELS = tuple(CHANGE_KINDS)
MAX_EVENTS = 10_000
#: names that all mean the production environment
PRODUCTION_NAMES = frozenset({"production", "prod", "prd", "live"})


def _canonical(environment: str) -> str:
    name = environment.strip().lower()
    return "production" if name in PRODUCTION_NAMES else name


def same_environment(change: str | None, wanted: str | None) -> bool:
    """Whether a change in ``change`` can affect ``wanted`` (either unknown: yes; prod and production are one)."""
    return change is None or wanted is None or _canonical(change) == _canonical(wanted)


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    node: Node
    kind: CandidateKind
    #: the changed entity (the one nearest the anomaly when a change targets several)
    entity: str
    environment: str | None

    @property
    def at(self) -> datetime:
        assert self.node.at is not None
        return self.node.at


@dataclass(frozen=True, slots=True)
class AlertEvent:
    node: Node
    entity: str
    severity: str | None
    traffic: bool

    @property
    def at(self) -> datetime:
        assert self.node.at is not None
        return self.node.at

    @property
    def name(self) -> str:
        return self.node.name or self.node.id

    @property
    def ends_at(self) -> datetime | None:
        """When the alert resolved (Alertmanager's ``endsAt`` of its resolved notification), if it did."""
        value = self.node.props.get("ends_at")
        if not isinstance(value, str) or not value:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def firing_at(self, when: datetime) -> bool:
        """Whether the alert had fired and not resolved at ``when``, as known then."""
        ends = self.ends_at
        return self.at <= when and (ends is None or ends > when)


@dataclass
class Timeline:
    start: datetime
    end: datetime
    detected_at: datetime
    changes: list[ChangeEvent] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    incidents: list[TimelineEvent] = field(default_factory=list)
    #: every alert of the window by entity, inside the neighbourhood or not
    alerts_by_entity: dict[str, list[AlertEvent]] = field(default_factory=lambda: defaultdict(list))
    entries: list[TimelineEntry] = field(default_factory=list)

    def alerts_on(self, entity: str, since: datetime, until: datetime) -> list[AlertEvent]:
        return [a for a in self.alerts_by_entity.get(entity, ()) if since <= a.at <= until]

    def first_alert(self, entity: str, since: datetime, until: datetime) -> AlertEvent | None:
        found = self.alerts_on(entity, since, until)
        return min(found, key=lambda a: (a.at, a.node.id)) if found else None

    def changes_on(self, entity: str, until: datetime) -> list[ChangeEvent]:
        return [c for c in self.changes if c.entity == entity and c.at <= until]


def _nearest(entities: Collection[str], topo: Topology) -> str | None:
    scored = [(abs(d), e) for e in entities if (d := topo.signed_distance(e)) is not None]
    return min(scored)[1] if scored else None


def _changes(store: GraphStore, topo: Topology, events: list[TimelineEvent]) -> list[ChangeEvent]:
    envs = topo.memo.environments(store, [e.node.id for e in events]) if events else {}
    out: list[ChangeEvent] = []
    for event in events:
        entity = _nearest(event.services, topo)
        if entity is not None:
            env = envs.get(event.node.id) or _str(event.node.props.get("environment"))
            out.append(ChangeEvent(event.node, CHANGE_KINDS[event.node.label], entity, env))
    return out


def load_earlier_changes(
    store: GraphStore, topo: Topology, entities: Collection[str], start: datetime, end: datetime,
    exclude: Collection[str] = (),
) -> list[ChangeEvent]:
    """Changes on ``entities`` with ``start <= at < end``: what a failing dependency changed before the window."""
    events = store.events(CHANGE_LABELS, start, end, sorted(entities), limit=MAX_EVENTS)
    return _changes(store, topo, [e for e in events if e.node.id not in exclude])


def add_entries(timeline: Timeline, topo: Topology, changes: list[ChangeEvent], note: str) -> None:
    """Add changes found outside the window to the timeline's entries (in time order)."""
    known = {e.node_id for e in timeline.entries}
    extra = [_entry(c.node, (c.entity,), topo, note) for c in changes if c.node.id not in known]
    timeline.entries = sorted([*timeline.entries, *extra], key=lambda e: (e.at, e.node_id))


def _change_note(change: ChangeEvent, detected_at: datetime, config: DiagnosisConfig) -> str:
    if change.at > detected_at:
        return "after detection"
    if not same_environment(change.environment, config.environment):
        return f"in {change.environment}, not {config.environment}"
    return ""


def load_timeline(
    store: GraphStore,
    topo: Topology,
    start: datetime,
    end: datetime,
    *,
    detected_at: datetime,
    config: DiagnosisConfig,
    exclude: Collection[str] = (),
) -> Timeline:
    """Changes, alerts and incidents on ``topo`` with ``start <= at < end``; ids in ``exclude`` are left out."""
    members = topo.members()
    timeline = Timeline(start=start, end=end, detected_at=detected_at)
    linked = topo.memo.events(store, (*CHANGE_LABELS, NodeLabel.INCIDENT), start, end, members, limit=MAX_EVENTS)
    linked = [e for e in linked if e.node.id not in exclude]
    timeline.changes = _changes(store, topo, [e for e in linked if e.node.label in CHANGE_KINDS])
    timeline.incidents = [e for e in linked if e.node.label is NodeLabel.INCIDENT]
    traffic = re.compile(config.traffic_alert_pattern)
    for event in topo.memo.events(store, (NodeLabel.ALERT,), start, end, limit=MAX_EVENTS):
        if event.node.id in exclude:
            continue
        name = f"{event.node.name or ''} {event.node.props.get('label:alertname', '')}"
        severity = _str(event.node.props.get("severity"))
        for entity in event.services:
            alert = AlertEvent(event.node, entity, severity, bool(traffic.search(name)))
            timeline.alerts_by_entity[entity].append(alert)
            if entity in members:
                timeline.alerts.append(alert)
    timeline.entries = _entries(timeline, topo, config)
    return timeline


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _entries(timeline: Timeline, topo: Topology, config: DiagnosisConfig) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for change in timeline.changes:
        note = _change_note(change, timeline.detected_at, config)
        entries.append(_entry(change.node, (change.entity,), topo, note or str(change.kind)))
    seen_alerts: set[str] = set()
    for alert in timeline.alerts:
        if alert.node.id not in seen_alerts:
            seen_alerts.add(alert.node.id)
            entities = tuple(sorted({a.entity for a in timeline.alerts if a.node.id == alert.node.id}))
            note = "alert" + (f" ({alert.severity})" if alert.severity else "") + (", traffic" if alert.traffic else "")
            entries.append(_entry(alert.node, entities, topo, note))
    for incident in timeline.incidents:
        entries.append(_entry(incident.node, tuple(incident.services), topo, "incident"))
    return sorted(entries, key=lambda e: (e.at, e.node_id))


def _entry(node: Node, entities: tuple[str, ...], topo: Topology, note: str) -> TimelineEntry:
    assert node.at is not None
    distance = _nearest_signed(entities, topo)
    return TimelineEntry(node.at, node.id, node.label, node.name or node.id, entities, distance, note)


def _nearest_signed(entities: Collection[str], topo: Topology) -> int | None:
    found = [d for e in entities if (d := topo.signed_distance(e)) is not None]
    return min(found, key=abs) if found else None
