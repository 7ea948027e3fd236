"""Feedback memory read from the graph: past cases (incidents, recorded anomalies) and their action records.

The PagerDuty and postmortem readers already turned notes and resolution
items into ``Remediation`` nodes (``action``, ``original_text``) with an
``Outcome`` (``result``), linked by
``(Incident)-[:REMEDIATED_BY]->(Remediation)-[:HAS_OUTCOME]->(Outcome)``;
:func:`agents.memory.record_outcome` writes the same shape from an ``Anomaly``.
This module reads them back as :class:`FeedbackRecord` s::

    cases = load_cases(store, before=detected_at)
    records = load_records(store)

Three rules turn the raw nodes into records:

* **an undo is named by what it undid**: an ingested rollback / revert whose
  text names a feature flag key or a configuration key the graph knows (from
  flag and config change events) becomes ``disable_feature_flag`` or
  ``revert_config`` (:func:`ingest.actions.refine_action`);

* **one record per action text**: the PagerDuty note and the postmortem line
  that say the same thing about one incident are one record (the latest time,
  the outcome that is known, every Remediation id kept);
* **the last action before resolution resolved it**: when an incident was
  resolved, no action taken before ``resolved_at`` has a written ``resolved``
  outcome, and the last action before it has no written outcome, that action
  gets ``resolved`` with ``inferred=True``. Actions noted at or after the
  resolution (closing notes) are left as they are.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from agents.history import cause_kind, cause_targets
from agents.memory_records import FeedbackRecord, Source, signature
from agents.records import CandidateKind
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType, label_of
from graph.store import GraphStore
from ingest.actions import refine_action

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)
MAX_CASES = 100_000
#: provenance source of what feedback memory writes
SOURCE = "agents/memory"
_SLUG = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
#: words that say nothing about which symptom it was
STOP_WORDS = frozenset({
    "a", "an", "the", "of", "on", "in", "at", "to", "for", "from", "by", "with", "and", "or", "after", "during",
    "while", "when", "was", "were", "is", "are", "be", "been", "high", "low", "rate", "too", "many", "much", "all",
    "its", "it", "this", "that",
})


def tokens(text: str | None) -> frozenset[str]:
    """Lower-case words of a signal or title, camel case split, plurals folded, stop words and numbers dropped.

    >>> sorted(tokens("CheckoutHighLatency"))
    ['checkout', 'latency']
    """
    out = set()
    for word in _WORD.findall(text or ""):
        w = word.lower()
        if w.isdigit() or w in STOP_WORDS or len(w) < 2:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return frozenset(out)


def overlap(query: str | None, text: str | None) -> float:
    """Share of the query's words found in ``text`` (0 when the query has none)."""
    q = tokens(query)
    return len(q & tokens(text)) / len(q) if q else 0.0


@dataclass(slots=True)
class Case:
    """A past case: an ingested incident, or an anomaly with recorded outcomes or a confirmed cause."""

    id: str
    at: datetime
    title: str
    entity: str
    affected: frozenset[str]
    signal: str | None = None
    resolved_at: datetime | None = None
    cause_id: str | None = None
    cause_kind: CandidateKind | None = None
    cause_entity: str | None = None
    records: list[FeedbackRecord] = field(default_factory=list)

    @property
    def signature(self) -> str:
        return signature(self.signal, self.entity)


def _slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")


def _paged_entity(node: Node, affected: Sequence[str]) -> str | None:
    """The entity the case is about: an anomaly's ``entity``; the service PagerDuty paged for an incident."""
    if node.label is NodeLabel.ANOMALY:
        return str(node.props.get("entity") or "") or (affected[0] if affected else None)
    name = _slug(str(node.props.get("service_name") or ""))
    named = [a for a in affected if a.rsplit("/", 1)[-1] == name]
    return (named or list(affected))[0] if affected else None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


@dataclass
class _Graph:
    """The nodes and edges around the cases, read once, and the flag and config keys changes named."""

    out: dict[str, list[Edge]]
    into: dict[str, list[Edge]]
    nodes: dict[str, Node]
    targets: dict[str, str]
    flags: frozenset[str] = frozenset()
    configs: frozenset[str] = frozenset()


def _change_keys(store: GraphStore, label: NodeLabel, end: datetime) -> frozenset[str]:
    """The lower-case keys (and subject paths) of the flag or config changes known before ``end``."""
    keys: set[str] = set()
    for event in store.events((label,), _EPOCH, end, limit=MAX_CASES):
        props = event.node.props
        named = props.get("changed_keys")
        values = [*(named if isinstance(named, list) else []), props.get("flag"), props.get("config"),
                  props.get("subject_id")]
        keys |= {v.strip().lower() for v in values if isinstance(v, str) and v.strip()}
    return frozenset(keys)


def _read_around(store: GraphStore, ids: list[str]) -> _Graph:
    out: dict[str, list[Edge]] = defaultdict(list)
    into: dict[str, list[Edge]] = defaultdict(list)
    for edge in store.incident_edges(ids, "out", (RelType.CAUSED_BY, RelType.REMEDIATED_BY)):
        out[edge.src].append(edge)
    for edge in store.incident_edges(ids, "in", (RelType.TRIGGERED, RelType.DESCRIBES)):
        into[edge.dst].append(edge)
    rems = sorted({e.dst for edges in out.values() for e in edges if e.type is RelType.REMEDIATED_BY})
    for edge in store.incident_edges(rems, "out", (RelType.HAS_OUTCOME,)):
        out[edge.src].append(edge)
    wanted = set(rems) | {e.dst for e in (x for r in rems for x in out.get(r, ()))}
    wanted |= {e.src for edges in into.values() for e in edges}
    nodes = {n.id: n for n in store.get_nodes(sorted(wanted))}
    causes = {e.dst for edges in out.values() for e in edges if e.type is RelType.CAUSED_BY}
    return _Graph(out, into, nodes, cause_targets(store, causes))


def _alert_names(store: GraphStore, entities: set[str]) -> dict[str, set[str]]:
    """The names of the alerts that fire on each entity (to name an incident's symptom)."""
    names: dict[str, set[str]] = defaultdict(set)
    for edge in store.incident_edges(sorted(entities), "in", (RelType.AFFECTS,)):
        if label_of(edge.src) is NodeLabel.ALERT:
            names[edge.dst].add(edge.src)
    alerts = {n.id: n.name for n in store.get_nodes(sorted({a for ids in names.values() for a in ids})) if n.name}
    return {e: {alerts[a] for a in ids if a in alerts} for e, ids in names.items()}


def _signal(node: Node, entity: str, graph: _Graph, alert_names: dict[str, set[str]]) -> str | None:
    """What was seen: an anomaly's signal; for an incident the alert that triggered it, the postmortem's
    ``detected_by``, or else the alert on the paged entity whose name best matches the title."""
    if node.label is NodeLabel.ANOMALY:
        return str(node.props.get("signal") or "") or None
    into = graph.into.get(node.id, ())
    triggered = sorted((e for e in into if e.type is RelType.TRIGGERED), key=_order)
    for edge in triggered:
        other = graph.nodes.get(edge.src)
        if other is not None and other.name and not other.placeholder:
            return other.name
    for edge in into:
        other = graph.nodes.get(edge.src)
        if edge.type is RelType.DESCRIBES and other is not None and other.props.get("detected_by"):
            return str(other.props["detected_by"])
    scored = [(overlap(name, node.name), name) for name in sorted(alert_names.get(entity, ()))]
    best = max(scored, key=lambda s: s[0], default=(0.0, None))
    return best[1] if best[0] > 0.5 else None


def _order(edge: Edge) -> tuple[float, str]:
    """The alert named first in the incident comes first (``order`` on TRIGGERED), then by id."""
    order = edge.props.get("order")
    return (float(order) if isinstance(order, int | float) else float("inf"), edge.src)


def _cause(case: Case, graph: _Graph) -> None:
    for edge in sorted(graph.out.get(case.id, ()), key=lambda e: e.dst):
        kind = cause_kind(edge.dst) if edge.type is RelType.CAUSED_BY else None
        if kind is not None:
            case.cause_id, case.cause_kind = edge.dst, kind
            case.cause_entity = edge.dst if kind is CandidateKind.DEPENDENCY_FAILURE else graph.targets.get(edge.dst)
            return


def _origin(remediation: Node) -> Source:
    return "recorded" if remediation.provenance.source == SOURCE else "ingested"


def _raw_records(case: Case, graph: _Graph) -> list[FeedbackRecord]:
    out = []
    for edge in graph.out.get(case.id, ()):
        rem = graph.nodes.get(edge.dst) if edge.type is RelType.REMEDIATED_BY else None
        if rem is None:
            continue
        outcome_edges = [e for e in graph.out.get(rem.id, ()) if e.type is RelType.HAS_OUTCOME]
        result = graph.nodes.get(outcome_edges[0].dst) if outcome_edges else None
        props = result.props if result is not None else {}
        ttr = props.get("time_to_resolve_minutes")
        text = rem.props.get("original_text")
        action = str(rem.props.get("action") or rem.name or "unknown")
        if text and _origin(rem) == "ingested":
            action = refine_action(action, str(text), graph.flags, graph.configs)
        out.append(FeedbackRecord(
            signature=case.signature, case_id=case.id, action=action,
            outcome=str(props.get("result") or "unknown"), source=_origin(rem), at=rem.at,
            diagnosis_id=str(rem.props.get("diagnosis") or "") or None, cause_id=case.cause_id,
            cause_kind=str(case.cause_kind) if case.cause_kind else None, cause_entity=case.cause_entity,
            target=str(rem.props.get("target") or "") or None,
            time_to_resolve=timedelta(minutes=float(ttr)) if isinstance(ttr, int | float) else None,
            side_effects=str(props.get("side_effects") or "") or None,
            original_text=str(text) if text else None, actor=str(rem.props.get("actor") or "") or None,
            remediations=(rem.id,),
        ))
    return out


def _merge(records: list[FeedbackRecord]) -> list[FeedbackRecord]:
    """One record per (action, text): the same note read from PagerDuty and from the postmortem."""
    groups: dict[tuple[str, str], list[FeedbackRecord]] = defaultdict(list)
    for r in records:
        key = " ".join((r.original_text or "").lower().split()) or r.remediations[0]
        groups[(r.action, key)].append(r)
    merged = []
    for group in groups.values():
        known = [r for r in group if r.outcome != "unknown"]
        base = (known or group)[0]
        times = [r.at for r in group if r.at is not None]
        ids = tuple(sorted(i for r in group for i in r.remediations))
        merged.append(replace(base, at=max(times) if times else None, remediations=ids))
    return sorted(merged, key=lambda r: (r.at or _EPOCH, r.remediations))


def _infer(case: Case, records: list[FeedbackRecord]) -> list[FeedbackRecord]:
    """The last action before an incident was resolved resolved it, unless a written outcome says otherwise."""
    end = case.resolved_at
    if end is None:
        return records
    before = [r for r in records if r.at is not None and r.at < end]
    if not before or any(r.outcome == "resolved" for r in before) or before[-1].outcome != "unknown":
        return records
    last = before[-1]
    fixed = replace(last, outcome="resolved", inferred=True, time_to_resolve=end - case.at)
    return [fixed if r is last else r for r in records]


def _with_ttr(case: Case, record: FeedbackRecord) -> FeedbackRecord:
    if record.outcome == "resolved" and record.time_to_resolve is None and case.resolved_at is not None:
        return replace(record, time_to_resolve=case.resolved_at - case.at)
    return record


def _case(node: Node, affected: list[str], graph: _Graph, alert_names: dict[str, set[str]]) -> Case | None:
    entity = _paged_entity(node, affected)
    if entity is None or node.at is None:
        return None
    case = Case(node.id, node.at, node.name or node.id, entity, frozenset(affected) | {entity})
    case.signal = _signal(node, entity, graph, alert_names)
    case.resolved_at = _time(node.props.get("resolved_at"))
    _cause(case, graph)
    case.records = [_with_ttr(case, r) for r in _infer(case, _merge(_raw_records(case, graph)))]
    return case


def load_cases(store: GraphStore, before: datetime | None = None) -> list[Case]:
    """Past cases that started before ``before`` (all when ``None``), oldest first, with records before it too.

    Cases are ingested incidents, and anomalies that have an action recorded or a cause confirmed
    (an anomaly that was only diagnosed is not a case).
    """
    end = before or _FAR
    events = [e for label in (NodeLabel.INCIDENT, NodeLabel.ANOMALY)
              for e in store.events((label,), _EPOCH, end, limit=MAX_CASES)]
    graph = _read_around(store, [e.node.id for e in events])
    graph.flags = _change_keys(store, NodeLabel.FLAG_CHANGE, end)
    graph.configs = _change_keys(store, NodeLabel.CONFIG_CHANGE, end)
    events = [e for e in events if e.node.label is NodeLabel.INCIDENT or graph.out.get(e.node.id)]
    incidents = [e for e in events if e.node.label is NodeLabel.INCIDENT]
    alert_names = _alert_names(store, {s for e in incidents for s in e.services})
    cases = []
    for event in events:
        case = _case(event.node, sorted(event.services), graph, alert_names)
        if case is not None:
            case.records = [r for r in case.records if r.at is None or r.at < end]
            cases.append(case)
    return cases


def load_records(store: GraphStore, before: datetime | None = None) -> list[FeedbackRecord]:
    """Every feedback record, ingested and recorded, of the cases before ``before``, oldest first.

    Example: ``[r.action for r in load_records(store) if r.success]``.
    """
    return [r for case in load_cases(store, before) for r in case.records]
