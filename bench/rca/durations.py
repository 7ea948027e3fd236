"""How long alerts fire: a real failure until it is mitigated, with companions; a decoy or noise for a blip, usually.

A failing entity keeps its alert firing until the incident is mitigated
(10-40 min after detection) and resolves a few minutes later. Half the
failing entities also raise a second symptom (errors with latency, saturation
with replication lag) a couple of minutes after the first. Some real failures
flap: the alert resolves after a few minutes and fires again (a new firing,
its own ``instance``) until mitigation. A decoy or noise alert (with nothing
behind it) usually resolves within minutes; some persist, a few raise a
second symptom too.

Each alert's duration comes from a generator seeded by the alert's own
fingerprint, so drawing durations never shifts the scenario's other draws::

    >>> extra = persist_until(alert, mitigation(page, detected_at))   # a real failure's alert (and companions)
    >>> extra = transient(decoy)                                       # a decoy's
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from bench.rca.events import AlertSpec, make_alert

#: share of real failures whose alert resolves after a few minutes and fires again
FLAP_RATE = 0.15
#: share of failing entities that raise a second symptom
COMPANION_RATE = 0.5
#: share of decoys and noise alerts that keep firing (the rest resolve within minutes) / that raise a second symptom
DECOY_PERSIST_RATE = 0.3
DECOY_COMPANION_RATE = 0.1
#: median minutes of a decoy blip (log-normal, sigma 0.6)
DECOY_MEDIAN_MINUTES = 4.0
#: the symptom that comes with another (by alert name suffix)
COMPANIONS = {
    "HighErrorRate": "HighLatency", "HighLatency": "HighErrorRate", "ConnectionsSaturated": "ReplicationLag",
    "ReplicationLag": "ConnectionsSaturated", "ConsumerLagHigh": "MessagesDeadLettered", "EvictionsHigh": "LatencyHigh",
    "LatencyHigh": "EvictionsHigh",
}  # fmt: skip


def _rng(alert: AlertSpec) -> random.Random:
    return random.Random(alert.fingerprint)


def companion_name(alertname: str) -> str | None:
    """``CartApiHighErrorRate`` -> ``CartApiHighLatency``; ``None`` for an alert with no companion."""
    for suffix, other in COMPANIONS.items():
        if alertname.endswith(suffix):
            return alertname.removesuffix(suffix) + other
    return None


def mitigation(page: AlertSpec, detected_at: datetime) -> datetime:
    """When the incident paged by ``page`` is mitigated: 10-40 min after detection."""
    return detected_at + timedelta(minutes=_rng(page).uniform(10, 40))


def _companion(rng: random.Random, alert: AlertSpec, minutes: float) -> list[AlertSpec]:
    name = companion_name(alert.alertname)
    if name is None:
        return []
    at = alert.at + timedelta(minutes=2 * math.exp(rng.gauss(0, 0.6)))
    return [make_alert(rng, at, alert.entity, name, alert.severity, minutes)]


def persist_until(alert: AlertSpec, mitigated: datetime, *, may_flap: bool = True) -> list[AlertSpec]:
    """Make a real failure's ``alert`` fire until ``mitigated`` (plus a resolve lag); returns the extra firings.

    The extras: a second symptom on the same entity (:data:`COMPANION_RATE`), and a re-firing when the
    alert flapped (:data:`FLAP_RATE`, unless ``may_flap`` is false).
    """
    rng = _rng(alert)
    lag = rng.uniform(1, 5)
    until = (mitigated - alert.at).total_seconds() / 60 + lag
    extra = _companion(rng, alert, until) if rng.random() < COMPANION_RATE else []
    for companion in extra:
        companion.minutes = max(until - (companion.at - alert.at).total_seconds() / 60, 1.0)
    if not may_flap or rng.random() >= FLAP_RATE:
        alert.minutes = max(until, 1.0)
        return extra
    alert.minutes = rng.uniform(1.5, 6)
    again = alert.at + timedelta(minutes=alert.minutes + rng.uniform(1, 4))
    refire = make_alert(rng, again, alert.entity, alert.alertname, alert.severity, 1.0)
    refire.minutes = max((mitigated - again).total_seconds() / 60 + lag, 1.0)
    return [*extra, refire]


def transient(alert: AlertSpec) -> list[AlertSpec]:
    """Make a decoy or noise ``alert`` a blip of a few minutes, or one that keeps firing; returns it and any companion."""
    rng = _rng(alert)
    if rng.random() < DECOY_PERSIST_RATE:
        alert.minutes = rng.uniform(20, 60)
    else:
        alert.minutes = DECOY_MEDIAN_MINUTES * math.exp(rng.gauss(0, 0.6))
    extra = _companion(rng, alert, alert.minutes) if rng.random() < DECOY_COMPANION_RATE else []
    return [alert, *extra]
