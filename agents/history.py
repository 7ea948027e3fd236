"""What the graph remembers from before the anomaly: past incidents with their causes, and change counts.

Only facts from before detection are read: incidents that started at least
``config.history_margin`` earlier (so the incident being diagnosed never
explains itself), their ``CAUSED_BY`` links, and how many changes of each kind
each candidate entity had in ``config.history``, and how often each alert fired
on each candidate entity with no incident after it (its base rate). From these the scoring model
learns how often a kind of change on an entity caused incidents, and which
past incidents resemble this one. Anomalies whose cause was confirmed by
feedback memory (:func:`agents.memory.record_outcome` writes their ``CAUSED_BY``
edges) are learned from the same way; one that only repeats an incident already
known (same cause within ``config.history_margin``) is counted once.

    history = load_history(store, detected_at, config)
    load_change_record(store, history, ["service:default/payments"], detected_at, config)
    load_alert_record(store, history, ["resource:default/payments-db"], window_start, config)
    history.caused(CandidateKind.DEPLOY, "service:default/payments")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agents.config import DiagnosisConfig
from agents.reads import linked_events
from agents.records import CHANGE_KINDS, CandidateKind
from graph.model import Node
from graph.schema import EVENT_LINKS, NodeLabel, RelType, label_of
from graph.store import GraphStore

_ENTITY_CAUSES = {NodeLabel.SERVICE, NodeLabel.RESOURCE, NodeLabel.API, NodeLabel.SYSTEM}
#: past cases with a known cause: ingested incidents, and anomalies whose cause feedback memory confirmed
_CASE_LABELS = (NodeLabel.INCIDENT, NodeLabel.ANOMALY)
MAX_INCIDENTS = 5000
#: a past case's cause, and the entities it affected
_CASE_LINKS = (RelType.CAUSED_BY, *sorted(EVENT_LINKS))


@dataclass(frozen=True, slots=True)
class PastIncident:
    id: str
    at: datetime
    affected: frozenset[str]
    cause_id: str
    cause_kind: CandidateKind
    cause_entity: str | None


@dataclass
class History:
    incidents: list[PastIncident] = field(default_factory=list)
    #: when each kind of change happened on each entity before detection, oldest first
    change_times: dict[tuple[CandidateKind, str], list[datetime]] = field(default_factory=lambda: defaultdict(list))
    #: deploys per entity, oldest first (to find the version a deploy replaced)
    deploys: dict[str, list[Node]] = field(default_factory=lambda: defaultdict(list))
    #: entities whose change record has been read
    counted: set[str] = field(default_factory=set)
    #: earlier firings of each alert (by rule name) on each entity that no incident followed
    alert_times: dict[tuple[str, str], list[datetime]] = field(default_factory=lambda: defaultdict(list))
    #: entities whose alert record has been read, and the span it covers
    alerts_counted: set[str] = field(default_factory=set)
    alert_span: timedelta = timedelta(days=90)

    def changes_before(self, kind: CandidateKind, entity: str, when: datetime) -> int:
        """How many changes of ``kind`` on ``entity`` the history holds before ``when``."""
        return sum(1 for t in self.change_times.get((kind, entity), ()) if t < when)

    def alert_firings(self, name: str, entity: str) -> int:
        """How often the alert ``name`` fired on ``entity`` in the history with no incident after it."""
        return len(self.alert_times.get((name, entity), ()))

    def caused(self, kind: CandidateKind, entity: str) -> int:
        return sum(1 for i in self.incidents if i.cause_kind is kind and i.cause_entity == entity)

    def previous_deploy(self, entity: str, deploy: Node) -> Node | None:
        env = deploy.props.get("environment")
        earlier = [
            d for d in self.deploys.get(entity, ())
            if d.at is not None and deploy.at is not None and d.at < deploy.at and d.props.get("environment") == env
        ]
        return earlier[-1] if earlier else None


def cause_kind(cause_id: str) -> CandidateKind | None:
    """The candidate kind a ``CAUSED_BY`` target stands for, or ``None`` for an unusable target."""
    label = label_of(cause_id)
    if label in CHANGE_KINDS:
        return CHANGE_KINDS[label]
    if label in _ENTITY_CAUSES:
        return CandidateKind.DEPENDENCY_FAILURE
    if label is NodeLabel.ALERT:
        return CandidateKind.TRAFFIC_SPIKE
    return None


def _cases(store: GraphStore, start: datetime, end: datetime, exclude: Collection[str]) -> list[Node]:
    """Current past cases with ``start <= at < end``, by (at, id), at most ``MAX_INCIDENTS`` of each label.

    One read per label, so frequent diagnosed anomalies cannot crowd incidents out of the limit (both
    stores index events by kind and time: the read visits the cases, not the period's other events).
    """
    found = [e.node for label in _CASE_LABELS for e in store.events((label,), start, end, limit=MAX_INCIDENTS)]
    return [n for n in found if n.id not in exclude]


def _past_incidents(
    store: GraphStore, detected_at: datetime, config: DiagnosisConfig, exclude: Collection[str]
) -> list[PastIncident]:
    cases = _cases(store, detected_at - config.history, detected_at - config.history_margin, exclude)
    if not cases:
        return []
    links = store.incident_edges([n.id for n in cases], "out", _CASE_LINKS)
    affected: dict[str, set[str]] = defaultdict(set)
    for edge in links:
        if edge.type in EVENT_LINKS:
            affected[edge.src].add(edge.dst)
    causes = [e for e in links if e.type is RelType.CAUSED_BY and e.dst not in exclude]
    targets = cause_targets(store, {e.dst for e in causes})
    by_case = {n.id: n for n in cases}
    out: list[PastIncident] = []
    for edge in causes:
        kind = cause_kind(edge.dst)
        case = by_case.get(edge.src)
        if kind is None or case is None or case.at is None:
            continue
        entity = edge.dst if kind is CandidateKind.DEPENDENCY_FAILURE else targets.get(edge.dst)
        out.append(PastIncident(edge.src, case.at, frozenset(affected[edge.src]), edge.dst, kind, entity))
    return sorted(_without_repeats(out, config.history_margin), key=lambda i: (i.at, i.id))


def cause_targets(store: GraphStore, cause_ids: Collection[str]) -> dict[str, str]:
    """The entity each cause acted on: a change's ``TARGETS``, a traffic alert's ``AFFECTS`` (first by id)."""
    targets: dict[str, str] = {}
    for edge in store.incident_edges(sorted(set(cause_ids)), "out", (RelType.TARGETS, RelType.AFFECTS)):
        targets.setdefault(edge.src, edge.dst)
    return targets


def _without_repeats(cases: list[PastIncident], margin: timedelta) -> list[PastIncident]:
    """Drop a confirmed anomaly whose cause an incident within ``margin`` already names (the same event)."""
    incidents = [c for c in cases if label_of(c.id) is NodeLabel.INCIDENT]
    return [
        c for c in cases
        if label_of(c.id) is NodeLabel.INCIDENT
        or not any(i.cause_id == c.cause_id and abs(i.at - c.at) <= margin for i in incidents)
    ]


def load_history(
    store: GraphStore, detected_at: datetime, config: DiagnosisConfig, *, exclude: Collection[str] = ()
) -> History:
    """Past incidents with their causes, from before ``detected_at``; change records are added on demand."""
    return History(incidents=_past_incidents(store, detected_at, config, exclude))


def load_change_record(
    store: GraphStore, history: History, entities: Collection[str], detected_at: datetime, config: DiagnosisConfig
) -> None:
    """Count the changes of each kind on ``entities`` in ``config.history`` (entities already counted are skipped)."""
    wanted = set(entities) - history.counted
    if not wanted:
        return
    history.counted |= wanted
    for node, entity in linked_events(store, wanted, RelType.TARGETS, CHANGE_KINDS, detected_at - config.history, detected_at):
        assert node.at is not None
        kind = CHANGE_KINDS[node.label]
        history.change_times[(kind, entity)].append(node.at)
        if kind is CandidateKind.DEPLOY:
            history.deploys[entity].append(node)


def load_alert_record(
    store: GraphStore, history: History, entities: Collection[str], since: datetime, config: DiagnosisConfig
) -> None:
    """When each alert fired on ``entities`` in ``config.history`` before ``since`` (the window's start).

    Firings within ``config.history_margin`` before a past incident that affected the entity, or was caused by
    it, are left out: those were signal, not noise. Entities already read are skipped.
    """
    wanted = set(entities) - history.alerts_counted
    if not wanted:
        return
    history.alerts_counted |= wanted
    history.alert_span = config.history
    incidents = [(i.at, i.affected | {i.cause_entity}) for i in history.incidents]
    margin = config.history_margin
    for node, entity in linked_events(store, wanted, RelType.AFFECTS, (NodeLabel.ALERT,), since - config.history, since):
        at = node.at
        assert at is not None
        if any(entity in affected and timedelta(0) <= when - at <= margin for when, affected in incidents):
            continue
        history.alert_times[(alert_name(node), entity)].append(at)


def alert_name(node: Node) -> str:
    """An alert's rule name (``alertname``), which its firings share; the node name otherwise."""
    name = node.props.get("label:alertname")
    return name if isinstance(name, str) and name else node.name or node.id
