"""The RCA benchmark's targets table: per run, and hard runs that differ only by seed pooled into one row."""

from __future__ import annotations

from typing import Any

from bench.rca.baselines import BASELINES
from bench.rca.report import targets_table


def _run(seed: int, agent: float, baseline: float, brier: float, n: int = 40, services: int = 500,
         diagnosis: str = "default") -> dict[str, Any]:
    summary = {"agent": {"n": n, "ac@1": agent, "brier_top1": brier}}
    summary |= {b: {"n": n, "ac@1": baseline, "brier_top1": None} for b in BASELINES}
    return {"preset": "hard", "services": services, "scenarios": n, "seed": seed, "backend": "sqlite",
            "events": 100_000, "diagnosis_preset": diagnosis, "summary": summary}


def test_hard_runs_of_several_seeds_are_pooled_by_scenario_count() -> None:
    runs = [_run(1, 0.75, 0.25, 0.10), _run(2, 0.85, 0.20, 0.20, n=60), _run(3, 0.70, 0.3, 0.12, services=50)]
    rows = targets_table(runs)
    pooled = [r for r in rows if "pooled" in r]
    # seeds 1 and 2 at 500 services: (0.75 * 40 + 0.85 * 60) / 100 = 0.81; the best baseline pooled is 0.22
    assert pooled[0] == "| hard, 500 services, seeds 1, 2 pooled (100 scenarios), sqlite: agent AC@1 | ≥ 0.80 | 0.810 | pass |"
    assert pooled[1].endswith("| +0.590 | pass |")
    assert pooled[2] == (
        "| hard, 500 services, seeds 1, 2 pooled (100 scenarios), sqlite: Brier score (top-1) | reported | 0.16 | – |"
    )
    # the 50-service run has one seed: its own rows only, and every run keeps its own rows
    assert len(pooled) == 3 and sum("seed 1, sqlite: agent AC@1" in r for r in rows) == 1
    assert any("hard, 50 services, 40 scenarios, seed 3, sqlite: agent AC@1 | ≥ 0.80 | 0.700 | **FAIL**" in r for r in rows)


def test_runs_with_another_diagnosis_preset_are_pooled_apart() -> None:
    runs = [_run(1, 0.7, 0.2, 0.1), _run(2, 0.7, 0.2, 0.1), _run(1, 0.9, 0.2, 0.1, diagnosis="fitted"),
            _run(2, 0.8, 0.2, 0.1, diagnosis="fitted")]
    pooled = [r for r in targets_table(runs) if "pooled" in r and "agent AC@1" in r]
    assert pooled == [
        "| hard, 500 services, seeds 1, 2 pooled (80 scenarios), sqlite: agent AC@1 | ≥ 0.80 | 0.700 | **FAIL** |",
        "| hard, 500 services, seeds 1, 2 pooled (80 scenarios), sqlite, diagnosis preset fitted: agent AC@1 | ≥ 0.80 "
        "| 0.850 | pass |",
    ]
