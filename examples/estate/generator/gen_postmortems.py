"""Postmortems: Markdown with YAML front matter naming the incident, the services and the cause node."""

from __future__ import annotations

from datetime import datetime, timedelta

from gen_changes import Change, resolved_at, symptom_at
from gen_common import Writer, dump_yaml
from gen_incidents import Facts, oncall
from gen_topology import BY_NAME, Resource

SEVERITY = {"P1": "SEV1", "P2": "SEV2", "P3": "SEV3", "P4": "SEV4"}


def _hm(t: datetime) -> str:
    return t.strftime("%H:%M")


def _change_line(c: Change, f: Facts) -> str:
    node = f"`{c.kind}:{c.id}`"
    if c.kind == "deploy":
        verb = {
            "upgrade": f"{c.target} {c.version} rolled out to production",
            "rollback": f"{c.target} rolled back from {c.prev_version} to {c.version}",
            "redeploy": f"{c.target} {c.version} re-deployed",
        }[c.action]
        who = "" if c.author == "argocd" else f" by {c.author}"
        return f"{verb}{who} ({node})"
    if c.kind == "migration":
        return f"Flyway starts {c.script} on {c.target} ({node})"
    is_resource = isinstance(BY_NAME[c.target], Resource)
    what = "feature flag" if c.kind == "flag" else ("setting" if is_resource else "Consul key")
    name = c.key if c.kind == "flag" else f"{c.target}/{c.key}"
    return f"{what} `{name}` changed from `{_v(c.old)}` to `{_v(c.new)}` by {c.author} ({node})"


def _v(x: object) -> str:
    return str(x).lower() if isinstance(x, bool) else str(x)


def _timeline(f: Facts) -> list[str]:
    s = f.s
    rows: list[tuple[datetime, int, str]] = []
    for c in f.changes:
        if c.env != "production":
            continue
        note = " — unrelated to this incident" if c.tag.startswith("decoy:") else ""
        rows.append((c.at, 0, _change_line(c, f) + note))
    for x in f.firings:
        where = x.labels.get("service") or x.labels.get("instance") or x.labels.get("cluster") or x.labels.get("topic", "")
        rows.append((x.starts, 1, f"{x.labels['alertname']} fires ({where}, fingerprint `{x.fingerprint}`)"))
    rows.append((symptom_at(s) + timedelta(seconds=31), 2, f"PagerDuty pages {oncall(f)} (incident #{f.number}, {s.priority})"))
    for a in s.actions:
        rows.append((symptom_at(s) + timedelta(minutes=a.after), 3, f"{a.who}: {f.fill(a.text)}"))
    rows.append((resolved_at(s), 4, "Incident resolved"))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [f"- {_hm(t)} — {text}" for t, _, text in rows]


def _cause_phrase(f: Facts) -> str:
    s, c = f.s, f.cause
    if c is None:
        if s.kind == "dependency":
            return f"a failure of {s.target}; no change on our side was involved"
        return "a traffic spike (ApiGatewayRequestRateSpike); no change was involved"
    if c.kind == "deploy":
        return f"the deploy of {c.target} {c.version} at {_hm(c.at)} UTC (`deploy:{c.id}`)"
    if c.kind == "migration":
        return f"schema migration {c.script} on {c.target}, started at {_hm(c.at)} UTC (`migration:{c.id}`)"
    name = c.key if c.kind == "flag" else f"{c.target}/{c.key}"
    what = "feature flag" if c.kind == "flag" else "configuration"
    return f"the {what} change of `{name}` from `{_v(c.old)}` to `{_v(c.new)}` at {_hm(c.at)} UTC (`{c.kind}:{c.id}`)"


def _services(f: Facts) -> list[str]:
    names = [f.s.symptom, f.s.target] + [e for e, *_ in f.s.more_alerts]
    return list(dict.fromkeys(n for n in names if n in BY_NAME))


def postmortem_markdown(f: Facts) -> tuple[str, str]:
    s = f.s
    front = {
        "type": "postmortem",
        "title": f.title,
        "incident": f.pd,
        "incident_number": f.number,
        "date": symptom_at(s).strftime("%Y-%m-%d"),
        "severity": SEVERITY[s.priority],
        "status": "final",
        "services": _services(f),
        "cause": f.cause_id,
        "cause_type": s.kind,
        "detected_by": s.alert,
        "duration_minutes": s.duration,
        "authors": list(dict.fromkeys([oncall(f), s.actions[-1].who])),
    }
    start, end = symptom_at(s), resolved_at(s)
    tried = [f"- {f.fill(a.text)}" for a in s.actions[1:-1]] or [f"- {f.fill(s.actions[-1].text)}"]
    body = [
        f"# {f.title}",
        "",
        "## Summary",
        "",
        f"From {_hm(start)} to {_hm(end)} UTC on {start:%A %d %B %Y}, {s.alert} fired on {s.symptom} and paged "
        f"{oncall(f)} (PagerDuty incident #{f.number}). The cause was {_cause_phrase(f)}.",
        "",
        "## Impact",
        "",
        f.fill(s.impact),
        "",
        "## Timeline",
        "",
        "All times UTC.",
        "",
        *_timeline(f),
        "",
        "## Root cause",
        "",
        f.fill(s.root_cause),
        "",
        "## Resolution",
        "",
        "What we tried, in order:",
        "",
        *tried,
        "",
        f"What fixed it: {f.fill(s.actions[s.fixed_by].text)} The incident was resolved at {_hm(end)} UTC, "
        f"{s.duration} minutes after the first alert.",
        "",
        "## Action items",
        "",
        *[f"- [ ] {item}" for item in s.action_items],
        "",
    ]
    name = f"postmortems/{front['date']}-{s.key}.md"
    return name, "---\n" + dump_yaml(front) + "---\n\n" + "\n".join(body)


def write_postmortems(w: Writer, facts: list[Facts]) -> None:
    for f in facts:
        name, text = postmortem_markdown(f)
        w.text(name, text)
