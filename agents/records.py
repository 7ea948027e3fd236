"""Typed records of a diagnosis: the anomaly, the timeline, candidates with their evidence, the result.

They cross from ``agents`` to the API and CLI; :meth:`Diagnosis.as_json` is the
JSON shape ``vidya diagnose --json`` prints::

    {"diagnosis_id": "diagnosis:…", "anomaly": {…}, "window": {…},
     "candidates": [{"rank": 1, "kind": "deploy", "service": "payments",
                     "source_event_id": "a99fb1ab-…", "confidence": 0.82,
                     "evidence": {…}, "explanation": "…"}, …]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from graph.model import utc
from graph.schema import NodeLabel, label_of, node_id


class CandidateKind(StrEnum):
    DEPLOY = "deploy"
    CONFIG = "config"
    FLAG = "flag"
    MIGRATION = "migration"
    DEPENDENCY_FAILURE = "dependency_failure"
    TRAFFIC_SPIKE = "traffic_spike"
    UNKNOWN = "unknown"


#: the candidate kind of each change label
CHANGE_KINDS: dict[NodeLabel, CandidateKind] = {
    NodeLabel.DEPLOYMENT: CandidateKind.DEPLOY,
    NodeLabel.CONFIG_CHANGE: CandidateKind.CONFIG,
    NodeLabel.FLAG_CHANGE: CandidateKind.FLAG,
    NodeLabel.MIGRATION: CandidateKind.MIGRATION,
}

Direction = Literal["self", "downstream", "upstream"]
#: how an alert bears on a candidate: on its own entity, on the path to the symptom, below it, on a caller
AlertRole = Literal["cause", "path", "deeper", "caller"]


def short_name(entity_id: str) -> str:
    """``service:default/payments`` -> ``payments``."""
    return entity_id.partition(":")[2].rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A symptom: an entity (service or resource id), when it was detected, and what was seen.

    ``alert_id`` is set when an Alertmanager alert raised it (``alert:<fingerprint>``).
    """

    service: str
    at: datetime
    signal: str | None = None
    alert_id: str | None = None
    environment: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", utc(self.at, "anomaly.at"))
        label_of(self.service)  # a well-formed id, or SchemaError naming it

    @property
    def node_id(self) -> str:
        """``anomaly:<fingerprint>@<time>`` for an alert, else ``anomaly:<entity>@<time>``."""
        when = self.at.strftime("%Y-%m-%dT%H:%M:%SZ")
        key = self.alert_id.partition(":")[2] if self.alert_id else self.service.partition(":")[2]
        return node_id(NodeLabel.ANOMALY, f"{key}@{when}")

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.node_id, "service": short_name(self.service), "entity_id": self.service,
            "at": self.at.isoformat(), "signal": self.signal, "alert_id": self.alert_id,
            "environment": self.environment,
        }


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of the timeline: a change, an alert or an incident on the neighbourhood."""

    at: datetime
    node_id: str
    label: NodeLabel
    name: str
    entities: tuple[str, ...]
    #: hops from the anomalous entity: 0 itself, >0 a dependency, <0 a caller
    distance: int | None = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(), "id": self.node_id, "label": str(self.label), "name": self.name,
            "entities": list(self.entities), "distance": self.distance, "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class PathStep:
    """One ``DEPENDS_ON`` edge of an evidence path, as stored (``src -[type]-> dst``)."""

    src: str
    type: str
    dst: str
    valid_from: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        since = self.valid_from.isoformat() if self.valid_from else None
        return {"src": self.src, "type": self.type, "dst": self.dst, "valid_from": since}


@dataclass(frozen=True, slots=True)
class AlertEvidence:
    """An alert that bears on a candidate; ``role`` says how."""

    alert_id: str
    name: str
    entity: str
    at: datetime
    severity: str | None
    role: AlertRole
    in_order: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.alert_id, "name": self.name, "entity": self.entity, "at": self.at.isoformat(),
            "severity": self.severity, "role": self.role, "in_order": self.in_order,
        }


@dataclass(frozen=True, slots=True)
class SimilarIncident:
    """A past incident with similar symptoms whose cause resembles the candidate."""

    incident_id: str
    at: datetime
    cause_id: str
    similarity: float

    def as_json(self) -> dict[str, Any]:
        return {"id": self.incident_id, "at": self.at.isoformat(), "cause": self.cause_id,
                "similarity": round(self.similarity, 3)}


@dataclass(frozen=True, slots=True)
class Factor:
    """One feature of the scoring model: its value and the likelihood ratio it contributes."""

    name: str
    value: float | str
    lr: float
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        value = round(self.value, 4) if isinstance(self.value, float) else self.value
        return {"name": self.name, "value": value, "lr": round(self.lr, 4), "note": self.note}


@dataclass(slots=True)
class Evidence:
    """Why a candidate is suspected: its path to the symptom, the alerts, similar past incidents."""

    direction: Direction | None = None
    distance: int | None = None
    #: entities from the candidate's entity to the anomalous one
    path_nodes: list[str] = field(default_factory=list)
    path: list[PathStep] = field(default_factory=list)
    cause_at: datetime | None = None
    first_symptom_at: datetime | None = None
    detected_at: datetime | None = None
    alerts: list[AlertEvidence] = field(default_factory=list)
    similar_incidents: list[SimilarIncident] = field(default_factory=list)
    factors: list[Factor] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "direction": self.direction, "distance": self.distance, "path_nodes": self.path_nodes,
            "path": [s.as_json() for s in self.path], "cause_at": iso(self.cause_at),
            "first_symptom_at": iso(self.first_symptom_at), "detected_at": iso(self.detected_at),
            "alerts": [a.as_json() for a in self.alerts],
            "similar_incidents": [s.as_json() for s in self.similar_incidents],
            "factors": [f.as_json() for f in self.factors],
        }


@dataclass(slots=True)
class Candidate:
    """A candidate cause. ``node_id`` is what it names in the graph (a change, an entity, an alert)."""

    kind: CandidateKind
    node_id: str | None
    entity: str | None
    name: str
    at: datetime | None = None
    evidence: Evidence = field(default_factory=Evidence)
    score: float = 0.0
    confidence: float = 0.0
    rank: int = 0
    explanation: str = ""

    @property
    def source_event_id(self) -> str | None:
        """The id in its source: a change's CDEvents ``context.id``, an alert's fingerprint, else ``None``."""
        if self.node_id is None or self.kind is CandidateKind.DEPENDENCY_FAILURE:
            return self.dependency_alert_fingerprint()
        return self.node_id.partition(":")[2]

    def dependency_alert_fingerprint(self) -> str | None:
        own = [a for a in self.evidence.alerts if a.role == "cause"]
        return own[0].alert_id.partition(":")[2] if own else None

    def as_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "kind": str(self.kind),
            "service": short_name(self.entity) if self.entity else None,
            "source_event_id": self.source_event_id, "confidence": round(self.confidence, 4),
            "evidence": self.evidence.as_json(), "explanation": self.explanation,
            "node_id": self.node_id, "entity_id": self.entity, "name": self.name,
            "at": self.at.isoformat() if self.at else None,
        }


@dataclass(slots=True)
class Diagnosis:
    """The ranked candidates for one anomaly (confidences and ``unknown`` sum to 1)."""

    id: str
    anomaly: Anomaly
    created_at: datetime
    window_start: datetime
    window_end: datetime
    widened: bool
    candidates: list[Candidate]
    timeline: list[TimelineEntry]
    config_name: str
    run_id: str
    elapsed_ms: float = 0.0

    @property
    def top(self) -> Candidate:
        return self.candidates[0]

    def as_json(self) -> dict[str, Any]:
        minutes = (self.anomaly.at - self.window_start).total_seconds() / 60
        return {
            "diagnosis_id": self.id,
            "anomaly": self.anomaly.as_json(),
            "created_at": self.created_at.isoformat(),
            "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat(),
                       "minutes_before": round(minutes, 1), "widened": self.widened},
            "candidates": [c.as_json() for c in self.candidates],
            "timeline": [e.as_json() for e in self.timeline],
            "config": self.config_name, "run_id": self.run_id, "elapsed_ms": round(self.elapsed_ms, 1),
        }
