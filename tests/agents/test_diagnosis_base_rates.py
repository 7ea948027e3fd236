"""Alert evidence (base rates, persistence, propagation) and change records, on small hand-built graphs (every backend)."""

from __future__ import annotations

from datetime import datetime, timedelta

from agents.config import Weights, preset
from agents.diagnosis import diagnose
from agents.history import History, load_alert_record, load_change_record, load_history
from agents.records import Anomaly, Candidate, CandidateKind
from agents.scoring import alert_base_rate_lr
from graph.store import GraphStore
from tests.agents.helpers import Builder, T, at, res, shop, svc

CHECKOUT = Anomaly(svc("checkout"), T, signal="CheckoutHighLatency")
HOURS = 60


def chronic(builder: Builder, name: str, entity: str, every_hours: float, days: int) -> Builder:
    """``name`` firing on ``entity`` every ``every_hours`` for ``days`` before the window."""
    step, minutes = every_hours * HOURS, 7.0 * HOURS
    while minutes < days * 24 * HOURS:
        builder.alert(f"{name}-{int(minutes)}", name, entity, minutes, "warning")
        minutes += step
    return builder


def factor(candidate: Candidate, name: str) -> float:
    return next(f.lr for f in candidate.evidence.factors if f.name == name)


def test_a_chronic_alert_on_a_dependency_is_discounted_by_its_base_rate(graph_store: GraphStore) -> None:
    builder = shop().alert("now", "DiskUsageHigh", res("payments-db"), 4, "warning") \
        .alert("cart", "CartErrors", svc("cart"), 4, "warning")
    chronic(builder, "DiskUsageHigh", res("payments-db"), 4, 20).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    by_entity = {c.entity: c for c in result.candidates}
    db, cart = by_entity[res("payments-db")], by_entity[svc("cart")]
    assert factor(db, "base_rate") < 0.2 and factor(cart, "base_rate") == 1.0
    assert result.top.entity == svc("cart")


def test_the_same_alert_without_history_is_not_discounted(graph_store: GraphStore) -> None:
    shop().alert("now", "DiskUsageHigh", res("payments-db"), 4, "warning") \
        .alert("cart", "CartErrors", svc("cart"), 4, "warning").write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert result.top.entity == res("payments-db") and factor(result.top, "base_rate") == 1.0


def test_firings_followed_by_an_incident_are_not_noise(graph_store: GraphStore) -> None:
    builder = shop()
    for day in range(1, 6):
        minutes = day * 24 * HOURS
        builder.alert(f"d{day}", "PostgresDown", res("payments-db"), minutes + 10) \
            .incident(f"incident:I{day}", minutes, [svc("checkout")], res("payments-db"))
    builder.alert("other", "PostgresDown", res("payments-db"), 3 * 24 * HOURS + 500).write(graph_store)
    history = load_history(graph_store, T, preset())
    load_alert_record(graph_store, history, [res("payments-db")], at(60), preset())
    assert history.alert_firings("PostgresDown", res("payments-db")) == 1


def test_the_base_rate_ratio_is_one_for_rare_alerts_and_falls_with_frequency() -> None:
    w, span = preset().weights, 90 * 24 * 60.0
    rates = [alert_base_rate_lr(n, span, w) for n in (0, 5, 12, 50, 200, 5000)]
    assert rates[:3] == [1.0, 1.0, 1.0]
    assert rates[2] >= rates[3] > rates[4] > rates[5] == w.alert_base_rate_min_lr


def test_the_change_record_counts_only_changes_on_the_entities_in_the_history(graph_store: GraphStore) -> None:
    shop().change("deploy:d1", svc("payments"), 3 * 24 * HOURS, action="upgraded", version="1.0.0") \
        .change("deploy:d2", svc("payments"), 24 * HOURS, action="upgraded", version="1.1.0") \
        .change("config:c1", svc("payments"), 200 * 24 * HOURS) \
        .change("deploy:d3", svc("cart"), 24 * HOURS).write(graph_store)
    history = History()
    load_change_record(graph_store, history, [svc("payments")], T, preset())
    assert history.changes_before(CandidateKind.DEPLOY, svc("payments"), T) == 2
    assert history.changes_before(CandidateKind.CONFIG, svc("payments"), T) == 0
    assert [d.id for d in history.deploys[svc("payments")]] == ["deploy:d1", "deploy:d2"]
    assert history.changes_before(CandidateKind.DEPLOY, svc("cart"), T) == 0


def _resolved(builder: Builder, fingerprint: str, ends: datetime) -> Builder:
    builder.nodes[f"alert:{fingerprint}"].props["ends_at"] = ends.isoformat()
    return builder


def _db_candidate(store: GraphStore) -> Candidate:
    result = diagnose(store, CHECKOUT, save=False)
    return next(c for c in result.candidates if c.entity == res("payments-db") and c.kind is CandidateKind.DEPENDENCY_FAILURE)


def test_a_dependency_alert_that_resolved_before_detection_counts_less(graph_store: GraphStore) -> None:
    builder = shop().alert("db", "PaymentsDbConnectionsSaturated", res("payments-db"), 8)
    _resolved(builder, "db", at(4)).write(graph_store)
    db = _db_candidate(graph_store)
    assert factor(db, "persistence") == preset().weights.resolved_alert_lr


def test_an_alert_resolved_after_detection_was_still_firing_then(graph_store: GraphStore) -> None:
    builder = shop().alert("db", "PaymentsDbConnectionsSaturated", res("payments-db"), 8)
    _resolved(builder, "db", T + timedelta(minutes=20)).write(graph_store)
    assert factor(_db_candidate(graph_store), "persistence") == 1.0


def test_a_flapping_alert_that_fired_again_is_still_firing(graph_store: GraphStore) -> None:
    builder = shop().alert("db", "PaymentsDbConnectionsSaturated", res("payments-db"), 8) \
        .alert("db-again", "PaymentsDbConnectionsSaturated", res("payments-db"), 3)
    _resolved(builder, "db", at(6)).write(graph_store)
    assert factor(_db_candidate(graph_store), "persistence") == 1.0


def test_an_entity_raising_several_different_alerts_is_failing_more_likely(graph_store: GraphStore) -> None:
    shop().alert("db", "PaymentsDbConnectionsSaturated", res("payments-db"), 8) \
        .alert("db-lag", "PaymentsDbReplicationLag", res("payments-db"), 6).write(graph_store)
    assert factor(_db_candidate(graph_store), "persistence") == preset().weights.several_symptoms_lr


def test_silent_callers_count_against_a_change_only_once_the_failure_had_time_to_spread(graph_store: GraphStore) -> None:
    shop().change("deploy:on-db", res("payments-db"), 15).alert("db", "PaymentsDbErrors", res("payments-db"), 10) \
        .change("deploy:on-checkout", svc("checkout"), 5).write(graph_store)
    by_id = {c.node_id: c for c in diagnose(graph_store, CHECKOUT, save=False).candidates}
    weights = preset().weights
    # payments and ledger, callers of payments-db, stayed silent for 10 minutes (its own alert counts a / r);
    # gateway and web had next to no time to notice checkout failing
    own = weights.propagation_alert / weights.propagation_noise
    assert factor(by_id["deploy:on-db"], "propagation") < 0.5 * own
    assert 0.8 < factor(by_id["deploy:on-checkout"], "propagation") <= 1.0


def test_a_chronic_alert_in_a_change_s_cone_speaks_for_it_less(graph_store: GraphStore) -> None:
    # payments, between the changed database and checkout, alerts with no change of its own (a failing dependency,
    # so its alert record is read); the same alert firing every quarter hour for weeks (a chance of 0.36 to fire in
    # a 30 min window over the 90 days of history, above the 0.2 of any entity) is noise more likely
    uncapped = preset().model_copy(update={"weights": Weights(propagation_member_max_lr=1000.0)})

    def propagation(chronic_history: bool) -> float:
        builder = shop().change("config:c-db", res("payments-db"), 8).alert("pay", "PaymentsSlow", svc("payments"), 5)
        if chronic_history:
            chronic(builder, "PaymentsSlow", svc("payments"), 0.25, 20)
        builder.write(graph_store)
        result = diagnose(graph_store, CHECKOUT, uncapped, save=False)
        return factor(next(c for c in result.candidates if c.node_id == "config:c-db"), "propagation")

    rare = propagation(chronic_history=False)
    assert propagation(chronic_history=True) < rare / 1.5
