"""Fitted feature weights: a log-linear model over the scoring features, through ``diagnose`` and the config."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from agents.config import FEATURES, DiagnosisConfig, Weights, preset
from agents.diagnosis import diagnose
from agents.records import Anomaly, CandidateKind, Factor
from agents.scoring_weights import feature_key, raw_lr, weigh
from graph.store import GraphStore
from tests.agents.helpers import T, shop, svc

CHECKOUT = Anomaly(svc("checkout"), T, signal="CheckoutHighLatency")


def test_a_weight_scales_the_log_ratio_and_keeps_the_raw_ratio_recoverable() -> None:
    factor = Factor("timing", 6.0, 4.0, "6.0 min to the first symptom")
    half = weigh(factor, {"timing:change": 0.5}, CandidateKind.DEPLOY)
    assert half.lr == pytest.approx(2.0) and half.note.startswith("6.0 min to the first symptom; LR 4")
    assert raw_lr(half, {"timing:change": 0.5}, CandidateKind.DEPLOY) == pytest.approx(4.0)
    # the same factor name on an alert candidate is another feature, left at 1 here
    assert weigh(factor, {"timing:change": 0.5}, CandidateKind.DEPENDENCY_FAILURE) is factor
    assert feature_key(Factor("topology", "upstream 2", 0.2), CandidateKind.DEPLOY) == "topology:upstream"
    assert feature_key(Factor("prior", "silent dependency", 0.004), CandidateKind.DEPENDENCY_FAILURE) == "prior:silent"
    assert feature_key(Factor("explained_away", "own earlier change", 0.5), CandidateKind.DEPENDENCY_FAILURE) \
        == "explained_away:earlier"


def test_feature_weights_name_known_features_and_are_positive() -> None:
    assert set(preset("fitted").weights.feature_weights) == set(FEATURES)
    assert Weights().feature_weights == {}
    with pytest.raises(ValidationError, match="unknown feature 'timing'"):
        Weights(feature_weights={"timing": 1.0})
    with pytest.raises(ValidationError, match="expected a weight in"):
        Weights(feature_weights={"learned:record": 0.0})


def test_the_score_is_the_product_of_the_weighted_factors(graph_store: GraphStore) -> None:
    shop().change("deploy:d-pay", svc("payments"), 5, action="upgraded", version="2.1.0") \
        .change("deploy:d-cart-old", svc("cart"), 28, action="upgraded", version="1.0.1") \
        .alert("a1", "CheckoutHighLatency", svc("checkout"), 0).write(graph_store)
    doubled = {name: 2.0 for name in FEATURES}
    hand = diagnose(graph_store, CHECKOUT, save=False)
    fitted = diagnose(graph_store, CHECKOUT, DiagnosisConfig(weights=Weights(feature_weights=doubled)), save=False)
    for candidate in fitted.candidates:
        assert candidate.score == pytest.approx(math.prod(f.lr for f in candidate.evidence.factors))
        same = next(c for c in hand.candidates if c.node_id == candidate.node_id)
        # every log ratio doubled: the log score doubles, the ranking holds
        assert math.log(candidate.score) == pytest.approx(2 * math.log(same.score))
    assert [c.node_id for c in fitted.candidates] == [c.node_id for c in hand.candidates]
    assert fitted.top.confidence > hand.top.confidence
    assert "LR " not in fitted.top.explanation
