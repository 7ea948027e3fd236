"""Recall: similar past cases, lookalikes ranked last, action statistics with Wilson intervals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from agents.diagnosis import diagnose
from agents.memory import recall, record_outcome, wilson
from agents.records import Anomaly, CandidateKind
from graph.errors import NotFound
from graph.store import GraphStore
from tests.agents.helpers import Builder, T, estate_store, shop, svc


@pytest.mark.parametrize(
    ("successes", "uses", "low", "high"),
    [
        # by hand: p = 0.9, z² = 3.8415; centre = (0.9 + 0.19207) / 1.38415 = 0.78899,
        # half = 1.96 · √(0.009 + 0.009604) / 1.38415 = 0.19314
        (9, 10, 0.5959, 0.9821),
        # p = 0: centre = half = (3.8415 / 10) / (1 + 3.8415 / 5) = 0.21724
        (0, 5, 0.0, 0.4345),
        # p = 1, n = 3: centre = (1 + 0.64025) / 2.28049 = 0.71925, half = 1.96 · √(0.10671) / 2.28049 = 0.28075
        (3, 3, 0.4385, 1.0),
        (0, 0, 0.0, 1.0),
    ],
)
def test_wilson_interval_matches_hand_computed_values(successes: int, uses: int, low: float, high: float) -> None:
    got = wilson(successes, uses)
    assert got == pytest.approx((low, high), abs=1e-4)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    with estate_store(tmp_path_factory.mktemp("recall")) as store:
        yield store


PRICING_MAX_ENTRIES = datetime.fromisoformat("2026-11-03T11:18:31+00:00")  # incident #4170


@pytest.mark.slow
def test_the_earlier_incident_with_the_same_cause_comes_first_and_lookalikes_last(estate: GraphStore) -> None:
    anomaly = Anomaly(svc("checkout"), PRICING_MAX_ENTRIES, signal="CheckoutHighLatency")
    found = recall(estate, anomaly, k=20, cause_hint=(CandidateKind.CONFIG, svc("pricing")))
    ids = [s.case.id for s in found.cases]
    assert ids[0] == "incident:PQJHZ2U"  # #4114: pricing cache TTL, the same kind of cause on the same service
    assert "incident:P7P2M9P" not in ids  # the incident being recalled for started after the anomaly
    relations = [s.relation for s in found.cases]
    assert relations == sorted(relations, key=["match", "unconfirmed", "lookalike"].index)
    lookalikes = {s.case.id: s for s in found.cases if s.relation == "lookalike"}
    # #4124 (cart deploy) and #4161 (inventory-db migration): same signal, same service, other causes
    assert {"incident:P3BLZGL", "incident:P17DK6G"} <= set(lookalikes)
    assert lookalikes["incident:P3BLZGL"].reason == "caused by deploy on cart, not config on pricing"
    top_lookalike = max(s.similarity for s in lookalikes.values())
    assert top_lookalike >= found.cases[0].similarity  # ranked below despite looking as much alike
    reverted = found.stats("revert_config")  # #4114 was fixed by reverting pricing/cache.ttl_seconds
    assert reverted is not None and (reverted.successes, reverted.uses) == (1, 1)
    assert {a.action for a in found.lookalike_actions} >= {"modify_database"}
    assert "modify_database" not in {a.action for a in found.actions}


@pytest.mark.slow
def test_without_a_hint_cases_rank_by_similarity_only(estate: GraphStore) -> None:
    anomaly = Anomaly(svc("checkout"), PRICING_MAX_ENTRIES, signal="CheckoutHighLatency")
    found = recall(estate, anomaly, k=10)
    sims = [s.similarity for s in found.cases]
    assert sims == sorted(sims, reverse=True)
    assert {s.relation for s in found.cases} == {"similar"}
    same = [s for s in found.cases if s.similarity == 1.0]
    assert {s.case.id for s in same} == {"incident:PQJHZ2U", "incident:P3BLZGL", "incident:P17DK6G"}


@pytest.mark.slow
def test_only_cases_before_the_time_are_recalled(estate: GraphStore) -> None:
    anomaly = Anomaly(svc("payments"), datetime.fromisoformat("2026-11-10T14:04:31+00:00"),
                      signal="PaymentsHighLatency")
    cut = datetime.fromisoformat("2026-10-01T00:00:00+00:00")
    early = recall(estate, anomaly, k=50, at=cut)
    assert early.cases and all(s.case.at < cut for s in early.cases)
    assert all(r.at is not None and r.at < cut for s in early.cases for r in s.case.records)
    assert len(recall(estate, anomaly, k=50).cases) > len(early.cases)


def test_an_unknown_entity_is_not_found(graph_store: GraphStore) -> None:
    shop().write(graph_store)
    with pytest.raises(NotFound, match="service:default/nope"):
        recall(graph_store, Anomaly(svc("nope"), T))


# hand-built graphs ------------------------------------------------------------------------------


def _diagnosed(store: GraphStore, minutes_after: float) -> str:
    when = T + timedelta(minutes=minutes_after)
    return diagnose(store, Anomaly(svc("checkout"), when, signal="CheckoutHighLatency"), clock=lambda: when).id


def test_recorded_outcomes_move_the_success_rate(graph_store: GraphStore) -> None:
    shop().write(graph_store)
    first, second = _diagnosed(graph_store, 0), _diagnosed(graph_store, 60 * 24)
    new = Anomaly(svc("checkout"), T + timedelta(days=3), signal="CheckoutHighLatency")
    assert recall(graph_store, new).actions == []
    record_outcome(graph_store, first, "rollback_deploy", "resolved", actor="alice", at=T + timedelta(minutes=20))
    stats = recall(graph_store, new).stats("rollback_deploy")
    assert stats is not None and (stats.successes, stats.uses) == (1, 1)
    record_outcome(graph_store, second, "rollback_deploy", "failed", actor="bob", at=T + timedelta(days=1, minutes=9))
    record_outcome(graph_store, second, "scale_up", "resolved", actor="bob", at=T + timedelta(days=1, minutes=30))
    found = recall(graph_store, new)
    stats = found.stats("rollback_deploy")
    assert stats is not None and (stats.successes, stats.uses, stats.rate) == (1, 2, 0.5)
    assert stats.interval == wilson(1, 2)
    assert [a.action for a in found.actions] == ["scale_up", "rollback_deploy"]  # 1/1 has the higher lower bound
    assert found.cases[0].case.id.endswith("@2026-06-02T12:00:00Z")  # the most recent first on ties


def test_a_lookalike_ranks_below_a_weaker_true_match(graph_store: GraphStore) -> None:
    """Paged on checkout itself but with another cause, it ranks below a case paged one hop away."""
    (shop().change("deploy:p-1", svc("payments"), 3 * 24 * 60)
     .change("config:c-1", svc("cart"), 2 * 24 * 60).write(graph_store))
    b = Builder()
    b.incident("incident:MATCH", 3 * 24 * 60 - 5, [svc("payments")], "deploy:p-1")
    b.incident("incident:LOOK", 2 * 24 * 60 - 5, [svc("checkout")], "config:c-1")
    for id_, title in (("incident:MATCH", "Checkout latency after a payments deploy"),
                       ("incident:LOOK", "Checkout latency after a cart config change")):
        b.nodes[id_] = replace(b.nodes[id_], name=title)
    b.write(graph_store)
    record_outcome(graph_store, "incident:MATCH", "rollback_deploy", "resolved", actor="a",
                   at=T - timedelta(days=3) + timedelta(minutes=10))
    record_outcome(graph_store, "incident:LOOK", "revert_config", "resolved", actor="a",
                   at=T - timedelta(days=2) + timedelta(minutes=10))
    anomaly = Anomaly(svc("checkout"), T, signal="CheckoutHighLatency")
    plain = recall(graph_store, anomaly)
    assert [s.case.id for s in plain.cases] == ["incident:LOOK", "incident:MATCH"]
    hinted = recall(graph_store, anomaly, cause_hint=(CandidateKind.DEPLOY, svc("payments")))
    assert [(s.case.id, s.relation) for s in hinted.cases] == [("incident:MATCH", "match"),
                                                               ("incident:LOOK", "lookalike")]
    assert hinted.cases[1].similarity > hinted.cases[0].similarity
    assert [a.action for a in hinted.actions] == ["rollback_deploy"]
    assert [a.action for a in hinted.lookalike_actions] == ["revert_config"]
    assert {r.source for s in hinted.cases for r in s.case.records} == {"recorded"}  # recorded on incidents
