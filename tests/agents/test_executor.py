"""Approval and execution through a real webhook (an HTTP server in a thread): gates, failures, audit."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.audit import AuditKind, entries_about
from agents.executor import SYNC_APPROVAL_TTL, WebhookExecutor, approve, execute
from agents.policy import load_policy
from agents.records import CandidateKind
from agents.remediation import recommend
from graph.errors import ConfigError, NotFound
from graph.factory import GraphConfig, open_store
from graph.schema import RelType
from graph.store import GraphStore
from tests.agents.helpers import shop, svc
from tests.agents.test_remediation import NOW, saved_diagnosis

POLICY = load_policy()
ACTORS = frozenset({"alice", "bob"})


@dataclass
class Hook:
    """The webhook's side: what it received; the path picks the answer (``/ok``, ``/fail``, ``/slow``)."""

    url: str
    received: list[tuple[str, dict[str, str], dict[str, object]]] = field(default_factory=list)

    def at(self, path: str, token: str | None = "s3cret", timeout: float = 5.0) -> WebhookExecutor:
        return WebhookExecutor(self.url + path, token, timeout)


@pytest.fixture(scope="module")
def hook() -> Iterator[Hook]:
    received: list[tuple[str, dict[str, str], dict[str, object]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, dict(self.headers), body))
            if self.path == "/slow":
                time.sleep(1.0)
            code, answer = (500, b"boom: runner offline") if self.path == "/fail" else (202, b'{"job": "run-7"}')
            try:
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/ok")
                    self.end_headers()
                    return
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller gave up waiting (the timeout case)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Hook(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def store(tmp_path: Path, hook: Hook) -> Iterator[GraphStore]:
    hook.received.clear()
    graph = open_store(GraphConfig(sqlite_path=tmp_path / "graph.db"))
    shop().change("deploy:web-9", svc("web"), 10).change("deploy:cart-3", svc("cart"), 12).write(graph)
    try:
        yield graph
    finally:
        graph.close()


def _recommended(store: GraphStore, suspects: list[tuple[CandidateKind, str | None, str | None, float]],
                 entity: str = svc("web")) -> dict[str, str]:
    did = saved_diagnosis(store, entity, suspects)
    return {f"{r.action}@{r.target}": r.id for r in recommend(store, did, POLICY, now=NOW).recommendations}


def _executions(store: GraphStore, rid: str) -> list[dict[str, object]]:
    return [e.outputs for e in entries_about(store, [rid]) if e.kind is AuditKind.EXECUTION]


def test_async_approval_then_execution_through_the_webhook(store: GraphStore, hook: Hook) -> None:
    rid = _recommended(store, [(CandidateKind.DEPLOY, "deploy:web-9", svc("web"), 0.8)])[f"rollback_deploy@{svc('web')}"]
    refused = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS, now=NOW)
    assert refused.status == "refused" and refused.reason.startswith("tier review needs a async_human approval")
    assert hook.received == []
    approved = approve(store, rid, "alice", policy=POLICY, allowed_actors=ACTORS, now=NOW)
    assert approved.ok and approved.reason == "approved for tier review (async_human)"
    later = NOW + timedelta(hours=5)  # an async approval does not expire
    done = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS, now=later)
    assert (done.status, done.reason) == ("succeeded", "executor answered 202")
    path, headers, body = hook.received[0]
    assert path == "/ok" and headers["Authorization"] == "Bearer s3cret"
    assert headers["Idempotency-Key"] == body["idempotency_key"]
    assert {k: body[k] for k in ("action", "target", "remediation_id", "tier", "approval", "approver", "actor",
                                 "cause", "policy_version")} == {
        "action": "rollback_deploy", "target": svc("web"), "remediation_id": rid, "tier": "review",
        "approval": "async_human", "approver": "alice", "actor": "bob", "cause": "deploy:web-9",
        "policy_version": POLICY.version}
    assert str(body["diagnosis_id"]).startswith("diagnosis:")
    assert [o["status"] for o in _executions(store, rid)] == ["refused", "succeeded"]
    assert _executions(store, rid)[-1]["http_status"] == 202 and _executions(store, rid)[-1]["body"] == '{"job": "run-7"}'
    # the anomaly was handled by it: the link outcomes are recorded against
    handled = store.incident_edges([rid], "in", [RelType.REMEDIATED_BY])
    assert [e.src.split(":")[0] for e in handled] == ["anomaly"]


def test_auto_tier_runs_without_approval_and_the_cooldown_blocks_then_expires(store: GraphStore, hook: Hook) -> None:
    recs = _recommended(store, [(CandidateKind.DEPENDENCY_FAILURE, svc("cart"), svc("cart"), 0.95)], svc("checkout"))
    rid = recs[f"restart_pod@{svc('cart')}"]
    first = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS, now=NOW)
    assert first.ok and first.decision is not None and first.decision.tier == "auto"
    again = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS,
                    now=NOW + timedelta(minutes=29))
    assert again.status == "refused" and again.reason.startswith("cooldown active: restart_pod ran on service:default/cart")
    after = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS,
                    now=NOW + timedelta(minutes=30))
    assert after.ok and len(hook.received) == 2
    keys = [body["idempotency_key"] for _, _, body in hook.received]
    assert keys[0] != keys[1]  # a new execution after a success is a new request


def test_unauthorised_actor_or_missing_executor_is_refused_and_audited(store: GraphStore, hook: Hook) -> None:
    recs = _recommended(store, [(CandidateKind.DEPENDENCY_FAILURE, svc("cart"), svc("cart"), 0.95)], svc("checkout"))
    rid = recs[f"restart_pod@{svc('cart')}"]
    mallory = execute(store, rid, "mallory", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS, now=NOW)
    assert (mallory.status, mallory.reason) == ("refused", "'mallory' is not an allowed actor")
    nobody = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=frozenset(), now=NOW)
    assert nobody.status == "refused"
    none = execute(store, rid, "bob", policy=POLICY, executor=None, allowed_actors=ACTORS, now=NOW)
    assert none.reason == "no executor is configured: Vidya only recommends"
    assert hook.received == []
    entries = [e for e in entries_about(store, [rid]) if e.kind is AuditKind.EXECUTION]
    assert [(e.actor, e.outputs["status"]) for e in entries] == [("mallory", "refused"), ("bob", "refused"),
                                                                   ("bob", "refused")]
    assert all(e.policy_version == POLICY.version and e.target == svc("cart") for e in entries)
    refused = approve(store, rid, "mallory", policy=POLICY, allowed_actors=ACTORS, now=NOW)
    assert not refused.ok and refused.reason == "'mallory' is not an allowed actor"


def test_low_confidence_is_refused_even_with_an_approval(store: GraphStore, hook: Hook) -> None:
    recs = _recommended(store, [(CandidateKind.DEPLOY, "deploy:web-9", svc("web"), 0.3)])
    rid = recs[f"rollback_deploy@{svc('web')}"]
    assert not approve(store, rid, "alice", policy=POLICY, allowed_actors=ACTORS, now=NOW).ok
    refused = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS, now=NOW)
    assert refused.status == "refused" and refused.reason.startswith("confidence too low: 0.30")


def test_a_sync_approval_is_good_for_minutes_and_for_its_approver(store: GraphStore, hook: Hook) -> None:
    recs = _recommended(store, [(CandidateKind.DEPLOY, "deploy:cart-3", svc("cart"), 0.9)], svc("checkout"))
    rid = recs[f"rollback_deploy@{svc('cart')}"]  # web, gateway and checkout need cart: sync
    assert approve(store, rid, "alice", policy=POLICY, allowed_actors=ACTORS, now=NOW).ok
    stale = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS,
                    now=NOW + SYNC_APPROVAL_TTL + timedelta(seconds=1))
    assert stale.status == "refused" and "needs a sync_human approval in the last 15 min" in stale.reason
    other = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS,
                    approver="carol", now=NOW + timedelta(minutes=1))
    assert other.status == "refused" and "approval by carol" in other.reason
    fresh = execute(store, rid, "bob", policy=POLICY, executor=hook.at("/ok"), allowed_actors=ACTORS,
                    approver="alice", now=NOW + timedelta(minutes=1))
    assert fresh.ok and fresh.request is not None and fresh.request.approval == "sync_human"


def test_webhook_failures_are_failed_executions_with_status_and_body(store: GraphStore, hook: Hook) -> None:
    recs = _recommended(store, [(CandidateKind.DEPENDENCY_FAILURE, svc("cart"), svc("cart"), 0.95)], svc("checkout"))
    rid = recs[f"restart_pod@{svc('cart')}"]
    run = lambda executor, minutes: execute(store, rid, "bob", policy=POLICY, executor=executor,  # noqa: E731
                                            allowed_actors=ACTORS, now=NOW + timedelta(minutes=minutes))
    failed = run(hook.at("/fail"), 0)
    assert (failed.status, failed.reason) == ("failed", "executor answered 500 Internal Server Error")
    assert failed.result is not None and failed.result.body == "boom: runner offline"
    slow = run(hook.at("/slow", timeout=0.2), 1)
    assert slow.status == "failed" and slow.reason.startswith("executor did not answer within 0.2s")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    unreachable = run(WebhookExecutor(f"http://127.0.0.1:{closed}/hook", None, 2), 2)
    assert unreachable.status == "failed" and unreachable.reason.startswith("executor unreachable (webhook http://127.0.0.1:")
    moved = run(hook.at("/moved"), 2)
    assert (moved.status, moved.reason) == ("failed", "executor answered 302 Found")  # the token stays here
    assert [p for p, _, _ in hook.received].count("/ok") == 0
    outputs = _executions(store, rid)
    assert [o["status"] for o in outputs] == ["failed", "failed", "failed", "failed"]
    assert outputs[0]["http_status"] == 500 and outputs[0]["body"] == "boom: runner offline"
    # a failure starts no cooldown, and the retry carries the same idempotency key (the call may have acted)
    retry = run(hook.at("/ok"), 3)
    assert retry.ok
    keys = {body["idempotency_key"] for path, _, body in hook.received if path in ("/fail", "/moved", "/ok")}
    assert len(keys) == 1
    assert len(store.incident_edges([rid], "in", [RelType.REMEDIATED_BY])) == 1


def test_bad_executor_settings_and_unknown_remediations_are_named(store: GraphStore) -> None:
    with pytest.raises(ConfigError, match="executor url 'ftp://x': expected an http:// or https:// URL"):
        WebhookExecutor("ftp://x")
    with pytest.raises(ConfigError, match="executor timeout 0"):
        WebhookExecutor("http://127.0.0.1:1/x", timeout=0)
    with pytest.raises(NotFound, match="remediation:nope: no recommended remediation"):
        execute(store, "remediation:nope", "bob", policy=POLICY, executor=None, allowed_actors=ACTORS)
