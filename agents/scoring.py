"""The scoring model: a transparent naive-Bayes ranking with calibrated confidences.

Every candidate starts from a **prior** (how likely a cause of its kind is, before
evidence) and is multiplied by one **likelihood ratio** (LR) per feature: how much
more likely the observed evidence is if the candidate is the cause than if it is
not. ``score = prior * Π LR``; ``unknown`` (the cause is not in the timeline)
competes with its own prior. Confidences are ``softmax(log score / temperature)``
over all candidates and ``unknown``, so they sum to 1. Every factor is kept in
the candidate's evidence (``evidence.factors``: name, value, LR), so a ranking can
be re-derived by hand. The numbers live in :class:`agents.config.Weights`.

Features
--------
``prior``
    Changes: the kind's risk (``change_risk``: the share of changes of that kind
    that cause an incident; migrations riskiest, deploys least per change).
    A dependency that alerted with no change: ``dependency_prior_resource`` for
    data stores, queues, caches and external providers, the lower
    ``dependency_prior_service`` for a service (a service rarely fails by itself);
    a dependency triangulated from its callers (no alert of its own):
    ``silent_dependency_prior``. A traffic alert: ``traffic_prior``.
``size`` (changes)
    Change type and size. Deploys: the semantic-version step from the version it
    replaced (``semver_lr``: major > minor > patch > redeploy). Rollbacks and
    removals restore a known state (``action_lr``). Configuration, flags,
    migrations: the magnitude of the change read from the CDEvents
    ``changes`` (a factor of 60 on a TTL, a flag from 10% to 100%, a boolean
    flipped) mapped linearly onto ``size_lr_range``.
``learned`` (history)
    The learned prior: how often this kind of change on this entity caused
    incidents before detection (``CAUSED_BY`` of past incidents over the number
    of such changes in ``config.history``), smoothed towards the kind's risk with
    ``learned_pseudo_count`` pseudo-changes: ``LR = ((k + a·r) / (n + a)) / r``,
    clamped to ``[learned_min_lr, learned_max_lr]``. An entity that changes often
    without incident is trusted more; one with a record is suspected more.
    Dependency failures and traffic shifts count through ``base_rate`` and
    ``similar_incidents`` instead.
``timing``
    Time from the cause to the first symptom (the earliest alert on the path
    from the candidate to the anomalous entity, or detection). The density of a
    delay distribution (``change_delay``: a log-normal mixture, median 8 min with
    a slow-burn component at 150 min) over the uniform density of the reference
    window. Dependency failures and traffic use ``propagation_delay`` (median 3
    min, one hop) on the mean delay per hop from their own alert to detection:
    a failure three hops down reaches the page in three steps. A
    cause after the first symptom (beyond ``clock_skew_seconds``) is dropped as
    a cause. A failing entity's own change read back from before the window (a
    slow burn) is measured against the span read back
    (``slow_burn_reference_minutes``: an unrelated change is about as likely
    anywhere in it), and can keep at least ``slow_burn_min_lr`` (0, off: on
    the benchmark it traded as many hits as it won).
``topology``
    Graph distance and direction: a change on the anomalous entity itself
    (``self_lr``), on something it transitively depends on (``downstream_lr`` by
    hops) or on a caller (``upstream_lr``: callers can hurt a callee, by load or
    bad requests, but less often). Traffic propagates both ways (``traffic_lr``).
``propagation`` (every candidate but ``unknown``)
    The likelihood ratio of the whole alert pattern on the entities the
    candidate's failure would reach (its cone: what depends on its entity within
    ``propagation_max_hops``; for a traffic shift, the way it reached the
    anomalous entity) under "this candidate is the cause" against noise, from
    the explicit model of :mod:`agents.propagation`: the path to the symptom
    fails, each other dependant with ``propagation_spread`` per hop, a failing
    entity alerts with ``propagation_alert`` a log-normal delay per hop
    (``hop_delay_median_minutes``, ``hop_delay_sigma``) after its dependency,
    and noise alerts with ``propagation_noise`` in the reference window (or
    the alert's base rate, when it is known and higher). Each cone member that
    alerted in time multiplies by ``(P(fail)·a·density + noise) / noise`` (at
    most ``propagation_member_max_lr``), each that stayed silent by
    ``1 − P(fail)·a·P(it would have alerted by now)``; entities outside the cone
    cancel. A change whose own entity alerted after it also gets ``a / r``
    (not one on the anomalous entity: its alert is the page being explained).
    So the cause gains from every branch it took down, and a decoy's cone counts
    its silent members against it. The product is clamped to
    ``propagation_lr_range``.
``explained_away``
    A dependency below the candidate, off its path, alerted between the cause
    and the first symptom: the symptom more likely started there.
    ``explained_by_change_lr`` when that dependency had its own change first,
    ``explained_by_alert_lr`` otherwise. A failing dependency that changed before
    the window (a slow burn: the change is then a candidate too) gets
    ``changed_earlier_lr``. A failing dependency with no deeper alert but a
    change on something below it within ``induced_window_minutes`` before its
    alert gets ``deeper_change_lr`` (the failure may have started there, with
    the changed entity failing silently).
``induced`` (dependency failures)
    A change on the path from the dependency to the symptom within
    ``induced_window_minutes`` before the dependency's alert (a retry storm, a
    new query): the failure may be a consequence (``induced_lr``).
``persistence`` (candidates whose own entity alerted)
    A real failure keeps alerting until it is mitigated, and usually raises
    more than one alert (errors and latency, saturation and lag); a blip fires
    one alert that resolves within minutes. When the entity's first alert
    (after the change, for a change), and any later firing of the same alert
    on it (a flap), had resolved by detection (``endsAt`` before it):
    ``resolved_alert_lr``. Two or more different alerts on it from its first
    alert to detection: ``several_symptoms_lr``. Only what was known at
    detection is read: an alert resolved later counts as firing.
``named`` (changes, dependency failures)
    What the alerts say: a per-pod alert carries the release the pod runs, an
    error-rate rule broken down by flag variant names the flag, an error
    message quotes the configuration key whose limit it hit. A change whose
    identity (a deploy's version, a flag or config key, a schema version) is
    a word of a label or annotation of an alert on its entity after it:
    ``named_by_alert_lr``; a change on an entity whose alerts name another of
    its changes, not this one: ``rival_named_lr``. This separates two changes
    on one service a minute apart; and it counts against a failing dependency
    whose alerts name one of its own changes (read back from before the
    window: a slow burn), which is then not failing by itself. A name that a
    later change on the same entity also carries (a generic key changed again
    before the alert) names the later one, the change in force. A change whose
    entity alerted after it with no alert naming a change on it gets
    ``unnamed_lr``, when some alert on the neighbourhood names a change (the
    alerting carries such labels at all; where none does, silence says
    nothing). No extra read:
    labels and annotations are properties of the alert nodes the timeline
    holds.
``severity`` (dependency failures, traffic; changes whose entity alerted after them)
    The severity of the candidate's own alert (``severity_lr``); for a change, of its entity's first alert
    after it (not on the anomalous entity, whose alert is the page): the failure shows there as a failing
    dependency's does, so a change and its entity failing by itself (a slow burn) are judged alike.
``base_rate`` (dependency failures, traffic)
    How normal the candidate's alert is: its earlier firings (same alert name,
    same entity) in ``config.history`` before the longest window, leaving out
    those followed by an incident on or caused by the entity within
    ``config.history_margin``. With ``n`` firings the chance it fires in the
    reference window anyway is ``p = 1 - exp(-n·W/H)``; the dependency priors
    assume an alert that fires by itself about once in
    ``alert_reference_days`` (``p0``). ``LR = min(1, p0 / p)``, floored at
    ``alert_base_rate_min_lr``: a chronic alert (every few hours) is worth a
    tenth of a rare one; an alert that rarely fires is not boosted.
``similar_incidents``
    Past incidents whose symptoms resemble this one (Jaccard of the affected
    entities, at least ``same_entity_similarity`` when the same entity was
    affected) and whose cause was of the same kind on the same entity (1.0;
    same entity, other kind 0.5):
    ``LR = 1 + similar_incident_gain x max(symptom similarity x cause similarity)``.

Fitted weights
--------------
Each factor's log ratio is scaled by a fitted weight (``Weights.feature_weights``,
the table ``agents.config.FEATURES``; :mod:`agents.scoring_weights`): the
score is ``Π LR^w``, fitted as a conditional logit on labelled incidents. The
``fitted`` preset uses them; the default weighs every feature 1 (the model above).

Calibration
-----------
``temperature`` rescales the log scores before the softmax (naive Bayes is
over-confident when features are correlated); it is fitted by maximum
likelihood of the true cause on labelled incidents (``docs/diagnosis.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from agents.candidates import Suspect
from agents.changes import change_size, semver_step
from agents.config import DelayKernel, Weights
from agents.history import History, alert_name
from agents.propagation import Cone, Member, kernel_density, propagation_lr
from agents.records import Candidate, CandidateKind, Factor, SimilarIncident, short_name
from agents.scoring_calibration import calibrate
from agents.scoring_weights import weigh
from agents.timeline import AlertEvent
from graph.schema import NodeLabel, label_of

MODEL_VERSION = "naive-bayes-2"  # 2: the propagation likelihood replaced corroboration, spread, reach, triangulation
MAX_SIMILAR = 3


def delay_lr(minutes: float, kernel: DelayKernel, reference_minutes: float) -> float:
    """Density of the delay under the kernel over the uniform density of the reference window."""
    x = max(minutes, 0.1)
    density = kernel_density(x, kernel)
    return min(kernel.max_lr, max(kernel.min_lr, density * reference_minutes))


def alert_base_rate_lr(firings: int, span_minutes: float, weights: Weights) -> float:
    """``P(fires in the window by chance | typical alert) / P(fires in the window by chance | this alert)``, at most 1.

    >>> round(alert_base_rate_lr(150, 90 * 1440, Weights()), 3), alert_base_rate_lr(3, 90 * 1440, Weights())
    (0.087, 1.0)
    """
    window = weights.timing_reference_minutes
    chance = 1 - math.exp(-firings * window / max(span_minutes, window))
    typical = 1 - math.exp(-window / (weights.alert_reference_days * 1440))
    return 1.0 if chance <= typical else max(weights.alert_base_rate_min_lr, typical / chance)


def _by_distance(table: Sequence[float], distance: int) -> float:
    return table[min(max(distance, 1), len(table)) - 1]


def _minutes(suspect: Suspect) -> float | None:
    ev = suspect.evidence
    if ev.cause_at is None:
        return None
    if suspect.kind in _ALERT_KINDS:
        # a failure reaches the symptom one hop at a time: the mean delay per hop to detection
        hops = max(ev.distance or 0, 1)
        return None if ev.detected_at is None else (ev.detected_at - ev.cause_at).total_seconds() / 60 / hops
    end = ev.first_symptom_at
    return None if end is None else (end - ev.cause_at).total_seconds() / 60


_ALERT_KINDS = (CandidateKind.DEPENDENCY_FAILURE, CandidateKind.TRAFFIC_SPIKE)


class Scorer:
    """Scores the suspects of one anomaly against its history with one set of weights."""

    def __init__(self, weights: Weights, history: History, root: str, symptoms: set[str], detected_at: datetime) -> None:
        self.w = weights
        self.detected_at = detected_at
        self.history = history
        self.root = root
        #: the anomalous entity and every entity of its neighbourhood that alerted before detection
        self.symptoms = symptoms | {root}

    def factors(self, suspect: Suspect) -> list[Factor]:
        prior = self.prior(suspect)
        out = [prior]
        if suspect.change is not None:
            out.append(self.size(suspect))
            out.append(self.learned(suspect, prior.lr))
        out += [self.timing(suspect), self.topology(suspect)]
        if suspect.cone is not None:
            out.append(self.propagation(suspect.cone))
        if suspect.explained_by is not None:
            by_change = suspect.explained_by_change
            lr = self.w.explained_by_change_lr if by_change else self.w.explained_by_alert_lr
            note = f"{suspect.explained_by.name} on {suspect.explained_by.entity} alerted first"
            out.append(Factor("explained_away", "deeper change" if by_change else "deeper alert", lr, note))
        if suspect.changed_earlier is not None:
            change = suspect.changed_earlier
            out.append(Factor("explained_away", "own earlier change", self.w.changed_earlier_lr,
                              f"{change.node.name} before the window"))
        if suspect.deeper_change is not None:
            change = suspect.deeper_change
            out.append(Factor("explained_away", "deeper change", self.w.deeper_change_lr,
                              f"{change.node.name} on {change.entity} shortly before"))
        if suspect.induced_by is not None:
            change = suspect.induced_by
            out.append(Factor("induced", change.node.id, self.w.induced_lr, f"{change.node.name} shortly before"))
        if suspect.still_firing is not None:
            out.append(self.persistence(suspect))
        if suspect.named or suspect.rival_named or suspect.unnamed:
            out.append(self.named(suspect))
        if suspect.alert is not None:
            out.append(self.severity(suspect.alert))
            out.append(self.base_rate(suspect))
        elif suspect.own_alert is not None:
            # a change's entity failing shows in its alert as a failing dependency's does
            out.append(self.severity(suspect.own_alert))
        out.append(self.similar(suspect))
        return out

    # the features, one method each ------------------------------------------------------
    def severity(self, alert: AlertEvent) -> Factor:
        severity = alert.severity or "unknown"
        return Factor("severity", severity, self.w.severity_lr.get(severity, 1.0))

    def prior(self, suspect: Suspect) -> Factor:
        kind, entity = suspect.kind, suspect.candidate.entity or ""
        if kind is CandidateKind.DEPENDENCY_FAILURE:
            if suspect.alert is None:
                return Factor("prior", "silent dependency", self.w.silent_dependency_prior)
            if label_of(entity) is NodeLabel.SERVICE:
                return Factor("prior", "service failure", self.w.dependency_prior_service)
            return Factor("prior", "resource failure", self.w.dependency_prior_resource)
        if kind is CandidateKind.TRAFFIC_SPIKE:
            return Factor("prior", "traffic shift", self.w.traffic_prior)
        return Factor("prior", f"{kind} risk", self.w.change_risk[str(kind)])

    def size(self, suspect: Suspect) -> Factor:
        assert suspect.change is not None
        node = suspect.change.node
        if suspect.kind is CandidateKind.DEPLOY:
            action = str(node.props.get("action", ""))
            if action in self.w.action_lr:
                return Factor("size", action, self.w.action_lr[action], "restores a known state")
            previous = self.history.previous_deploy(suspect.change.entity, node)
            old = str(previous.props.get("version")) if previous is not None else None
            new = str(node.props.get("version", ""))
            step = semver_step(old, new)
            return Factor("size", step, self.w.semver_lr[step], f"{old or '?'} -> {new or '?'}")
        magnitude, note = change_size(node)
        low, high = self.w.size_lr_range
        return Factor("size", magnitude, low + (high - low) * magnitude, note)

    def learned(self, suspect: Suspect, risk: float) -> Factor:
        kind, entity = suspect.kind, suspect.candidate.entity or ""
        caused = self.history.caused(kind, entity)
        changes = self.history.changes_before(kind, entity, suspect.candidate.at or self.detected_at)
        a = self.w.learned_pseudo_count
        rate = (caused + a * risk) / (changes + a)
        lr = min(self.w.learned_max_lr, max(self.w.learned_min_lr, rate / risk))
        return Factor("learned", rate, lr, f"{caused} of {changes} {kind} change(s) on it caused incidents")

    def timing(self, suspect: Suspect) -> Factor:
        minutes = _minutes(suspect)
        if minutes is None or (suspect.kind is CandidateKind.DEPENDENCY_FAILURE and suspect.alert is None):
            return Factor("timing", "n/a", 1.0, "no time of its own")
        kernel = self.w.propagation_delay if suspect.kind in _ALERT_KINDS else self.w.change_delay
        # a change read back from before the window was looked for over the whole read-back span
        reference = self.w.slow_burn_reference_minutes if suspect.slow_burn else self.w.timing_reference_minutes
        lr = delay_lr(minutes, kernel, reference)
        if suspect.slow_burn:
            lr = max(lr, self.w.slow_burn_min_lr)
        what = "per hop to detection" if suspect.kind in _ALERT_KINDS else "to the first symptom"
        return Factor("timing", minutes, lr, f"{minutes:.1f} min {what}")

    def topology(self, suspect: Suspect) -> Factor:
        ev = suspect.evidence
        distance, direction = ev.distance or 0, ev.direction or "self"
        if direction == "self":
            lr = self.w.self_lr
        elif suspect.kind is CandidateKind.TRAFFIC_SPIKE:
            lr = _by_distance(self.w.traffic_lr, distance)
        else:
            lr = _by_distance(self.w.downstream_lr if direction == "downstream" else self.w.upstream_lr, distance)
        return Factor("topology", f"{direction} {distance}", lr)

    def base_rate(self, suspect: Suspect) -> Factor:
        """How likely the candidate's alert would have fired in the window anyway, from its earlier firings."""
        assert suspect.alert is not None
        alert = suspect.alert
        firings = self.history.alert_firings(alert_name(alert.node), alert.entity)
        lr = alert_base_rate_lr(firings, self.history.alert_span.total_seconds() / 60, self.w)
        days = self.history.alert_span.days
        return Factor("base_rate", float(firings), lr, f"fired {firings} time(s) in {days} days with no incident")

    def persistence(self, suspect: Suspect) -> Factor:
        several = suspect.symptom_names >= 2
        lr = self.w.several_symptoms_lr if several else 1.0
        note = f"{suspect.symptom_names} different alert(s) raised"
        if suspect.still_firing:
            return Factor("persistence", "firing", lr, f"still alerting at detection; {note}")
        return Factor("persistence", "resolved", lr * self.w.resolved_alert_lr, f"resolved before detection; {note}")

    def named(self, suspect: Suspect) -> Factor:
        if suspect.named:
            return Factor("named", "named", self.w.named_by_alert_lr, "an alert on its entity names it")
        if suspect.rival_named:
            return Factor("named", "another", self.w.rival_named_lr, "its entity's alerts name a change on it, not this")
        return Factor("named", "unnamed", self.w.unnamed_lr, "its entity alerted after it; no alert names it")

    def propagation(self, cone: Cone) -> Factor:
        lr = propagation_lr(cone, self.w, self._noise)
        low, high = self.w.propagation_lr_range
        earliest = min(t0 for t0, _ in cone.starts)
        skew = timedelta(seconds=self.w.clock_skew_seconds)
        heard = [any(a.at >= earliest - skew for a in m.alerts) for m in cone.members]
        alerted = [m for m, yes in zip(cone.members, heard, strict=True) if yes]
        silent = [m for m, yes in zip(cone.members, heard, strict=True) if not yes]
        on_path = sum(1 for m in silent if m.fails == 1)
        names = ", ".join(short_name(m.entity) for m in alerted) or "none"
        note = (f"{len(alerted)} of {len(cone.members)} entities it reaches alerted after it ({names}); "
                f"{len(silent)} stayed silent, {on_path} of them on its path")
        return Factor("propagation", float(len(alerted)), min(high, max(low, lr)), note)

    def _noise(self, member: Member) -> float:
        """The chance ``member`` alerts in the reference window by itself: at least its alerts' base rates."""
        chance = self.w.propagation_noise
        if member.entity in self.history.alerts_counted:
            span = max(self.history.alert_span.total_seconds() / 60, self.w.timing_reference_minutes)
            for alert in member.alerts:
                firings = self.history.alert_firings(alert_name(alert.node), member.entity)
                chance = max(chance, 1 - math.exp(-firings * self.w.timing_reference_minutes / span))
        return chance

    def similar(self, suspect: Suspect) -> Factor:
        candidate = suspect.candidate
        matches: list[SimilarIncident] = []
        for past in self.history.incidents:
            if past.cause_entity != candidate.entity or candidate.entity is None:
                continue
            cause_sim = 1.0 if past.cause_kind is candidate.kind else 0.5
            union = self.symptoms | past.affected
            symptom_sim = len(self.symptoms & past.affected) / len(union) if union else 0.0
            if self.root in past.affected:
                symptom_sim = max(symptom_sim, self.w.same_entity_similarity)
            if symptom_sim * cause_sim > 0:
                matches.append(SimilarIncident(past.id, past.at, past.cause_id, symptom_sim * cause_sim))
        matches.sort(key=lambda m: (-m.similarity, m.incident_id))
        candidate.evidence.similar_incidents = matches[:MAX_SIMILAR]
        best = matches[0].similarity if matches else 0.0
        return Factor("similar_incidents", best, 1.0 + self.w.similar_incident_gain * best)


def unknown_candidate(weights: Weights) -> Candidate:
    candidate = Candidate(CandidateKind.UNKNOWN, None, None, "a cause not in the timeline")
    prior = weigh(Factor("prior", "unknown", weights.unknown_prior), weights.feature_weights, CandidateKind.UNKNOWN)
    candidate.score = prior.lr
    candidate.evidence.factors = [prior]
    return candidate


def score_suspects(suspects: list[Suspect], scorer: Scorer, temperature: float) -> list[Candidate]:
    """Score, add ``unknown``, calibrate and rank: the candidates best first, ranks from 1."""
    candidates = []
    for suspect in suspects:
        factors = [weigh(f, scorer.w.feature_weights, suspect.kind) for f in scorer.factors(suspect)]
        suspect.candidate.evidence.factors = factors
        suspect.candidate.score = math.prod(f.lr for f in factors)
        candidates.append(suspect.candidate)
    candidates.append(unknown_candidate(scorer.w))
    calibrate(candidates, temperature)
    candidates.sort(key=lambda c: (-c.confidence, c.kind is CandidateKind.UNKNOWN, c.node_id or ""))
    for rank, candidate in enumerate(candidates, start=1):
        candidate.rank = rank
    return candidates
