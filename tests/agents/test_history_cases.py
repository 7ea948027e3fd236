"""Past cases of the history: which incidents count, what they affected and what caused them."""

from __future__ import annotations

from datetime import timedelta

import pytest

import agents.history
from agents.config import preset
from agents.history import load_history
from agents.records import CandidateKind
from graph.store import GraphStore
from tests.agents.helpers import T, res, shop, svc

DAY = 24 * 60


def _cases(store: GraphStore) -> list[tuple[str, frozenset[str], CandidateKind, str | None]]:
    return [(i.id, i.affected, i.cause_kind, i.cause_entity) for i in load_history(store, T, preset()).incidents]


def _estate(store: GraphStore) -> None:
    shop().change("deploy:pay-1", svc("payments"), 5 * 60) \
        .incident("incident:OLD", 100 * DAY, [svc("checkout")], "deploy:pay-1") \
        .incident("incident:DB", 3 * DAY, [svc("checkout"), svc("payments")], res("payments-db")) \
        .incident("incident:PAY", 4 * 60, [svc("checkout")], "deploy:pay-1") \
        .incident("incident:NOW", 30, [svc("checkout")], res("payments-db")) \
        .write(store)


def test_past_cases_are_those_of_the_history_before_the_margin_with_what_they_affected(graph_store: GraphStore) -> None:
    _estate(graph_store)
    assert _cases(graph_store) == [
        ("incident:DB", frozenset({svc("checkout"), svc("payments")}), CandidateKind.DEPENDENCY_FAILURE, res("payments-db")),
        ("incident:PAY", frozenset({svc("checkout")}), CandidateKind.DEPLOY, svc("payments")),
    ]
    excluded = load_history(graph_store, T, preset(), exclude={"incident:PAY"}).incidents
    assert [i.id for i in excluded] == ["incident:DB"]
    longer = preset().model_copy(update={"history": timedelta(days=120)})
    assert [i.id for i in load_history(graph_store, T, longer).incidents] == ["incident:OLD", "incident:DB", "incident:PAY"]


def test_a_label_with_more_cases_than_the_cap_is_read_by_time_with_the_same_answer(
    graph_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _estate(graph_store)
    by_label = _cases(graph_store)
    monkeypatch.setattr(agents.history, "MAX_INCIDENTS", 2)  # four incidents in the store, two in the period
    assert _cases(graph_store) == by_label
    monkeypatch.setattr(agents.history, "MAX_INCIDENTS", 1)  # the earliest case of the period only
    assert [case[0] for case in _cases(graph_store)] == ["incident:DB"]

