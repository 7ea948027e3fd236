"""The audit trail: every diagnosis, recommendation, approval, execution and outcome, as Decision nodes.

An entry records what it is about (``RECORDS`` edges to those nodes), its
inputs and outputs, the policy version that applied, who acted and when::

    from agents.audit import audit_entries, record

    entry_id = record(store, "approval", about=["remediation:…"], inputs={"tier": "review"},
                      outputs={"approved": True}, policy_version=3, actor="alice", at=now)
    for entry in audit_entries(store, since=now - timedelta(hours=1), kind="approval"):
        print(entry.at, entry.kind, entry.actor, entry.about)

Entries are never changed: a later decision is a new entry. ``inputs`` and
``outputs`` are stored as JSON text (graph properties are flat).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from graph.errors import RecordError
from graph.model import Edge, Node, Props, Provenance, utc
from graph.schema import NodeLabel, RelType, node_id
from graph.store import GraphStore

SOURCE = "agents/audit"
#: entries read back per query, at most
MAX_ENTRIES = 10000
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


class AuditKind(StrEnum):
    DIAGNOSIS = "diagnosis"
    RECOMMENDATION = "recommendation"
    APPROVAL = "approval"
    EXECUTION = "execution"
    OUTCOME = "outcome"


def audit_kind(value: str) -> AuditKind:
    """The kind named by ``value``, or :class:`RecordError` listing the kinds."""
    try:
        return AuditKind(value)
    except ValueError:
        known = ", ".join(k.value for k in AuditKind)
        raise RecordError(f"audit kind {value!r}: expected one of {known}") from None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited decision, as read back from the graph."""

    id: str
    kind: AuditKind
    at: datetime
    about: list[str]
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    policy_version: int | None = None
    actor: str | None = None
    target: str | None = None
    summary: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": str(self.kind), "at": self.at.isoformat(), "about": self.about,
            "target": self.target, "actor": self.actor, "policy_version": self.policy_version,
            "summary": self.summary, "inputs": self.inputs, "outputs": self.outputs,
        }


def _json(value: dict[str, Any], what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"audit entry {what}: not JSON-serialisable ({exc})") from None


def entry_records(
    kind: AuditKind | str, about: Sequence[str], inputs: dict[str, Any], outputs: dict[str, Any],
    policy_version: int | None, actor: str | None, at: datetime, *, target: str | None = None,
    summary: str = "", run_id: str | None = None,
) -> tuple[Node, list[Edge]]:
    """The Decision node and its ``RECORDS`` edges, for callers that write them in their own batch."""
    kind = audit_kind(str(kind))
    at = utc(at, "audit entry at")
    # wall-clock nanoseconds first: entries with the same ``at`` keep the order they were made in
    entry_id = node_id(NodeLabel.DECISION, f"{time.time_ns():016x}{secrets.token_hex(4)}-{kind}")
    prov = Provenance(source=SOURCE, run_id=run_id or f"audit-{at:%Y%m%dT%H%M%SZ}", location=entry_id,
                      ingested_at=at)
    props: Props = {
        "kind": str(kind), "about": list(about), "inputs": _json(inputs, "inputs"),
        "outputs": _json(outputs, "outputs"),
    }
    optional: dict[str, str | int | None] = {"policy_version": policy_version, "actor": actor, "target": target,
                                             "summary": summary or None}
    props.update({k: v for k, v in optional.items() if v is not None})
    node = Node(entry_id, NodeLabel.DECISION, prov, name=summary or f"{kind} entry", props=props, at=at)
    edges = [Edge(RelType.RECORDS, entry_id, subject, prov) for subject in dict.fromkeys(about)]
    return node, edges


def record(
    store: GraphStore, kind: AuditKind | str, about: Sequence[str], inputs: dict[str, Any],
    outputs: dict[str, Any], policy_version: int | None, actor: str | None, at: datetime, *,
    target: str | None = None, summary: str = "",
) -> str:
    """Append one audit entry and return its id (``decision:<time-ordered hex>-<kind>``).

    ``about`` are the node ids the entry is about (a diagnosis, a remediation);
    ``target`` is the entity acted on, for ``audit_entries(target=…)``.

    Example: ``record(store, "outcome", ["remediation:…"], {"action": "rollback_deploy"},
    {"result": "resolved"}, 3, "alice", now)``.
    """
    node, edges = entry_records(kind, about, inputs, outputs, policy_version, actor, at, target=target,
                                summary=summary)
    with store.batch() as batch:
        batch.upsert_nodes([node])
        batch.upsert_edges(edges)
    return node.id


def _loads(text: object) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def entry_of(node: Node) -> AuditEntry:
    """Read an audit entry back from its Decision node."""
    props = node.props
    about = props.get("about", [])
    version = props.get("policy_version")
    actor, target = props.get("actor"), props.get("target")
    assert node.at is not None, node.id
    return AuditEntry(
        id=node.id, kind=audit_kind(str(props.get("kind", ""))), at=node.at,
        about=[str(a) for a in about] if isinstance(about, list) else [],
        inputs=_loads(props.get("inputs")), outputs=_loads(props.get("outputs")),
        policy_version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        actor=str(actor) if actor is not None else None, target=str(target) if target is not None else None,
        summary=str(props.get("summary", "")),
    )


def _matches_target(entry: AuditEntry, target: str) -> bool:
    subjects = [*entry.about, *([entry.target] if entry.target else [])]
    return any(s == target or s.partition(":")[2].rsplit("/", 1)[-1] == target for s in subjects)


def audit_entries(
    store: GraphStore, since: datetime, until: datetime | None = None, kind: AuditKind | str | None = None,
    target: str | None = None,
) -> list[AuditEntry]:
    """Audit entries with ``since <= at < until`` (``until`` open when ``None``), oldest first.

    ``kind`` keeps one kind; ``target`` keeps entries about that node id or acting on that
    entity (a node id, or its short name such as ``checkout``).

    Example: ``audit_entries(store, since=now - timedelta(hours=6), kind="recommendation")``.
    """
    start = utc(since, "since")
    end = utc(until, "until") if until is not None else _END_OF_TIME
    wanted = audit_kind(str(kind)) if kind is not None else None
    events = store.events([NodeLabel.DECISION], start, end, limit=MAX_ENTRIES)
    nodes = [e.node for e in events if wanted is None or e.node.props.get("kind") == wanted.value]
    entries = [entry_of(n) for n in nodes]
    return [e for e in entries if target is None or _matches_target(e, target)]


def entries_about(store: GraphStore, ids: Iterable[str]) -> list[AuditEntry]:
    """Every audit entry about any of ``ids`` (through ``RECORDS`` edges), oldest first."""
    edges = store.incident_edges(sorted(set(ids)), direction="in", types=[RelType.RECORDS])
    nodes = store.get_nodes({e.src for e in edges})
    entries = [entry_of(n) for n in nodes if n.label is NodeLabel.DECISION and n.at is not None]
    return sorted(entries, key=lambda e: (e.at, e.id))


def last_executions(
    store: GraphStore, targets: Collection[str], now: datetime, lookback: timedelta,
) -> dict[tuple[str, str], datetime]:
    """When each action last ran successfully on each of ``targets`` within ``lookback`` before ``now``.

    Read through the ``RECORDS`` edges execution entries keep to their target, so the cost
    follows the targets' executions, not the whole trail. Only executions the executor
    confirmed count: a refused or failed attempt starts no cooldown.
    """
    if lookback <= timedelta(0) or not targets:
        return {}
    now = utc(now, "now")
    last: dict[tuple[str, str], datetime] = {}
    for e in entries_about(store, targets):
        target = e.target or ""
        if e.kind is AuditKind.EXECUTION and target in targets and now - lookback <= e.at <= now \
                and e.outputs.get("status") == "succeeded":
            key = (str(e.inputs.get("action")), target)
            last[key] = max(last.get(key, e.at), e.at)
    return last


def last_execution(store: GraphStore, action: str, target: str, now: datetime, lookback: timedelta) -> datetime | None:
    """When ``action`` last ran successfully on ``target`` within ``lookback`` before ``now``, or ``None``."""
    return last_executions(store, [target], now, lookback).get((action, target))


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why an action was recommended: the recommendation as made, the diagnosis behind it, what followed."""

    entry: AuditEntry
    recommendation: dict[str, Any]
    candidates: list[dict[str, Any]]
    evidence_paths: dict[str, list[str]]
    followups: list[AuditEntry]

    def as_json(self) -> dict[str, Any]:
        return {"recommended_at": self.entry.at.isoformat(), "audit_id": self.entry.id,
                "policy_version": self.entry.policy_version, "diagnosis": self.entry.inputs.get("diagnosis"),
                "signature": self.entry.inputs.get("signature"), "recommendation": self.recommendation,
                "candidates": self.candidates, "evidence_paths": self.evidence_paths,
                "followups": [f.as_json() for f in self.followups]}


def _wanted(rec: dict[str, Any], action: str | None, target: str | None) -> bool:
    if action is not None and not str(rec.get("action", "")).startswith(action):
        return False
    names = {rec.get("target"), rec.get("target_name")}
    return target is None or target in names


def explain(
    store: GraphStore, at: datetime, *, action: str | None = None, target: str | None = None,
    window: timedelta = timedelta(hours=1),
) -> list[Explanation]:
    """Why ``action`` (a prefix: ``rollback`` matches ``rollback_deploy``) on ``target`` was recommended at ``at``.

    Reads the latest recommendation entries up to the end of ``at``'s minute (looking back
    ``window``) and returns, per matching action, the tier, approval and reason that applied
    with the policy version, the diagnosis' candidates and confidences, the dependency paths
    that tie them to the symptom, and the approvals and executions that followed.

    Example: ``explain(store, datetime(2026, 10, 13, 3, 12, tzinfo=UTC), action="rollback")``.
    """
    at = utc(at, "at")
    end = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    entries = audit_entries(store, end - window - timedelta(minutes=1), end, AuditKind.RECOMMENDATION)
    out: list[Explanation] = []
    seen: set[str] = set()
    for entry in reversed(entries):
        for rec in entry.outputs.get("recommendations", []):
            if rec.get("id") in seen or not _wanted(rec, action, target):
                continue
            seen.add(rec["id"])
            later = [e for e in entries_about(store, [rec["id"]])
                     if e.kind in (AuditKind.APPROVAL, AuditKind.EXECUTION, AuditKind.OUTCOME) and e.at >= entry.at]
            out.append(Explanation(entry, rec, entry.inputs.get("candidates", []),
                                   entry.inputs.get("evidence", {}), later))
    return out
