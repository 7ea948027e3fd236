"""Recall: the past cases most like a new anomaly, and how each action fared on them.

    found = recall(store, Anomaly("service:default/checkout", now, signal="CheckoutHighLatency"),
                   cause_hint=(CandidateKind.CONFIG, "service:default/pricing"))
    for case in found.cases:
        print(case.similarity, case.relation, case.case.id, case.reason)
    for stats in found.actions:
        print(stats.action, stats.successes, stats.uses, stats.interval)

Similarity of a past case to the anomaly, in ``[0, 1]``::

    similarity = 0.6 x place + 0.4 x text

``place``: 1.0 when the case was paged on the same entity, 0.8 when it affected
it, 0.5 / 0.35 when its entity is one / two dependency hops away (either
direction, as the topology stood at the anomaly), 0 elsewhere. ``text``: 1.0 for
the same signal, else the share of the signal's words found in the case's
signal or title (:func:`agents.memory_seed.overlap`). A case counts when it is in
place (same or affected entity), or shares words and is nearby, or has the same
signal anywhere. Only cases that started before the anomaly are read.

With a ``cause_hint`` (kind, entity) — say the top candidate of a diagnosis —
cases whose confirmed cause is the same kind on the same entity are
**matches**, cases with another confirmed cause are **lookalikes** (same symptom,
different cause: their fixes are unlikely to apply) and rank below every match
and every unconfirmed case, whatever their similarity. Action statistics are
computed over the matches and unconfirmed cases; the lookalikes' actions are
reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from agents.memory_records import ActionStats, action_stats
from agents.memory_seed import Case, load_cases, overlap
from agents.records import Anomaly, CandidateKind, short_name
from agents.topology import load_topology
from graph.errors import NotFound
from graph.store import GraphStore

Relation = Literal["match", "unconfirmed", "lookalike", "similar"]
_ORDER: dict[str, int] = {"match": 0, "similar": 0, "unconfirmed": 1, "lookalike": 2}
PLACE_WEIGHT, TEXT_WEIGHT = 0.6, 0.4
SAME_ENTITY, AFFECTED, HOP = 1.0, 0.8, {1: 0.5, 2: 0.35}
NEIGHBOURHOOD_DEPTH = 2


@dataclass(slots=True)
class SimilarCase:
    """A past case, how similar it is, where it happened relative to the anomaly, and how its cause compares."""

    case: Case
    similarity: float
    place: str
    relation: Relation
    reason: str

    def as_json(self) -> dict[str, Any]:
        c = self.case
        return {
            "id": c.id, "at": c.at.isoformat(), "title": c.title, "signal": c.signal, "entity": c.entity,
            "signature": c.signature, "similarity": round(self.similarity, 3), "place": self.place,
            "relation": self.relation, "reason": self.reason, "cause": c.cause_id,
            "cause_kind": str(c.cause_kind) if c.cause_kind else None, "cause_entity": c.cause_entity,
            "actions": [r.as_json() for r in c.records],
        }


@dataclass(slots=True)
class Recall:
    """What memory holds for one anomaly: the top ``k`` cases and per-action statistics."""

    anomaly: Anomaly
    cause_hint: tuple[CandidateKind, str] | None
    cases: list[SimilarCase]
    actions: list[ActionStats]
    lookalike_actions: list[ActionStats] = field(default_factory=list)
    considered: int = 0

    def stats(self, action: str) -> ActionStats | None:
        return next((s for s in self.actions if s.action == action), None)

    def as_json(self) -> dict[str, Any]:
        hint = {"kind": str(self.cause_hint[0]), "entity": self.cause_hint[1]} if self.cause_hint else None
        return {
            "anomaly": self.anomaly.as_json(), "cause_hint": hint, "similar_cases": self.considered,
            "cases": [c.as_json() for c in self.cases], "actions": [s.as_json() for s in self.actions],
            "lookalike_actions": [s.as_json() for s in self.lookalike_actions],
        }


def _place(case: Case, anomaly: Anomaly, hops: dict[str, int]) -> tuple[float, str]:
    if case.entity == anomaly.service:
        return SAME_ENTITY, "same entity"
    if anomaly.service in case.affected:
        return AFFECTED, f"affected it (paged on {short_name(case.entity)})"
    near = [hops[e] for e in case.affected if e in hops]
    if near:
        distance = min(near)
        return HOP.get(distance, 0.0), f"{distance} hop(s) away ({short_name(case.entity)})"
    return 0.0, f"elsewhere ({short_name(case.entity)})"


def _text(case: Case, signal: str | None) -> float:
    if signal and case.signal == signal:
        return 1.0
    return max(overlap(signal, case.signal), overlap(signal, case.title))


def _relation(case: Case, hint: tuple[CandidateKind, str] | None) -> tuple[Relation, str]:
    if hint is None:
        return "similar", ""
    if case.cause_kind is None:
        return "unconfirmed", "no confirmed cause"
    kind, entity = hint
    said = f"caused by {case.cause_kind} on {short_name(case.cause_entity or '?')}"
    if case.cause_kind is kind and case.cause_entity == entity:
        return "match", said
    return "lookalike", f"{said}, not {kind} on {short_name(entity)}"


def _similar(case: Case, anomaly: Anomaly, hops: dict[str, int], hint: tuple[CandidateKind, str] | None
             ) -> SimilarCase | None:
    place, where = _place(case, anomaly, hops)
    text = _text(case, anomaly.signal)
    if not (place >= AFFECTED or (place > 0 and text > 0) or text == 1.0):
        return None
    relation, reason = _relation(case, hint)
    return SimilarCase(case, PLACE_WEIGHT * place + TEXT_WEIGHT * text, where, relation, reason)


def recall(
    store: GraphStore, anomaly: Anomaly, *, k: int = 5, cause_hint: tuple[CandidateKind, str] | None = None,
    at: datetime | None = None,
) -> Recall:
    """The ``k`` past cases most like ``anomaly`` (before ``at``, default its detection) and how actions fared.

    Example: ``recall(store, anomaly, k=3).actions[0].as_json()`` ->
    ``{"action": "rollback_deploy", "successes": 4, "uses": 4, "ci95": [0.51, 1.0], …}``.
    """
    if k < 1:
        raise ValueError("k: expected at least 1")
    if store.get_node(anomaly.service) is None:
        raise NotFound(f"{anomaly.service}: no such service or resource in the graph {store.describe()}")
    when = at or anomaly.at
    topo = load_topology(store, anomaly.service, depth=NEIGHBOURHOOD_DEPTH, as_of=when)
    hops = {**topo.up, **topo.down}
    found = [s for case in load_cases(store, before=when) if (s := _similar(case, anomaly, hops, cause_hint))]
    found.sort(key=lambda s: (_ORDER[s.relation], -s.similarity, -s.case.at.timestamp(), s.case.id))
    usable = [r for s in found if s.relation != "lookalike" for r in s.case.records]
    apart = [r for s in found if s.relation == "lookalike" for r in s.case.records]
    return Recall(anomaly, cause_hint, found[:k], action_stats(usable), action_stats(apart), len(found))
