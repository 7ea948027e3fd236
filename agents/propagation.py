"""The propagation likelihood: how well "this candidate failed first" explains the whole alert pattern above it.

Local features (an alert on the path, a caller that alerted) judge each alert
on its own, so a decoy that explains the alerts on its own path scores like
the cause. This factor judges a candidate against the *pattern*: which of the
entities its failure would reach alerted, when, and which stayed silent. The
model, for a failure of entity ``X`` starting at ``t0``:

* the entities on the path from ``X`` to the anomalous entity fail (they must:
  the page is on the last of them); every other entity that depends on a
  failing one fails with the chance ``q`` (``propagation_spread``) per hop off
  the path, up to ``propagation_max_hops`` from ``X``;
* an entity ``h`` hops from ``X`` fails ``h`` per-hop delays after ``t0`` (each
  log-normal, ``hop_delay_median_minutes`` and ``hop_delay_sigma``; their sum
  is taken as log-normal with ``h`` times the median and the sigma over
  ``sqrt(h)``), and alerts then with the chance ``a`` (``propagation_alert``);
* by itself (noise) an entity alerts in the reference window with the chance
  ``r`` (``propagation_noise``, or its alert's base rate when that is known
  and higher: a chronic alert is noise more likely), uniformly over it.

Each entity of the candidate's *cone* (what depends on ``X`` within the
neighbourhood, as the topology stood; for a traffic shift, the way it reached
the anomalous entity) contributes ``(P(fail)·a·delay density + noise density)
/ noise density`` when its first alert after ``t0`` came at that time (at most
``propagation_member_max_lr``: the delay model is only so exact), and
``1 − P(fail)·a·P(it would have alerted by the end of observation)`` when it
stayed silent. Entities outside the cone are explained by noise under every
hypothesis and cancel. The anomalous entity is what is being explained (the
page) and is left out; a change on another entity that alerted after it gets
``a / r`` for that alert (its silence is not held against it: the cause's own
entity often has no alert for what broke). So the cause gains from every branch it
took down, and a decoy's cone counts its silent members against it.

``t0`` is a failing dependency's or traffic shift's own alert, a change's
entity's first alert after it, or one hop's delay before the first alert of a
silent dependency's callers. A silent change's failure start is not observed:
the ratio is averaged over a grid of the change delay (``change_delay``),
weighed by how well each start explains the anomalous entity's alert::

    web = Member("service:default/web", hops=1, fails=1.0, alerts=(alert,))
    lr = propagation_lr(Cone((web,), ((failed_at, 1.0),), detected_at), weights, noise=lambda m: 0.2)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist

from agents.config import DelayKernel, Weights
from agents.timeline import AlertEvent

#: possible starts of a failure not seen (quantiles of the propagation delay)
START_POINTS = 8
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Member:
    """One entity of a candidate's cone and what was seen of it."""

    entity: str
    #: hops from the candidate's entity: how many per-hop delays its failure takes to arrive
    hops: int
    #: the chance it fails when the candidate is the cause (1 on the path to the anomalous entity)
    fails: float
    #: its alerts (not traffic) in the window, in time order
    alerts: tuple[AlertEvent, ...]


@dataclass(frozen=True, slots=True)
class Cone:
    """What a candidate's failure would reach, the possible starts of the failure, and until when alerts were read."""

    members: tuple[Member, ...]
    #: ``(t0, weight)``: one point when the start was seen, a grid over the possible starts otherwise
    starts: tuple[tuple[datetime, float], ...]
    until: datetime
    #: a change's own entity alerted after it (a failing entity's own alert is the candidate itself: not counted)
    own_alert: bool = False


def _sum_of_hops(hops: int, weights: Weights) -> tuple[float, float]:
    """(log median, sigma) of the delay of ``hops`` hops, taken as log-normal."""
    return math.log(hops * weights.hop_delay_median_minutes), weights.hop_delay_sigma / math.sqrt(hops)


def lognormal_pdf(x: float, median: float, sigma: float) -> float:
    if x <= 0:
        return 0.0
    z = (math.log(x) - math.log(median)) / sigma
    return math.exp(-0.5 * z * z) / (x * sigma * math.sqrt(2 * math.pi))


def kernel_density(minutes: float, kernel: DelayKernel) -> float:
    """The density of a change-to-symptom delay of ``minutes`` under ``kernel`` (a log-normal mixture)."""
    density = (1 - kernel.slow_weight) * lognormal_pdf(minutes, kernel.median_minutes, kernel.sigma)
    return density + kernel.slow_weight * lognormal_pdf(minutes, kernel.slow_median_minutes, kernel.slow_sigma)


def _hop_density(minutes: float, hops: int, weights: Weights) -> float:
    """The density of a delay of ``minutes`` over ``hops`` hops."""
    log_median, sigma = _sum_of_hops(hops, weights)
    return lognormal_pdf(minutes, math.exp(log_median), sigma)


def change_starts(
    change_at: datetime, symptom_at: datetime, hops: int, kernel: DelayKernel, weights: Weights
) -> tuple[tuple[datetime, float], ...]:
    """The possible starts of a change's failure that its entity did not alert on.

    The anomalous entity, ``hops`` away, alerted at ``symptom_at``: the failure began about that many hop
    delays before (quantiles of their sum), each start weighed by the change delay's density (``kernel``).
    A start before the change is impossible; when none is left, the change itself is the start.
    """
    log_median, sigma = _sum_of_hops(max(hops, 1), weights)
    out = []
    for i in range(START_POINTS):
        t0 = symptom_at - timedelta(minutes=math.exp(log_median + sigma * _NORMAL.inv_cdf((i + 0.5) / START_POINTS)))
        if t0 > change_at:
            out.append((t0, kernel_density((t0 - change_at).total_seconds() / 60, kernel)))
    return tuple(out) if any(w > 0 for _, w in out) else ((change_at, 1.0),)


def _ratio(member: Member, t0: datetime, until: datetime, weights: Weights, noise: float) -> float:
    """The member's likelihood ratio (the candidate failing at ``t0`` against noise, which alerts with ``noise``)."""
    log_median, sigma = _sum_of_hops(member.hops, weights)
    skew = weights.clock_skew_seconds
    caused = member.fails * weights.propagation_alert
    after = [a.at for a in member.alerts if (a.at - t0).total_seconds() >= -skew]
    if after:
        density = _hop_density(max((after[0] - t0).total_seconds() / 60, 0.1), member.hops, weights)
        per_minute = noise / weights.timing_reference_minutes
        return min(weights.propagation_member_max_lr, (caused * density + per_minute) / per_minute)
    left = (until - t0).total_seconds() / 60
    if left <= 0:
        return 1.0
    return 1.0 - caused * _NORMAL.cdf((math.log(left) - log_median) / sigma)


def propagation_lr(cone: Cone, weights: Weights, noise: Callable[[Member], float]) -> float:
    """The cone's likelihood ratio, averaged over the possible starts of the failure.

    ``noise(member)`` is the chance the member alerts in the reference window by itself.
    """
    chances = [noise(m) for m in cone.members]
    total = sum(
        weight * math.prod(_ratio(m, t0, cone.until, weights, chance) for m, chance in zip(cone.members, chances, strict=True))
        for t0, weight in cone.starts
    )
    own = weights.propagation_alert / weights.propagation_noise if cone.own_alert else 1.0
    return own * total / max(sum(weight for _, weight in cone.starts), 1e-12)
