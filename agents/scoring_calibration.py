"""Calibration: confidences as a softmax of the log scores, and the temperature fitted to labelled incidents.

    >>> fit_temperature([([2.0, 0.0, -1.0], 0)] * 9 + [([2.0, 0.0, -1.0], 1)]) < 1.0
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from agents.records import Candidate

#: temperatures tried by :func:`fit_temperature`: 0.25 to 4
TEMPERATURE_GRID = tuple(step / 20 for step in range(5, 81))


def calibrate(candidates: list[Candidate], temperature: float) -> None:
    """Confidences: softmax of the log scores over ``temperature`` (in place; they sum to 1)."""
    logits = [math.log(max(c.score, 1e-300)) / temperature for c in candidates]
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    total = sum(weights)
    for candidate, weight in zip(candidates, weights, strict=True):
        candidate.confidence = weight / total


def true_cause_nll(examples: Sequence[tuple[Sequence[float], int | None]], temperature: float) -> float:
    """Mean negative log-likelihood of the true cause; ``examples`` are (log scores, index of the truth or None)."""
    floor, total = 1e-3, 0.0
    for logits, truth in examples:
        scaled = [x / temperature for x in logits]
        top = max(scaled)
        log_norm = top + math.log(sum(math.exp(x - top) for x in scaled))
        p = math.exp(scaled[truth] - log_norm) if truth is not None else 0.0
        total -= math.log(max(p, floor))
    return total / max(len(examples), 1)


def fit_temperature(
    examples: Sequence[tuple[Sequence[float], int | None]], grid: Sequence[float] = TEMPERATURE_GRID
) -> float:
    """The temperature that maximises the likelihood of the true causes of labelled incidents (a grid search).

    Each example is the candidates' log scores (``math.log(c.score)``, ``unknown`` included) and the index of
    the true cause among them (``None`` when the diagnosis missed it).
    """
    return min(grid, key=lambda t: (true_cause_nll(examples, t), abs(t - 1.0)))
