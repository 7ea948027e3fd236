"""Remediation: actions per candidate, blast radius from the graph, policy tiers, cooldowns, past outcomes, saving."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agents import audit
from agents.diagnosis import diagnose
from agents.memory_records import wilson
from agents.persist import save_diagnosis
from agents.policy import Policy, load_policy
from agents.records import Anomaly, Candidate, CandidateKind, Diagnosis
from agents.remediation import Recommendation, RemediationPlan, blast_radius, recommend
from api.ingestion.pipeline import Ingester
from graph.errors import NotFound
from graph.factory import GraphConfig, open_store
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType, node_id
from graph.store import GraphStore
from tests.agents.helpers import ESTATE, PROV, Builder, T, ground_truth, res, shop, svc

NOW = T + timedelta(minutes=5)
POLICY = load_policy()
Suspect = tuple[CandidateKind, str | None, str | None, float]


def saved_diagnosis(store: GraphStore, entity: str, suspects: list[Suspect], signal: str = "HighErrorRate",
                    at: datetime = T) -> str:
    """Save a diagnosis of ``entity`` with these candidates (kind, node, entity, confidence); ``unknown`` gets the rest."""
    unknown = 1 - sum(s[3] for s in suspects)
    candidates = [Candidate(kind, node, ent, f"{kind} {node}", confidence=conf) for kind, node, ent, conf in suspects]
    candidates.append(Candidate(CandidateKind.UNKNOWN, None, None, "unknown", confidence=unknown))
    candidates.sort(key=lambda c: -c.confidence)
    for rank, c in enumerate(candidates, 1):
        c.rank = rank
    diagnosis = Diagnosis(node_id(NodeLabel.DIAGNOSIS, str(uuid.uuid4())), Anomaly(entity, at, signal=signal),
                          at + timedelta(minutes=1), at - timedelta(minutes=30), at, False, candidates, [], "default",
                          "diagnosis-test")
    save_diagnosis(store, diagnosis)
    return diagnosis.id


@pytest.fixture
def tmp_graph(tmp_path: Path) -> Iterator[GraphStore]:
    """One SQLite store, for what does not depend on the backend."""
    store = open_store(GraphConfig(sqlite_path=tmp_path / "graph.db"))
    try:
        yield store
    finally:
        store.close()


def by_action(plan: RemediationPlan) -> dict[tuple[str, str], Recommendation]:
    return {(r.action, r.target): r for r in plan.recommendations}


def test_blast_radius_counts_what_depends_on_the_target_now(graph_store: GraphStore) -> None:
    builder = shop()
    gone = Edge(RelType.DEPENDS_ON, svc("old-web"), svc("web"), PROV, valid_from=T - timedelta(days=9),
                valid_to=T - timedelta(days=2))
    builder.entity(svc("old-web")).edges.append(gone)
    builder.write(graph_store)
    def radius(action: str, target: str) -> tuple[str, int]:
        found = blast_radius(graph_store, action, target)
        return str(found.level), found.dependents

    assert radius("rollback_deploy", svc("web")) == ("single_service", 0)  # old-web depended on it once, not now
    assert radius("rollback_deploy", svc("checkout")) == ("multi_service", 2)
    assert radius("rollback_deploy", svc("cart")) == ("multi_service", 3)
    # 5 of the 7 other services and resources need payments-db
    assert radius("failover", res("payments-db")) == ("platform_wide", 5)
    assert radius("clear_cache", res("payments-db")) == ("platform_wide", 5)  # a shared cache is not one pod's
    assert radius("restart_pod", svc("checkout")) == ("single_pod", 2)


def test_each_candidate_suggests_its_actions_in_the_tier_the_policy_gives(graph_store: GraphStore) -> None:
    shop().change("deploy:web-9", svc("web"), 10).write(graph_store)
    did = saved_diagnosis(graph_store, svc("web"), [
        (CandidateKind.DEPLOY, "deploy:web-9", svc("web"), 0.8),
        (CandidateKind.DEPENDENCY_FAILURE, res("payments-db"), res("payments-db"), 0.12)])
    plan = recommend(graph_store, did, POLICY, now=NOW)
    recs = by_action(plan)
    assert set(recs) == {("rollback_deploy", svc("web")), ("failover", res("payments-db")),
                         ("enable_fallback", svc("web"))}
    rollback = recs["rollback_deploy", svc("web")]
    assert (rollback.candidate.entity, rollback.radius.level, rollback.decision.tier) == (svc("web"), "single_service", "review")
    assert (rollback.decision.approval, rollback.status) == ("async_human", "needs_approval")
    failover = recs["failover", res("payments-db")]
    assert failover.status == "blocked" and failover.radius.level == "platform_wide"
    assert failover.decision.reason.startswith("confidence too low: 0.12 is below the 0.70 that tier platform needs")
    assert plan.policy_version == POLICY.version and plan.diagnosis.signature == f"HighErrorRate@{svc('web')}"


@pytest.mark.parametrize(
    "kind,suspect,expected",
    [
        (CandidateKind.CONFIG, "config:c1", {("revert_config", svc("cart"))}),
        (CandidateKind.FLAG, "flag:f1", {("disable_feature_flag", svc("cart"))}),
        (CandidateKind.MIGRATION, "migration:m1", {("rollback_migration", svc("cart"))}),
        (CandidateKind.TRAFFIC_SPIKE, "alert:spike", {("scale_up", svc("checkout")), ("rate_limit", svc("gateway"))}),
        (CandidateKind.DEPENDENCY_FAILURE, svc("cart"),
         {("failover", svc("cart")), ("enable_fallback", svc("checkout")), ("restart_pod", svc("cart"))}),
    ],
)
def test_actions_by_kind_of_cause(tmp_graph: GraphStore, kind: CandidateKind, suspect: str,
                                  expected: set[tuple[str, str]]) -> None:
    shop().alert("spike", "RequestRateSpike", svc("gateway"), 8).change("config:c1", svc("cart"), 10) \
        .change("flag:f1", svc("cart"), 10).change("migration:m1", svc("cart"), 10).write(tmp_graph)
    did = saved_diagnosis(tmp_graph, svc("checkout"), [(kind, suspect, None, 0.9)])
    assert set(by_action(recommend(tmp_graph, did, POLICY, now=NOW))) == expected


def test_cooldown_from_the_audit_trail_blocks_then_expires(tmp_graph: GraphStore) -> None:
    shop().change("deploy:web-9", svc("web"), 10).write(tmp_graph)
    did = saved_diagnosis(tmp_graph, svc("web"), [(CandidateKind.DEPLOY, "deploy:web-9", svc("web"), 0.8)])
    ran = NOW - timedelta(minutes=20)
    for status, at in (("succeeded", ran), ("failed", NOW - timedelta(minutes=1)), ("refused", NOW)):
        audit.record(tmp_graph, "execution", [svc("web")], {"action": "rollback_deploy"}, {"status": status},
                     POLICY.version, "bob", at, target=svc("web"))
    blocked = by_action(recommend(tmp_graph, did, POLICY, now=NOW))["rollback_deploy", svc("web")]
    assert blocked.status == "blocked" and blocked.decision.tier == "review"
    assert blocked.decision.cooldown_until == ran + timedelta(hours=1)  # from the success, not the later failure
    assert "cooldown active: rollback_deploy ran on service:default/web" in blocked.decision.reason
    later = by_action(recommend(tmp_graph, did, POLICY, now=ran + timedelta(hours=1)))["rollback_deploy", svc("web")]
    assert later.status == "needs_approval"
    # another action on the same target, or the same action elsewhere, is not cooling down
    other = audit.last_execution(tmp_graph, "restart_pod", svc("web"), NOW, timedelta(hours=12))
    assert other is None and audit.last_execution(tmp_graph, "rollback_deploy", svc("cart"), NOW, timedelta(days=1)) is None


def _past_case(builder: Builder, incident: str, days_before: float, cause: str,
               actions: list[tuple[str, str, bool | None]]) -> None:
    at = T - timedelta(days=days_before)
    builder.nodes[incident] = Node(incident, NodeLabel.INCIDENT, PROV, name=incident, at=at)
    builder.edges += [Edge(RelType.AFFECTS, incident, svc("web"), PROV), Edge(RelType.CAUSED_BY, incident, cause, PROV)]
    for i, (action, result, helped) in enumerate(actions):
        rem, out = f"remediation:{incident}/{i}", f"outcome:{incident}/{i}"
        props: dict[str, str | bool] = {"result": result} if helped is None else {"result": result, "helped": helped}
        builder.nodes[rem] = Node(rem, NodeLabel.REMEDIATION, PROV, name=action, props={"action": action},
                                  at=at + timedelta(minutes=10 + i))
        builder.nodes[out] = Node(out, NodeLabel.OUTCOME, PROV, name=result, props=props, at=at + timedelta(minutes=20))
        builder.edges += [Edge(RelType.REMEDIATED_BY, incident, rem, PROV), Edge(RelType.HAS_OUTCOME, rem, out, PROV)]


def test_what_worked_for_similar_cases_is_relied_on_and_suggested(graph_store: GraphStore) -> None:
    builder = shop().change("deploy:web-old", svc("web"), 60 * 24 * 10).change("deploy:web-9", svc("web"), 10)
    builder.change("flag:web-old", svc("web"), 60 * 24 * 5)
    _past_case(builder, "incident:P1", 10, "deploy:web-old",
               [("rollback_deploy", "failed", False), ("restart_pod", "resolved", True)])
    _past_case(builder, "incident:P2", 5, "flag:web-old", [("disable_feature_flag", "resolved", True)])
    _past_case(builder, "incident:LATER", -1, "deploy:web-9", [("rollback_deploy", "resolved", True)])
    builder.write(graph_store)
    # so sure of the deploy that "unknown" (which would take any similar case's fix) suggests nothing
    did = saved_diagnosis(graph_store, svc("web"), [(CandidateKind.DEPLOY, "deploy:web-9", svc("web"), 0.97)])
    recs = by_action(recommend(graph_store, did, POLICY, now=NOW))
    rollback = recs["rollback_deploy", svc("web")]
    assert [(p.case_id, p.result, p.helped, p.relation) for p in rollback.past] == \
        [("incident:P1", "failed", False, "match")]  # the later incident is not history yet
    assert rollback.stats is not None and (rollback.stats.successes, rollback.stats.uses) == (0, 1)
    restart = recs["restart_pod", svc("web")]  # it helped when a web deploy went wrong before
    assert restart.origin == "history" and [p.remediations for p in restart.past] == [("remediation:incident:P1/1",)]
    assert (restart.radius.level, restart.decision.tier, restart.status) == ("single_pod", "auto", "ready")
    # the flag fix belongs to a flag-caused incident, a lookalike: no reason to try it for a deploy
    assert ("disable_feature_flag", svc("web")) not in recs
    node = graph_store.get_node(restart.id)
    assert node is not None and node.props["past_cases"] == ["incident:P1"]


def test_unknown_brings_what_worked_before_as_sure_as_its_track_record(tmp_graph: GraphStore) -> None:
    builder = shop().change("deploy:web-old", svc("web"), 60 * 24 * 10)
    _past_case(builder, "incident:P1", 10, "deploy:web-old", [("restart_pod", "resolved", True)])
    _past_case(builder, "incident:P2", 9, "deploy:web-old", [("restart_pod", "resolved", True)])
    builder.write(tmp_graph)
    did = saved_diagnosis(tmp_graph, svc("web"), [])  # nothing explains it: "unknown" at 100%
    [rec] = recommend(tmp_graph, did, POLICY, now=NOW).recommendations
    assert (rec.action, rec.origin, rec.candidate.kind, rec.candidate.confidence) == ("restart_pod", "history", "unknown", 1.0)
    assert rec.confidence == round(wilson(2, 2)[0], 4)  # 2 of 2 resolved: at least 34% with 95% confidence
    assert rec.status == "blocked" and rec.decision.reason.startswith(f"confidence too low: {rec.confidence:.2f}")


def test_recommendations_are_saved_and_audited(graph_store: GraphStore) -> None:
    shop().change("deploy:web-9", svc("web"), 10).write(graph_store)
    did = saved_diagnosis(graph_store, svc("web"), [(CandidateKind.DEPLOY, "deploy:web-9", svc("web"), 0.8)])
    assert recommend(graph_store, did, POLICY, now=NOW, save=False).audit_id is None
    assert graph_store.find_nodes(NodeLabel.REMEDIATION) == []
    first = recommend(graph_store, did, POLICY, now=NOW)
    again = recommend(graph_store, did, POLICY, now=NOW + timedelta(minutes=1))
    rid = first.recommendations[0].id
    assert rid == again.recommendations[0].id == f"remediation:{did.partition(':')[2]}/rollback_deploy@{svc('web')}"
    node = graph_store.get_node(rid)
    assert node is not None and node.props["tier"] == "review" and node.props["status"] == "needs_approval"
    assert node.props["candidate"] == "deploy:web-9" and node.props["policy_version"] == POLICY.version
    assert {e.src for e in graph_store.incident_edges([rid], "in", [RelType.RECOMMENDS])} == {did}
    entries = audit.entries_about(graph_store, [did])
    assert [e.kind for e in entries] == ["diagnosis", "recommendation", "recommendation"]  # the diagnosis once
    rec_entry = entries[1]
    assert rec_entry.id == first.audit_id and rec_entry.policy_version == POLICY.version
    assert rec_entry.outputs["recommendations"][0]["tier"] == "review" and rid in rec_entry.about


def test_a_policy_change_changes_the_tier(tmp_graph: GraphStore) -> None:
    shop().change("deploy:web-9", svc("web"), 10).write(tmp_graph)
    did = saved_diagnosis(tmp_graph, svc("web"), [(CandidateKind.DEPLOY, "deploy:web-9", svc("web"), 0.8)])
    strict = Policy(POLICY.version + 1, tuple(t for t in POLICY.tiers if t.name != "review"), {}, "strict.yaml")
    rec = recommend(tmp_graph, did, strict, now=NOW).recommendations[0]
    assert (rec.decision.tier, rec.decision.approval, rec.decision.policy_version) == ("live", "sync_human", 2)


def test_unknown_diagnosis_is_not_found(tmp_graph: GraphStore) -> None:
    with pytest.raises(NotFound, match="diagnosis:nope: no saved diagnosis"):
        recommend(tmp_graph, "diagnosis:nope", POLICY)
    with pytest.raises(NotFound):
        recommend(tmp_graph, "service:default/web", POLICY)


# the demo estate ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def estate_plans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GraphStore, dict[int, RemediationPlan]]]:
    """Every incident of the demo estate replayed blind, diagnosed, then remediated under the default policy."""
    store = open_store(GraphConfig(sqlite_path=tmp_path_factory.mktemp("estate") / "graph.db"))
    report = Ingester(store).run([ESTATE / f for f in ("catalog", "events", "alerts", "incidents", "postmortems")])
    assert report.ok
    plans = {}
    for truth in ground_truth():
        incident = store.get_node(truth.incident_id)
        assert incident is not None and incident.at is not None
        anomaly = Anomaly(f"service:default/{truth.service}", incident.at, signal=truth.alert)
        diagnosis = diagnose(store, anomaly, exclude={incident.id})
        plans[truth.number] = recommend(store, diagnosis.id, POLICY, now=datetime(2026, 11, 21, tzinfo=T.tzinfo))
    try:
        yield store, plans
    finally:
        store.close()


@pytest.mark.slow
def test_on_the_demo_estate_every_recommendation_is_in_the_first_tier_that_covers_it(
    estate_plans: tuple[GraphStore, dict[int, RemediationPlan]],
) -> None:
    _, plans = estate_plans
    assert len(plans) == 32 and all(plan.recommendations for plan in plans.values())
    for number, plan in plans.items():
        for r in plan.recommendations:
            covering = [t for t in POLICY.tiers if t.covers(r.action, r.candidate.confidence, r.radius.level)]
            assert r.decision.tier == (covering[0].name if covering else None), (number, r.action, r.target)
            assert r.status == ("blocked" if not covering else "needs_approval" if covering[0].approval != "none"
                                else "ready"), (number, r.action)
            assert all(p.at is None or p.at < plan.diagnosis.detected_at for p in r.past), (number, r.action)


@pytest.mark.slow
def test_on_the_demo_estate_blast_radius_and_tiers_follow_the_topology(
    estate_plans: tuple[GraphStore, dict[int, RemediationPlan]],
) -> None:
    _, plans = estate_plans
    top = {n: plan.recommendations[0] for n, plan in plans.items()}
    # notifications: nothing depends on it, a confident rollback needs an async approval
    assert (top[4173].action, top[4173].radius.level, top[4173].decision.tier) == \
        ("rollback_deploy", "single_service", "review")
    # kafka-main: most of the estate depends on it; failing it over is a live, platform-wide decision
    kafka = by_action(plans[4141])["failover", "resource:default/kafka-main"]
    assert (kafka.radius.level, kafka.decision.tier, kafka.decision.approval) == ("platform_wide", "platform",
                                                                                  "sync_human")
    # the first cause-suggested action of every correctly diagnosed deploy, config, flag and migration undoes it
    undo = {"deploy": "rollback_deploy", "config": "revert_config", "flag": "disable_feature_flag",
            "migration": "rollback_migration"}
    for n, rec in top.items():
        if str(rec.candidate.kind) in undo:
            assert rec.action == undo[str(rec.candidate.kind)] and rec.origin == "cause", n
