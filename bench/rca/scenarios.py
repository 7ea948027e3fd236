"""Labelled scenarios: a root cause, its propagation to a paged service, and the confounders around it.

``make_scenario`` draws one scenario at a nominal time from the preset: the
cause kind, the cause's entity ``X`` and the paging service ``P`` (0-3 hops
from ``X`` up its callers, or down from the edge service for a traffic spike),
the root change (or the outage / traffic alert), the failures and alerts
(:mod:`bench.rca.propagation`) and the confounders (:mod:`bench.rca.confounders`).
The label is the graph node the diagnosis should name first: the change
(``deploy:<context.id>``...), the failing entity (a dependency outage) or the
traffic alert (``alert:<fingerprint>``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.rca.durations import mitigation, persist_until
from bench.rca.estate import Estate
from bench.rca.events import AlertSpec, ChangeSpec, make_alert, name_of, new_id, stamp
from bench.rca.presets import Preset
from bench.rca.propagation import Failure, Reach, lognormal_minutes, propagate

CHANGE_KINDS = ("deploy", "config", "flag", "migration")
FIXES = {
    "deploy": "rollback_deploy", "config": "revert_config", "flag": "disable_feature_flag",
    "migration": "rollback_migration", "dependency_failure": "failover", "traffic_spike": "scale_up",
}  # fmt: skip
_SYMPTOMS = {"service": ("HighErrorRate", "HighLatency"), "database": ("ConnectionsSaturated", "ReplicationLag"),
             "queue": ("ConsumerLagHigh",), "cache": ("EvictionsHigh", "LatencyHigh")}


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


@dataclass
class Scenario:
    index: int
    kind: str
    cause_entity: str
    paging: str
    path: list[str]
    cause_node_id: str = ""
    source_event_id: str | None = None
    cause_at: datetime | None = None
    detected_at: datetime | None = None
    page: AlertSpec | None = None
    confounders: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    alert_of: dict[str, AlertSpec] = field(default_factory=dict)
    changes: list[ChangeSpec] = field(default_factory=list)
    alerts: list[AlertSpec] = field(default_factory=list)
    cause_change: ChangeSpec | None = None
    decoys: list[str] = field(default_factory=list)

    @property
    def incident_id(self) -> str:
        return f"PRCA{self.index:04d}"

    @property
    def fix(self) -> str:
        return FIXES[self.kind]

    @property
    def hops(self) -> int:
        return len(self.path) - 1

    def label(self, preset: str) -> dict[str, Any]:
        """The ground truth of this scenario, as one JSON object of the labels file."""
        assert self.detected_at is not None and self.page is not None
        return {
            "scenario": self.index, "preset": preset, "incident_id": f"incident:{self.incident_id}",
            "paging_service": self.paging, "detected_at": stamp(self.detected_at), "signal": self.page.alertname,
            "alert_id": self.page.node_id,
            "cause": {"node_id": self.cause_node_id, "source_event_id": self.source_event_id, "kind": self.kind,
                      "entity": self.cause_entity, "at": stamp(self.cause_at) if self.cause_at else None},
            "fix": self.fix, "hops": self.hops, "path": self.path, "confounders": sorted(self.confounders),
            "decoys": self.decoys,
            "propagation": [
                {"entity": f.entity, "at": stamp(f.at), "parent": f.parent,
                 "alert": self.alert_of[f.entity].node_id if f.entity in self.alert_of else None}
                for f in self.failures
            ],
        }  # fmt: skip


def symptom_name(estate: Estate, entity: str, rng: random.Random) -> str:
    tier = estate.tier[entity]
    return camel(name_of(entity)) + rng.choice(_SYMPTOMS.get(tier, _SYMPTOMS["service"]))


def cause_entities(estate: Estate, kind: str, shared: bool) -> list[str]:
    """Entities a cause of ``kind`` can sit on (``shared``: data stores with two or more users)."""
    callers = estate.callers()
    if kind in ("deploy", "config", "flag"):
        return [e for e in estate.services if estate.tier[e] != "edge" or kind != "deploy"]
    if kind == "traffic_spike":
        return [e for e in estate.services if estate.tier[e] == "edge"]
    stores = [r for r in estate.resources if kind != "migration" or estate.tier[r] == "database"]
    if kind == "dependency_failure" and not shared:
        stores += [s for s in estate.services if estate.tier[s] == "api"]
    return [s for s in stores if not shared or len(callers.get(s, ())) >= 2]


def pick_pair(
    estate: Estate, reach: Reach, kind: str, preset: Preset, rng: random.Random, *, shared: bool = False,
    entity: str | None = None, paging: str | None = None, min_hops: int = 0,
) -> tuple[str, str] | None:
    """(cause entity, paging service) for ``kind``; ``entity`` or ``paging`` pin one end."""
    causes = [entity] if entity else cause_entities(estate, kind, shared)
    table = reach.down if kind == "traffic_spike" else reach.up
    pairs = [
        (x, p, d) for x in causes for p, d in table[x].items()
        if estate.tier[p] in ("edge", "api", "domain") and min_hops <= d <= preset.max_hops and (paging is None or p == paging)
    ]
    if not pairs:
        return None
    hops = rng.choice(sorted({d for _, _, d in pairs}))
    x, p, _ = rng.choice([pair for pair in pairs if pair[2] == hops])
    return x, p


def root_change(scenario: Scenario, start: datetime, rng: random.Random) -> ChangeSpec:
    """The causal change: larger than most background changes (see :mod:`bench.rca.presets`)."""
    change = ChangeSpec(start, scenario.cause_entity, scenario.kind, new_id(rng))
    if scenario.kind == "deploy":
        change.step = "major" if rng.random() < 0.2 else "minor"
    elif scenario.kind == "config":
        change.factor = rng.uniform(3, 20)
        change.key = rng.choice(("timeout_ms", "pool.size", "cache.ttl_s", "retry.max_attempts"))
    elif scenario.kind == "flag":
        change.flag = (rng.choice((0, 10, 25)), rng.choice((50, 100)))
        change.key = f"{name_of(scenario.cause_entity)}.new-{rng.choice(('checkout', 'ranking', 'pricing', 'cache'))}"
    return change


def fail(estate: Estate, reach: Reach, scenario: Scenario, start: datetime, preset: Preset, rng: random.Random,
         root_alerts: bool) -> None:
    """Propagate the failure and make the alerts; the paging service's first alert is the page."""
    step = reach.callees if scenario.kind == "traffic_spike" else reach.callers
    scenario.failures = propagate(scenario.path, start, step, rng, spread=preset.spread, path_alert=preset.path_alert,
                                  root_alerts=root_alerts)
    if scenario.kind == "dependency_failure" and not root_alerts:
        _two_alerting_callers(reach, scenario, rng)
    for failure in scenario.failures:
        if not failure.alerts:
            continue
        if scenario.kind == "traffic_spike" and failure.entity == scenario.cause_entity:
            name, severity = f"{camel(name_of(failure.entity))}RequestRateSpike", "warning"
        else:
            name, severity = symptom_name(estate, failure.entity, rng), rng.choice(("critical", "critical", "warning"))
        # the duration drawn here is replaced below (drawn all the same, so the scenario's other draws stay put)
        alert = make_alert(rng, failure.at, failure.entity, name, severity, rng.uniform(20, 50))
        scenario.alert_of[failure.entity] = alert
        scenario.alerts.append(alert)
    scenario.page = scenario.alert_of[scenario.paging]
    scenario.detected_at = scenario.page.at
    mitigated = mitigation(scenario.page, scenario.detected_at)
    for alert in list(scenario.alert_of.values()):
        scenario.alerts += persist_until(alert, mitigated, may_flap=alert is not scenario.page)


def _two_alerting_callers(reach: Reach, scenario: Scenario, rng: random.Random) -> None:
    """A silent outage is only seen through its callers: make sure two of them alert when it has two."""
    alerting = {f.entity for f in scenario.failures if f.parent == scenario.cause_entity and f.alerts}
    if len(alerting) >= 2:
        return
    spare = sorted(set(reach.callers.get(scenario.cause_entity, ())) - alerting - {scenario.paging})
    root = scenario.failures[0]
    for entity in spare[: 2 - len(alerting)]:
        at = root.at + lognormal_minutes(rng, 1.5, 0.5)
        scenario.failures = [f for f in scenario.failures if f.entity != entity]
        scenario.failures.append(Failure(entity, at, scenario.cause_entity, True))
    scenario.failures.sort(key=lambda f: (f.at, f.entity))


def start_scenario(scenario: Scenario, estate: Estate, reach: Reach, preset: Preset, at: datetime,
                   rng: random.Random) -> None:
    """The root cause at about ``at`` and its propagation; the page comes minutes after."""
    silent = "silent_root" in scenario.confounders
    if scenario.kind in CHANGE_KINDS:
        change = root_change(scenario, at, rng)
        old = "old_cause" in scenario.confounders
        delay = timedelta(minutes=rng.uniform(50, 240)) if old else lognormal_minutes(rng, 6, 0.6)
        scenario.cause_change, scenario.cause_at = change, at
        scenario.cause_node_id, scenario.source_event_id = change.node_id, change.id
        scenario.changes.append(change)
        fail(estate, reach, scenario, at + delay, preset, rng, root_alerts=not silent)
    else:
        scenario.cause_at = at
        fail(estate, reach, scenario, at, preset, rng, root_alerts=not silent)
        own = scenario.alert_of.get(scenario.cause_entity)
        if scenario.kind == "traffic_spike":
            assert own is not None
            scenario.cause_node_id, scenario.source_event_id = own.node_id, own.fingerprint
        else:
            scenario.cause_node_id = scenario.cause_entity
            scenario.source_event_id = own.fingerprint if own else None
