"""Diagnosis accuracy on the demo estate: every incident of its ground truth, replayed blind.

Each incident is diagnosed from what the pager saw (the paged service and the
incident's start) with the incident itself excluded, so neither its
``CAUSED_BY`` (the answer) nor its ``AFFECTS`` links are read; earlier incidents
count as history. Measured (docs/diagnosis.md): AC@1 31/32, AC@3 31/32; the one
miss (#4155) is a card-processor failure whose alert the graph no longer holds
at that time (alerts are folded per fingerprint, and it fired again later).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.diagnosis import diagnose
from agents.records import Anomaly, CandidateKind, Diagnosis
from graph.schema import RelType
from graph.store import GraphStore
from tests.agents.helpers import Truth, estate_store, ground_truth

#: the floors this suite holds the model to (measured: 31/32 and 31/32); a second miss fails it
MIN_AC1 = 31 / 32
MIN_AC3 = 31 / 32

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    with estate_store(tmp_path_factory.mktemp("estate")) as store:
        yield store


@pytest.fixture(scope="module")
def replayed(estate: GraphStore) -> list[tuple[Truth, Diagnosis]]:
    out = []
    for truth in ground_truth():
        incident = estate.get_node(truth.incident_id)
        assert incident is not None and incident.at is not None
        service = f"service:default/{truth.service}"
        affected = {e.dst for e in estate.incident_edges([incident.id], "out", (RelType.AFFECTS,))}
        assert service in affected
        anomaly = Anomaly(service, incident.at, signal=truth.alert)
        out.append((truth, diagnose(estate, anomaly, exclude={incident.id}, save=False)))
    return out


def _rank(truth: Truth, diagnosis: Diagnosis) -> int | None:
    ranks = [c.rank for c in diagnosis.candidates if c.node_id == truth.cause]
    return ranks[0] if ranks else None


def test_the_ground_truth_covers_every_incident(replayed: list[tuple[Truth, Diagnosis]]) -> None:
    assert len(replayed) == 32
    assert {t.cause_type for t, _ in replayed} == {"deploy", "config", "flag", "migration", "dependency", "traffic"}


def test_accuracy_at_one_and_three(replayed: list[tuple[Truth, Diagnosis]]) -> None:
    ranks = {t.number: _rank(t, d) for t, d in replayed}
    ac1 = sum(r == 1 for r in ranks.values()) / len(ranks)
    ac3 = sum(r is not None and r <= 3 for r in ranks.values()) / len(ranks)
    missed = {n: r for n, r in ranks.items() if r != 1}
    assert ac1 >= MIN_AC1 and ac3 >= MIN_AC3, f"AC@1 {ac1:.3f}, AC@3 {ac3:.3f}; not first: {missed}"


def test_hard_cases_lookalikes_and_decoys(replayed: list[tuple[Truth, Diagnosis]]) -> None:
    """The README's lookalikes (one alert, several causes), decoys and recurring causes: 16 incidents."""
    lookalikes = {4108, 4155, 4165, 4114, 4124, 4161, 4170, 4129, 4164, 4150, 4157, 4134, 4199}
    decoys_and_recurring = {4129, 4179, 4170, 4185, 4193}
    hard = lookalikes | decoys_and_recurring
    ranks = {t.number: _rank(t, d) for t, d in replayed if t.number in hard}
    assert sum(r == 1 for r in ranks.values()) / len(ranks) >= 0.8, ranks


def test_kinds_and_source_ids_match_the_ground_truth(replayed: list[tuple[Truth, Diagnosis]]) -> None:
    kinds = {"deploy": CandidateKind.DEPLOY, "config": CandidateKind.CONFIG, "flag": CandidateKind.FLAG,
             "migration": CandidateKind.MIGRATION, "dependency": CandidateKind.DEPENDENCY_FAILURE,
             "traffic": CandidateKind.TRAFFIC_SPIKE}
    for truth, diagnosis in replayed:
        top = diagnosis.top
        if top.node_id != truth.cause:
            continue
        assert top.kind is kinds[truth.cause_type]
        if truth.cause_type not in ("dependency",):
            assert top.source_event_id == truth.cause.partition(":")[2]


def test_confidences_sum_to_one_and_the_time_taken_is_reported(replayed: list[tuple[Truth, Diagnosis]]) -> None:
    """Latency itself is a benchmark (bench/rca), not a timed test."""
    for _, diagnosis in replayed:
        assert abs(sum(c.confidence for c in diagnosis.candidates) - 1) < 1e-9
        assert diagnosis.elapsed_ms > 0


def test_saving_a_diagnosis_of_the_estate(estate: GraphStore) -> None:
    incident = estate.get_node("incident:PLXQT47")
    assert incident is not None and incident.at is not None
    result = diagnose(estate, Anomaly("service:default/checkout", incident.at), exclude={incident.id})
    assert result.top.node_id == "config:fc6425a8-5a2d-49b4-9af5-49305621384a"
    saved = {e.dst for e in estate.incident_edges([result.id], "out", (RelType.SUSPECTS,))}
    assert saved == {c.node_id for c in result.candidates if c.node_id}
