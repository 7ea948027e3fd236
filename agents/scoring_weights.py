"""Fitted feature weights: the scoring model as a log-linear model over its own documented features.

The naive-Bayes model multiplies one likelihood ratio per feature. Features
are correlated (an alert on the candidate's entity raises propagation,
persistence and named at once), and hand-set ratios were tuned a few misses at a time,
so each feature's log ratio gets a weight: ``log score = Σ w_f · log LR_f``.
With every weight 1 this is the naive-Bayes model itself. The weights are
fitted by maximising the probability of the labelled cause among each
incident's candidates (a conditional logit: the softmax over candidates that
also gives the confidences), with an L2 pull towards 1, on labelled incidents
(:mod:`bench.rca.fit`). A weighted factor keeps its raw ratio in its note, so
``score = Π factor.lr`` still re-derives the ranking by hand::

    >>> from agents.records import Factor
    >>> factor = weigh(Factor("timing", 6.0, 4.0), {"timing:change": 0.5}, CandidateKind.DEPLOY)
    >>> factor.lr, factor.note
    (2.0, 'LR 4 x weight 0.5 (timing:change)')
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from agents.records import CandidateKind, Factor

_PRIOR_GROUPS = {
    "silent dependency": "silent", "service failure": "dependency", "resource failure": "dependency",
    "traffic shift": "traffic", "unknown": "unknown",
}  # fmt: skip
#: factors whose value names which of two pieces of evidence it is (each gets its own weight)
_BY_VALUE = ("persistence", "named")
_ALERT_KINDS = (CandidateKind.DEPENDENCY_FAILURE, CandidateKind.TRAFFIC_SPIKE)


def feature_key(factor: Factor, kind: CandidateKind) -> str:
    """The weight that scales ``factor`` of a candidate of ``kind`` (a key of :data:`agents.config.FEATURES`)."""
    if factor.name == "prior":
        return "prior:" + _PRIOR_GROUPS.get(str(factor.value), "change")
    if factor.name == "size":
        # a version step, a configuration value's factor and a flag's rollout are different evidence
        return f"size:{kind}"
    if factor.name == "timing":
        return "timing:alert" if kind in _ALERT_KINDS else "timing:change"
    if factor.name == "explained_away":
        return "explained_away:earlier" if factor.value == "own earlier change" else "explained_away:deeper"
    if factor.name == "topology":
        return "topology:" + str(factor.value).partition(" ")[0]
    if factor.name == "learned":
        # a record of incidents and a record of quiet changes are different evidence
        return "learned:record" if factor.lr > 1 else "learned:clean"
    if factor.name in _BY_VALUE:
        return f"{factor.name}:{factor.value}"
    return factor.name


def weigh(factor: Factor, weights: Mapping[str, float], kind: CandidateKind) -> Factor:
    """``factor`` with its ratio raised to its feature's weight (unchanged when the weight is 1 or absent)."""
    key = feature_key(factor, kind)
    weight = weights.get(key, 1.0)
    if weight == 1.0:
        return factor
    lr = math.exp(weight * math.log(max(factor.lr, 1e-300)))
    note = f"LR {factor.lr:.4g} x weight {weight:.3g} ({key})"
    return Factor(factor.name, factor.value, lr, f"{factor.note}; {note}" if factor.note else note)


def raw_lr(factor: Factor, weights: Mapping[str, float], kind: CandidateKind) -> float:
    """The ratio ``factor`` had before :func:`weigh` (weights must be positive)."""
    weight = weights.get(feature_key(factor, kind), 1.0)
    return math.exp(math.log(max(factor.lr, 1e-300)) / weight)
