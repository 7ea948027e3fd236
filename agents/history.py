"""What the graph remembers from before the anomaly: past incidents with their causes, and change counts.

Only facts from before detection are read: incidents that started at least
``config.history_margin`` earlier (so the incident being diagnosed never
explains itself), their ``CAUSED_BY`` links, and how many changes of each kind
each candidate entity had in ``config.history``. From these the scoring model
learns how often a kind of change on an entity caused incidents, and which
past incidents resemble this one. When feedback memory records confirmed
causes as ``CAUSED_BY`` edges, they are learned from the same way.

    history = load_history(store, detected_at, config)
    load_change_record(store, history, ["service:default/payments"], detected_at, config)
    history.caused(CandidateKind.DEPLOY, "service:default/payments")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from agents.config import DiagnosisConfig
from agents.records import CHANGE_KINDS, CandidateKind
from graph.model import Node
from graph.schema import NodeLabel, RelType, label_of
from graph.store import GraphStore

_ENTITY_CAUSES = {NodeLabel.SERVICE, NodeLabel.RESOURCE, NodeLabel.API, NodeLabel.SYSTEM}
MAX_INCIDENTS = 5000


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

    def changes_before(self, kind: CandidateKind, entity: str, when: datetime) -> int:
        """How many changes of ``kind`` on ``entity`` the history holds before ``when``."""
        return sum(1 for t in self.change_times.get((kind, entity), ()) if t < when)

    def caused(self, kind: CandidateKind, entity: str) -> int:
        return sum(1 for i in self.incidents if i.cause_kind is kind and i.cause_entity == entity)

    def previous_deploy(self, entity: str, deploy: Node) -> Node | None:
        env = deploy.props.get("environment")
        earlier = [
            d for d in self.deploys.get(entity, ())
            if d.at is not None and deploy.at is not None and d.at < deploy.at and d.props.get("environment") == env
        ]
        return earlier[-1] if earlier else None


def _cause_kind(cause_id: str) -> CandidateKind | None:
    label = label_of(cause_id)
    if label in CHANGE_KINDS:
        return CHANGE_KINDS[label]
    if label in _ENTITY_CAUSES:
        return CandidateKind.DEPENDENCY_FAILURE
    if label is NodeLabel.ALERT:
        return CandidateKind.TRAFFIC_SPIKE
    return None


def _past_incidents(
    store: GraphStore, detected_at: datetime, config: DiagnosisConfig, exclude: Collection[str]
) -> list[PastIncident]:
    events = store.events(
        (NodeLabel.INCIDENT,), detected_at - config.history, detected_at - config.history_margin, limit=MAX_INCIDENTS
    )
    events = [e for e in events if e.node.id not in exclude]
    if not events:
        return []
    causes = [e for e in store.incident_edges([e.node.id for e in events], "out", (RelType.CAUSED_BY,))
              if e.dst not in exclude]
    cause_ids = sorted({e.dst for e in causes})
    targets: dict[str, str] = {}
    for edge in store.incident_edges(cause_ids, "out", (RelType.TARGETS, RelType.AFFECTS)):
        targets.setdefault(edge.src, edge.dst)
    by_incident = {e.node.id: e for e in events}
    out: list[PastIncident] = []
    for edge in causes:
        kind = _cause_kind(edge.dst)
        incident = by_incident.get(edge.src)
        if kind is None or incident is None or incident.node.at is None:
            continue
        entity = edge.dst if kind is CandidateKind.DEPENDENCY_FAILURE else targets.get(edge.dst)
        out.append(PastIncident(edge.src, incident.node.at, frozenset(incident.services), edge.dst, kind, entity))
    return sorted(out, key=lambda i: (i.at, i.id))


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
    changes = store.events(tuple(CHANGE_KINDS), detected_at - config.history, detected_at, sorted(wanted),
                           limit=100_000)
    for event in changes:
        kind = CHANGE_KINDS[event.node.label]
        for entity in event.services:
            if entity in wanted and event.node.at is not None:
                history.change_times[(kind, entity)].append(event.node.at)
                if kind is CandidateKind.DEPLOY:
                    history.deploys[entity].append(event.node)
