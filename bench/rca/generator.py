"""A seeded generator of labelled root-cause scenarios, written in the formats ``vidya ingest`` reads.

``generate(spec, root)`` plans an estate (:mod:`bench.rca.estate`: 10-500
services in edge / API / domain tiers, shared databases, queues and caches,
power-law dependencies), its background activity over ``spec.days`` days
(:mod:`bench.rca.background`: deploys with artifacts, config and flag changes,
migrations, chronic and noisy alerts) and ``spec.scenarios`` labelled scenarios
at spread-out times in the last 70% of the period (:mod:`bench.rca.scenarios`,
:mod:`bench.rca.propagation`, :mod:`bench.rca.confounders`), then writes::

    root/catalog/*.yaml              Backstage catalog
    root/events/changes-NN.jsonl     CDEvents (one file a week), custom dev.cdeventsx config/flag/migration events
    root/alerts/alerts-NN.jsonl      Alertmanager webhook payloads (one file a week); some name the release,
                                     flag or key in play (:mod:`bench.rca.clues`)
    root/incidents/PRCA0007.json     PagerDuty incident with notes, one per scenario
    root/postmortems/*.md            postmortems naming the cause
    root/labels.jsonl                the ground truth, one scenario a line (never ingested)

What each difficulty preset turns on, and at what rates, is documented in
:mod:`bench.rca.presets`. The same spec always gives the same bytes::

    >>> spec = GenSpec(services=50, scenarios=40, preset="hard", seed=7)
    >>> estate = generate(spec, Path("/tmp/rca-hard"))
    >>> sorted(estate.labels[0]["cause"])
    ['at', 'entity', 'kind', 'node_id', 'source_event_id']
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.rca.background import background
from bench.rca.clues import annotate
from bench.rca.confounders import make_scenario
from bench.rca.estate import Estate, plan_estate, write_catalog
from bench.rca.events import AlertSpec, ChangeSpec, Versions, render_alerts, render_changes
from bench.rca.incidents import incident_json, postmortem_markdown
from bench.rca.presets import preset
from bench.rca.propagation import Reach
from bench.rca.scenarios import Scenario
from graph.errors import ConfigError

T0 = datetime(2026, 3, 2, tzinfo=UTC)
INGESTED_FOLDERS = ("catalog", "events", "alerts", "incidents", "postmortems")
LABELS = "labels.jsonl"
#: scenarios live in the last part of the period; the first part is history only
HISTORY_SHARE = 0.3


def seeded(key: str) -> random.Random:
    """A generator seeded from a hash of ``key``: similar keys ("…:7", "…:8") must not give correlated draws."""
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


@dataclass(frozen=True)
class GenSpec:
    """What to generate; ``events`` is the background volume (CDEvents plus alert notifications)."""

    services: int = 50
    scenarios: int = 40
    preset: str = "medium"
    events: int | None = None
    days: int = 28
    seed: int = 1

    @property
    def background_events(self) -> int:
        return self.events if self.events is not None else 200 * self.services

    def check(self) -> None:
        if not 10 <= self.services <= 500:
            raise ConfigError(f"services={self.services}: expected 10 to 500")
        if self.scenarios < 1 or self.days < 2:
            raise ConfigError(f"scenarios={self.scenarios}, days={self.days}: expected at least 1 and 2")
        if self.days * 24 * (1 - HISTORY_SHARE) / self.scenarios < 6:
            raise ConfigError(f"{self.scenarios} scenarios in {self.days} days: keep them 6 h apart (more days)")
        preset(self.preset)


@dataclass
class Generated:
    """What ``generate`` wrote: the estate, the scenarios, their labels and file counts."""

    root: Path
    estate: Estate
    scenarios: list[Scenario]
    labels: list[dict[str, Any]]
    changes: int = 0
    notifications: int = 0
    files: dict[str, int] = field(default_factory=dict)

    @property
    def ingest_paths(self) -> list[Path]:
        return [self.root / f for f in INGESTED_FOLDERS]


def plan(spec: GenSpec) -> tuple[Estate, list[ChangeSpec], list[AlertSpec], list[Scenario]]:
    """Everything, in memory: the estate, all changes and alerts, and the scenarios (in time order)."""
    spec.check()
    rng = seeded(f"rca:{spec.seed}:{spec.services}")
    estate = plan_estate(spec.services, seeded(f"rca-estate:{spec.seed}:{spec.services}"))
    reach = Reach(estate)
    activity = background(estate, spec.background_events, T0, spec.days, seeded(f"rca-bg:{spec.seed}"))
    level = preset(spec.preset)
    first = T0 + timedelta(days=spec.days * HISTORY_SHARE)
    slot = (timedelta(days=spec.days) * (1 - HISTORY_SHARE) - timedelta(hours=2)) / spec.scenarios
    scenarios: list[Scenario] = []
    for index in range(spec.scenarios):
        at = first + slot * index + slot * rng.uniform(0.2, 0.6)
        scenario_rng = seeded(f"rca-scenario:{spec.seed}:{spec.preset}:{index}")
        scenarios.append(make_scenario(index, estate, reach, level, at, scenario_rng, scenarios, activity.chronic))
    changes = activity.changes + [c for s in scenarios for c in s.changes]
    alerts = activity.alerts + [a for s in scenarios for a in s.alerts]
    return estate, changes, alerts, scenarios


def _weekly(root: Path, prefix: str, lines: list[tuple[datetime, str]]) -> int:
    root.mkdir(parents=True, exist_ok=True)
    weeks: dict[int, list[str]] = {}
    for at, line in lines:
        weeks.setdefault(max(0, (at - T0).days // 7), []).append(line)
    for week, chunk in sorted(weeks.items()):
        (root / f"{prefix}-{week:02d}.jsonl").write_text("".join(x + "\n" for x in chunk), encoding="utf-8")
    return len(weeks)


def generate(spec: GenSpec, root: Path) -> Generated:
    """Write the estate, its activity, the scenarios' incidents and postmortems, and the labels under ``root``."""
    estate, changes, alerts, scenarios = plan(spec)
    out = Generated(root, estate, scenarios, [s.label(spec.preset) for s in scenarios])
    out.files["catalog"] = len(write_catalog(estate, root / "catalog"))
    versions = Versions(seeded(f"rca-versions:{spec.seed}"))
    change_lines = render_changes(changes, versions)
    annotate(alerts, changes, scenarios, versions.named)
    alert_lines = render_alerts(alerts)
    out.changes, out.notifications = len(change_lines), len(alert_lines)
    out.files["events"] = _weekly(root / "events", "changes", change_lines)
    out.files["alerts"] = _weekly(root / "alerts", "alerts", alert_lines)
    for folder in ("incidents", "postmortems"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for scenario in scenarios:
        assert scenario.detected_at is not None
        text, _ = incident_json(scenario, seeded(f"rca-notes:{spec.seed}:{scenario.index}"))
        (root / "incidents" / f"{scenario.incident_id}.json").write_text(text, encoding="utf-8")
        day = scenario.detected_at.strftime("%Y-%m-%d")
        markdown = postmortem_markdown(scenario)
        (root / "postmortems" / f"{day}-{scenario.incident_id.lower()}.md").write_text(markdown, encoding="utf-8")
    out.files["incidents"] = out.files["postmortems"] = len(scenarios)
    (root / LABELS).write_text("".join(json.dumps(label) + "\n" for label in out.labels), encoding="utf-8")
    return out


def read_labels(root: Path) -> list[dict[str, Any]]:
    """The labels file of a generated estate, one object per scenario."""
    path = root / LABELS
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
