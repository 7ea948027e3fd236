"""Fit the scoring model's feature weights on labelled scenarios (a conditional logit), and check them held out.

    .venv/bin/python -m bench.rca.fit --cache /tmp/rca-fit
    .venv/bin/python -m bench.rca.fit --cache /tmp/rca-fit --l2 0.05 --rounds 3 --json weights.json

The training estates (:data:`TRAIN`: seeds 100-119, every preset, 50 and 120
services; hard at 500 services, seeds 200-203) are never the benchmark's
seeds; the held-out estates (:data:`HELD_OUT`: seeds 1, 3, 7 on every preset,
2 and 11 on easy, hard at 500 services seed 1) are the benchmark's. Every estate is generated and ingested once into ``--cache``
(:mod:`bench.rca.fit_data`). Each candidate's features are the log likelihood
ratios of its factors, summed per key of :data:`agents.config.FEATURES`; the
weights maximise the mean log-probability of the labelled cause among each
scenario's candidates (softmax over them, ``unknown`` included; when the cause
is not a candidate, ``unknown`` is the right answer) minus ``l2 · Σ (w - 1)²``,
the pull towards the hand-set model. The candidates depend on the weights (a
diagnosis widens its window while no candidate is confident), so each round
re-diagnoses the training scenarios with the last round's weights and refits.
Prints the weights and AC@1 / NLL of the hand-set and fitted models on the
training and the held-out estates, side by side.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from agents.config import FEATURES, Weights
from agents.records import CandidateKind
from agents.scoring_weights import feature_key, raw_lr
from bench.rca.fit_data import Estate, Row, scenario_rows

NAMES = list(FEATURES)
TRAIN = [
    *(Estate("hard", 50, seed) for seed in range(100, 120)),
    *(Estate("medium", 50, seed) for seed in range(100, 107)),
    *(Estate("easy", 50, seed) for seed in range(100, 103)),
    Estate("hard", 120, 100), Estate("hard", 120, 101),
    *(Estate("hard", 500, seed) for seed in range(200, 204)),
]  # fmt: skip
HELD_OUT = [
    *(Estate(preset, 50, seed) for preset in ("hard", "medium", "easy") for seed in (1, 3, 7)),
    Estate("easy", 50, 2), Estate("easy", 50, 11), Estate("hard", 500, 1),
]  # fmt: skip
BOUNDS = (0.05, 5.0)


@dataclass
class Example:
    """One scenario as a design matrix: a row of feature values (log ratios) per candidate, and the answer's row."""

    estate: str
    x: np.ndarray
    answer: int
    #: the labelled cause is a candidate (else ``unknown`` is the answer)
    listed: bool


def example(row: Row, weights: Mapping[str, float]) -> Example:
    """The features of ``row``'s candidates, undoing ``weights`` (the weights they were diagnosed with)."""
    x = np.zeros((len(row.candidates), len(NAMES)))
    for i, candidate in enumerate(row.candidates):
        for factor in candidate.evidence.factors:
            key = feature_key(factor, candidate.kind)
            x[i, NAMES.index(key)] += math.log(max(raw_lr(factor, weights, candidate.kind), 1e-300))
    unknown = next(i for i, c in enumerate(row.candidates) if c.kind is CandidateKind.UNKNOWN)
    listed = row.truth_index is not None
    return Example(row.estate, x, row.truth_index if row.truth_index is not None else unknown, listed)


def nll_and_grad(w: np.ndarray, examples: Sequence[Example], l2: float) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the answers plus the L2 pull towards 1, and its gradient."""
    total, grad = 0.0, np.zeros_like(w)
    for ex in examples:
        s = ex.x @ w
        top = s.max()
        p = np.exp(s - top)
        p /= p.sum()
        total += -(s[ex.answer] - top - math.log(np.exp(s - top).sum()))
        grad += p @ ex.x - ex.x[ex.answer]
    n = max(len(examples), 1)
    return total / n + l2 * float(((w - 1) ** 2).sum()), grad / n + 2 * l2 * (w - 1)


def fit(examples: Sequence[Example], l2: float, start: np.ndarray | None = None) -> np.ndarray:
    """The weights that minimise :func:`nll_and_grad` within :data:`BOUNDS`."""
    w0 = np.ones(len(NAMES)) if start is None else start
    used = np.abs(np.concatenate([ex.x for ex in examples])).sum(axis=0) > 0
    bounds = [BOUNDS if u else (1.0, 1.0) for u in used]
    result = minimize(nll_and_grad, w0, args=(examples, l2), jac=True, method="L-BFGS-B", bounds=bounds)
    fitted: np.ndarray = np.asarray(result.x)
    return fitted


def ac1(examples: Iterable[Example], w: np.ndarray) -> float:
    """The share of scenarios whose labelled cause ranks first (re-ranking the same candidates)."""
    hits = [ex.listed and int(np.argmax(ex.x @ w)) == ex.answer for ex in examples]
    return sum(hits) / max(len(hits), 1)


def as_weights(w: np.ndarray) -> dict[str, float]:
    return {name: round(float(value), 3) for name, value in zip(NAMES, w, strict=True)}


def diagnosed(estates: Sequence[Estate], cache: Path, weights: dict[str, float]) -> list[Example]:
    """Every scenario of ``estates`` re-diagnosed with ``weights``, as examples."""
    model = Weights(feature_weights=weights)
    out: list[Example] = []
    for estate in estates:
        out += [example(row, weights) for row in scenario_rows(estate, cache, model)]
        print(f"  {estate.name}", file=sys.stderr, flush=True)
    return out


def report(label: str, examples: Sequence[Example], w: np.ndarray) -> str:
    nll, _ = nll_and_grad(w, examples, 0.0)
    by_preset = {p: [ex for ex in examples if ex.estate.startswith(p)] for p in ("easy", "medium", "hard")}
    parts = [f"{p} {ac1(exs, w):.3f}" for p, exs in by_preset.items() if exs]
    return f"{label}: AC@1 {ac1(examples, w):.3f} ({', '.join(parts)}), NLL {nll:.3f}, n={len(examples)}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/rca/fit.py", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--cache", type=Path, required=True, help="where estates and their SQLite files are kept")
    p.add_argument("--l2", type=float, default=0.02, help="pull of each weight towards 1 (default 0.02)")
    p.add_argument("--rounds", type=int, default=2, help="re-diagnose and refit this many times (default 2)")
    p.add_argument("--train", type=int, default=len(TRAIN), help="use the first N training estates")
    p.add_argument("--json", type=Path, default=None, help="write the fitted weights here")
    args = p.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    train, ones = TRAIN[: args.train], np.ones(len(NAMES))
    weights: dict[str, float] = {}
    w = ones
    print(f"diagnosing {len(train)} training estates with the hand-set model", file=sys.stderr)
    examples = hand_set = diagnosed(train, args.cache, weights)
    for round_ in range(1, args.rounds + 1):
        w = fit(examples, args.l2, start=w)
        print(report(f"round {round_} train, fitted (re-ranked)", examples, w))
        weights = as_weights(w)
        print(f"round {round_}: re-diagnosing the training estates with its weights", file=sys.stderr)
        examples = diagnosed(train, args.cache, weights)
    print(report("train, hand-set (diagnosed)", hand_set, ones))
    print(report("train, fitted (diagnosed)  ", examples, w))
    print(report("held-out, hand-set (diagnosed)", diagnosed(HELD_OUT, args.cache, {}), ones))
    print(report("held-out, fitted (diagnosed)  ", diagnosed(HELD_OUT, args.cache, weights), w))
    for name, value in weights.items():
        print(f"    {name!r}: ({value}, {FEATURES[name][1]!r}),")
    if args.json:
        args.json.write_text(json.dumps(weights, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
