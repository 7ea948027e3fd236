"""The diagnosis agent on small hand-built graphs (every backend), through ``diagnose`` and ``vidya diagnose``."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import pytest

from agents.config import DiagnosisConfig, parse_duration, preset
from agents.diagnosis import diagnose
from agents.records import Anomaly, CandidateKind, Diagnosis
from agents.scoring_calibration import fit_temperature, true_cause_nll
from api.anomaly_input import anomaly_for_entity
from graph.errors import ConfigError, NotFound
from graph.factory import GraphConfig, open_store
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from tests.agents.helpers import Builder, T, at, res, shop, svc
from tests.api.test_cli import vidya

CHECKOUT = Anomaly(svc("checkout"), T, signal="CheckoutHighLatency")


def ranked(diagnosis: Diagnosis) -> list[str | None]:
    return [c.node_id for c in diagnosis.candidates]


def test_a_deploy_on_a_callee_five_minutes_before_the_alert_ranks_first(graph_store: GraphStore) -> None:
    shop().change("deploy:d-pay", svc("payments"), 5, action="upgraded", version="2.1.0") \
        .change("deploy:d-cart-old", svc("cart"), 28, action="upgraded", version="1.0.1") \
        .alert("a1", "CheckoutHighLatency", svc("checkout"), 0).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    top = result.top
    assert (top.kind, top.node_id, top.source_event_id) == (CandidateKind.DEPLOY, "deploy:d-pay", "d-pay")
    assert top.evidence.direction == "downstream" and top.evidence.distance == 1
    assert [(s.src, s.type, s.dst) for s in top.evidence.path] == [(svc("checkout"), "DEPENDS_ON", svc("payments"))]
    assert top.confidence > 0.5 and "5 min before the first symptom" in top.explanation


def test_a_change_on_a_caller_ranks_below_the_same_change_on_a_callee(graph_store: GraphStore) -> None:
    shop().change("config:c-web", svc("gateway"), 6).change("config:c-pay", svc("payments"), 6).write(graph_store)
    order = ranked(diagnose(graph_store, CHECKOUT, save=False))
    assert order.index("config:c-pay") < order.index("config:c-web")


def test_alerts_in_causal_order_along_the_path_corroborate_a_deeper_change(graph_store: GraphStore) -> None:
    shop().change("migration:m1", res("payments-db"), 12).change("deploy:d-cart", svc("cart"), 12) \
        .alert("db", "PostgresLocks", res("payments-db"), 6, "warning") \
        .alert("pay", "PaymentsErrors", svc("payments"), 3).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert result.top.node_id == "migration:m1"
    roles = [(a.name, a.role, a.in_order) for a in result.top.evidence.alerts]
    assert roles == [("PostgresLocks", "cause", True), ("PaymentsErrors", "path", True)]
    assert result.top.evidence.path_nodes == [res("payments-db"), svc("payments"), svc("checkout")]


def propagation(diagnosis: Diagnosis, node_id: str) -> tuple[float | str, float, str]:
    candidate = next(c for c in diagnosis.candidates if c.node_id == node_id)
    return next((f.value, f.lr, f.note) for f in candidate.evidence.factors if f.name == "propagation")


def test_entities_a_change_reaches_alerting_after_it_speak_for_it_and_their_silence_against(
    graph_store: GraphStore,
) -> None:
    shop().change("config:c-db", res("payments-db"), 10).change("deploy:d-cart", svc("cart"), 10).write(graph_store)
    before = diagnose(graph_store, CHECKOUT, save=False)
    value, quiet, note = propagation(before, "config:c-db")
    # payments (on its path), ledger (its other caller) and gateway (three hops up) stayed silent
    assert value == 0.0 and quiet < 0.5 and "3 stayed silent, 1 of them on its path" in note
    Builder().alert("led", "LedgerErrors", svc("ledger"), 4).alert("pay", "PaymentsErrors", svc("payments"), 3) \
        .write(graph_store)
    after = diagnose(graph_store, CHECKOUT, save=False)
    value, loud, note = propagation(after, "config:c-db")
    assert after.top.node_id == "config:c-db" and value == 2.0 and loud > 10 and "(ledger, payments)" in note
    # cart's failure reaches no one that alerted: the same alerts say nothing for it
    assert propagation(after, "deploy:d-cart")[0] == 0.0


def test_a_changed_entity_s_own_alert_speaks_for_the_change_unless_it_is_the_page(graph_store: GraphStore) -> None:
    shop().change("deploy:d-checkout", svc("checkout"), 6).alert("chk", "CheckoutHighLatency", svc("checkout"), 1) \
        .change("deploy:d-pay", svc("payments"), 6).alert("pay", "PaymentsErrors", svc("payments"), 2) \
        .write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    weights = preset().weights
    own = weights.propagation_alert / weights.propagation_noise
    # checkout alerts whatever the cause (it is the page); payments alerting after its deploy is evidence
    assert propagation(result, "deploy:d-checkout")[1] <= 1.0
    assert propagation(result, "deploy:d-pay")[1] > 0.9 * own


def test_an_alert_the_cause_reaches_before_the_cause_does_not_count(graph_store: GraphStore) -> None:
    shop().change("config:c-db", res("payments-db"), 10).alert("led", "LedgerErrors", svc("ledger"), 14) \
        .write(graph_store)
    assert propagation(diagnose(graph_store, CHECKOUT, save=False), "config:c-db")[0] == 0.0


def test_a_decoy_alert_explains_less_than_the_silent_dependency_below_the_alerting_branches(
    graph_store: GraphStore,
) -> None:
    # payments-db fails silently; payments and ledger, its callers, alert; cart alerts by itself just before the page
    shop().alert("pay", "PaymentsErrors", svc("payments"), 4).alert("led", "LedgerErrors", svc("ledger"), 4) \
        .alert("cart", "CartErrors", svc("cart"), 2).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert propagation(result, res("payments-db"))[1] > propagation(result, svc("cart"))[1]
    assert result.top.node_id == res("payments-db")


def test_a_dependency_down_with_no_change_is_a_dependency_failure(graph_store: GraphStore) -> None:
    shop().alert("f00d", "PostgresDown", res("payments-db"), 3).alert("pay", "PaymentsErrors", svc("payments"), 1) \
        .write(graph_store)
    top = diagnose(graph_store, CHECKOUT, save=False).top
    assert (top.kind, top.node_id, top.source_event_id) == (CandidateKind.DEPENDENCY_FAILURE, res("payments-db"), "f00d")
    assert top.entity == res("payments-db") and top.confidence > 0.5


def test_a_silent_dependency_is_triangulated_from_its_alerting_callers(graph_store: GraphStore) -> None:
    shop().alert("pay", "PaymentsErrors", svc("payments"), 2).alert("led", "LedgerErrors", svc("ledger"), 2) \
        .write(graph_store)
    result = diagnose(graph_store, Anomaly(svc("payments"), T), save=False)
    silent = [c for c in result.candidates if c.node_id == res("payments-db")]
    assert silent and silent[0].kind is CandidateKind.DEPENDENCY_FAILURE and silent[0].rank == 1
    assert {a.name for a in silent[0].evidence.alerts if a.role == "caller"} == {"LedgerErrors", "PaymentsErrors"}
    # payments is the anomalous entity (the page being explained); ledger, the other caller, alerted too
    assert "1 of 3 entities it reaches alerted after it (ledger)" in next(
        f.note for f in silent[0].evidence.factors if f.name == "propagation")
    assert silent[0].explanation.startswith("payments-db did not alert, but 1 of 3 entities it reaches alerted after it")


def test_a_traffic_alert_at_the_edge_is_a_traffic_spike(graph_store: GraphStore) -> None:
    shop().alert("5p1ke", "GatewayRequestRateSpike", svc("gateway"), 6, "warning").write(graph_store)
    top = diagnose(graph_store, CHECKOUT, save=False).top
    assert (top.kind, top.node_id, top.source_event_id) == (CandidateKind.TRAFFIC_SPIKE, "alert:5p1ke", "5p1ke")
    assert top.evidence.direction == "upstream"


def test_a_traffic_shift_reaches_what_lies_the_way_it_reached_the_page(graph_store: GraphStore) -> None:
    # web calls gateway: a surge on gateway reached web through its callers, not through what gateway calls
    shop().alert("5p1ke", "GatewayRequestRateSpike", svc("gateway"), 6, "warning").write(graph_store)
    result = diagnose(graph_store, Anomaly(svc("web"), T), save=False)
    assert propagation(result, "alert:5p1ke")[2].startswith("0 of 0 entities")


def test_nothing_in_the_window_widens_it(graph_store: GraphStore) -> None:
    shop().change("deploy:leak", svc("payments"), 50).change("deploy:long-ago", svc("cart"), 60 * 24).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert result.widened and result.window_start <= at(50)
    assert next(c.node_id for c in result.candidates if c.kind is not CandidateKind.UNKNOWN) == "deploy:leak"
    assert "deploy:long-ago" not in ranked(result)
    narrow = diagnose(graph_store, CHECKOUT, preset("fast"), save=False)
    assert not narrow.widened and ranked(narrow) == [None]


def test_a_failing_dependency_s_earlier_change_is_a_slow_burn_candidate(graph_store: GraphStore) -> None:
    shop().change("migration:slow", res("payments-db"), 100).alert("disk", "DiskFilling", res("payments-db"), 25) \
        .write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert ranked(result)[0] == "migration:slow"
    failure = next(c for c in result.candidates if c.kind is CandidateKind.DEPENDENCY_FAILURE)
    assert "it did change earlier" in failure.explanation
    assert {e.node_id: e.note for e in result.timeline}["migration:slow"].startswith("before the window")


def test_confidences_and_unknown_sum_to_one(graph_store: GraphStore) -> None:
    shop().change("deploy:a", svc("payments"), 4).change("flag:b", svc("cart"), 9).change("config:c", svc("web"), 20) \
        .alert("x", "PaymentsErrors", svc("payments"), 1).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert math.isclose(sum(c.confidence for c in result.candidates), 1.0, abs_tol=1e-9)
    assert [c.kind for c in result.candidates].count(CandidateKind.UNKNOWN) == 1
    assert [c.rank for c in result.candidates] == list(range(1, len(result.candidates) + 1))
    assert all(0 < c.confidence < 1 for c in result.candidates)


def test_with_an_empty_timeline_unknown_takes_it_all(graph_store: GraphStore) -> None:
    shop().write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert [c.kind for c in result.candidates] == [CandidateKind.UNKNOWN] and result.top.confidence == 1.0


def test_changes_after_detection_or_in_another_environment_are_not_candidates(graph_store: GraphStore) -> None:
    shop().change("deploy:later", svc("payments"), -3).change("deploy:staging", svc("payments"), 5, env="staging") \
        .change("deploy:prod", svc("payments"), 5, env="prod").write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert [i for i in ranked(result) if i] == ["deploy:prod"]
    notes = {e.node_id: e.note for e in result.timeline}
    assert notes["deploy:staging"] == "in staging, not production" and "deploy:later" not in notes


def test_the_topology_is_read_as_it_stood_at_detection(graph_store: GraphStore) -> None:
    shop().depends(svc("checkout"), svc("tax"), valid_from=T + timedelta(days=1)) \
        .change("deploy:tax", svc("tax"), 5).write(graph_store)
    assert "deploy:tax" not in ranked(diagnose(graph_store, CHECKOUT, save=False))


def test_past_incidents_are_history_but_the_one_being_diagnosed_is_excluded(graph_store: GraphStore) -> None:
    shop().change("deploy:old", svc("payments"), 60 * 24 * 7).change("deploy:now", svc("payments"), 6) \
        .change("deploy:cart", svc("cart"), 6) \
        .incident("incident:PAST", 60 * 24 * 7 - 10, [svc("checkout"), svc("payments")], "deploy:old") \
        .incident("incident:NOW", 0, [svc("checkout")], "deploy:cart").write(graph_store)
    result = diagnose(graph_store, CHECKOUT, exclude={"incident:NOW"}, save=False)
    top = result.top
    assert top.node_id == "deploy:now"
    assert [s.incident_id for s in top.evidence.similar_incidents] == ["incident:PAST"]
    factors = {f.name: f for f in top.evidence.factors}
    assert factors["similar_incidents"].lr > 1 and factors["learned"].note.startswith("1 of 1")
    assert all(not c.evidence.similar_incidents for c in result.candidates if c.node_id == "deploy:cart")
    assert "incident:NOW" not in {e.node_id for e in result.timeline}


def test_a_saved_diagnosis_is_readable_from_the_store(graph_store: GraphStore) -> None:
    shop().change("deploy:d-pay", svc("payments"), 5).alert("a1", "CheckoutHighLatency", svc("checkout"), 0) \
        .write(graph_store)
    anomaly = Anomaly(svc("checkout"), T, signal="CheckoutHighLatency", alert_id="alert:a1")
    result = diagnose(graph_store, anomaly)
    node = graph_store.get_node(result.id)
    assert node is not None and node.label is NodeLabel.DIAGNOSIS
    assert node.provenance.source == "agents/diagnosis" and node.provenance.run_id == result.run_id
    assert json.loads(str(node.props["ranking"]))[0]["node_id"] == "deploy:d-pay"
    edges = graph_store.incident_edges([result.id], "out")
    suspects = {e.dst: e.props for e in edges if e.type is RelType.SUSPECTS}
    assert suspects["deploy:d-pay"] == {"rank": 1, "confidence": round(result.top.confidence, 4), "kind": "deploy"}
    assert {e.dst for e in edges if e.type is RelType.DIAGNOSES} == {anomaly.node_id, "alert:a1"}
    anomaly_edges = graph_store.incident_edges([anomaly.node_id], "both")
    assert {(e.type, e.src, e.dst) for e in anomaly_edges} >= {
        (RelType.AFFECTS, anomaly.node_id, svc("checkout")), (RelType.TRIGGERED, "alert:a1", anomaly.node_id)}


def test_an_unknown_entity_is_refused(graph_store: GraphStore) -> None:
    shop().write(graph_store)
    with pytest.raises(NotFound, match="service:default/nope"):
        diagnose(graph_store, Anomaly(svc("nope"), T))


def test_durations_and_presets() -> None:
    assert parse_duration("45m") == timedelta(minutes=45) and parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("90") == timedelta(minutes=90)
    with pytest.raises(ConfigError, match="'soon'"):
        parse_duration("soon")
    assert preset("default").with_window(timedelta(hours=8)).max_window == timedelta(hours=8)
    with pytest.raises(ConfigError, match="fast"):
        preset("quick")
    with pytest.raises(ValueError):
        DiagnosisConfig(window=timedelta(hours=2), max_window=timedelta(hours=1))


def test_the_temperature_is_fitted_to_how_often_the_top_candidate_is_right() -> None:
    confident = [([2.0, 0.0, -1.0], 0)] * 9 + [([2.0, 0.0, -1.0], 1)]
    coin_flips = [([2.0, 0.0, -1.0], 0)] * 5 + [([2.0, 0.0, -1.0], 1)] * 5
    assert fit_temperature(confident) < 1.0 < fit_temperature(coin_flips)
    assert true_cause_nll(confident, fit_temperature(confident)) <= true_cause_nll(confident, 1.0)


# the command line ---------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    store = open_store(GraphConfig(sqlite_path=home / "graph.db"))
    try:
        shop().change("deploy:d-pay", svc("payments"), 5, action="upgraded", version="2.1.0") \
            .alert("a1", "CheckoutHighLatency", svc("checkout"), 0).write(store)
    finally:
        store.close()
    return home


def test_cli_json_has_the_diagnosis_id_and_ranked_candidates(home: Path) -> None:
    result = vidya("diagnose", "--service", "checkout", "--at", T.isoformat(), "--window", "45m", "--json", home=home)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["diagnosis_id"].startswith("diagnosis:") and out["window"]["minutes_before"] == 45
    first = out["candidates"][0]
    assert {"rank", "kind", "service", "source_event_id", "confidence", "evidence", "explanation"} <= set(first)
    assert (first["rank"], first["kind"], first["service"], first["source_event_id"]) == (1, "deploy", "payments", "d-pay")
    assert out["candidates"][-1]["kind"] == "unknown" or any(c["kind"] == "unknown" for c in out["candidates"])


def test_cli_reads_an_alertmanager_payload(home: Path, tmp_path: Path) -> None:
    payload = {
        "version": "4", "status": "firing", "receiver": "pager", "groupKey": "{}:{}",
        "alerts": [{"status": "firing", "labels": {"alertname": "CheckoutHighLatency", "service": "checkout",
                                                   "env": "production"},
                    "startsAt": T.isoformat(), "fingerprint": "a1"}],
    }
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    result = vidya("diagnose", "--alert", str(path), home=home)
    assert result.returncode == 0, result.stderr
    assert "payments" in result.stdout and "saved as diagnosis:" in result.stdout
    store = open_store(GraphConfig(sqlite_path=home / "graph.db"))
    try:
        assert len(store.find_nodes(NodeLabel.DIAGNOSIS)) == 1
    finally:
        store.close()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--service", "checkuot", "--at", "2026-06-01T12:00:00Z"], "did you mean checkout"),
        (["--service", "checkout", "--at", "noon"], "--at 'noon': expected an RFC 3339 time"),
        (["--service", "checkout", "--at", "2026-06-01T12:00:00Z", "--window", "abc"], "--window 'abc'"),
        (["--alert", "missing.json"], "--alert missing.json: cannot read the file"),
        (["--alert", str(Path(__file__))], "invalid JSON"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_1(home: Path, args: list[str], message: str) -> None:
    result = vidya("diagnose", *args, home=home)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_service_is_found_by_name_even_when_a_system_shares_it(graph_store: GraphStore) -> None:
    shop().entity("system:default/payments").entity("api:default/payments-api").write(graph_store)
    assert anomaly_for_entity(graph_store, "payments", T).service == svc("payments")
    assert anomaly_for_entity(graph_store, "payments-db", T).service == res("payments-db")
    assert anomaly_for_entity(graph_store, "service:default/cart", T).service == svc("cart")
    with pytest.raises(NotFound, match="did you mean payments"):
        anomaly_for_entity(graph_store, "paymnts", T)


def test_cli_needs_an_alert_or_a_service(home: Path) -> None:
    result = vidya("diagnose", home=home)
    assert result.returncode == 2 and "--alert FILE or --service S" in result.stderr
