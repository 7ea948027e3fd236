"""Remediation: from a saved diagnosis to recommended actions, each placed in a policy tier or blocked.

    from agents.policy import load_policy
    from agents.remediation import recommend

    plan = recommend(store, "diagnosis:1c0f…", load_policy())
    for r in plan.recommendations:
        print(r.action, r.target, r.radius.level, r.decision.tier, r.decision.approval, r.status, r.decision.reason)

Each candidate cause of the diagnosis suggests actions (a deploy is rolled
back, a failing dependency failed over, …, :data:`ACTIONS_BY_KIND`), plus the
actions that resolved similar past cases (feedback memory's ``recall``). Each action gets a
blast radius from the graph (:func:`blast_radius`), the tier the policy
gives it at the candidate's confidence, and the approval it needs; it is
blocked, with the reason, when confidence is too low or the same action ran
on the same target within the tier's cooldown (read from the audit trail).
The recommendations are saved as Remediation nodes (``RECOMMENDS`` from the
Diagnosis) with a ``recommendation`` audit entry. Vidya never executes here:
see :mod:`agents.executor`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agents import audit
from agents.memory import recall
from agents.memory_records import ActionStats
from agents.policy import POLICY_ACTIONS, Approval, BlastRadius, Policy, PolicyDecision
from agents.records import Anomaly, CandidateKind, short_name
from graph.errors import NotFound, RecordError
from graph.model import Edge, Node, Props, Provenance, now_utc
from graph.schema import NodeLabel, RelType, label_of, node_id
from graph.store import GraphStore
from graph.traversal import MAX_DEPTH

SOURCE = "agents/remediation"
#: candidates considered, by rank (``unknown`` only brings actions that worked before)
MAX_CANDIDATES = 3
#: similar past cases feedback memory recalls per candidate
RECALL_CASES = 5
#: actions that worked before, proposed per candidate at most (best track record first)
HISTORY_ACTIONS = 2
#: candidates less likely than this suggest nothing (their actions would only be noise)
MIN_CANDIDATE_CONFIDENCE = 0.05
#: actions that touch one replica of one service, whatever depends on it
POD_ACTIONS = frozenset({"restart_pod", "retry_job"})
#: platform wide: at least this share of the estate's other services and resources depends on the target
PLATFORM_FRACTION = 0.5
_TOPOLOGY = frozenset({NodeLabel.SERVICE, NodeLabel.RESOURCE})


@dataclass(frozen=True, slots=True)
class Proposal:
    """One action suggested by one candidate; ``target`` is the entity acted on."""

    action: str
    target: str
    origin: str  # "cause" (the candidate's kind suggests it) or "history" (it helped before)


def _on_entity(actions: tuple[str, ...]) -> Callable[[str, str], list[Proposal]]:
    return lambda entity, anomalous: [Proposal(a, entity, "cause") for a in actions]


def _dependency(entity: str, anomalous: str) -> list[Proposal]:
    restart = ["restart_pod"] if label_of(entity) is NodeLabel.SERVICE else []
    return [Proposal("failover", entity, "cause"), Proposal("enable_fallback", anomalous, "cause"),
            *(Proposal(a, entity, "cause") for a in restart)]


def _traffic(entity: str, anomalous: str) -> list[Proposal]:
    return [Proposal("scale_up", anomalous, "cause"), Proposal("rate_limit", entity, "cause")]


#: what each kind of cause suggests: ``(candidate entity, anomalous entity) -> proposals``
ACTIONS_BY_KIND: dict[CandidateKind, Callable[[str, str], list[Proposal]]] = {
    CandidateKind.DEPLOY: _on_entity(("rollback_deploy",)),
    CandidateKind.CONFIG: _on_entity(("revert_config",)),
    CandidateKind.FLAG: _on_entity(("disable_feature_flag",)),
    CandidateKind.MIGRATION: _on_entity(("rollback_migration",)),
    CandidateKind.DEPENDENCY_FAILURE: _dependency,
    CandidateKind.TRAFFIC_SPIKE: _traffic,
    CandidateKind.UNKNOWN: lambda entity, anomalous: [],
}


@dataclass(frozen=True, slots=True)
class SavedCandidate:
    """A candidate as the saved diagnosis ranks it; ``entity`` is what it happened on."""

    rank: int
    kind: CandidateKind
    node_id: str | None
    entity: str
    confidence: float

    def as_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "kind": str(self.kind), "node_id": self.node_id, "entity": self.entity,
                "confidence": self.confidence}


@dataclass(frozen=True, slots=True)
class SavedDiagnosis:
    id: str
    anomaly_id: str
    entity: str
    signal: str | None
    detected_at: datetime
    created_at: datetime
    candidates: list[SavedCandidate]

    @property
    def signature(self) -> str:
        """``<signal>@<entity id>``, the key of the policy's per-signature overrides."""
        return f"{self.signal or 'unknown'}@{self.entity}"


@dataclass(frozen=True, slots=True)
class Radius:
    level: BlastRadius
    dependents: int


@dataclass(slots=True)
class Recommendation:
    """One action on one target for one candidate, with the policy's verdict and the history it relied on."""

    id: str
    candidate: SavedCandidate
    action: str
    target: str
    origin: str
    radius: Radius
    decision: PolicyDecision
    past: list[PastOutcome] = field(default_factory=list)
    stats: ActionStats | None = None
    #: what the policy weighed (:func:`action_confidence`)
    confidence: float = 0.0

    @property
    def status(self) -> str:
        """``ready`` (no approval needed), ``needs_approval``, or ``blocked``."""
        if not self.decision.allowed:
            return "blocked"
        return "ready" if self.decision.approval is Approval.NONE else "needs_approval"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "action": self.action, "target": self.target, "target_name": short_name(self.target),
            "origin": self.origin, "candidate": self.candidate.as_json(), "confidence": self.confidence,
            "blast_radius": str(self.radius.level),
            "dependents": self.radius.dependents, "tier": self.decision.tier,
            "approval": str(self.decision.approval) if self.decision.approval else None,
            "status": self.status, "allowed": self.decision.allowed, "reason": self.decision.reason,
            "cooldown_until": self.decision.as_json()["cooldown_until"],
            "past_outcomes": [p.as_json() for p in self.past],
            "track_record": self.stats.as_json() if self.stats else None,
        }


@dataclass(slots=True)
class RemediationPlan:
    """The recommendations for one diagnosis under one policy version."""

    diagnosis: SavedDiagnosis
    policy_version: int
    policy_source: str
    created_at: datetime
    recommendations: list[Recommendation]
    audit_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        d = self.diagnosis
        return {
            "diagnosis_id": d.id, "anomaly": {"id": d.anomaly_id, "entity": d.entity, "signal": d.signal,
                                              "at": d.detected_at.isoformat()},
            "signature": d.signature, "policy": {"version": self.policy_version, "source": self.policy_source},
            "created_at": self.created_at.isoformat(), "audit_id": self.audit_id,
            "recommendations": [r.as_json() for r in self.recommendations],
        }


# reading the diagnosis back ----------------------------------------------------------------------


def _entity_of(store: GraphStore, kind: CandidateKind, node: str | None, anomalous: str) -> str:
    if node is None:
        return anomalous
    if label_of(node) in _TOPOLOGY:
        return node
    links = (RelType.TARGETS,) if kind not in (CandidateKind.TRAFFIC_SPIKE,) else (RelType.AFFECTS,)
    targets = sorted(e.dst for e in store.incident_edges([node], "out", links) if label_of(e.dst) in _TOPOLOGY)
    return targets[0] if targets else anomalous


def load_diagnosis(store: GraphStore, diagnosis_id: str) -> SavedDiagnosis:
    """A saved diagnosis: its anomaly and ranked candidates, as :mod:`agents.persist` wrote them."""
    node = store.get_node(diagnosis_id) if diagnosis_id.startswith("diagnosis:") else None
    if node is None or node.label is not NodeLabel.DIAGNOSIS or node.placeholder:
        raise NotFound(f"{diagnosis_id}: no saved diagnosis with this id in {store.describe()}")
    anomaly = store.get_node(str(node.props.get("anomaly", "")))
    if anomaly is None or anomaly.at is None:
        raise NotFound(f"{diagnosis_id}: its anomaly {node.props.get('anomaly')!r} is not in the graph")
    entity = str(anomaly.props.get("entity", ""))
    try:
        rows = json.loads(str(node.props.get("ranking", "[]")))
    except json.JSONDecodeError:
        raise RecordError(f"{diagnosis_id}.ranking: not valid JSON") from None
    candidates = []
    for row in rows:
        kind = CandidateKind(row["kind"])
        target = _entity_of(store, kind, row.get("node_id"), entity)
        candidates.append(SavedCandidate(int(row["rank"]), kind, row.get("node_id"), target, float(row["confidence"])))
    signal = anomaly.props.get("signal")
    return SavedDiagnosis(node.id, anomaly.id, entity, str(signal) if signal else None, anomaly.at,
                          node.at or anomaly.at, candidates)


# what was done before ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PastOutcome:
    """An action taken on a similar past case (from feedback memory) and how it went."""

    case_id: str
    action: str
    result: str
    helped: bool | None
    at: datetime | None
    relation: str
    similarity: float
    remediations: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"case": self.case_id, "action": self.action, "result": self.result, "helped": self.helped,
                "at": self.at.isoformat() if self.at else None, "relation": self.relation,
                "similarity": round(self.similarity, 3), "remediations": list(self.remediations)}


@dataclass(slots=True)
class TrackRecord:
    """What feedback memory recalls for one candidate: per action, the past outcomes and the success statistics."""

    outcomes: dict[str, list[PastOutcome]]
    stats: dict[str, ActionStats]

    def worked(self) -> list[str]:
        """Actions that resolved a case with the same confirmed cause (or, without a cause hint, a similar one).

        Best track record first (feedback memory orders its statistics by the lower bound of the success rate).
        """
        best_first = [*self.stats, *(a for a in self.outcomes if a not in self.stats)]
        return [a for a in best_first if a in POLICY_ACTIONS
                and any(p.helped and p.relation in ("match", "similar") for p in self.outcomes.get(a, []))]


def track_record(store: GraphStore, diagnosis: SavedDiagnosis, cand: SavedCandidate) -> TrackRecord:
    """The similar past cases feedback memory recalls for the anomaly, with this candidate as the cause hint.

    Cases caused by something else (lookalikes) are left out: their fixes are unlikely to apply.
    """
    anomaly = Anomaly(diagnosis.entity, diagnosis.detected_at, signal=diagnosis.signal)
    hint = (cand.kind, cand.entity) if cand.kind is not CandidateKind.UNKNOWN else None
    found = recall(store, anomaly, k=RECALL_CASES, cause_hint=hint)
    outcomes: dict[str, list[PastOutcome]] = {}
    for similar in found.cases:
        if similar.relation == "lookalike":
            continue
        for r in similar.case.records:
            outcomes.setdefault(r.action, []).append(PastOutcome(
                r.case_id, r.action, r.outcome, r.success, r.at, similar.relation, similar.similarity, r.remediations))
    return TrackRecord(outcomes, {s.action: s for s in found.actions})


# blast radius -----------------------------------------------------------------------------------


def _estate_size(store: GraphStore) -> int:
    return sum(1 for label in _TOPOLOGY for n in store.find_nodes(label, limit=1_000_000) if not n.placeholder)


def blast_radius(store: GraphStore, action: str, target: str, *, estate_size: int | None = None) -> Radius:
    """How far a failed ``action`` on ``target`` could reach, from what depends on ``target`` now.

    Pod-level actions on a service are ``single_pod``. Otherwise: nothing depends on
    the target, ``single_service``; at least :data:`PLATFORM_FRACTION` of the other
    services and resources depend on it (transitively, ``DEPENDS_ON`` in reverse),
    ``platform_wide``; anything between, ``multi_service``.
    """
    hops = store.neighbours(target, direction="in", types=[RelType.DEPENDS_ON], depth=MAX_DEPTH)
    dependents = sum(1 for h in hops if h.node.label in _TOPOLOGY)
    is_service = label_of(target) is NodeLabel.SERVICE
    if is_service and (action in POD_ACTIONS or action == "clear_cache"):
        return Radius(BlastRadius.SINGLE_POD, dependents)
    if dependents == 0:
        return Radius(BlastRadius.SINGLE_SERVICE, 0)
    others = max((estate_size if estate_size is not None else _estate_size(store)) - 1, 1)
    if dependents >= 2 and dependents >= PLATFORM_FRACTION * others:
        return Radius(BlastRadius.PLATFORM_WIDE, dependents)
    return Radius(BlastRadius.MULTI_SERVICE, dependents)


# proposals and verdicts --------------------------------------------------------------------------


def remediation_id(diagnosis_id: str, action: str, target: str) -> str:
    """``remediation:<diagnosis uuid>/<action>@<target>``: stable, so approvals survive re-running."""
    return node_id(NodeLabel.REMEDIATION, f"{diagnosis_id.partition(':')[2]}/{action}@{target}")


def _proposals(store: GraphStore, diagnosis: SavedDiagnosis) -> list[tuple[SavedCandidate, Proposal, TrackRecord]]:
    """Each candidate's proposals, the best-ranked candidate first; one per (action, target)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for cand in sorted(diagnosis.candidates, key=lambda c: c.rank)[:MAX_CANDIDATES]:
        if cand.confidence < MIN_CANDIDATE_CONFIDENCE:
            continue
        history = track_record(store, diagnosis, cand)
        proposals = ACTIONS_BY_KIND[cand.kind](cand.entity, diagnosis.entity)
        proposals += [Proposal(action, cand.entity, "history") for action in history.worked()[:HISTORY_ACTIONS]]
        for proposal in proposals:
            key = (proposal.action, proposal.target)
            if key not in seen:
                seen.add(key)
                out.append((cand, proposal, history))
    return out


def _recommend_one(
    store: GraphStore, policy: Policy, diagnosis: SavedDiagnosis, cand: SavedCandidate, proposal: Proposal,
    history: TrackRecord, now: datetime, estate_size: int, executed: dict[tuple[str, str], datetime],
) -> Recommendation:
    radius = blast_radius(store, proposal.action, proposal.target, estate_size=estate_size)
    last = executed.get((proposal.action, proposal.target))
    stats = history.stats.get(proposal.action)
    confidence = action_confidence(cand, stats)
    decision = policy.decide(proposal.action, proposal.target, confidence, radius.level, now, last,
                             signature=diagnosis.signature)
    rid = remediation_id(diagnosis.id, proposal.action, proposal.target)
    return Recommendation(rid, cand, proposal.action, proposal.target, proposal.origin, radius, decision,
                          history.outcomes.get(proposal.action, []), stats, confidence)


def action_confidence(cand: SavedCandidate, stats: ActionStats | None) -> float:
    """The confidence the policy weighs: the candidate's, or for ``unknown`` the action's track record.

    "Unknown" at 90% says nothing is understood, not that an action will help; an action it
    brings (one that resolved similar cases) counts only as sure as the lower bound of its
    95% success interval.
    """
    if cand.kind is not CandidateKind.UNKNOWN:
        return cand.confidence
    return round(stats.interval[0], 4) if stats is not None and stats.uses else 0.0


def _remediation_node(rec: Recommendation, diagnosis: SavedDiagnosis, prov: Provenance, now: datetime) -> Node:
    d = rec.decision
    props: Props = {
        "action": rec.action, "target": rec.target, "diagnosis": diagnosis.id, "anomaly": diagnosis.anomaly_id,
        "candidate": rec.candidate.node_id or "", "candidate_kind": str(rec.candidate.kind),
        "candidate_rank": rec.candidate.rank, "confidence": rec.confidence, "origin": rec.origin,
        "blast_radius": str(rec.radius.level), "dependents": rec.radius.dependents, "tier": d.tier or "",
        "approval": str(d.approval) if d.approval else "", "status": rec.status, "reason": d.reason,
        "policy_version": d.policy_version, "signature": diagnosis.signature,
        "past_cases": list(dict.fromkeys(p.case_id for p in rec.past)),
    }
    name = f"{rec.action} on {short_name(rec.target)}"
    return Node(rec.id, NodeLabel.REMEDIATION, prov, name=name, props=props, at=now)


def _diagnosis_entry(store: GraphStore, d: SavedDiagnosis, paths: dict[str, list[str]]) -> tuple[list[Node], list[Edge]]:
    """The ``diagnosis`` audit entry, dated when the diagnosis was made, unless one exists already."""
    if any(e.kind is audit.AuditKind.DIAGNOSIS for e in audit.entries_about(store, [d.id])):
        return [], []
    inputs = {"anomaly": d.anomaly_id, "entity": d.entity, "signal": d.signal, "detected_at": d.detected_at.isoformat()}
    outputs = {"candidates": [c.as_json() for c in d.candidates], "evidence_paths": paths}
    top = d.candidates[0] if d.candidates else None
    summary = f"top cause {top.kind} {top.node_id or ''} at {top.confidence:.0%}" if top else "no candidates"
    node, edges = audit.entry_records("diagnosis", [d.id, d.anomaly_id], inputs, outputs, None, "vidya",
                                      d.created_at, target=d.entity, summary=summary)
    return [node], edges


def _save(store: GraphStore, plan: RemediationPlan, evidence: dict[str, list[str]]) -> str:
    d, now = plan.diagnosis, plan.created_at
    prov = Provenance(source=SOURCE, run_id=f"remediation-{now:%Y%m%dT%H%M%SZ}", location=d.id, ingested_at=now)
    nodes = [_remediation_node(r, d, prov, now) for r in plan.recommendations]
    edges = [Edge(RelType.RECOMMENDS, d.id, r.id, prov) for r in plan.recommendations]
    inputs = {"diagnosis": d.id, "signature": d.signature, "candidates": [c.as_json() for c in d.candidates],
              "evidence": evidence, "policy_source": plan.policy_source}
    outputs = {"recommendations": [r.as_json() for r in plan.recommendations]}
    entry, entry_edges = audit.entry_records(
        "recommendation", [d.id, *(r.id for r in plan.recommendations)], inputs, outputs, plan.policy_version,
        "vidya", now, target=d.entity, summary=f"{len(plan.recommendations)} actions for {d.signature}")
    diag_nodes, diag_edges = _diagnosis_entry(store, d, evidence)
    with store.batch() as batch:
        batch.upsert_nodes([*nodes, entry, *diag_nodes])
        batch.upsert_edges([*edges, *entry_edges, *diag_edges])
    return entry.id


def evidence_paths(store: GraphStore, diagnosis: SavedDiagnosis) -> dict[str, list[str]]:
    """Per candidate entity, the ``DEPENDS_ON`` path that links it to the anomalous entity at detection."""
    out: dict[str, list[str]] = {}
    for cand in diagnosis.candidates[:MAX_CANDIDATES]:
        if cand.entity == diagnosis.entity or cand.entity in out:
            continue
        paths = store.paths(diagnosis.entity, cand.entity, direction="both", types=[RelType.DEPENDS_ON],
                            as_of=diagnosis.detected_at, limit=1)
        if paths:
            out[cand.entity] = paths[0].nodes
    return out


def recommend(
    store: GraphStore, diagnosis_id: str, policy: Policy, *, now: datetime | None = None, save: bool = True,
) -> RemediationPlan:
    """Recommend actions for a saved diagnosis under ``policy``; saved and audited unless ``save=False``.

    Example: ``recommend(store, "diagnosis:1c0f…", load_policy(), now=datetime.now(UTC))``.
    """
    now = now or now_utc()
    diagnosis = load_diagnosis(store, diagnosis_id)
    size = _estate_size(store)
    proposals = _proposals(store, diagnosis)
    executed = audit.last_executions(store, {p.target for _, p, _ in proposals}, now, policy.max_cooldown)
    recs = [_recommend_one(store, policy, diagnosis, cand, proposal, history, now, size, executed)
            for cand, proposal, history in proposals]
    plan = RemediationPlan(diagnosis, policy.version, policy.source, now, recs)
    if save:
        plan.audit_id = _save(store, plan, evidence_paths(store, diagnosis))
    return plan
