"""Approving and executing recommended remediations, through a pluggable executor; every attempt audited.

Vidya never acts on infrastructure itself. An :class:`Executor` does, and the
one shipped is :class:`WebhookExecutor`: it POSTs the action as JSON to a URL
the operator runs (a CI job, a runbook automation, a ChatOps bot)::

    from agents.executor import WebhookExecutor, approve, execute

    approve(store, rid, "alice", policy=policy, allowed_actors={"alice", "bob"})
    report = execute(store, rid, "bob", policy=policy, allowed_actors={"alice", "bob"},
                     executor=WebhookExecutor("https://ops.example/hooks/vidya", token, timeout=10))
    report.status, report.reason      # ('succeeded', 'executor answered 200')

:func:`execute` refuses unless the caller is allowed to act, the policy (as it
stands now) still places the action in a tier, its cooldown is over, and the
tier's approval is recorded: none needed, an async approval at any time, or a
sync approval given within :data:`SYNC_APPROVAL_TTL`. The request and response
contract is in ``docs/remediation.md``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from agents import audit
from agents.audit import AuditEntry, AuditKind
from agents.policy import Approval, Policy, PolicyDecision
from agents.remediation import blast_radius
from graph.errors import ConfigError, NotFound
from graph.model import Edge, Node, Provenance, now_utc
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore

#: a sync approval is given by someone watching: it is good for this long
SYNC_APPROVAL_TTL = timedelta(minutes=15)
#: response bodies kept in the audit trail, at most
MAX_BODY = 2000


@dataclass(frozen=True, slots=True)
class ExecutionRequest:
    """What an executor is asked to do (the webhook's JSON body)."""

    action: str
    target: str
    diagnosis_id: str
    remediation_id: str
    tier: str
    approval: str
    approver: str | None
    actor: str
    idempotency_key: str
    policy_version: int
    cause: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"action": self.action, "target": self.target, "diagnosis_id": self.diagnosis_id,
                "remediation_id": self.remediation_id, "tier": self.tier, "approval": self.approval,
                "approver": self.approver, "actor": self.actor, "idempotency_key": self.idempotency_key,
                "policy_version": self.policy_version, "cause": self.cause}


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What the executor answered: ``ok`` for a 2xx; ``status`` is the HTTP status, if any."""

    ok: bool
    detail: str
    status: int | None = None
    body: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "http_status": self.status, "detail": self.detail, "body": self.body}


class Executor(Protocol):
    """Carries out an approved action somewhere outside Vidya."""

    def describe(self) -> str: ...

    def execute(self, request: ExecutionRequest) -> ExecutionResult: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: following it would send the token elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookExecutor:
    """POST the request as JSON to ``url`` (bearer ``token`` if given); non-2xx, redirects and timeouts are failures.

    Example: ``WebhookExecutor("https://ops.example/hooks/vidya", "s3cr3t", timeout=10)``.
    """

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"executor url {url!r}: expected an http:// or https:// URL")
        if timeout <= 0:
            raise ConfigError(f"executor timeout {timeout}: expected a positive number of seconds")
        self.url, self._token, self.timeout = url, token, timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"webhook {parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        headers = {"Content-Type": "application/json", "Idempotency-Key": request.idempotency_key,
                   "User-Agent": "vidya-executor"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = json.dumps(request.as_json()).encode()
        post = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with self._opener.open(post, timeout=self.timeout) as response:
                body = response.read(MAX_BODY).decode("utf-8", "replace")
                return ExecutionResult(True, f"executor answered {response.status}", response.status, body)
        except urllib.error.HTTPError as exc:
            body = exc.read(MAX_BODY).decode("utf-8", "replace") if exc.fp else ""
            exc.close()
            return ExecutionResult(False, f"executor answered {exc.code} {exc.reason}", exc.code, body)
        except TimeoutError:
            return self._timed_out()
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return self._timed_out()
            return ExecutionResult(False, f"executor unreachable ({self.describe()}): {exc.reason}")
        except (OSError, http.client.HTTPException) as exc:
            return ExecutionResult(False, f"executor connection failed ({self.describe()}): {exc!r}")

    def _timed_out(self) -> ExecutionResult:
        return ExecutionResult(False, f"executor did not answer within {self.timeout:g}s ({self.describe()})")


@dataclass(frozen=True, slots=True)
class ActionReport:
    """The outcome of an approval or execution attempt: ``status`` and why, and the audit entry that records it."""

    remediation_id: str
    kind: str  # "approval" or "execution"
    status: str  # approval: "approved" | "refused"; execution: "succeeded" | "failed" | "refused"
    reason: str
    actor: str
    at: datetime
    audit_id: str
    decision: PolicyDecision | None = None
    request: ExecutionRequest | None = None
    result: ExecutionResult | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("approved", "succeeded")

    def as_json(self) -> dict[str, Any]:
        return {"remediation_id": self.remediation_id, "kind": self.kind, "status": self.status,
                "reason": self.reason, "actor": self.actor, "at": self.at.isoformat(), "audit_id": self.audit_id,
                "decision": self.decision.as_json() if self.decision else None,
                "request": self.request.as_json() if self.request else None,
                "result": self.result.as_json() if self.result else None}


def _remediation(store: GraphStore, remediation_id: str) -> Node:
    node = store.get_node(remediation_id) if remediation_id.startswith("remediation:") else None
    if node is None or node.label is not NodeLabel.REMEDIATION or "diagnosis" not in node.props:
        raise NotFound(f"{remediation_id}: no recommended remediation with this id in {store.describe()}")
    return node


def current_decision(store: GraphStore, node: Node, policy: Policy, now: datetime) -> PolicyDecision:
    """The policy's verdict on a saved recommendation now: today's blast radius, cooldown and policy."""
    action, target = str(node.props["action"]), str(node.props["target"])
    radius = blast_radius(store, action, target)
    last = audit.last_execution(store, action, target, now, policy.max_cooldown)
    stored = node.props.get("confidence")
    confidence = float(stored) if isinstance(stored, int | float) else 0.0
    signature = node.props.get("signature")
    return policy.decide(action, target, confidence, radius.level, now, last,
                         signature=str(signature) if signature else None)


def _entry(
    store: GraphStore, kind: AuditKind, node: Node, actor: str, now: datetime, policy: Policy,
    inputs: dict[str, Any], outputs: dict[str, Any], summary: str,
) -> str:
    about = [node.id, str(node.props["diagnosis"])]
    if kind is AuditKind.EXECUTION:  # cooldowns look executions up from their target
        about.append(str(node.props["target"]))
    return audit.record(store, kind, about, inputs, outputs, policy.version, actor, now,
                        target=str(node.props["target"]), summary=summary)


def approve(
    store: GraphStore, remediation_id: str, by: str, *, policy: Policy, allowed_actors: Collection[str],
    now: datetime | None = None,
) -> ActionReport:
    """Record ``by``'s approval of a recommendation for the tier the policy gives it now (audited either way).

    Refused when ``by`` may not act, or when no tier covers the action any more.
    Example: ``approve(store, "remediation:…", "alice", policy=policy, allowed_actors={"alice"})``.
    """
    now = now or now_utc()
    node = _remediation(store, remediation_id)
    decision = current_decision(store, node, policy, now)
    if by not in allowed_actors:
        status, reason = "refused", f"{by!r} is not an allowed actor"
    elif decision.tier is None:
        status, reason = "refused", f"nothing to approve: {decision.reason}"
    else:
        status, reason = "approved", f"approved for tier {decision.tier} ({decision.approval})"
    inputs = {"action": node.props["action"], "tier": decision.tier,
              "approval": str(decision.approval) if decision.approval else None, "decision": decision.as_json()}
    audit_id = _entry(store, AuditKind.APPROVAL, node, by, now, policy, inputs,
                      {"approved": status == "approved", "reason": reason}, f"{status}: {node.name}")
    return ActionReport(remediation_id, "approval", status, reason, by, now, audit_id, decision)


def _valid_approval(entries: list[AuditEntry], decision: PolicyDecision, now: datetime,
                    approver: str | None) -> AuditEntry | None:
    for entry in reversed(entries):  # newest first
        if entry.kind is not AuditKind.APPROVAL or not entry.outputs.get("approved"):
            continue
        if entry.inputs.get("tier") != decision.tier or (approver is not None and entry.actor != approver):
            continue
        if decision.approval is Approval.SYNC_HUMAN and now - entry.at > SYNC_APPROVAL_TTL:
            continue
        return entry
    return None


def _idempotency_key(remediation_id: str, entries: list[AuditEntry]) -> str:
    """Stable across retries of a failed call; new after each success (the executor may dedupe on it)."""
    done = sum(1 for e in entries if e.kind is AuditKind.EXECUTION and e.outputs.get("status") == "succeeded")
    return hashlib.sha256(f"{remediation_id}#{done}".encode()).hexdigest()[:32]


def _gate(
    store: GraphStore, node: Node, decision: PolicyDecision, actor: str, allowed_actors: Collection[str],
    executor: Executor | None, approver: str | None, now: datetime,
) -> tuple[str | None, AuditEntry | None]:
    """Why the execution is refused (or ``None``), and the approval it relies on."""
    if executor is None:
        return "no executor is configured: Vidya only recommends", None
    if actor not in allowed_actors:
        return f"{actor!r} is not an allowed actor", None
    if not decision.allowed:
        return decision.reason, None
    if decision.approval is Approval.NONE:
        return None, None
    approval = _valid_approval(audit.entries_about(store, [node.id]), decision, now, approver)
    if approval is None:
        fresh = f" in the last {int(SYNC_APPROVAL_TTL.total_seconds() // 60)} min" \
            if decision.approval is Approval.SYNC_HUMAN else ""
        who = f" by {approver}" if approver else ""
        return f"tier {decision.tier} needs a {decision.approval} approval{who}{fresh}: run vidya approve {node.id}", None
    return None, approval


def execute(
    store: GraphStore, remediation_id: str, actor: str, *, policy: Policy, executor: Executor | None,
    allowed_actors: Collection[str], approver: str | None = None, now: datetime | None = None,
) -> ActionReport:
    """Execute a recommended remediation if the policy, the approvals and the caller allow it; audited always.

    Example: ``execute(store, "remediation:…", "bob", policy=policy, executor=webhook, allowed_actors={"bob"})``.
    """
    now = now or now_utc()
    node = _remediation(store, remediation_id)
    decision = current_decision(store, node, policy, now)
    refusal, approval = _gate(store, node, decision, actor, allowed_actors, executor, approver, now)
    inputs: dict[str, Any] = {"action": node.props["action"], "decision": decision.as_json(),
                              "approval_entry": approval.id if approval else None}
    if refusal is not None or executor is None:
        reason = refusal or "no executor"
        audit_id = _entry(store, AuditKind.EXECUTION, node, actor, now, policy, inputs,
                          {"status": "refused", "reason": reason}, f"refused: {node.name}")
        return ActionReport(remediation_id, "execution", "refused", reason, actor, now, audit_id, decision)
    request = ExecutionRequest(
        str(node.props["action"]), str(node.props["target"]), str(node.props["diagnosis"]), node.id,
        decision.tier or "", str(decision.approval), approval.actor if approval else None, actor,
        _idempotency_key(node.id, audit.entries_about(store, [node.id])), policy.version,
        str(node.props.get("candidate") or "") or None)
    result = executor.execute(request)
    status = "succeeded" if result.ok else "failed"
    inputs["request"], inputs["executor"] = request.as_json(), executor.describe()
    audit_id = _entry(store, AuditKind.EXECUTION, node, actor, now, policy, inputs,
                      {**result.as_json(), "status": status}, f"{status}: {node.name}")
    if result.ok:
        _mark_applied(store, node, now)
    return ActionReport(remediation_id, "execution", status, result.detail, actor, now, audit_id, decision,
                        request, result)


def _mark_applied(store: GraphStore, node: Node, now: datetime) -> None:
    """The anomaly was handled by this action: the link the feedback memory follows to its outcome."""
    anomaly = str(node.props.get("anomaly", ""))
    if not anomaly.startswith("anomaly:"):
        return
    prov = Provenance(source="agents/executor", run_id=f"execution-{now:%Y%m%dT%H%M%SZ}", location=node.id,
                      ingested_at=now)
    store.upsert_edges([Edge(RelType.REMEDIATED_BY, anomaly, node.id, prov, props={"executed_at": now.isoformat()})])
