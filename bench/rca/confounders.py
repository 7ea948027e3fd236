"""Draw one scenario and inject its confounders (the rates and their meaning: :mod:`bench.rca.presets`).

A confounder that cannot apply (no off-path dependency for a decoy, no
earlier incident for a lookalike) is dropped, so ``scenario.confounders``
lists exactly what was injected::

    >>> scenario = make_scenario(7, estate, reach, preset("hard"), at, rng, earlier, chronic)
    >>> scenario.confounders
    ['decoy_alert', 'nearby_deploy', 'no_change', 'noisy_alerts']
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from bench.rca.durations import transient
from bench.rca.estate import Estate
from bench.rca.events import ChangeSpec, make_alert, new_id
from bench.rca.presets import Preset
from bench.rca.propagation import Reach
from bench.rca.scenarios import CHANGE_KINDS, Scenario, pick_pair, start_scenario, symptom_name

_ONLY_FOR = {
    "silent_root": ("deploy", "config", "flag", "migration", "dependency_failure"),
    "old_cause": CHANGE_KINDS, "concurrent_change": CHANGE_KINDS, "shared_store": ("migration", "dependency_failure"),
    "recurring": (*CHANGE_KINDS, "dependency_failure"),
}  # fmt: skip


def _minutes(low: float, high: float, rng: random.Random) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


def draw_confounders(preset: Preset, kind: str, rng: random.Random) -> set[str]:
    """The confounders drawn for one scenario of ``kind`` (each rate drawn even when it cannot apply)."""
    drawn = {name for name, rate in sorted(preset.rates.items()) if rng.random() < rate}
    return {name for name in drawn if kind in _ONLY_FOR.get(name, (kind,))}


def _choose(estate: Estate, reach: Reach, preset: Preset, rng: random.Random, kind: str, flags: set[str],
            earlier: list[Scenario]) -> tuple[str, str, str, Scenario | None]:
    """(kind, cause entity, paging service, the lookalike's earlier scenario) honouring the flags it can."""
    min_hops = 1 if "silent_root" in flags else 0
    history = [s for s in earlier if s.kind in (*CHANGE_KINDS, "dependency_failure")]
    same = [s for s in history if s.kind == kind]
    if "recurring" in flags and same:
        past = rng.choice(same)
        pair = pick_pair(estate, reach, past.kind, preset, rng, entity=past.cause_entity, min_hops=min_hops)
        if pair:
            flags.discard("shared_store")
            return past.kind, pair[0], pair[1], None
    flags.discard("recurring")
    if "lookalike" in flags and history:
        past = rng.choice(history)
        for _ in range(5):
            pair = pick_pair(estate, reach, kind, preset, rng, paging=past.paging, min_hops=min_hops)
            if pair and pair[0] != past.cause_entity:
                flags.discard("shared_store")
                return kind, pair[0], pair[1], past
    flags.discard("lookalike")
    pair = pick_pair(estate, reach, kind, preset, rng, shared="shared_store" in flags, min_hops=min_hops)
    if pair is None:
        flags.discard("shared_store")
        pair = pick_pair(estate, reach, kind, preset, rng, min_hops=min_hops)
    if pair is None:
        flags.discard("silent_root")
        kind, pair = "deploy", pick_pair(estate, reach, "deploy", preset, rng)
    assert pair is not None, "the estate has no service with a caller"
    return kind, pair[0], pair[1], None


def make_scenario(index: int, estate: Estate, reach: Reach, preset: Preset, at: datetime, rng: random.Random,
                  earlier: list[Scenario], chronic: dict[str, str]) -> Scenario:
    """One labelled scenario whose root cause starts at about ``at``."""
    kinds, weights = zip(*sorted(preset.kinds.items()), strict=True)
    kind = rng.choices(kinds, weights)[0]
    flags = draw_confounders(preset, kind, rng)
    kind, cause, paging, past = _choose(estate, reach, preset, rng, kind, flags, earlier)
    flags = {f for f in flags if kind in _ONLY_FOR.get(f, (kind,))}
    path = reach.path_down(cause, paging, rng) if kind == "traffic_spike" else reach.path_up(cause, paging, rng)
    scenario = Scenario(index, kind, cause, paging, path, confounders=sorted(flags))
    start_scenario(scenario, estate, reach, preset, at, rng)
    _inject(scenario, estate, reach, rng, chronic, past)
    _remediation(scenario, rng)
    if kind in ("config", "flag"):
        scenario.confounders.append("config_or_flag")
    if kind in ("dependency_failure", "traffic_spike"):
        scenario.confounders.append("no_change")
    scenario.confounders.sort()
    return scenario


def _off_path(scenario: Scenario, entities: dict[str, int], max_hops: int) -> list[str]:
    involved = set(scenario.path) | {f.entity for f in scenario.failures} | {scenario.cause_entity}
    return sorted(e for e, d in entities.items() if 0 < d <= max_hops and e not in involved)


def _inject(scenario: Scenario, estate: Estate, reach: Reach, rng: random.Random, chronic: dict[str, str],
            past: Scenario | None) -> None:
    assert scenario.detected_at is not None
    at, p, flags = scenario.detected_at, scenario.paging, set(scenario.confounders)
    services = set(estate.services)
    near = {**reach.up[p], **reach.down[p]}
    injected: set[str] = set()
    if "nearby_deploy" in flags and (options := [e for e in _off_path(scenario, near, 2) if e in services]):
        deploy = ChangeSpec(at - _minutes(0.5, 25, rng), rng.choice(options), "deploy", new_id(rng),
                            step=rng.choice(("patch", "minor")))
        scenario.changes.append(deploy)
        scenario.decoys.append(deploy.node_id)
        injected.add("nearby_deploy")
    if "deploy_on_alerting" in flags and scenario.cause_entity != p:
        deploy = ChangeSpec(at - _minutes(2, 20, rng), p, "deploy", new_id(rng), step="patch")
        scenario.changes.append(deploy)
        scenario.decoys.append(deploy.node_id)
        injected.add("deploy_on_alerting")
    if "noisy_alerts" in flags and (options := _off_path(scenario, near, 2)):
        for entity in rng.sample(options, min(len(options), rng.randint(1, 3))):
            severity = rng.choice(("info", "warning"))
            scenario.alerts += transient(make_alert(rng, at - _minutes(1, 30, rng), entity,
                                                    symptom_name(estate, entity, rng), severity, rng.uniform(5, 30)))
        injected.add("noisy_alerts")
    if "chronic_alert" in flags and (options := [e for e in _off_path(scenario, near, 3) if e in chronic]):
        entity = rng.choice(options)
        scenario.alerts.append(make_alert(rng, at - _minutes(3, 25, rng), entity, chronic[entity], "warning", 20))
        injected.add("chronic_alert")
    if "decoy_alert" in flags and (options := _off_path(scenario, reach.down[p], 2)):
        entity = rng.choice(options)
        decoy, *companions = transient(make_alert(rng, at - _minutes(2, 15, rng), entity,
                                                  symptom_name(estate, entity, rng), "critical", 25))
        scenario.alerts += [decoy, *companions]
        scenario.decoys.append(decoy.node_id)
        injected.add("decoy_alert")
    if "concurrent_change" in flags:
        scenario.changes.append(_concurrent(scenario, rng))
        scenario.decoys.append(scenario.changes[-1].node_id)
        injected.add("concurrent_change")
    if past is not None:
        _lookalike_trap(scenario, past, rng)
        injected.add("lookalike")
    kept = {"silent_root", "shared_store", "old_cause", "recurring"} & flags
    scenario.confounders = sorted(injected | kept)


def _concurrent(scenario: Scenario, rng: random.Random) -> ChangeSpec:
    """Another change on the cause's entity, minutes from the real one (before the first failure)."""
    assert scenario.cause_at is not None
    entity = scenario.cause_entity
    if entity.startswith("resource:"):
        kind = "config"
    else:
        kind = rng.choice([k for k in ("deploy", "config", "flag") if k != scenario.kind])
    at = scenario.cause_at + _minutes(-6, 6, rng)
    first_failure = scenario.failures[0].at
    if at >= first_failure - timedelta(minutes=1):
        at = scenario.cause_at - _minutes(1, 6, rng)
    return ChangeSpec(at, entity, kind, new_id(rng), step="patch", factor=rng.uniform(1.2, 3))


def _lookalike_trap(scenario: Scenario, past: Scenario, rng: random.Random) -> None:
    """The earlier incident's cause entity changes (or alerts) again now, unrelated to this failure."""
    assert scenario.detected_at is not None
    when = scenario.detected_at - _minutes(5, 25, rng)
    if past.kind == "dependency_failure":
        alert, *companions = transient(make_alert(rng, when, past.cause_entity, "LatencyElevated", "warning", 15))
        scenario.alerts += [alert, *companions]
        scenario.decoys.append(alert.node_id)
        return
    change = ChangeSpec(when, past.cause_entity, past.kind, new_id(rng), step="minor", factor=rng.uniform(1.5, 4))
    scenario.changes.append(change)
    scenario.decoys.append(change.node_id)


def _remediation(scenario: Scenario, rng: random.Random) -> None:
    """The fix, as the change it makes after detection: a rollback, a config revert, a flag turned off."""
    assert scenario.detected_at is not None
    when = scenario.detected_at + _minutes(8, 25, rng)
    cause = scenario.cause_change
    if cause is None or scenario.kind == "migration":
        return
    fix = ChangeSpec(when, cause.entity, cause.kind, new_id(rng), step="rollback", key=cause.key,
                     factor=cause.factor, flag=(cause.flag[1], 0))
    scenario.changes.append(fix)
