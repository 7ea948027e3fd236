"""Background activity of an estate: the changes and alerts that happen whether or not anything breaks.

``events`` is the volume: 80% CDEvents (deploys 50%, config 25%, flags 15%,
migrations 10%; a quarter of deploys and config changes go to staging) and 20%
alert notifications (each alert fires and resolves: two notifications). Of
the alerts, chronic ones fire every 2-6 h on about one entity in twenty
through the whole period; the rest are noise on random entities (85%
warning or info, 5-60 min long)::

    >>> activity = background(estate, 10_000, T0, 28, random.Random(1))
    >>> len(activity.changes) + 2 * len(activity.alerts)
    10000
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.rca.durations import transient
from bench.rca.estate import Estate
from bench.rca.events import AlertSpec, ChangeSpec, make_alert, new_id

CHANGE_SHARE = 0.8
_KIND_MIX = (("deploy", 50), ("config", 25), ("flag", 15), ("migration", 10))
_CHRONIC_NAMES = ("DiskUsageHigh", "PodRestartsFrequent", "GCPauseLong", "CertificateExpiringSoon")
_NOISE_NAMES = ("HighLatency", "ErrorRateElevated", "CPUThrottling", "MemoryPressure", "SlowQueries", "ConnectionChurn")


@dataclass
class Activity:
    changes: list[ChangeSpec] = field(default_factory=list)
    alerts: list[AlertSpec] = field(default_factory=list)
    #: entities with a chronic alert, and its name
    chronic: dict[str, str] = field(default_factory=dict)


def _pick(entities: list[str], rng: random.Random) -> str:
    """Power-law-ish: earlier (more central) entities are picked more often."""
    return entities[min(int(len(entities) * rng.random() ** 1.3), len(entities) - 1)]


def background_change(estate: Estate, kind: str, at: datetime, rng: random.Random) -> ChangeSpec:
    """One ordinary change (no incident follows it) of ``kind`` at ``at``."""
    services = estate.services
    env = "staging" if kind in ("deploy", "config") and rng.random() < 0.25 else "production"
    if kind == "migration":
        dbs = [r for r in estate.resources if estate.tier[r] == "database"]
        return ChangeSpec(at, _pick(dbs, rng), "migration", new_id(rng), environment=env)
    change = ChangeSpec(at, _pick(services, rng), kind, new_id(rng), environment=env)
    if kind == "deploy":
        roll = rng.random()
        change.step = "rollback" if roll < 0.03 else "patch" if roll < 0.42 else "major" if roll > 0.95 else "minor"
    elif kind == "config":
        change.factor = math.exp(rng.uniform(math.log(1.1), math.log(5)))
    else:
        up = (rng.choice((0, 10, 25)), rng.choice((50, 100)))
        change.flag = up if rng.random() < 0.7 else (up[1], up[0])
    return change


def _chronic(estate: Estate, start: datetime, days: int, budget: int, rng: random.Random, out: Activity) -> None:
    entities = sorted(estate.tier)
    count = max(2, len(entities) // 20)
    for entity in rng.sample(entities, count):
        out.chronic[entity] = rng.choice(_CHRONIC_NAMES)
    at = {e: start + timedelta(hours=rng.uniform(0, 6)) for e in out.chronic}
    end = start + timedelta(days=days)
    while len(out.alerts) < budget and at:
        entity = min(at, key=lambda e: (at[e], e))
        if at[entity] >= end:
            del at[entity]
            continue
        out.alerts.append(make_alert(rng, at[entity], entity, out.chronic[entity], "warning", rng.uniform(5, 40)))
        at[entity] += timedelta(hours=rng.uniform(2, 6))


def background(estate: Estate, events: int, start: datetime, days: int, rng: random.Random) -> Activity:
    """``events`` CDEvents and alert notifications spread uniformly over ``days`` from ``start``."""
    out = Activity()
    span = timedelta(days=days).total_seconds()
    alerts = round(events * (1 - CHANGE_SHARE)) // 2
    _chronic(estate, start, days, alerts // 3, rng, out)
    entities = sorted(estate.tier)
    while len(out.alerts) < alerts:
        at = start + timedelta(seconds=rng.random() * span)
        severity = rng.choices(("info", "warning", "critical"), (35, 50, 15))[0]
        entity = _pick(entities, rng)
        noise, *_ = transient(make_alert(rng, at, entity, rng.choice(_NOISE_NAMES), severity, rng.uniform(5, 60)))
        out.alerts.append(noise)  # one alert a draw: the budget (and the draws after it) stay as they were
    kinds, weights = [k for k, _ in _KIND_MIX], [w for _, w in _KIND_MIX]
    for _ in range(events - 2 * len(out.alerts)):
        at = start + timedelta(seconds=rng.random() * span)
        out.changes.append(background_change(estate, rng.choices(kinds, weights)[0], at, rng))
    return out
