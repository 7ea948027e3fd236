"""Replay every labelled scenario against an ingested store: the agent blind, and each baseline.

Each scenario is diagnosed from what the pager saw (the paging service, the
paging alert and its time) with its own incident excluded, so neither the
incident's ``CAUSED_BY`` (the answer) nor its notes are read; earlier
scenarios' incidents are history. The diagnosis is saved (as ``vidya
diagnose`` does) so :func:`agents.remediation.recommend` can read it back; the
recommendations are not saved. Fix-recall counts a scenario when the labelled
fix action is among the recommended actions; ``top1_fix`` when it is the
natural fix of the top candidate's kind::

    >>> result = evaluate(store, read_labels(root))
    >>> result.summary("agent").ac[1]
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from agents.config import DiagnosisConfig
from agents.diagnosis import diagnose
from agents.policy import Policy, load_policy
from agents.records import Anomaly, Diagnosis
from agents.remediation import recommend
from bench.rca.baselines import BASELINES
from bench.rca.metrics import Outcome, Summary, summarise
from bench.rca.misses import describe_miss
from bench.rca.scenarios import FIXES
from graph.schema import NodeLabel, label_of
from graph.store import GraphStore

FIX_SOURCE = "agents.remediation.recommend (the actions it proposes for the top 3 candidates)"
_FIX_OF_LABEL = {
    NodeLabel.DEPLOYMENT: "rollback_deploy", NodeLabel.CONFIG_CHANGE: "revert_config",
    NodeLabel.FLAG_CHANGE: "disable_feature_flag", NodeLabel.MIGRATION: "rollback_migration",
    NodeLabel.ALERT: "scale_up",
}  # fmt: skip


def natural_fix(node_id: str | None) -> str | None:
    """The fix a guess implies: a change's undo, ``failover`` for an entity, ``scale_up`` for a traffic alert."""
    if not node_id:
        return None
    return _FIX_OF_LABEL.get(label_of(node_id), "failover")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Evaluation:
    """Per method (``agent`` and each baseline), one outcome per scenario, in label order."""

    labels: list[dict[str, Any]]
    outcomes: dict[str, list[Outcome]] = field(default_factory=lambda: defaultdict(list))
    top: list[dict[str, Any]] = field(default_factory=list)
    #: the agent's misses (truth not first), each with its top three and the truth's factors (:mod:`bench.rca.misses`)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, method: str, keep: list[int] | None = None) -> Summary:
        chosen = self.outcomes[method] if keep is None else [self.outcomes[method][i] for i in keep]
        return summarise(chosen)

    @property
    def methods(self) -> list[str]:
        return ["agent", *BASELINES]

    def where(self, key: str, value: str) -> list[int]:
        """Indexes of scenarios whose confounders include ``value`` (``key="confounder"``) or of that cause kind."""
        if key == "confounder":
            return [i for i, label in enumerate(self.labels) if value in label["confounders"]]
        return [i for i, label in enumerate(self.labels) if label["cause"]["kind"] == value]


@cache
def _policy() -> Policy:
    return load_policy()


def _agent(store: GraphStore, label: dict[str, Any], config: DiagnosisConfig | None) -> tuple[Outcome, Diagnosis]:
    at = parse_time(label["detected_at"])
    anomaly = Anomaly(label["paging_service"], at, signal=label["signal"], alert_id=label["alert_id"])
    cpu = time.process_time()
    diagnosis = diagnose(store, anomaly, config, exclude={label["incident_id"]})
    cpu_ms = (time.process_time() - cpu) * 1000
    truth = label["cause"]["node_id"]
    ids = [c.node_id for c in diagnosis.candidates]
    index = ids.index(truth) if truth in ids else None
    plan = recommend(store, diagnosis.id, _policy(), now=at, save=False)
    actions = {r.action for r in plan.recommendations}
    outcome = Outcome(
        rank=index + 1 if index is not None else None, confidences=[c.confidence for c in diagnosis.candidates],
        truth_index=index, fix_hit=label["fix"] in actions,
        top1_fix_hit=FIXES.get(str(diagnosis.top.kind)) == label["fix"], latency_ms=diagnosis.elapsed_ms, cpu_ms=cpu_ms,
    )
    return outcome, diagnosis


def _baseline(store: GraphStore, name: str, label: dict[str, Any]) -> Outcome:
    guesses = BASELINES[name](store, label["paging_service"], parse_time(label["detected_at"]))
    truth = label["cause"]["node_id"]
    rank = guesses.index(truth) + 1 if truth in guesses else None
    fix = natural_fix(guesses[0]) == label["fix"] if guesses else False
    return Outcome(rank=rank, fix_hit=fix, top1_fix_hit=fix)


def evaluate(store: GraphStore, labels: list[dict[str, Any]], config: DiagnosisConfig | None = None) -> Evaluation:
    """Diagnose every scenario blind (with ``config``, default the ``default`` preset) and run every baseline on it."""
    result = Evaluation(labels)
    for label in labels:
        outcome, diagnosis = _agent(store, label, config)
        result.outcomes["agent"].append(outcome)
        top = diagnosis.top
        result.top.append({
            "scenario": label["scenario"], "kind": label["cause"]["kind"], "truth": label["cause"]["node_id"],
            "rank": outcome.rank, "top": top.node_id, "top_kind": str(top.kind), "confidence": round(top.confidence, 3),
            "top_is_decoy": top.node_id in label["decoys"], "confounders": label["confounders"],
        })
        if outcome.rank != 1:
            result.misses.append(describe_miss(label, diagnosis, outcome.rank))
        for name in BASELINES:
            result.outcomes[name].append(_baseline(store, name, label))
    return result
