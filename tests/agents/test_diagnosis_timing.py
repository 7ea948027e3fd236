"""Timing along the path, slow burns and changes below a failing dependency, on small hand-built graphs."""

from __future__ import annotations

from agents.config import preset
from agents.diagnosis import diagnose
from agents.records import Anomaly, Candidate, CandidateKind
from graph.store import GraphStore
from tests.agents.helpers import T, res, shop, svc

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
