"""Incidents as PagerDuty REST v2 JSON (incident, its alerts and its notes), and the facts behind them.

:func:`build_facts` ties each scenario to what the generated history really holds: the id of
the causing change, the versions around a deploy, the alerts and their fingerprints. The
PagerDuty files, the postmortems and the README's ground-truth table all read these facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gen_alerts import Firing, cause_alert, scenario_firings
from gen_changes import Change, resolved_at, symptom_at
from gen_common import PD_API, PD_BASE, Writer, dump_json, iso, pd_id, rng
from gen_scenarios import Scenario, all_scenarios
from gen_topology import TEAMS, owner_of


@dataclass
class Facts:
    s: Scenario
    number: int
    pd: str
    cause_id: str
    cause: Change | None
    values: dict[str, str]
    firings: list[Firing]
    changes: list[Change]

    def fill(self, text: str) -> str:
        return re.sub(r"\{(\w+(?:@[\w-]+)?)\}", lambda m: self.values[m[1]], text)

    @property
    def title(self) -> str:
        return self.fill(self.s.title)


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _values(s: Scenario, cause: Change | None, mine: list[Change], changes: list[Change]) -> dict[str, str]:
    values: dict[str, str] = {}
    if cause is not None and cause.kind == "deploy":
        values.update(bad=cause.version, prev=cause.prev_version)
        later = [
            c
            for c in changes
            if c.kind == "deploy" and c.target == s.target and c.env == "production" and c.at > cause.at and c.action == "upgrade"
        ]
        values["fix"] = later[0].version if later else cause.version
    elif cause is not None:
        values.update(old=_fmt(cause.old), new=_fmt(cause.new), script=cause.script)
    for c in mine:
        if c.kind == "deploy" and c.action == "rollback":
            values[f"prev@{c.target}"] = c.version
    return values


def _cause_id(s: Scenario, cause: Change | None) -> str:
    if cause is not None:
        return f"{cause.kind}:{cause.id}"
    if s.kind == "dependency":
        return f"resource:default/{s.target}"
    spike = cause_alert(s)
    assert spike is not None
    return f"alert:{spike.fingerprint}"


def build_facts(changes: list[Change]) -> list[Facts]:
    out = []
    number = 4102
    for s in sorted(all_scenarios(), key=symptom_at):
        mine = [c for c in changes if c.tag.split(":", 1)[-1] == s.key]
        causes = [c for c in mine if c.tag == f"cause:{s.key}"]
        assert len(causes) <= 1 and (causes or s.kind in ("dependency", "traffic")), s.key
        cause = causes[0] if causes else None
        number += rng("incident-number", s.key).randrange(1, 7)
        out.append(
            Facts(
                s,
                number,
                pd_id("incident", s.key),
                _cause_id(s, cause),
                cause,
                _values(s, cause, mine, changes),
                scenario_firings(s),
                mine,
            )
        )
    return out


def _ref(kind: str, id_: str, summary: str, path: str) -> dict[str, str]:
    return {
        "id": id_,
        "type": f"{kind}_reference",
        "summary": summary,
        "self": f"{PD_API}/{path}/{id_}",
        "html_url": f"{PD_BASE}/{path}/{id_}",
    }


def user_ref(name: str) -> dict[str, str]:
    return _ref("user", pd_id("user", name), name, "users")


def _details(f: Facts) -> str:
    """What Alertmanager's PagerDuty integration put in the incident: the firing alerts and their fingerprints."""
    lines = [f"{f.s.alert} on {f.s.symptom}. Alerts in this incident (Alertmanager fingerprints):"]
    lines += [
        f"- {x.labels['alertname']} fingerprint={x.fingerprint} group_key={x.group_key}"
        for x in f.firings
        if x.receiver.startswith("pagerduty")
    ]
    return "\n".join(lines)


def _notes(f: Facts) -> list[dict[str, Any]]:
    out = []
    for i, a in enumerate(f.s.actions):
        when = symptom_at(f.s) + timedelta(minutes=a.after, seconds=rng("note", f.s.key, i).randrange(5, 55))
        channel = "Slack" if i % 3 == 1 else "The PagerDuty website or APIs"
        out.append(
            {
                "id": pd_id("note", f.s.key, i),
                "user": user_ref(a.who),
                "channel": {"summary": channel},
                "content": f.fill(a.text),
                "created_at": iso(when),
            }
        )
    return out


def incident_json(f: Facts) -> dict[str, Any]:
    s = f.s
    team = owner_of(s.symptom)
    created, resolved = symptom_at(s) + timedelta(seconds=31), resolved_at(s)
    paged = [x for x in f.firings if x.receiver.startswith("pagerduty") or x is f.firings[0]]
    resolver = s.actions[-1].who
    incident = {
        "id": f.pd,
        "type": "incident",
        "summary": f"[#{f.number}] {f.title}",
        "self": f"{PD_API}/incidents/{f.pd}",
        "html_url": f"{PD_BASE}/incidents/{f.pd}",
        "incident_number": f.number,
        "title": f.title,
        "description": f.title,
        "created_at": iso(created),
        "updated_at": iso(resolved),
        "status": "resolved",
        "incident_key": f.firings[0].dedup_key,
        "service": _ref("service", pd_id("service", s.symptom), s.symptom, "services"),
        "assignments": [],
        "acknowledgements": [],
        "last_status_change_at": iso(resolved),
        "last_status_change_by": user_ref(resolver),
        "resolved_at": iso(resolved),
        "first_trigger_log_entry": _ref("trigger_log_entry", pd_id("log", s.key), "Triggered through the API.", "log_entries"),
        "escalation_policy": _ref("escalation_policy", pd_id("ep", team), f"{TEAMS[team][0]} on-call", "escalation_policies"),
        "teams": [_ref("team", pd_id("team", team), TEAMS[team][0], "teams")],
        "priority": {"id": pd_id("priority", s.priority), "type": "priority_reference", "summary": s.priority},
        "urgency": "high" if s.priority in ("P1", "P2") else "low",
        "alert_counts": {"all": len(paged), "triggered": 0, "resolved": len(paged)},
        "body": {"type": "incident_body", "details": _details(f)},
        "incident_type": {"name": "incident_default"},
    }
    return {"incident": incident, "notes": _notes(f)}


def oncall(f: Facts) -> str:
    return f.s.actions[0].who


def write_incidents(w: Writer, facts: list[Facts]) -> None:
    for f in facts:
        w.text(f"incidents/{f.pd}.json", dump_json(incident_json(f)))


def hhmm_of(t: datetime) -> str:
    return t.strftime("%H:%M")
