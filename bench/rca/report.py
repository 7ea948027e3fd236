"""Markdown tables of an RCA benchmark run, and the section of ``docs/benchmarks.md`` between its markers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.rca.baselines import BASELINES
from bench.rca.presets import CONFOUNDERS, KIND_CONFOUNDERS

START, END = "<!-- rca-bench:start -->", "<!-- rca-bench:end -->"
LATENCY_P50_MS = {"sqlite": 100.0, "neo4j": 250.0}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def _where(run: dict[str, Any]) -> str:
    """The run's name in tables: preset, size, seed, backend, and the diagnosis preset when not the default."""
    where = f"{run['preset']}, {run['services']} services, {run['scenarios']} scenarios, seed {run['seed']}, {run['backend']}"
    diagnosis = run.get("diagnosis_preset", "default")
    return where if diagnosis == "default" else f"{where}, diagnosis preset {diagnosis}"


def _weighted(group: list[dict[str, Any]], method: str, metric: str) -> float | None:
    """``metric`` of ``method`` over the runs of ``group`` together: their values weighted by scenario count."""
    values = [(r["summary"][method][metric], r["summary"][method]["n"]) for r in group]
    if any(v is None for v, _ in values):
        return None
    return sum(v * n for v, n in values) / sum(n for _, n in values)


def _pooled(runs: list[dict[str, Any]]) -> list[tuple[str, float, float, float | None]]:
    """Hard runs that differ only by seed, pooled into one: (name, agent AC@1, best baseline AC@1, Brier).

    One seed's 40 scenarios put AC@1 within about ±0.07 (one standard error); the pooled row is the headline.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for run in runs:
        if run["preset"] == "hard":
            key = (run["services"], run["events"], run["backend"], run.get("diagnosis_preset", "default"))
            groups.setdefault(key, []).append(run)
    out = []
    for (services, _, backend, diagnosis), group in groups.items():
        seeds = sorted({r["seed"] for r in group})
        if len(seeds) < 2 or len(seeds) < len(group):
            continue
        n = sum(r["summary"]["agent"]["n"] for r in group)
        where = f"hard, {services} services, seeds {', '.join(map(str, seeds))} pooled ({n} scenarios), {backend}"
        where = where if diagnosis == "default" else f"{where}, diagnosis preset {diagnosis}"
        best = max(_weighted(group, b, "ac@1") or 0.0 for b in BASELINES)
        out.append((where, _weighted(group, "agent", "ac@1") or 0.0, best, _weighted(group, "agent", "brier_top1")))
    return out


def _hard_rows(where: str, agent: float, best: float) -> list[str]:
    """The hard preset's two accuracy checks: AC@1 and its margin over the best baseline."""
    return [f"| {where}: agent AC@1 | ≥ 0.80 | {agent:.3f} | {_verdict(agent >= 0.8)} |",
            f"| {where}: AC@1 over the best baseline | ≥ +0.25 | {agent - best:+.3f} | {_verdict(agent - best >= 0.25)} |"]


def targets_table(runs: list[dict[str, Any]]) -> list[str]:
    rows = ["| check | target | measured | verdict |", "|---|---|--:|---|"]
    for where, agent, best, brier in _pooled(runs):
        rows += [*_hard_rows(where, agent, best), f"| {where}: Brier score (top-1) | reported | {_pct(brier)} | – |"]
    for run in runs:
        methods = run["summary"]
        agent = methods["agent"]["ac@1"]
        best = max(methods[b]["ac@1"] for b in BASELINES)
        where = _where(run)
        if run["preset"] == "hard":
            rows += _hard_rows(where, agent, best)
        if run["preset"] == "easy":
            rows.append(f"| {where}: agent AC@1 | ≥ 0.95 | {agent:.3f} | {_verdict(agent >= 0.95)} |")
        rows.append(f"| {where}: Brier score (top-1) | reported | {_pct(methods['agent']['brier_top1'])} | – |")
        if run.get("latency_target"):
            limit = LATENCY_P50_MS[run["backend"]]
            p50 = methods["agent"]["latency_p50_ms"]
            rows.append(f"| {where}, {run['events']:,} background events: diagnosis p50 (wall) | ≤ {limit:.0f} ms | "
                        f"{p50:.1f} ms | {_verdict(p50 <= limit)} |")
            cpu = methods["agent"].get("cpu_p50_ms")
            if cpu is not None:
                what = "CPU of the benchmark process; idle-machine estimate" if run["backend"] == "sqlite" \
                    else "client CPU only, informational"
                rows.append(f"| {where}: diagnosis p50 ({what}) | ≤ {limit:.0f} ms | {cpu:.1f} ms | "
                            f"{'pass' if cpu <= limit else 'FAIL'} |")
    return rows


def results_table(run: dict[str, Any]) -> list[str]:
    rows = ["| method | AC@1 | AC@3 | Avg@5 | Brier (top-1) | Brier (multi-class) | fix-recall | top-1 fix |",
            "|---|--:|--:|--:|--:|--:|--:|--:|"]
    for method, s in run["summary"].items():
        rows.append(f"| {method} | {s['ac@1']:.3f} | {s['ac@3']:.3f} | {s['avg@5']:.3f} | {_pct(s['brier_top1'])} | "
                    f"{_pct(s['brier_multiclass'])} | {s['fix_recall']:.3f} | {s['top1_fix']:.3f} |")
    return rows


def breakdown_table(run: dict[str, Any]) -> list[str]:
    names = [*BASELINES]
    rows = ["| scenarios with | n | agent AC@1 | agent AC@3 | " + " | ".join(names) + " |",
            "|---|--:|--:|--:|" + "--:|" * len(names)]
    for key, groups in (("confounder", run["by_confounder"]), ("kind", run["by_kind"])):
        order = [*CONFOUNDERS, *KIND_CONFOUNDERS] if key == "confounder" else sorted(groups)
        for name in order:
            if name not in groups:
                continue
            g = groups[name]
            cells = " | ".join(f"{g[b]['ac@1']:.2f}" for b in names)
            label = name if key == "confounder" else f"cause: {name}"
            rows.append(f"| {label} | {g['agent']['n']} | {g['agent']['ac@1']:.2f} | {g['agent']['ac@3']:.2f} | {cells} |")
    return rows


def _latency(agent: dict[str, Any]) -> str:
    text = f"diagnosis latency p50 {agent['latency_p50_ms']:.1f} ms, p99 {agent['latency_p99_ms']:.1f} ms (wall)"
    if agent.get("cpu_p50_ms") is not None:
        text += f"; CPU time p50 {agent['cpu_p50_ms']:.1f} ms, p99 {agent['cpu_p99_ms']:.1f} ms"
    return text


def section(runs: list[dict[str, Any]], machine: list[str], reproduce: list[str], notes: Sequence[str] = ()) -> str:
    lines = [START, "", "## Root-cause analysis", "",
             "Labelled scenarios from `bench/rca/generator.py` (seeded; presets and confounder rates in "
             "`bench/rca/presets.py`), ingested through the real pipeline, each diagnosed blind with its own "
             "incident excluded (earlier scenarios are history), and four naive baselines run on the same graph "
             "(`bench/rca/baselines.py`). Metrics are defined in `bench/rca/metrics.py`; fix-recall uses "
             "`agents.remediation.recommend` (the labelled fix among the actions proposed for the top three "
             "candidates); top-1 fix is the natural fix of the top candidate's kind.", "",
             "### Targets", "", *targets_table(runs), ""]
    for note in notes:
        lines += [note, ""]
    for run in runs:
        diagnosis = run.get("diagnosis_preset", "default")
        lines += [f"### {run['preset']}: {run['services']} services, {run['scenarios']} scenarios, seed {run['seed']}, "
                  f"{run['events']:,} background events, {run['backend']}"
                  + ("" if diagnosis == "default" else f", diagnosis preset {diagnosis}"), "",
                  f"Ingest {run['ingest_s']:.1f} s; {_latency(run['summary']['agent'])}.",
                  "", *results_table(run), ""]
        if not run.get("latency_target"):
            lines += ["Accuracy (AC@1) by confounder and by cause kind:", "", *breakdown_table(run), ""]
    lines += ["### Machine", "", *machine, "", "### Reproduce", "", "```", *reproduce, "```", "", END]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Replace the text between the markers (or append it), re-reading the file right before writing."""
    current = path.read_text(encoding="utf-8")
    if START in current and END in current:
        head, _, rest = current.partition(START)
        _, _, tail = rest.partition(END)
        updated = head + text + tail
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(updated, encoding="utf-8")
