"""Candidate causes and the facts the scoring model needs about each, read off the timeline.

* every change on the neighbourhood made before detection, in the anomaly's environment;
* every dependency that alerted with no change of its own before its alert (a *dependency failure*);
* a dependency that did not alert but whose callers did, two or more of them, not shortly after a change of
  their own (a *silent* failure, triangulated);
* every traffic alert (a shift at the edge) on the neighbourhood.

For each, the path to the symptom is traced along ``DEPENDS_ON`` (the shortest
path whose alerts best follow causal order), the entities its failure would
reach are listed with their alerts (its *cone*, :mod:`agents.propagation`),
and competing explanations are noted: a deeper dependency that alerted first,
a change just before a dependency's alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from itertools import pairwise

from agents.changes import describe_change
from agents.clues import named_by
from agents.config import DiagnosisConfig
from agents.propagation import Cone, Member, change_starts
from agents.records import AlertEvidence, AlertRole, Anomaly, Candidate, CandidateKind, Evidence, PathStep, short_name
from agents.timeline import AlertEvent, ChangeEvent, Timeline, same_environment
from agents.topology import Topology


@dataclass
class Suspect:
    """A candidate and what scoring needs to know about it."""

    candidate: Candidate
    change: ChangeEvent | None = None
    #: the alert that shows a dependency failing or a traffic shift
    alert: AlertEvent | None = None
    explained_by: AlertEvidence | None = None
    explained_by_change: bool = False
    induced_by: ChangeEvent | None = None
    #: a failing dependency's own change from before the window (a slow burn)
    changed_earlier: ChangeEvent | None = None
    #: a change on a dependency below a failing dependency shortly before its alert (that stayed silent)
    deeper_change: ChangeEvent | None = None
    #: a change's own entity's first alert after it (not on the anomalous entity): how its failure showed
    own_alert: AlertEvent | None = None
    #: this change was read back from before the window because its entity now fails (a slow-burn candidate)
    slow_burn: bool = False
    #: what the candidate's failure would reach and what was seen of it (``None``: not judged)
    cone: Cone | None = None
    #: the candidate's entity was still alerting at detection (``None``: it did not alert)
    still_firing: bool | None = None
    #: how many different alerts (by name) the candidate's entity raised from its first alert to detection
    symptom_names: int = 0
    #: an alert on the changed entity after the change names it (its version, flag, key): ``None`` when none alerted
    named: bool | None = None
    #: a change on the same entity is named by its alerts, this one (another change, or the entity failing) is not
    rival_named: bool = False
    #: its entity's alerts after it name no change on it, while alerts here do name changes (a change only)
    unnamed: bool = False

    @property
    def kind(self) -> CandidateKind:
        return self.candidate.kind

    @property
    def evidence(self) -> Evidence:
        return self.candidate.evidence


@dataclass(frozen=True)
class _Context:
    anomaly: Anomaly
    topo: Topology
    timeline: Timeline
    config: DiagnosisConfig
    #: each entity's failure alerts in the window, in time order: every cone that holds the entity reads the same
    _cone_alerts: dict[str, tuple[AlertEvent, ...]] = field(default_factory=dict, repr=False, compare=False)

    def cone_alerts(self, entity: str) -> tuple[AlertEvent, ...]:
        """``entity``'s alerts (not traffic) from the window's start to :attr:`symptoms_until`, in time order."""
        found = self._cone_alerts.get(entity)
        if found is None:
            alerts = [a for a in self.timeline.alerts_on(entity, self.timeline.start, self.symptoms_until) if not a.traffic]
            found = self._cone_alerts[entity] = tuple(sorted(alerts, key=lambda a: (a.at, a.node.id)))
        return found

    @property
    def skew(self) -> timedelta:
        return timedelta(seconds=self.config.weights.clock_skew_seconds)

    @property
    def detected(self) -> datetime:
        return self.anomaly.at

    @cached_property
    def symptom_at(self) -> datetime:
        """When the anomalous entity first alerted (not traffic) in the window, else detection."""
        own = [a.at for a in self.timeline.alerts_on(self.topo.root, self.timeline.start, self.detected) if not a.traffic]
        return min(own, default=self.detected)

    @property
    def symptoms_until(self) -> datetime:
        """Alerts on the path corroborate up to this time (detection, plus the configured lookahead)."""
        return self.anomaly.at + self.config.lookahead

    def eligible(self, change: ChangeEvent) -> bool:
        return same_environment(change.environment, self.config.environment) and change.at <= self.detected

    def changed_before(self, entity: str, when: datetime) -> ChangeEvent | None:
        found = [c for c in self.timeline.changes_on(entity, when + self.skew) if self.eligible(c)]
        return max(found, key=lambda c: c.at) if found else None


def _evidence_alert(alert: AlertEvent, role: AlertRole, in_order: bool = True) -> AlertEvidence:
    return AlertEvidence(alert.node.id, alert.name, alert.entity, alert.at, alert.severity, role, in_order)


def _trace(ctx: _Context, suspect: Suspect, entity: str, since: datetime, own_alert_is_cause: bool) -> None:
    """Pick the shortest path to the symptom whose alerts best follow causal order; fill the evidence."""
    best: tuple[tuple[int, int], list[str], list[AlertEvidence]] | None = None
    for path in ctx.topo.shortest_paths(entity):
        alerts, disorder, last = [], 0, since - ctx.skew
        for index, node in enumerate(path[:-1]):
            if index == 0 and own_alert_is_cause:
                continue
            alert = ctx.timeline.first_alert(node, since - ctx.skew, ctx.symptoms_until)
            if alert is None:
                continue
            if alert.at >= last - ctx.skew:
                alerts.append(_evidence_alert(alert, "cause" if index == 0 else "path"))
                last = alert.at
            else:
                alerts.append(_evidence_alert(alert, "path", in_order=False))
                disorder += 1
        rank = (len(alerts) - disorder, -disorder)
        if best is None or rank > best[0]:
            best = (rank, path, alerts)
    if best is None:
        return
    _, path, alerts = best
    ev = suspect.evidence
    ev.path_nodes = path
    ev.path = [_step(ctx.topo, a, b) for a, b in pairwise(path)]
    distance = ctx.topo.signed_distance(entity) or 0
    ev.distance = abs(distance)
    ev.direction = "self" if distance == 0 else "downstream" if distance > 0 else "upstream"
    ev.alerts.extend(alerts)
    root_alert = ctx.timeline.first_alert(ctx.topo.root, since - ctx.skew, ctx.detected)
    times = [a.at for a in alerts if a.in_order] + ([root_alert.at] if root_alert else []) + [ctx.detected]
    ev.first_symptom_at = min(t for t in times if t >= since - ctx.skew) if times else ctx.detected


def _cone(ctx: _Context, suspect: Suspect, entity: str, starts: Sequence[tuple[datetime, float]], *,
          up: bool = True, own_alert: bool = False) -> None:
    """What the candidate's failure would reach (see :mod:`agents.propagation`) and what was seen of it.

    The path to the anomalous entity fails for sure; the rest of the cone by ``propagation_spread`` per hop off
    the path. The anomalous entity itself is left out: the page is what is being explained.
    """
    weights = ctx.config.weights
    path = suspect.evidence.path_nodes or [entity]
    reach = ctx.topo.cone(entity, path, weights.propagation_max_hops, up=up)
    reach.update({node: (index, 0) for index, node in enumerate(path[1:-1], start=1)})
    members = []
    for node, (hops, off) in sorted(reach.items()):
        if node == ctx.topo.root:
            continue
        members.append(Member(node, hops, weights.propagation_spread**off, ctx.cone_alerts(node)))
    suspect.cone = Cone(tuple(members), tuple(starts), ctx.symptoms_until, own_alert)


def _step(topo: Topology, a: str, b: str) -> PathStep:
    edge = topo.edge_between(a, b)
    if edge is None:  # cannot happen for a path built from the topology's own edges
        return PathStep(a, "DEPENDS_ON", b)
    return PathStep(edge.src, str(edge.type), edge.dst, edge.valid_from)


def _explained(ctx: _Context, suspect: Suspect, entity: str, cause_at: datetime, until: datetime) -> None:
    """A dependency below ``entity``, off its path, that alerted before ``until`` may explain the symptom better.

    It does when it had a change of its own before its alert, or when it alerted
    before ``cause_at`` (the failure was under way already). A dependency that
    alerted after the cause with no change may be its consequence: no penalty here
    (the dependency's own candidate is marked ``induced`` instead).
    """
    deeper = ctx.topo.dependencies_of(entity) - set(suspect.evidence.path_nodes)
    found: list[tuple[int, datetime, AlertEvent, bool]] = []
    for node in sorted(deeper):
        alert = ctx.timeline.first_alert(node, ctx.timeline.start, until + ctx.skew)
        if alert is None:
            continue
        by_change = ctx.changed_before(node, alert.at) is not None
        if by_change or alert.at < cause_at - ctx.skew:
            found.append((0 if by_change else 1, alert.at, alert, by_change))
    if found:
        _, _, alert, by_change = min(found, key=lambda f: (f[0], f[1], f[2].node.id))
        suspect.explained_by = _evidence_alert(alert, "deeper")
        suspect.explained_by_change = by_change
        suspect.evidence.alerts.append(suspect.explained_by)


def _change_suspect(
    ctx: _Context, change: ChangeEvent, *, slow_burn: bool = False, read_back: Sequence[ChangeEvent] = (),
) -> Suspect:
    name = describe_change(change.node, short_name(change.entity))
    candidate = Candidate(change.kind, change.node.id, change.entity, name, change.at)
    candidate.evidence.cause_at, candidate.evidence.detected_at = change.at, ctx.detected
    suspect = Suspect(candidate, change=change, slow_burn=slow_burn)
    _trace(ctx, suspect, change.entity, change.at, own_alert_is_cause=False)
    own = [a for a in ctx.timeline.alerts_on(change.entity, change.at - ctx.skew, ctx.detected) if not a.traffic]
    first = min(own, key=lambda a: (a.at, a.node.id)) if own else None
    # the failure began when its entity alerted; with no alert, in time to reach the anomalous entity when it did
    weights = ctx.config.weights
    starts = ((first.at, 1.0),) if first else change_starts(
        change.at, ctx.symptom_at, len(suspect.evidence.path_nodes) - 1, weights.change_delay, weights)
    # the anomalous entity alerts whatever the cause: its page is what is being explained
    suspect.own_alert = first if change.entity != ctx.topo.root else None
    _cone(ctx, suspect, change.entity, starts, own_alert=suspect.own_alert is not None)
    until = candidate.evidence.first_symptom_at or ctx.detected
    _explained(ctx, suspect, change.entity, change.at, until)
    if first is not None:
        _persistence(ctx, suspect, first)
        others = [c for c in (*read_back, *ctx.timeline.changes_on(change.entity, ctx.detected))
                  if c.entity == change.entity and ctx.eligible(c)]
        suspect.named = named_by(change, own, later=others)
    return suspect


def mark_rivals(suspects: list[Suspect]) -> None:
    """Mark what the alerts' names speak against.

    ``rival_named``: an alert names a change on the same entity; that speaks against another change on the
    entity, and against the entity failing by itself (a dependency failure). ``unnamed``: a change whose
    entity alerted after it with no alert naming a change on it, when alerts here do name changes (the
    alerting carries such labels; without them silence says nothing).
    """
    named = {s.change.entity for s in suspects if s.change is not None and s.named}
    for suspect in suspects:
        entity = suspect.change.entity if suspect.change is not None else suspect.candidate.entity
        failing = suspect.kind is CandidateKind.DEPENDENCY_FAILURE
        if entity in named and not suspect.named and (suspect.change is not None or failing):
            suspect.rival_named = True
        elif named and suspect.change is not None and suspect.named is False:
            suspect.unnamed = True


def _alert_suspect(ctx: _Context, kind: CandidateKind, alert: AlertEvent) -> Suspect:
    if kind is CandidateKind.TRAFFIC_SPIKE:
        node_id, name = alert.node.id, f"traffic shift on {short_name(alert.entity)} ({alert.name})"
    else:
        node_id, name = alert.entity, f"{short_name(alert.entity)} failing ({alert.name})"
    candidate = Candidate(kind, node_id, alert.entity, name, alert.at)
    candidate.evidence.cause_at, candidate.evidence.detected_at = alert.at, ctx.detected
    candidate.evidence.alerts.append(_evidence_alert(alert, "cause"))
    suspect = Suspect(candidate, alert=alert)
    _trace(ctx, suspect, alert.entity, alert.at, own_alert_is_cause=True)
    # a failure travels to the callers; a traffic shift the way it reached the anomalous entity
    up = kind is CandidateKind.DEPENDENCY_FAILURE or alert.entity in ctx.topo.down
    _cone(ctx, suspect, alert.entity, [(alert.at, 1.0)], up=up)
    if kind is CandidateKind.DEPENDENCY_FAILURE:
        _explained(ctx, suspect, alert.entity, alert.at, alert.at)
        _induced(ctx, suspect, alert)
        _persistence(ctx, suspect, alert)
        if suspect.explained_by is None:
            _deeper_change(ctx, suspect, alert.entity, alert.at)
    return suspect


def _persistence(ctx: _Context, suspect: Suspect, first: AlertEvent) -> None:
    """Whether the entity's alert ``first`` (or a re-firing) was still firing at detection; how many alerts it raised."""
    suspect.still_firing = _still_firing(ctx, first)
    raised = ctx.timeline.alerts_on(first.entity, first.at - ctx.skew, ctx.detected)
    suspect.symptom_names = len({a.name for a in raised if not a.traffic})


def _still_firing(ctx: _Context, first: AlertEvent) -> bool:
    """Whether ``first``, or a later firing of the same alert on its entity (a flap), was firing at detection.

    Only what was known at detection counts: an alert that resolved later was firing then.
    """
    return any(a.name == first.name and a.firing_at(ctx.detected)
               for a in ctx.timeline.alerts_on(first.entity, first.at, ctx.detected))


def _induced(ctx: _Context, suspect: Suspect, alert: AlertEvent) -> None:
    """A change on the path shortly before the dependency's alert: the failure may be its consequence."""
    since = alert.at - timedelta(minutes=ctx.config.weights.induced_window_minutes)
    found = [
        c for node in suspect.evidence.path_nodes[1:] for c in ctx.timeline.changes_on(node, alert.at)
        if ctx.eligible(c) and c.at >= since
    ]
    if found:
        suspect.induced_by = max(found, key=lambda c: (c.at, c.node.id))


def _deeper_change(ctx: _Context, suspect: Suspect, entity: str, failed_at: datetime) -> None:
    """A change below the failing dependency shortly before it failed: the failure may have started there."""
    since = failed_at - timedelta(minutes=ctx.config.weights.induced_window_minutes)
    found = [
        c for node in sorted(ctx.topo.dependencies_of(entity)) for c in ctx.timeline.changes_on(node, failed_at)
        if ctx.eligible(c) and c.at >= since
    ]
    if found:
        suspect.deeper_change = max(found, key=lambda c: (c.at, c.node.id))


def _dependency_suspects(ctx: _Context) -> list[Suspect]:
    """Dependencies that alerted with no change of their own before (the anomalous entity itself is not one)."""
    return [
        _alert_suspect(ctx, CandidateKind.DEPENDENCY_FAILURE, first)
        for entity, first in alerting_entities(ctx.anomaly, ctx.topo, ctx.timeline).items()
        if entity != ctx.topo.root and ctx.changed_before(entity, first.at) is None
    ]


def _unexplained_alert(ctx: _Context, entity: str) -> bool:
    """The entity alerted in the window, and not shortly after a change of its own (which would explain the alert).

    A change ``stale_change_minutes`` or more before the alert explains it only weakly (an older one, read back,
    may be the slow burn behind it).
    """
    first = ctx.timeline.first_alert(entity, ctx.timeline.start, ctx.detected)
    if first is None:
        return False
    change = ctx.changed_before(entity, first.at)
    return change is None or change.at <= first.at - timedelta(minutes=ctx.config.weights.stale_change_minutes)


def _silent_suspects(ctx: _Context, alerted: set[str]) -> list[Suspect]:
    """Dependencies with no alert and no change whose callers, several of them, alerted (not after their own change).

    Only dependencies whose callers were all read (``load_callers``) are considered.
    """
    found = []
    for entity in sorted(ctx.topo.down):
        if entity in alerted or entity not in ctx.topo.loaded_callers or ctx.changed_before(entity, ctx.detected):
            continue
        callers = ctx.topo.callers.get(entity, set())
        alerting = {c for c in callers if c == ctx.topo.root or _unexplained_alert(ctx, c)}
        if len(alerting) >= ctx.config.weights.min_alerting_callers:
            found.append((len(alerting), len(alerting) / len(callers), -ctx.topo.down[entity], entity, alerting))
    found.sort(reverse=True)
    out: list[Suspect] = []
    for *_, entity, alerting in found[: ctx.config.weights.max_silent_candidates]:
        candidate = Candidate(CandidateKind.DEPENDENCY_FAILURE, entity, entity, f"{short_name(entity)} failing silently")
        candidate.evidence.detected_at = ctx.detected
        suspect = Suspect(candidate)
        first = [a for c in sorted(alerting) if (a := ctx.timeline.first_alert(c, ctx.timeline.start, ctx.detected))]
        since = min([a.at for a in first], default=ctx.detected)
        candidate.at = candidate.evidence.cause_at = since
        _trace(ctx, suspect, entity, since, own_alert_is_cause=False)
        # it failed about one hop's delay before its first caller alerted
        _cone(ctx, suspect, entity, [(since - timedelta(minutes=ctx.config.weights.hop_delay_median_minutes), 1.0)])
        _deeper_change(ctx, suspect, entity, since)
        known = {a.alert_id for a in candidate.evidence.alerts}
        candidate.evidence.alerts.extend(_evidence_alert(a, "caller") for a in first if a.node.id not in known)
        out.append(suspect)
    return out


def _hops(topo: Topology, entity: str) -> int:
    distance = topo.signed_distance(entity)
    return abs(distance) if distance is not None else 1_000


def build_suspects(anomaly: Anomaly, topo: Topology, timeline: Timeline, config: DiagnosisConfig) -> list[Suspect]:
    """Every candidate cause in the timeline, with its path and evidence (not yet scored)."""
    ctx = _Context(anomaly, topo, timeline, config)
    suspects = [_change_suspect(ctx, c) for c in timeline.changes if ctx.eligible(c)]
    suspects += _dependency_suspects(ctx)
    traffic: dict[str, AlertEvent] = {}
    for alert in timeline.alerts:
        if alert.traffic and alert.at <= anomaly.at:
            known = traffic.get(alert.node.id)
            if known is None or _hops(topo, alert.entity) < _hops(topo, known.entity):
                traffic[alert.node.id] = alert
    suspects += [_alert_suspect(ctx, CandidateKind.TRAFFIC_SPIKE, a) for _, a in sorted(traffic.items())]
    alerted = {a.entity for a in timeline.alerts if a.at <= anomaly.at}
    return suspects + _silent_suspects(ctx, alerted)


def alerting_entities(anomaly: Anomaly, topo: Topology, timeline: Timeline) -> dict[str, AlertEvent]:
    """The anomalous entity and every dependency that alerted (not traffic) in the window, with its first alert.

    Each has its earlier changes read back (:func:`slow_burn_suspects`): a change made hours before an entity
    fails can be a slow burn, whatever changed on it since.
    """
    out = {}
    for entity in sorted({topo.root, *topo.down}):
        alerts = [a for a in timeline.alerts_on(entity, timeline.start, anomaly.at) if not a.traffic]
        if alerts:
            out[entity] = min(alerts, key=lambda a: (a.at, a.node.id))
    return out


def slow_burn_suspects(
    anomaly: Anomaly, topo: Topology, timeline: Timeline, config: DiagnosisConfig, suspects: list[Suspect],
    earlier: list[ChangeEvent], alerting: dict[str, AlertEvent],
) -> list[Suspect]:
    """Changes from before the window on entities that now fail: candidates of their own (slow burns).

    The entities: failing dependencies, alerting or triangulated from their callers (whose candidate is
    marked: it did change, just earlier), and every other entity in ``alerting`` (the anomalous entity, a
    dependency that alerted after a change of its own in the window: an older change may be the slow burn).
    """
    ctx = _Context(anomaly, topo, timeline, config)
    out: list[Suspect] = []
    failing = {entity: alert.at for entity, alert in alerting.items()}
    for suspect in suspects:
        entity, since = suspect.candidate.entity, suspect.candidate.at
        if suspect.kind is not CandidateKind.DEPENDENCY_FAILURE or entity is None or since is None:
            continue
        # a dependency that alerted, or a silent one whose callers alert: since its alert / its callers' first
        failing[entity] = since
        own = [c for c in earlier if c.entity == entity and ctx.eligible(c) and c.at <= since]
        if own:
            suspect.changed_earlier = max(own, key=lambda c: (c.at, c.node.id))
    for entity, since in sorted(failing.items()):
        own = [c for c in earlier if c.entity == entity and ctx.eligible(c) and c.at <= since]
        out += [_change_suspect(ctx, c, slow_burn=True, read_back=own) for c in own]
    return out
