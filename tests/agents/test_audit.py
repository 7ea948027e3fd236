"""The audit trail: entries with their links, queries by time, kind and target, and "why was X recommended"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from agents.audit import AuditKind, audit_entries, entries_about, explain, record
from agents.executor import approve, execute
from agents.policy import load_policy
from agents.records import CandidateKind
from agents.remediation import recommend
from graph.errors import RecordError
from graph.factory import GraphConfig, open_store
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from tests.agents.helpers import T, res, shop, svc
from tests.agents.test_remediation import saved_diagnosis

POLICY = load_policy()


def test_entries_are_linked_and_queried_by_time_kind_and_target(graph_store: GraphStore) -> None:
    shop().write(graph_store)
    ids = [
        record(graph_store, "approval", [svc("cart")], {"tier": "review"}, {"approved": True}, 3, "alice",
               T - timedelta(hours=2), target=svc("cart")),
        record(graph_store, "execution", [svc("cart")], {"action": "restart_pod"}, {"status": "succeeded"}, 3, "bob",
               T - timedelta(hours=1), target=svc("cart"), summary="restart cart"),
        record(graph_store, AuditKind.OUTCOME, [svc("web"), svc("cart")], {}, {"result": "resolved"}, None, None, T,
               target=svc("web")),
    ]
    node = graph_store.get_node(ids[1])
    assert node is not None and node.label is NodeLabel.DECISION and node.at == T - timedelta(hours=1)
    assert {e.dst for e in graph_store.incident_edges([ids[2]], "out", [RelType.RECORDS])} == {svc("web"), svc("cart")}
    everything = audit_entries(graph_store, since=T - timedelta(days=1))
    assert [e.id for e in everything] == ids
    entry = everything[1]
    assert (entry.kind, entry.actor, entry.policy_version, entry.target, entry.summary) == \
        ("execution", "bob", 3, svc("cart"), "restart cart")
    assert entry.inputs == {"action": "restart_pod"} and entry.outputs == {"status": "succeeded"}
    assert everything[2].policy_version is None and everything[2].actor is None
    assert [e.id for e in audit_entries(graph_store, T - timedelta(minutes=90), until=T)] == [ids[1]]
    assert [e.id for e in audit_entries(graph_store, T - timedelta(days=1), kind="approval")] == [ids[0]]
    assert [e.id for e in audit_entries(graph_store, T - timedelta(days=1), target="cart")] == ids  # about it, or on it
    assert [e.id for e in audit_entries(graph_store, T - timedelta(days=1), target=svc("web"))] == [ids[2]]
    assert audit_entries(graph_store, T + timedelta(seconds=1)) == []
    assert [e.id for e in entries_about(graph_store, [svc("cart")])] == ids


def test_bad_entries_are_refused_with_a_name(tmp_path: Path) -> None:
    store = open_store(GraphConfig(sqlite_path=tmp_path / "graph.db"))
    try:
        with pytest.raises(RecordError, match="audit kind 'guess': expected one of diagnosis, recommendation"):
            record(store, "guess", [], {}, {}, None, None, T)
        with pytest.raises(RecordError, match=r"audit entry inputs: not JSON-serialisable \(Out of range float"):
            record(store, "outcome", [], {"x": float("nan")}, {}, None, None, T)
        with pytest.raises(RecordError, match="has no time zone"):
            record(store, "outcome", [], {}, {}, None, None, T.replace(tzinfo=None))
    finally:
        store.close()


@pytest.fixture
def trail(tmp_path: Path) -> Iterator[GraphStore]:
    store = open_store(GraphConfig(sqlite_path=tmp_path / "graph.db"))
    shop().change("deploy:pay-4", svc("payments"), 9).write(store)
    try:
        yield store
    finally:
        store.close()


def test_why_was_a_rollback_recommended_at_that_minute(trail: GraphStore) -> None:
    did = saved_diagnosis(trail, svc("checkout"), [(CandidateKind.DEPLOY, "deploy:pay-4", svc("payments"), 0.74),
                                                   (CandidateKind.DEPENDENCY_FAILURE, res("payments-db"),
                                                    res("payments-db"), 0.2)], signal="CheckoutHighLatency")
    made = T + timedelta(minutes=3, seconds=40)
    plan = recommend(trail, did, POLICY, now=made)
    rid = next(r.id for r in plan.recommendations if r.action == "rollback_deploy")
    approve(trail, rid, "alice", policy=POLICY, allowed_actors={"alice"}, now=made + timedelta(minutes=1))
    execute(trail, rid, "mallory", policy=POLICY, executor=None, allowed_actors={"alice"},
            now=made + timedelta(minutes=2))

    found = explain(trail, T + timedelta(minutes=3), action="rollback", target="payments")  # "at 12:03"
    assert len(found) == 1
    why = found[0]
    assert why.entry.id == plan.audit_id and why.entry.policy_version == POLICY.version
    # checkout, gateway and web need payments: half the estate
    assert why.recommendation["tier"] == "platform" and why.recommendation["approval"] == "sync_human"
    assert why.recommendation["reason"].startswith("tier platform: rollback_deploy at confidence 0.74")
    assert [(c["kind"], c["node_id"], c["confidence"]) for c in why.candidates[:2]] == \
        [("deploy", "deploy:pay-4", 0.74), ("dependency_failure", res("payments-db"), 0.2)]
    # the evidence: how each suspect is tied to the symptom in the dependency graph
    assert why.evidence_paths == {svc("payments"): [svc("checkout"), svc("payments")],
                                  res("payments-db"): [svc("checkout"), svc("payments"), res("payments-db")]}
    assert [(f.kind, f.actor) for f in why.followups] == [("approval", "alice"), ("execution", "mallory")]
    data = why.as_json()
    assert data["diagnosis"] == did and data["signature"] == f"CheckoutHighLatency@{svc('checkout')}"

    assert explain(trail, T + timedelta(minutes=2), action="rollback") == []  # not yet recommended at 12:02
    assert explain(trail, T + timedelta(minutes=3), action="scale_up") == []
    diagnosis_entry = next(e for e in entries_about(trail, [did]) if e.kind is AuditKind.DIAGNOSIS)
    assert diagnosis_entry.at == T + timedelta(minutes=1)  # when the diagnosis was made
    assert diagnosis_entry.outputs["candidates"][0]["node_id"] == "deploy:pay-4"
