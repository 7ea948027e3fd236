"""The paper trail of each scenario: a PagerDuty incident with notes, and a postmortem naming the cause.

The incident opens on the paging service at detection. Its notes say what the
responders did, in words the readers map to the action vocabulary
(``ingest.actions``): sometimes a restart that did not help first, then the fix
that worked. The postmortem (front matter ``incident_id``) names the cause: a
change id in ``cause_change`` and the root-cause section, or "dependency
failure: <name> was unavailable" for an outage, so later diagnoses learn from
it; a traffic spike is described without a machine-readable cause::

    >>> text, incident = incident_json(scenario, random.Random(7))
    >>> text = postmortem_markdown(scenario)
"""

from __future__ import annotations

import json
import random
import zlib
from datetime import datetime, timedelta
from typing import Any

from bench.rca.events import name_of, stamp
from bench.rca.scenarios import Scenario

_PEOPLE = ("Ana Lima", "Bo Chen", "Dara Okafor", "Eli Novak", "Fatima Rahman", "Goran Petrov", "Hana Sato")


def fix_text(scenario: Scenario) -> str:
    """The note that records the fix, worded so ``ingest.actions.map_action`` gives ``scenario.fix``."""
    x, p = name_of(scenario.cause_entity), name_of(scenario.paging)
    change = scenario.cause_change
    key = change.key if change else ""
    return {
        "deploy": f"Rolled back the latest {x} release. Error rate back to normal within 3 minutes.",
        "config": f"Reverted the config change of {key} on {x}. Latency back to normal.",
        "flag": f"Turned off the feature flag {key}. Errors stopped.",
        "migration": f"Rolled back the schema migration on {x}. Queries are fast again, back to normal.",
        "dependency_failure": f"Failed over {x} to the standby replica. Error rate back to normal.",
        "traffic_spike": f"Scaled {p} up from 6 to 18 replicas. Latency back to normal.",
    }[scenario.kind]


def _notes(scenario: Scenario, rng: random.Random) -> list[dict[str, Any]]:
    assert scenario.detected_at is not None
    at, who = scenario.detected_at, rng.choice(_PEOPLE)
    p = name_of(scenario.paging)
    notes = [(at + timedelta(minutes=2), f"Acknowledged. {p} alerting, looking at the dashboards.")]
    if rng.random() < 0.5:
        notes.append((at + timedelta(minutes=6), f"Restarted two {p} pods. No change, errors continue."))
    fixed = at + timedelta(minutes=rng.uniform(10, 30))
    notes.append((fixed, fix_text(scenario)))
    notes.append((fixed + timedelta(minutes=8), "All clear for 8 minutes. Resolving."))
    return [
        {"id": f"N{scenario.index:04d}{n}", "created_at": stamp(when), "content": text, "user": {"summary": who}}
        for n, (when, text) in enumerate(notes)
    ]


def incident_json(scenario: Scenario, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """(text of the PagerDuty file, its incident object)."""
    assert scenario.detected_at is not None and scenario.page is not None
    p = name_of(scenario.paging)
    notes = _notes(scenario, rng)
    incident = {
        "id": scenario.incident_id, "type": "incident", "incident_number": 5000 + scenario.index,
        "title": f"{scenario.page.alertname} on {p}", "status": "resolved", "urgency": "high",
        "created_at": stamp(scenario.detected_at + timedelta(seconds=20)), "resolved_at": notes[-1]["created_at"],
        "service": {"id": f"PS{zlib.crc32(p.encode()) % 10**5:05d}", "type": "service_reference", "summary": p},
        "priority": {"summary": "P2"}, "escalation_policy": {"summary": "Primary on-call"},
    }  # fmt: skip
    return json.dumps({"incident": incident, "notes": notes}, indent=1), incident


def _clock(at: datetime) -> str:
    return at.strftime("%H:%M")


def _root_cause(scenario: Scenario) -> str:
    x = name_of(scenario.cause_entity)
    if scenario.cause_change is not None:
        return f"The {scenario.kind} change `{scenario.cause_node_id}` on {x} broke it."
    if scenario.kind == "dependency_failure":
        return f"dependency failure: {x} was unavailable."
    return f"A surge of requests at {x} exhausted the capacity of the services behind it."


def postmortem_markdown(scenario: Scenario) -> str:
    """A postmortem of the scenario's incident, in the shape ``ingest.postmortem`` reads."""
    assert scenario.detected_at is not None and scenario.page is not None
    p = name_of(scenario.paging)
    alerted = sorted({name_of(e) for e in scenario.alert_of} | {p})
    front = {
        "type": "postmortem", "title": f"{scenario.page.alertname} on {p}", "incident_id": scenario.incident_id,
        "date": scenario.detected_at.strftime("%Y-%m-%d"), "severity": "SEV2", "status": "final", "services": alerted,
    }  # fmt: skip
    if scenario.cause_change is not None:
        front["cause_change"] = scenario.cause_node_id
    timeline = [(f.at, f"{scenario.alert_of[f.entity].alertname} fires on {name_of(f.entity)}")
                for f in scenario.failures if f.entity in scenario.alert_of and f.at <= scenario.detected_at]
    timeline.append((scenario.detected_at, f"PagerDuty pages the on-call for {p}"))
    lines = ["---", *(f"{k}: {json.dumps(v)}" for k, v in front.items()), "---", "",
             f"# {front['title']}", "", "## Summary", "",
             f"{scenario.page.alertname} fired on {p} at {_clock(scenario.detected_at)} UTC and paged the on-call.",
             "", "## Timeline", "", "All times UTC.", ""]
    lines += [f"- {_clock(at)} — {text}" for at, text in sorted(timeline)]
    lines += ["", "## Root cause", "", _root_cause(scenario), "", "## Resolution", "",
              f"- {fix_text(scenario)}", "", "## Action items", "", "- [ ] Add an alert closer to the cause.", ""]
    return "\n".join(lines)
