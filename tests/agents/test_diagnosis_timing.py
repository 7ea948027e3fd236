"""Timing along the path, slow burns, changes below a failing dependency, and the reads behind them, on small graphs."""

from __future__ import annotations

from agents.config import preset
from agents.diagnosis import diagnose
from agents.reads import EventMemo, linked_events
from agents.records import CHANGE_KINDS, Anomaly, Candidate, CandidateKind
from graph.model import Edge
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from tests.agents.helpers import PROV, T, at, res, shop, svc

GATEWAY = Anomaly(svc("gateway"), T, signal="GatewayErrors")
CHECKOUT = Anomaly(svc("checkout"), T, signal="CheckoutHighLatency")


def factors(candidate: Candidate) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in candidate.evidence.factors:
        out[f.name if f.name not in out else f"{f.name}+"] = f.lr
    return out


def test_a_deep_dependency_failure_is_timed_per_hop_to_detection(
    graph_store: GraphStore,
) -> None:
    # payments-db fails 20 min before the page; each caller alerts a few minutes after the one it calls
    shop().alert("db", "PostgresDown", res("payments-db"), 20).alert("pay", "PaymentsErrors", svc("payments"), 17) \
        .alert("co", "CheckoutErrors", svc("checkout"), 13).alert("gw", "GatewayErrors", svc("gateway"), 0) \
        .write(graph_store)
    result = diagnose(graph_store, GATEWAY, save=False)
    db = next(c for c in result.candidates if c.entity == res("payments-db"))
    timing = next(f for f in db.evidence.factors if f.name == "timing")
    assert timing.value == 20 / 3 and timing.lr > 1
    assert result.top.entity == res("payments-db")


def test_a_slow_burn_change_keeps_a_timing_floor(graph_store: GraphStore) -> None:
    shop().change("migration:old", res("payments-db"), 300).alert("disk", "DiskFilling", res("payments-db"), 20) \
        .alert("pay", "PaymentsErrors", svc("payments"), 10).write(graph_store)
    plain = next(c for c in diagnose(graph_store, CHECKOUT, save=False).candidates if c.node_id == "migration:old")
    weights = preset().weights.model_copy(update={"slow_burn_min_lr": 0.3})
    config = preset().model_copy(update={"weights": weights})
    result = diagnose(graph_store, CHECKOUT, config, save=False)
    slow = next(c for c in result.candidates if c.node_id == "migration:old")
    assert factors(plain)["timing"] < 0.3 and factors(slow)["timing"] == 0.3
    assert result.top.node_id == "migration:old" and slow.confidence > plain.confidence


def test_a_change_below_a_failing_dependency_explains_its_failure_away(graph_store: GraphStore) -> None:
    base = shop().alert("pay", "PaymentsErrors", svc("payments"), 5)
    base.write(graph_store)
    alone = next(c for c in diagnose(graph_store, CHECKOUT, save=False).candidates if c.entity == svc("payments"))
    assert "explained_away" not in factors(alone)
    shop().change("config:pool", res("payments-db"), 9).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    failing = next(c for c in result.candidates if c.kind is CandidateKind.DEPENDENCY_FAILURE)
    assert factors(failing)["explained_away"] == preset().weights.deeper_change_lr
    assert result.top.node_id == "config:pool"
    assert failing.confidence < alone.confidence


# reads of a diagnosis ------------------------------------------------------------------------


def test_a_record_holds_the_entitys_own_events_of_its_period_only(graph_store: GraphStore) -> None:
    builder = shop().change("deploy:old", svc("payments"), 300).change("config:pool", svc("payments"), 20) \
        .change("deploy:later", svc("payments"), -10).change("deploy:cart", svc("cart"), 15) \
        .alert("pay", "PaymentsErrors", svc("payments"), 5)
    builder.edges.append(Edge(RelType.TARGETS, "config:pool", svc("cart"), PROV))
    builder.write(graph_store)
    found = linked_events(graph_store, [svc("payments"), svc("cart")], RelType.TARGETS, CHANGE_KINDS, at(120), T)
    assert [(node.id, entity) for node, entity in found] == [
        ("config:pool", svc("cart")), ("config:pool", svc("payments")), ("deploy:cart", svc("cart")),
    ]
    alerts = linked_events(graph_store, [svc("payments")], RelType.AFFECTS, [NodeLabel.ALERT], at(120), T)
    assert [(node.id, entity) for node, entity in alerts] == [("alert:pay", svc("payments"))]


def test_a_widening_window_answers_as_the_store_does(graph_store: GraphStore) -> None:
    builder = shop()
    for minutes in (5, 25, 40, 90, 200):
        builder.change(f"deploy:{minutes}", svc("payments"), minutes, env="staging" if minutes == 40 else "production")
        builder.alert(f"a{minutes}", "PaymentsErrors", svc("cart"), minutes + 1)
    builder.write(graph_store)
    memo = EventMemo()
    kinds, entities = (*CHANGE_KINDS, NodeLabel.INCIDENT), [svc("payments"), svc("checkout")]
    for minutes in (30, 60, 45, 240):
        start = at(minutes)
        assert memo.events(graph_store, kinds, start, T, entities) == graph_store.events(kinds, start, T, entities)
        assert memo.events(graph_store, [NodeLabel.ALERT], start, T, limit=2) == \
            graph_store.events([NodeLabel.ALERT], start, T, limit=2)
    assert memo.environments(graph_store, ["deploy:40", "deploy:5", svc("cart")]) == \
        {"deploy:40": "staging", "deploy:5": "production"}


def test_the_anomalous_service_s_earlier_change_is_read_back_when_it_changed_nothing_in_the_window(
    graph_store: GraphStore,
) -> None:
    # checkout pages with no change of its own in the window: its deploy of 100 min ago is read back (a slow
    # burn) although a quiet flag on a dependency already beats `unknown` and the window is not widened
    shop().change("deploy:leak", svc("checkout"), 100).change("flag:cart", svc("cart"), 8) \
        .alert("page", "CheckoutHighLatency", svc("checkout"), 0).write(graph_store)
    result = diagnose(graph_store, CHECKOUT, save=False)
    assert not result.widened and "flag:cart" in [c.node_id for c in result.candidates]
    assert "deploy:leak" in [c.node_id for c in result.candidates]
    assert {e.node_id: e.note for e in result.timeline}["deploy:leak"].startswith("before the window")
