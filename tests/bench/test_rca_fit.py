"""The weight fit (a conditional logit over candidates) on small synthetic design matrices."""

from __future__ import annotations

import numpy as np

from bench.rca.fit import NAMES, Example, ac1, fit, nll_and_grad


def _examples(n: int, seed: int) -> list[Example]:
    """Three candidates a scenario: the true cause has the larger timing log ratio; ``size`` is pure noise."""
    rng = np.random.default_rng(seed)
    timing, size = NAMES.index("timing:change"), NAMES.index("size:deploy")
    out = []
    for _ in range(n):
        x = np.zeros((3, len(NAMES)))
        x[:, size] = rng.normal(0, 1.0, 3)
        x[:, timing] = rng.normal(0, 0.3, 3)
        x[0, timing] += 0.6
        out.append(Example("hard-50-s100", x, 0, True))
    return out


def test_the_fit_raises_the_informative_weight_and_lowers_the_noise() -> None:
    train, held_out = _examples(300, 1), _examples(300, 2)
    w = fit(train, l2=0.001)
    ones = np.ones(len(NAMES))
    assert w[NAMES.index("timing:change")] > 2 and w[NAMES.index("size:deploy")] < 0.5
    assert ac1(held_out, w) > ac1(held_out, ones)
    assert nll_and_grad(w, held_out, 0.0)[0] < nll_and_grad(ones, held_out, 0.0)[0]
    # an unused feature stays at the hand-set 1
    assert w[NAMES.index("learned:record")] == 1.0


def test_the_gradient_matches_finite_differences() -> None:
    examples, w = _examples(20, 3), np.full(len(NAMES), 0.8)
    _, grad = nll_and_grad(w, examples, 0.1)
    i, step = NAMES.index("size:deploy"), 1e-6
    up, down = w.copy(), w.copy()
    up[i] += step
    down[i] -= step
    numeric = (nll_and_grad(up, examples, 0.1)[0] - nll_and_grad(down, examples, 0.1)[0]) / (2 * step)
    assert abs(numeric - grad[i]) < 1e-5
