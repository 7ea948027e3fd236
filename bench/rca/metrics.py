"""Accuracy, calibration and fix-recall over diagnosed scenarios.

For one method (the agent or a baseline) over scenarios with ranks ``r``
(the rank of the labelled cause among its guesses, ``None`` when absent):

``AC@k``
    the share of scenarios with ``r <= k``;
``Avg@5``
    the mean of AC@1 ... AC@5;
``Brier (top-1)``
    the mean of ``(p1 - y1)^2`` where ``p1`` is the confidence of the first
    candidate and ``y1`` is 1 when it is the labelled cause;
``Brier (multi-class)``
    the mean over scenarios of ``sum_c (p_c - y_c)^2`` over every candidate the
    agent listed, ``unknown`` included (confidences sum to 1), with ``y_c`` 1
    for the labelled cause only; when the cause is not listed, its missing
    class adds ``(0 - 1)^2 = 1``. 0 is perfect, 2 the worst;
``fix-recall``
    the share of scenarios whose labelled fix action is among the actions
    recommended (see :mod:`bench.rca.run` for where they come from).

Baselines give no probabilities: their Brier scores are not defined.

    >>> summary = summarise([Outcome(rank=1, confidences=[0.8, 0.2], truth_index=0, fix_hit=True)])
    >>> summary.ac[1], round(summary.brier_top1, 2)
    (1.0, 0.04)
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Outcome:
    """How one method did on one scenario."""

    rank: int | None
    confidences: list[float] = field(default_factory=list)
    truth_index: int | None = None
    fix_hit: bool = False
    top1_fix_hit: bool = False
    latency_ms: float | None = None
    #: CPU time of this process during the diagnosis (with SQLite, all of its work: an idle-machine estimate)
    cpu_ms: float | None = None


@dataclass
class Summary:
    n: int
    ac: dict[int, float]
    avg5: float
    brier_top1: float | None
    brier_multi: float | None
    fix_recall: float
    top1_fix: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu_p50_ms: float | None = None
    cpu_p99_ms: float | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "n": self.n, **{f"ac@{k}": round(v, 4) for k, v in self.ac.items()}, "avg@5": round(self.avg5, 4),
            "brier_top1": _round(self.brier_top1), "brier_multiclass": _round(self.brier_multi),
            "fix_recall": round(self.fix_recall, 4), "top1_fix": round(self.top1_fix, 4),
            "latency_p50_ms": _round(self.p50_ms), "latency_p99_ms": _round(self.p99_ms),
            "cpu_p50_ms": _round(self.cpu_p50_ms), "cpu_p99_ms": _round(self.cpu_p99_ms),
        }  # fmt: skip


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def brier_multiclass(confidences: list[float], truth_index: int | None) -> float:
    total = sum((p - (1.0 if i == truth_index else 0.0)) ** 2 for i, p in enumerate(confidences))
    return total + (1.0 if truth_index is None else 0.0)


def summarise(outcomes: list[Outcome]) -> Summary:
    """The metrics of one method over its outcomes (at least one)."""
    n = len(outcomes)
    ac = {k: sum(1 for o in outcomes if o.rank is not None and o.rank <= k) / n for k in range(1, 6)}
    scored = [o for o in outcomes if o.confidences]
    brier1 = statistics.fmean((o.confidences[0] - (1.0 if o.rank == 1 else 0.0)) ** 2 for o in scored) if scored else None
    multi = statistics.fmean(brier_multiclass(o.confidences, o.truth_index) for o in scored) if scored else None
    latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
    cpu = [o.cpu_ms for o in outcomes if o.cpu_ms is not None]
    return Summary(
        n=n, ac=ac, avg5=statistics.fmean(ac.values()), brier_top1=brier1, brier_multi=multi,
        fix_recall=sum(o.fix_hit for o in outcomes) / n, top1_fix=sum(o.top1_fix_hit for o in outcomes) / n,
        p50_ms=percentile(latencies, 50) if latencies else None, p99_ms=percentile(latencies, 99) if latencies else None,
        cpu_p50_ms=percentile(cpu, 50) if cpu else None, cpu_p99_ms=percentile(cpu, 99) if cpu else None,
    )
