"""What the alerts name (a release, a flag, a key) and older changes behind a change that came long before its alert."""

from __future__ import annotations

from agents.config import preset
from agents.diagnosis import diagnose
from agents.records import Anomaly, Candidate
from graph.store import GraphStore
from tests.agents.helpers import Builder, T, res, shop, svc

CHECKOUT = Anomaly(svc("checkout"), T, signal="CheckoutHighLatency")


def _factor(candidate: Candidate, name: str) -> float | None:
    return next((f.lr for f in candidate.evidence.factors if f.name == name), None)


def _two_changes_a_minute_apart(annotations: dict[str, str]) -> Builder:
    builder = shop().change("deploy:pay", svc("payments"), 9, version="2.4.0") \
        .change("flag:pay", svc("payments"), 8, flag="payments.new-checkout") \
        .alert("pay", "PaymentsErrors", svc("payments"), 3)
    builder.nodes["alert:pay"].props.update({f"annotation:{k}": v for k, v in annotations.items()})
    return builder


def test_the_change_an_alert_names_beats_another_change_on_the_same_service(graph_store: GraphStore) -> None:
    _two_changes_a_minute_apart({"version": "2.4.0"}).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    by_id = {c.node_id: c for c in result.candidates}
    assert result.top.node_id == "deploy:pay"
    assert _factor(by_id["deploy:pay"], "named") == preset().weights.named_by_alert_lr
    assert _factor(by_id["flag:pay"], "named") == preset().weights.rival_named_lr
    assert "An alert on it names this change." in by_id["deploy:pay"].explanation


def test_a_flag_named_in_an_annotation_sentence_counts(graph_store: GraphStore) -> None:
    _two_changes_a_minute_apart({"description": "errors on requests with payments.new-checkout=on"}).write(graph_store)
    named = diagnose(graph_store, CHECKOUT, save=False)
    assert named.top.node_id == "flag:pay"
    assert _factor(named.top, "named") == preset().weights.named_by_alert_lr


def test_no_annotation_leaves_both_changes_unmarked(graph_store: GraphStore) -> None:
    _two_changes_a_minute_apart({}).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert all(_factor(c, "named") is None for c in result.candidates)


def test_an_older_change_is_read_back_when_its_entity_alerts_whatever_changed_on_it_since(
    graph_store: GraphStore,
) -> None:
    # the config change 45 min before detection is outside the 30-min window; payments deployed 27 min before,
    # its alert came 24 min after that deploy: the deploy explains it weakly, so the config change wins
    builder = shop().change("config:pool", svc("payments"), 45, config="pool.size") \
        .change("deploy:pay", svc("payments"), 27, version="2.4.0").alert("pay", "PaymentsErrors", svc("payments"), 3)
    builder.write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert result.top.node_id == "config:pool" and not result.widened


def test_an_older_change_is_read_back_even_after_a_change_just_before_the_alert(graph_store: GraphStore) -> None:
    # payments deployed 8 min before its alert: a slow burn from the config change 45 min before is still a candidate
    builder = shop().change("config:pool", svc("payments"), 45, config="pool.size") \
        .change("deploy:pay", svc("payments"), 11, version="2.4.0").alert("pay", "PaymentsErrors", svc("payments"), 3)
    builder.write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    ids = [c.node_id for c in result.candidates]
    assert ids[0] == "deploy:pay" and "config:pool" in ids and not result.widened
    # the window alone (no read-back: max_window is the window) leaves only the deploy
    narrow = preset().model_copy(update={"max_window": preset().window})
    assert [c.node_id for c in diagnose(graph_store, CHECKOUT, narrow, save=False).candidates] == ["deploy:pay", None]


def test_a_failing_dependency_whose_alert_names_its_own_earlier_change_is_not_failing_by_itself(
    graph_store: GraphStore,
) -> None:
    # payments-db migrated 100 min before (read back as a slow burn) and alerts now, naming that schema version
    builder = shop().change("migration:v7", res("payments-db"), 100, migration_version="V7") \
        .alert("db", "PostgresLocks", res("payments-db"), 6).alert("pay", "PaymentsErrors", svc("payments"), 3)
    builder.nodes["alert:db"].props["annotation:schema_version"] = "V7"
    builder.write(graph_store)
    by_id = {c.node_id: c for c in diagnose(graph_store, CHECKOUT, save=False).candidates}
    assert _factor(by_id["migration:v7"], "named") == preset().weights.named_by_alert_lr
    # the alert speaks for the migration, and against payments-db failing by itself
    assert _factor(by_id[res("payments-db")], "named") == preset().weights.rival_named_lr
    assert by_id["migration:v7"].rank < by_id[res("payments-db")].rank


def test_a_name_two_changes_share_speaks_for_the_later_one(graph_store: GraphStore) -> None:
    # pool.size changed twice on payments; the alert quotes the key: the value in force is the second change's
    builder = shop().change("config:first", svc("payments"), 20, config="pool.size") \
        .change("config:second", svc("payments"), 9, config="pool.size") \
        .alert("pay", "PaymentsErrors", svc("payments"), 3)
    builder.nodes["alert:pay"].props["annotation:config_key"] = "pool.size"
    builder.write(graph_store)
    by_id = {c.node_id: c for c in diagnose(graph_store, CHECKOUT, save=False).candidates}
    assert _factor(by_id["config:second"], "named") == preset().weights.named_by_alert_lr
    assert _factor(by_id["config:first"], "named") == preset().weights.rival_named_lr


def test_a_change_whose_alerting_entity_names_nothing_counts_less_where_alerts_name_changes(
    graph_store: GraphStore,
) -> None:
    # payments' alert names its release; cart also deployed and alerted, and its alert names nothing
    builder = shop().change("deploy:pay", svc("payments"), 9, version="2.4.0") \
        .change("deploy:cart", svc("cart"), 8, version="7.1.0") \
        .alert("pay", "PaymentsErrors", svc("payments"), 3).alert("cart", "CartErrors", svc("cart"), 3)
    builder.nodes["alert:pay"].props["annotation:version"] = "2.4.0"
    builder.write(graph_store)
    by_id = {c.node_id: c for c in diagnose(graph_store, CHECKOUT, save=False).candidates}
    assert _factor(by_id["deploy:cart"], "named") == preset().weights.unnamed_lr
    assert "no change on it" in by_id["deploy:cart"].explanation


def test_silence_says_nothing_where_no_alert_names_a_change(graph_store: GraphStore) -> None:
    shop().change("deploy:pay", svc("payments"), 9, version="2.4.0") \
        .change("deploy:cart", svc("cart"), 8, version="7.1.0") \
        .alert("pay", "PaymentsErrors", svc("payments"), 3).alert("cart", "CartErrors", svc("cart"), 3) \
        .write(graph_store)
    assert all(_factor(c, "named") is None for c in diagnose(graph_store, CHECKOUT, save=False).candidates)
