"""One or two plain sentences per candidate, from its evidence: what, where, when, and what backs it.

    payments 1.33.0 upgraded in production: on payments itself, 6 min before the first symptom.
    Like incident P557ARA.
"""

from __future__ import annotations

from datetime import datetime

from agents.records import AlertEvidence, Candidate, CandidateKind, Evidence, Factor, short_name


def _hhmm(value: datetime) -> str:
    return value.strftime("%H:%M")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _where(ev: Evidence, entity: str, root: str) -> str:
    name, hops = short_name(entity), _plural(ev.distance or 0, "hop")
    if ev.direction == "self":
        return f"on {short_name(root)} itself"
    if ev.direction == "downstream":
        return f"on {name}, which {short_name(root)} depends on ({hops})"
    return f"on {name}, a caller of {short_name(root)} ({hops} up)"


def _minutes(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "?"
    return f"{max(0.0, (end - start).total_seconds() / 60):.0f}"


def _chain(alerts: list[AlertEvidence], own_alert_is_the_cause: bool) -> str:
    """The alerts from the suspect towards the symptom; a failing dependency's own alert only leads a chain."""
    steps = [a for a in alerts if a.role in ("cause", "path") and a.in_order]
    if own_alert_is_the_cause and not any(a.role == "path" for a in steps):
        return ""
    return " -> ".join(f"{a.name} on {short_name(a.entity)} at {_hhmm(a.at)}" for a in steps)


def _note(factor: Factor) -> str:
    """The factor's own note, without the fitted weight appended to it."""
    return factor.note.partition("; LR ")[0]


def _silent(candidate: Candidate) -> bool:
    """A dependency failure seen only through its callers (it raised no alert of its own)."""
    alerts = candidate.evidence.alerts
    return candidate.kind is CandidateKind.DEPENDENCY_FAILURE and not any(a.role == "cause" for a in alerts)


def _reached(candidate: Candidate) -> str:
    """Which of the entities its failure would reach alerted after it, when any did and that counts for it."""
    found = [f for f in candidate.evidence.factors if f.name == "propagation" and f.lr > 1 and f.value]
    return _note(found[0]).partition(";")[0] if found else ""


def _tail(candidate: Candidate) -> list[str]:
    ev, out = candidate.evidence, []
    earlier = [f for f in ev.factors if f.name == "explained_away" and f.value == "own earlier change"]
    if earlier:
        out.append(f"But it did change earlier: {_note(earlier[0])}.")
    deeper = [a for a in ev.alerts if a.role == "deeper"]
    if deeper:
        out.append(f"But {deeper[0].name} on {short_name(deeper[0].entity)} fired first, below it.")
    induced = [f for f in ev.factors if f.name == "induced"]
    if induced:
        out.append(f"It may be a consequence of {_note(induced[0]).removesuffix(' shortly before')}, just before.")
    named = [f for f in ev.factors if f.name == "named"]
    if named:
        out.append({"named": "An alert on it names this change.",
                    "another": "Its alerts name a change on it, not this one."}.get(
            str(named[0].value), "Its alerts after it name no change on it."))
    reached = _reached(candidate)
    if reached and not _silent(candidate):
        out.append(f"Beyond the page, {reached}.")
    learned = [f for f in ev.factors if f.name == "learned" and f.note and not f.note.startswith("0 ")]
    if learned:
        out.append(f"History: {_note(learned[0])}.")
    if ev.similar_incidents:
        ids = ", ".join(s.incident_id.partition(":")[2] for s in ev.similar_incidents)
        out.append(f"Like past incident(s) {ids}.")
    return out


def explain(candidate: Candidate, root: str) -> str:
    """The candidate's explanation (also stored on it by :func:`explain_all`)."""
    ev, kind = candidate.evidence, candidate.kind
    if kind is CandidateKind.UNKNOWN:
        return "A cause not in the timeline: an event the graph does not hold, or something outside the window."
    entity = candidate.entity or root
    chain = _chain(ev.alerts, kind in (CandidateKind.DEPENDENCY_FAILURE, CandidateKind.TRAFFIC_SPIKE))
    if _silent(candidate):
        note = _reached(candidate) or "its callers alerted"
        head = f"{short_name(entity)} did not alert, but {note}: a silent failure {_where(ev, entity, root)}."
    elif kind in (CandidateKind.DEPENDENCY_FAILURE, CandidateKind.TRAFFIC_SPIKE):
        what = "failing with no change of its own in the window" if kind is CandidateKind.DEPENDENCY_FAILURE \
            else "traffic shift"
        head = f"{candidate.name}: {what}, {_where(ev, entity, root)}, " \
               f"{_minutes(ev.cause_at, ev.detected_at)} min before detection."
    else:
        head = f"{candidate.name}: {_where(ev, entity, root)}, " \
               f"{_minutes(ev.cause_at, ev.first_symptom_at)} min before the first symptom."
    parts = [head]
    if chain:
        parts.append(f"Alerts in causal order: {chain}.")
    elif ev.direction != "self" and ev.path_nodes:
        parts.append("No alert on the path between it and the symptom.")
    parts += _tail(candidate)
    return " ".join(parts)


def explain_all(candidates: list[Candidate], root: str) -> None:
    for candidate in candidates:
        candidate.explanation = explain(candidate, root)
