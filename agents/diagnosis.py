"""The diagnosis agent: from an anomaly to ranked candidate causes with evidence and calibrated confidence.

    from agents.config import preset
    from agents.diagnosis import diagnose
    from agents.records import Anomaly

    result = diagnose(store, Anomaly("service:default/checkout", detected_at, signal="CheckoutHighLatency"))
    for c in result.candidates:
        print(c.rank, c.kind, c.name, f"{c.confidence:.0%}", c.explanation)

Steps: the dependency neighbourhood as it stood at detection (both directions,
``config.depth`` hops); the timeline of changes, alerts and incidents on it in
``config.window`` before detection; candidate causes (:mod:`agents.candidates`);
scores and calibrated confidences with ``unknown`` (:mod:`agents.scoring`).
When no candidate beats ``unknown`` with ``config.explain_min_confidence`` the
window is doubled, up to ``config.max_window`` (slow-burn causes exist); a
dependency that fails in the window has its changes read back to
``config.max_window`` at once. The result is
saved as a ``Diagnosis`` node linked to the anomaly and every suspect
(:mod:`agents.persist`).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from agents.candidates import alerting_entities, build_suspects, mark_rivals, slow_burn_suspects
from agents.config import DiagnosisConfig, preset
from agents.explain import explain_all
from agents.history import History, load_alert_record, load_change_record, load_history
from agents.persist import save_diagnosis
from agents.records import Anomaly, Candidate, CandidateKind, Diagnosis
from agents.scoring import Scorer, score_suspects
from agents.timeline import Timeline, add_entries, load_earlier_changes, load_timeline
from agents.topology import Topology, load_callers, load_topology
from graph.errors import NotFound
from graph.model import now_utc
from graph.schema import NodeLabel, node_id
from graph.store import GraphStore

#: the window's end is exclusive; events at the very time of detection still count
_INCLUSIVE = timedelta(seconds=1)


@dataclass
class _Round:
    window: timedelta
    timeline: Timeline
    candidates: list[Candidate]

    def explained(self, min_confidence: float) -> bool:
        """Whether a candidate beats ``unknown`` with at least ``min_confidence``."""
        top = self.candidates[0]
        return top.kind is not CandidateKind.UNKNOWN and top.confidence >= min_confidence


def _round(
    store: GraphStore, anomaly: Anomaly, topo: Topology, history: History, window: timedelta,
    config: DiagnosisConfig, exclude: Collection[str],
) -> _Round:
    start, end = anomaly.at - window, anomaly.at + config.lookahead + _INCLUSIVE
    timeline = load_timeline(store, topo, start, end, detected_at=anomaly.at, config=config, exclude=exclude)
    # a failure hurts its callers: read every caller of each entity that changed or alerted (their
    # alerts corroborate it) and, when something alerted, of every silent dependency (triangulated from them)
    wanted = {c.entity for c in timeline.changes} | {a.entity for a in timeline.alerts if a.entity in topo.down}
    if any(entity != anomaly.service for entity in timeline.alerts_by_entity):
        wanted |= {n for n in topo.down if n not in timeline.alerts_by_entity}
    load_callers(store, topo, wanted, anomaly.at)
    suspects = build_suspects(anomaly, topo, timeline, config)
    failing = {s.candidate.entity for s in suspects if s.kind is CandidateKind.DEPENDENCY_FAILURE and s.candidate.entity}
    alerted = alerting_entities(anomaly, topo, timeline)
    if (failing or alerted) and config.max_window > window:
        earlier = load_earlier_changes(store, topo, failing | set(alerted), anomaly.at - config.max_window, start, exclude)
        slow = slow_burn_suspects(anomaly, topo, timeline, config, suspects, earlier, alerted)
        add_entries(timeline, topo, [s.change for s in slow if s.change], "before the window: a slow burn?")
        suspects += slow
    mark_rivals(suspects)
    entities = {s.change.entity for s in suspects if s.change is not None}
    load_change_record(store, history, entities, anomaly.at, config)
    alerting = {s.alert.entity for s in suspects if s.alert is not None}
    load_alert_record(store, history, alerting, anomaly.at - config.max_window, config)
    symptoms = {a.entity for a in timeline.alerts if a.at <= anomaly.at}
    scorer = Scorer(config.weights, history, anomaly.service, symptoms, anomaly.at)
    return _Round(window, timeline, score_suspects(suspects, scorer, config.weights.temperature))


def new_run_id(now: datetime) -> str:
    return "diagnosis-" + now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def diagnose(
    store: GraphStore,
    anomaly: Anomaly,
    config: DiagnosisConfig | None = None,
    *,
    exclude: Collection[str] = (),
    save: bool = True,
    clock: Callable[[], datetime] = now_utc,
) -> Diagnosis:
    """Diagnose ``anomaly``; ids in ``exclude`` (say, the incident being replayed) are never read.

    Raises :class:`graph.errors.NotFound` when the anomalous entity is not in the graph.
    """
    started = time.perf_counter()
    config = config or preset()
    if anomaly.environment and config.environment is not None:
        config = config.model_copy(update={"environment": anomaly.environment})
    if store.get_node(anomaly.service) is None:
        raise NotFound(f"{anomaly.service}: no such service or resource in the graph {store.describe()}")
    exclude = frozenset(exclude)
    topo = load_topology(store, anomaly.service, depth=config.depth, as_of=anomaly.at)
    history = load_history(store, anomaly.at, config, exclude=exclude)
    window = config.window
    result = _round(store, anomaly, topo, history, window, config, exclude)
    while not result.explained(config.explain_min_confidence) and window < config.max_window:
        window = min(window * 2, config.max_window)
        result = _round(store, anomaly, topo, history, window, config, exclude)
    explain_all(result.candidates, anomaly.service)
    created = clock()
    diagnosis = Diagnosis(
        id=node_id(NodeLabel.DIAGNOSIS, str(uuid.uuid4())), anomaly=anomaly, created_at=created,
        window_start=result.timeline.start, window_end=result.timeline.end, widened=window > config.window,
        candidates=result.candidates, timeline=result.timeline.entries, config_name=config.name,
        run_id=new_run_id(created),
    )
    if save:
        save_diagnosis(store, diagnosis)
    diagnosis.elapsed_ms = (time.perf_counter() - started) * 1000
    return diagnosis
