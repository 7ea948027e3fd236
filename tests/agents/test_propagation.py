"""The propagation likelihood (:mod:`agents.propagation`) and the cone it is computed over (``Topology.cone``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agents.config import Weights
from agents.propagation import Cone, Member, change_starts, propagation_lr
from agents.timeline import AlertEvent
from agents.topology import Topology
from graph.model import Edge, Node
from graph.schema import RelType, label_of
from tests.agents.helpers import PROV, T, res, svc

W = Weights()
T0 = T - timedelta(minutes=10)


def alert(entity: str, minutes_after_t0: float) -> AlertEvent:
    node = Node(f"alert:{entity}-{minutes_after_t0}", label_of("alert:x"), PROV, name="Errors",
                at=T0 + timedelta(minutes=minutes_after_t0))
    return AlertEvent(node, entity, "critical", traffic=False)


def lr(*members: Member, until_minutes: float = 30, noise: float = 0.2, weights: Weights = W) -> float:
    cone = Cone(members, ((T0, 1.0),), T0 + timedelta(minutes=until_minutes))
    return propagation_lr(cone, weights, lambda _: noise)


def member(hops: int = 1, fails: float = 1.0, *alerts_at: float) -> Member:
    entity = svc("web")
    return Member(entity, hops, fails, tuple(alert(entity, m) for m in alerts_at))


def test_an_alert_one_hop_delay_after_the_start_is_strong_evidence_and_one_before_it_is_noise() -> None:
    uncapped = W.model_copy(update={"propagation_member_max_lr": 1000.0})
    assert lr(member(1, 1.0, 2), weights=uncapped) > 20
    assert lr(member(1, 1.0, 2)) == W.propagation_member_max_lr
    assert lr(member(1, 1.0, -5)) == pytest.approx(1 - W.propagation_alert, abs=0.01)  # then silent since the start


def test_an_alert_much_later_than_the_hops_allow_is_weaker_than_one_on_time() -> None:
    assert lr(member(1, 1.0, 20)) < lr(member(1, 1.0, 2)) / 3


def test_a_silent_entity_on_the_path_counts_against_the_candidate_and_one_off_it_less() -> None:
    assert lr(member(1, 1.0)) == pytest.approx(1 - W.propagation_alert, abs=0.01)
    off = lr(member(2, W.propagation_spread))
    assert 1 - W.propagation_alert < off < 1


def test_silence_says_nothing_when_the_failure_could_not_have_arrived_yet() -> None:
    assert lr(member(3, 1.0), until_minutes=1) == pytest.approx(1.0, abs=0.01)


def test_a_noisier_entity_s_alert_is_weaker_evidence() -> None:
    assert lr(member(1, 1.0, 2), noise=0.9) < lr(member(1, 1.0, 2), noise=0.2)


def test_a_change_s_own_alert_counts_a_over_r_and_its_silence_nothing() -> None:
    web = member(1, W.propagation_spread)
    until = T0 + timedelta(minutes=30)
    alone = propagation_lr(Cone((web,), ((T0, 1.0),), until), W, lambda _: 0.2)
    loud = propagation_lr(Cone((web,), ((T0, 1.0),), until, own_alert=True), W, lambda _: 0.2)
    assert loud == pytest.approx(alone * W.propagation_alert / W.propagation_noise)


def test_the_ratio_is_averaged_over_the_possible_starts() -> None:
    web = member(1, 1.0, 2)
    until = T0 + timedelta(minutes=10)
    late = Cone((web,), ((T0, 0.5), (T0 + timedelta(minutes=30), 0.5)), until)
    on_time = Cone((web,), ((T0, 1.0),), until)
    assert propagation_lr(late, W, lambda _: 0.2) == pytest.approx((propagation_lr(on_time, W, lambda _: 0.2) + 1) / 2)


def test_a_silent_change_s_failure_began_in_time_to_reach_the_page_and_after_the_change() -> None:
    page = T0 + timedelta(minutes=10)
    starts = change_starts(T0 - timedelta(minutes=200), page, 2, W.change_delay, W)
    # about two hop delays before the page, however long ago the change was (a slow burn)
    assert all(page - timedelta(minutes=20) < t0 < page for t0, _ in starts) and all(w > 0 for _, w in starts)
    recent = change_starts(page - timedelta(minutes=3), page, 2, W.change_delay, W)
    assert all(t0 > page - timedelta(minutes=3) for t0, _ in recent) and len(recent) < len(starts)
    # a change after every possible start: the change itself is the start
    assert change_starts(page, page, 2, W.change_delay, W) == ((page, 1.0),)


def test_the_cone_is_what_depends_on_an_entity_with_hops_from_it_and_from_the_path() -> None:
    topo = Topology(root=svc("checkout"))
    for caller, callee in [(svc("checkout"), svc("payments")), (svc("payments"), res("db")),
                           (svc("ledger"), res("db")), (svc("audit"), svc("ledger")), (svc("gateway"), svc("checkout"))]:
        topo.add(Edge(RelType.DEPENDS_ON, caller, callee, PROV))
    path = [res("db"), svc("payments"), svc("checkout")]
    assert topo.cone(res("db"), path, 3) == {
        svc("payments"): (1, 0), svc("checkout"): (2, 0), svc("gateway"): (3, 1),
        svc("ledger"): (1, 1), svc("audit"): (2, 2),
    }
    assert topo.cone(svc("gateway"), [svc("gateway"), svc("checkout")], 1, up=False) == {svc("checkout"): (1, 0)}
