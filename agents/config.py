"""Diagnosis settings as data: the window, the neighbourhood and every weight of the scoring model.

A :class:`DiagnosisConfig` is a pydantic model with named presets; callers pick
one and override what they need, never thread flags through calls::

    >>> config = preset("default").model_copy(update={"depth": 2})
    >>> config.window, config.max_window
    (datetime.timedelta(seconds=1800), datetime.timedelta(seconds=21600))
    >>> parse_duration("45m"), parse_duration("2h")
    (datetime.timedelta(seconds=2700), datetime.timedelta(seconds=7200))

The meaning of each weight is documented in :mod:`agents.scoring`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from graph.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """``30m``, ``45min``, ``2h``, ``1d`` or ``90s``; a bare number is minutes."""
    match = _DURATION.match(text)
    if not match or float(match[1]) <= 0:
        raise ConfigError(f"{what} {text!r}: expected a positive duration such as 30m, 2h or 1d")
    unit = (match[2] or "m").lower()
    return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[unit])


class DelayKernel(BaseModel):
    """A delay distribution: a mixture of two log-normals (a fast and a slow-burn component), in minutes."""

    model_config = ConfigDict(frozen=True)

    median_minutes: float = Field(gt=0)
    sigma: float = Field(gt=0)
    slow_median_minutes: float = Field(gt=0)
    slow_sigma: float = Field(gt=0)
    slow_weight: float = Field(ge=0, le=1)
    #: the likelihood ratio is capped (and floored) so one feature cannot decide alone
    max_lr: float = Field(default=4.0, gt=1)
    min_lr: float = Field(default=0.02, gt=0)


#: The fitted feature weights (:mod:`agents.scoring_weights`): ``log score = Σ weight · log LR`` over the
#: factors, so 1 keeps a hand-set ratio as it is, 0.5 halves its say (in log terms), 2 doubles it.
#: Fitted by ``bench/rca/fit.py --rounds 2 --l2 0.003`` on 1,440 generated incidents (seeds 100-119, every
#: preset, 50 and 120 services; hard at 500 services, seeds 200-203; never the benchmark's seeds), see
#: docs/rca-benchmark.md: feature -> (weight, what it scales). Used by the ``fitted`` preset; the default weighs
#: every feature 1. The generator's causal changes are larger than its background ones (bench/rca/presets.py),
#: which is why a deploy's version step and a configuration change's magnitude weigh three times their say here.
FEATURES: dict[str, tuple[float, str]] = {
    "prior:change": (1.255, "a change's kind risk (deploy, config, flag, migration)"),
    "prior:dependency": (1.394, "a dependency that alerted with no change of its own (resource or service)"),
    "prior:silent": (0.977, "a dependency triangulated from its alerting callers"),
    "prior:traffic": (0.05, "a traffic alert at the edge"),
    "prior:unknown": (0.863, "the cause is not among the candidates"),
    "size:deploy": (3.17, "a deploy's semantic-version step from the version it replaced (or a rollback)"),
    "size:config": (2.653, "the magnitude of a configuration change (or a rollback)"),
    "size:flag": (0.553, "the magnitude of a flag change (or a rollback)"),
    "size:migration": (0.853, "the magnitude of a schema migration (or a rollback)"),
    "learned:record": (0.634, "the entity's changes of this kind caused incidents more often than the kind's risk"),
    "learned:clean": (0.45, "the entity's changes of this kind caused incidents less often (or never)"),
    "timing:change": (1.08, "delay from a change to the first symptom"),
    "timing:alert": (1.26, "delay per hop from a failing dependency's or traffic alert to detection"),
    "topology:self": (0.718, "the candidate is on the anomalous entity itself"),
    "topology:downstream": (0.69, "on something the anomalous entity depends on, by hops"),
    "topology:upstream": (1.564, "on a caller of the anomalous entity, by hops"),
    "explained_away:deeper": (0.408, "a dependency below the candidate alerted first (with or without a change)"),
    "explained_away:earlier": (0.579, "a failing dependency's own change from before the window"),
    "induced": (0.321, "a change on the path shortly before a dependency's alert"),
    "persistence:firing": (0.682, "the candidate's entity still alerting at detection (several different alerts)"),
    "persistence:resolved": (1.299, "the candidate's entity's alert had resolved by detection (a blip)"),
    "named:named": (1.652, "an alert on its entity names the change"),
    "named:another": (1.217, "its entity's alerts name a change on it, not this one (another change, or a failure by itself)"),
    "named:unnamed": (1.059, "its entity's alerts after it name no change on it, where alerts name changes"),
    "severity": (1.299, "the severity of a failing dependency's or traffic alert"),
    "base_rate": (1.124, "how often the candidate's alert fires without an incident"),
    "propagation": (0.736, "the alert pattern its failure would cause, against noise"),
    "similar_incidents": (0.528, "past incidents with similar symptoms and a cause on the same entity"),
}

FITTED_WEIGHTS: dict[str, float] = {name: weight for name, (weight, _) in FEATURES.items()}


class Weights(BaseModel):
    """Every number of the scoring model (see :mod:`agents.scoring` for what each means)."""

    model_config = ConfigDict(frozen=True)

    # prior: how likely a candidate of each kind is the cause, before any evidence
    change_risk: dict[str, float] = {"deploy": 0.03, "config": 0.05, "flag": 0.05, "migration": 0.10}
    dependency_prior_resource: float = 0.05
    dependency_prior_service: float = 0.015
    silent_dependency_prior: float = 0.004
    traffic_prior: float = 0.08
    unknown_prior: float = 0.006
    # change size
    action_lr: dict[str, float] = {"rolledback": 0.3, "removed": 0.5}
    semver_lr: dict[str, float] = {"major": 1.6, "minor": 1.15, "patch": 0.75, "same": 0.5, "unknown": 1.0}
    size_lr_range: tuple[float, float] = (0.7, 1.5)
    # learned prior (history): pseudo-counts that pull an entity's record towards the kind's risk
    learned_pseudo_count: float = 10.0
    learned_max_lr: float = 4.0
    learned_min_lr: float = 0.5
    # timing
    change_delay: DelayKernel = DelayKernel(
        median_minutes=8, sigma=0.8, slow_median_minutes=150, slow_sigma=0.5, slow_weight=0.15
    )
    propagation_delay: DelayKernel = DelayKernel(
        median_minutes=3, sigma=1.0, slow_median_minutes=30, slow_sigma=1.0, slow_weight=0.1, max_lr=3.0
    )
    #: the timing floor of a failing entity's own change read back from before the window (0: off)
    slow_burn_min_lr: float = 0.0
    #: a change this long or longer before an entity's alert explains it only weakly: the alert still triangulates a
    #: silent dependency below it
    stale_change_minutes: float = 20.0
    #: the window whose uniform density is the baseline of the timing ratio
    timing_reference_minutes: float = 30.0
    #: the same for a failing entity's change read back from before the window (the span read back)
    slow_burn_reference_minutes: float = 360.0
    #: a cause may follow the first symptom by this much (clock skew, alert evaluation interval)
    clock_skew_seconds: float = 90.0
    # topology: distance (index 0 = one hop) and direction
    self_lr: float = 3.0
    downstream_lr: tuple[float, ...] = (2.0, 1.2, 1.2, 0.6)
    upstream_lr: tuple[float, ...] = (0.4, 0.2, 0.1, 0.05)
    traffic_lr: tuple[float, ...] = (2.0, 1.2, 0.6, 0.3)
    # competing explanations
    explained_by_change_lr: float = 0.25
    explained_by_alert_lr: float = 0.6
    #: a failing dependency whose own change from before the window is read back (a slow-burn candidate of its own)
    changed_earlier_lr: float = 0.5
    induced_lr: float = 0.3
    deeper_change_lr: float = 0.5
    induced_window_minutes: float = 15.0
    severity_lr: dict[str, float] = {"critical": 1.5, "warning": 1.0, "info": 0.3}
    #: the candidate's entity alerted, and its alert had resolved before detection (a blip, not an ongoing failure)
    resolved_alert_lr: float = 0.2
    #: the candidate's entity raised two or more different alerts before detection
    several_symptoms_lr: float = 2.0
    #: an alert on the changed entity names the change (its version, flag or key) / names another change on it
    named_by_alert_lr: float = 3.0
    rival_named_lr: float = 0.4
    #: its entity alerted after it and no alert names a change on it, while alerts on the neighbourhood do name changes
    unnamed_lr: float = 0.5
    #: alert base rate: the dependency priors assume an alert that fires by itself about this rarely
    alert_reference_days: float = 7.0
    alert_base_rate_min_lr: float = 0.05
    # propagation: the likelihood of the alert pattern a candidate's failure would cause (agents/propagation.py);
    # q, a and r were measured on the hard training seeds (100-119): 47% of a failing entity's other callers
    # failed, 62% of the failing entities on a path alerted, 21% of the other entities within three hops of the
    # paging service alerted in the 30 min before detection
    #: each entity depending on a failing one (off the path to the symptom) fails too with this chance, per hop
    propagation_spread: float = 0.45
    #: a failing entity alerts with this chance (the anomalous entity always does)
    propagation_alert: float = 0.6
    #: an entity alerts in the reference window by itself with this chance (or its alert's base rate, if higher)
    propagation_noise: float = 0.2
    #: how many hops from the candidate the failure is followed (up; a traffic shift the way it reached the page)
    propagation_max_hops: int = 3
    #: the delay from a failing dependency to its caller's failure and alert: log-normal median and sigma (minutes).
    #: The gap between alerting neighbours on the training seeds is median 1.5 min, sigma 0.5; wider here, since
    #: the sum of hops is approximated and an alert rule's evaluation interval adds its own jitter
    hop_delay_median_minutes: float = 2.0
    hop_delay_sigma: float = 0.9
    #: one entity's alert counts at most this much: the delay model is only so exact, and a cone alert must not
    #: outweigh a change's own alert by far (uncapped, a deploy two hops down beat the config change on the
    #: alerting gateway itself in the demo estate's #4139; on the training seeds 592 of 800 at 10, 594 uncapped
    #: with a worse Brier score)
    propagation_member_max_lr: float = 10.0
    #: the factor is clamped: it multiplies many correlated members (naive Bayes over-confidence)
    propagation_lr_range: tuple[float, float] = (0.001, 1000.0)
    # silent dependency triangulated from its alerting callers
    min_alerting_callers: int = 2
    max_silent_candidates: int = 3
    # similarity to past incidents: LR = 1 + similar_incident_gain * similarity
    similar_incident_gain: float = 2.0
    #: the least symptom similarity of a past incident that affected the same anomalous entity
    same_entity_similarity: float = 0.5
    # calibration: probabilities are softmax(log score / temperature)
    temperature: float = 1.0
    #: the weight of each feature (keys of :data:`FEATURES`; a missing key weighs 1: the hand-set model, the
    #: default; the ``fitted`` preset uses the fitted table)
    feature_weights: dict[str, float] = {}

    @model_validator(mode="after")
    def _check_feature_weights(self) -> Weights:
        for name, weight in self.feature_weights.items():
            if name not in FEATURES:
                raise ValueError(f"feature_weights: unknown feature {name!r}; expected one of {', '.join(FEATURES)}")
            if not 0 < weight <= 10:
                raise ValueError(f"feature_weights[{name!r}] = {weight}: expected a weight in (0, 10]")
        return self


class DiagnosisConfig(BaseModel):
    """What a diagnosis looks at and how it scores; use :func:`preset` for a named starting point."""

    model_config = ConfigDict(frozen=True)

    name: str = "default"
    #: how far before detection the timeline starts
    window: timedelta = timedelta(minutes=30)
    #: the timeline is doubled up to this when nothing in it explains the symptom
    max_window: timedelta = timedelta(hours=6)
    #: stop widening once a candidate other than ``unknown`` ranks first with at least this confidence
    explain_min_confidence: float = Field(default=0.25, ge=0, le=1)
    #: alerts up to this long after detection still corroborate a path (never causes); for re-diagnosing later
    lookahead: timedelta = timedelta(0)
    #: hops along DEPENDS_ON in each direction
    depth: int = Field(default=3, ge=1, le=6)
    #: how far back past incidents and change counts are read
    history: timedelta = timedelta(days=90)
    #: past incidents must have started this long before detection (the current one never counts)
    history_margin: timedelta = timedelta(hours=2)
    #: changes made in another environment are left out; ``None`` keeps every environment
    environment: str | None = "production"
    #: an alert whose name matches is a traffic signal (a shift at the edge), not a failure
    traffic_alert_pattern: str = r"(?i)(request.?rate|traffic|throughput|\brps\b|\bqps\b|spike|surge)"
    weights: Weights = Weights()

    @model_validator(mode="after")
    def _check_windows(self) -> DiagnosisConfig:
        if self.window <= timedelta(0):
            raise ValueError("window must be positive")
        if self.max_window < self.window:
            raise ValueError("max_window must be at least the window")
        return self

    def with_window(self, window: timedelta) -> DiagnosisConfig:
        """A copy with another window (the maximum grows to at least the window)."""
        return self.model_copy(update={"window": window, "max_window": max(self.max_window, window)})


PRESETS: dict[str, DiagnosisConfig] = {
    "default": DiagnosisConfig(),
    #: the fitted feature weights (:data:`FEATURES`): better on the generated benchmark's held-out seeds, worse on
    #: the demo estate (27 of 32 against 31), so not the default yet (docs/rca-benchmark.md)
    "fitted": DiagnosisConfig(name="fitted", weights=Weights(feature_weights=FITTED_WEIGHTS)),
    #: the immediate neighbourhood only, no widening: for a quick first look
    "fast": DiagnosisConfig(name="fast", depth=2, max_window=timedelta(minutes=30), history=timedelta(days=30)),
    #: slow-burn causes (disk filling, leaks, batch jobs): a long window and deeper history
    "slow-burn": DiagnosisConfig(
        name="slow-burn", window=timedelta(hours=2), max_window=timedelta(hours=24), history=timedelta(days=180)
    ),
}


def preset(name: str = "default") -> DiagnosisConfig:
    """The named preset (``default``, ``fitted``, ``fast``, ``slow-burn``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"diagnosis preset {name!r}: expected one of {', '.join(PRESETS)}") from None
