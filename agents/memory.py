"""Feedback memory: record what was done about an anomaly and how it went, recall what worked, reflect on the policy.

    from agents.memory import load_records, recall, record_outcome, reflect

    record_outcome(store, diagnosis.id, "rollback_deploy", "resolved", target="service:default/payments",
                   time_to_resolve=timedelta(minutes=25), confirmed_cause="deploy:a99fb1ab-…",
                   actor="alice", at=now)
    found = recall(store, anomaly, cause_hint=(CandidateKind.DEPLOY, "service:default/payments"))
    print(reflect(store, Path("policy.yaml")))          # a unified diff to review, never applied

Records come from ingested history (incident notes and postmortems, already
mapped to the action vocabulary by the readers: :mod:`agents.memory_seed`) and
from :func:`record_outcome`. A confirmed cause becomes a ``CAUSED_BY`` edge from
the anomaly, which the diagnosis prior learns from (:mod:`agents.history`).
Recall is in :mod:`agents.memory_recall`, reflection in :mod:`agents.memory_reflect`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from agents.audit import AuditKind, entry_records
from agents.history import cause_kind, cause_targets
from agents.memory_recall import Recall, SimilarCase, recall
from agents.memory_records import KNOWN_ACTIONS, RESULTS, ActionStats, FeedbackRecord, action_stats, signature, wilson
from agents.memory_reflect import Proposal, proposals, reflect
from agents.memory_seed import SOURCE, load_cases, load_records
from agents.records import CandidateKind
from graph.errors import NotFound, RecordError, SchemaError
from graph.model import Edge, Node, Props, Provenance, now_utc, utc
from graph.schema import NodeLabel, RelType, check_edge, label_of, node_id
from graph.store import GraphStore

__all__ = [
    "ActionStats", "FeedbackRecord", "Proposal", "Recall", "SimilarCase", "action_stats", "load_cases",
    "load_records", "proposals", "recall", "record_outcome", "reflect", "signature", "wilson",
]
_SUBJECTS = (NodeLabel.ANOMALY, NodeLabel.INCIDENT)
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class _Subject:
    case_id: str
    diagnosis_id: str | None
    entity: str
    signal: str | None


def _subject(store: GraphStore, subject_id: str) -> _Subject:
    """The anomaly (or incident) an outcome is about, from its id or the id of a diagnosis of it."""
    try:
        label = label_of(subject_id)
    except SchemaError as exc:
        raise RecordError(f"outcome subject: {exc}") from None
    node = store.get_node(subject_id)
    if node is None or node.placeholder:
        raise NotFound(f"{subject_id}: not in the graph {store.describe()} (expected a diagnosis or anomaly id)")
    diagnosis_id = None
    if label is NodeLabel.DIAGNOSIS:
        diagnosis_id, anomaly_id = node.id, str(node.props.get("anomaly") or "")
        found = store.get_node(anomaly_id) if anomaly_id else None
        if found is None:
            raise NotFound(f"{subject_id}: the anomaly it diagnosed ({anomaly_id or 'none'}) is not in the graph")
        node = found
    elif label not in _SUBJECTS:
        raise RecordError(f"outcome subject {subject_id!r}: a {label}; expected a diagnosis, anomaly or incident id")
    affected = [e.dst for e in store.incident_edges([node.id], "out", (RelType.AFFECTS,))]
    entity = str(node.props.get("entity") or "") or (sorted(affected)[0] if affected else "")
    if not entity:
        raise NotFound(f"{node.id}: affects no service or resource in the graph")
    return _Subject(node.id, diagnosis_id, entity, str(node.props.get("signal") or "") or None)


def _check(store: GraphStore, action: str, outcome: str, target: str | None, cause: str | None) -> None:
    if action not in KNOWN_ACTIONS:
        raise RecordError(f"action {action!r}: expected one of {', '.join(KNOWN_ACTIONS)}")
    if outcome not in RESULTS:
        raise RecordError(f"outcome {outcome!r}: expected one of {', '.join(RESULTS)}")
    for what, value in (("target", target), ("confirmed cause", cause)):
        if value is not None and store.get_node(value) is None:
            raise NotFound(f"{what} {value!r}: no such node in the graph {store.describe()}")
    if cause is not None:
        try:
            check_edge(RelType.CAUSED_BY, "anomaly:x", cause)
        except SchemaError:
            label = label_of(cause)
            article = "an" if str(label)[0] in "AEIOU" else "a"
            raise RecordError(f"confirmed cause {cause!r}: {article} {label} cannot be a cause (expected a change, "
                              "a service or resource, or a traffic alert)") from None


def _records(
    subject: _Subject, action: str, outcome: str, target: str | None, ttr: timedelta | None, side_effects: str | None,
    cause: str | None, actor: str, at: datetime,
) -> tuple[list[Node], list[Edge], str]:
    key = f"{subject.case_id.partition(':')[2]}/recorded-{at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    rem, out = node_id(NodeLabel.REMEDIATION, key), node_id(NodeLabel.OUTCOME, key)
    prov = Provenance(source=SOURCE, run_id=f"outcome-{at:%Y%m%dT%H%M%SZ}", location=subject.case_id, ingested_at=at)
    rem_props: Props = {"action": action, "case": subject.case_id, "actor": actor}
    rem_props.update({k: v for k, v in (("target", target), ("diagnosis", subject.diagnosis_id)) if v})
    out_props: Props = {"result": outcome, "helped": outcome in ("resolved", "partial")}
    if ttr is not None:
        out_props["time_to_resolve_minutes"] = round(ttr.total_seconds() / 60, 2)
    if side_effects:
        out_props["side_effects"] = side_effects.strip()[:MAX_TEXT]
    nodes = [Node(rem, NodeLabel.REMEDIATION, prov, name=action, props=rem_props, at=at),
             Node(out, NodeLabel.OUTCOME, prov, name=outcome, props=out_props, at=at)]
    edges = [Edge(RelType.REMEDIATED_BY, subject.case_id, rem, prov), Edge(RelType.HAS_OUTCOME, rem, out, prov)]
    if cause is not None:
        edges.append(Edge(RelType.CAUSED_BY, subject.case_id, cause, prov, props={"confirmed_by": actor}))
    return nodes, edges, rem


def record_outcome(
    store: GraphStore, subject_id: str, action: str, outcome: str, *, target: str | None = None,
    time_to_resolve: timedelta | None = None, side_effects: str | None = None, confirmed_cause: str | None = None,
    actor: str, at: datetime | None = None, policy_version: int | None = None,
) -> FeedbackRecord:
    """Record that ``action`` was taken on the anomaly ``subject_id`` (or the one a diagnosis id names) and how it went.

    Writes ``(Anomaly)-[:REMEDIATED_BY]->(Remediation)-[:HAS_OUTCOME]->(Outcome)``, a
    ``CAUSED_BY`` edge to ``confirmed_cause`` when given (the diagnosis prior learns
    from it), and an audit entry of kind ``outcome``, all in one batch.

    Example: ``record_outcome(store, "diagnosis:…", "rollback_deploy", "resolved", actor="alice")``.
    """
    when = utc(at, "at") if at is not None else now_utc()
    if not actor.strip():
        raise RecordError("actor: expected the name of who records the outcome")
    if time_to_resolve is not None and time_to_resolve < timedelta(0):
        raise RecordError("time to resolve: expected a positive duration")
    _check(store, action, outcome, target, confirmed_cause)
    subject = _subject(store, subject_id)
    nodes, edges, rem = _records(subject, action, outcome, target, time_to_resolve, side_effects, confirmed_cause,
                                 actor.strip(), when)
    inputs = {"action": action, "target": target, "diagnosis": subject.diagnosis_id, "cause": confirmed_cause}
    outputs = {"result": outcome, "side_effects": side_effects,
               "time_to_resolve_minutes": nodes[1].props.get("time_to_resolve_minutes")}
    entry, audit_edges = entry_records(
        AuditKind.OUTCOME, [subject.case_id, rem], inputs, outputs, policy_version, actor.strip(), when,
        target=target or subject.entity, summary=f"{action} on {target or subject.entity}: {outcome}",
    )
    with store.batch() as batch:
        batch.upsert_nodes([*nodes, entry])
        batch.upsert_edges([*edges, *audit_edges])
    kind = cause_kind(confirmed_cause) if confirmed_cause else None
    cause_entity = None
    if confirmed_cause and kind is not None:
        cause_entity = (confirmed_cause if kind is CandidateKind.DEPENDENCY_FAILURE
                        else cause_targets(store, [confirmed_cause]).get(confirmed_cause))
    return FeedbackRecord(
        signature=signature(subject.signal, subject.entity), case_id=subject.case_id, action=action, outcome=outcome,
        source="recorded", at=when, diagnosis_id=subject.diagnosis_id, cause_id=confirmed_cause,
        cause_kind=str(kind) if kind else None, cause_entity=cause_entity, target=target,
        time_to_resolve=time_to_resolve, side_effects=side_effects, actor=actor.strip(), remediations=(rem,),
    )
