"""What alerts name: the release, flag, configuration key or schema version in play on the failing instances.

A real alert often says more than the entity and the symptom. Per-pod alerts
carry the release the pod runs (a ``version`` label templated into the
annotations); error-rate rules broken down by feature-flag variant (the
OpenTelemetry ``feature_flag.key`` of the failing requests) name the flag;
error messages quote the configuration key whose limit they hit
(``timeout_ms``, ``pool.size``); a failing query names the schema version.
That is what separates two changes on one service a minute apart.

The generator emits it with noise in both directions:

* a failing entity's alerts, in a scenario caused by a change on that entity,
  name the change with :data:`CLUE_RATE` (each alert on its own);
* any other alert on an entity that changed in production in the
  :data:`BYSTANDER_SPAN` before it names that entity's latest change with
  :data:`BYSTANDER_RATE` (the running release on a pod that alerts for another
  reason, a flag evaluated on requests that fail anyway), and so does a
  failing entity's alert that did not name its cause.

Each draw comes from a generator seeded by the alert's fingerprint, so the
scenarios (causes, times, confounders, durations) do not move::

    annotate(alerts, changes, scenarios, versions.named)
    decoy.annotations        # {'version': '3.6.0'}: a bystander naming its entity's latest release
"""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from datetime import datetime, timedelta

from bench.rca.events import AlertSpec, ChangeSpec
from bench.rca.scenarios import Scenario

#: share of a change-caused failure's alerts, on the changed entity, that name the change
CLUE_RATE = 0.7
#: share of other alerts on a recently changed entity that name its latest change anyway
BYSTANDER_RATE = 0.15
BYSTANDER_SPAN = timedelta(hours=6)
#: the annotation that names a change of each kind
ANNOTATION = {"deploy": "version", "flag": "feature_flag", "config": "config_key", "migration": "schema_version"}


def _rng(alert: AlertSpec) -> random.Random:
    return random.Random(f"clue:{alert.fingerprint}")


def _latest(index: dict[str, list[ChangeSpec]], times: dict[str, list[datetime]], alert: AlertSpec) -> ChangeSpec | None:
    at = bisect.bisect_right(times.get(alert.entity, []), alert.at)
    latest = index[alert.entity][at - 1] if at else None
    return latest if latest is not None and alert.at - latest.at <= BYSTANDER_SPAN else None


def annotate(alerts: list[AlertSpec], changes: list[ChangeSpec], scenarios: list[Scenario], named: dict[str, str]) -> None:
    """Add the annotations that name a change to ``alerts`` (in place); ``named``: change id -> its name."""
    index: dict[str, list[ChangeSpec]] = defaultdict(list)
    for change in sorted(changes, key=lambda c: (c.at, c.id)):
        if change.environment == "production" and change.id in named:
            index[change.entity].append(change)
    times = {entity: [c.at for c in changes] for entity, changes in index.items()}
    causes: dict[int, ChangeSpec] = {}
    for scenario in scenarios:
        cause = scenario.cause_change
        if cause is not None and cause.id in named:
            causes.update({id(a): cause for a in scenario.alerts if a.entity == cause.entity})
    for alert in alerts:
        rng = _rng(alert)
        cause = causes.get(id(alert))
        if cause is not None and rng.random() < CLUE_RATE:
            alert.annotations[ANNOTATION[cause.kind]] = named[cause.id]
        elif rng.random() < BYSTANDER_RATE and (latest := _latest(index, times, alert)) is not None:
            alert.annotations[ANNOTATION[latest.kind]] = named[latest.id]
