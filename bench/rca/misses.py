"""What a missed scenario looked like to the agent: the labelled cause, the top three and their factors.

A miss is studied by comparing the winner's factors with the truth's (when the
truth is a candidate at all), so each line carries every factor as
``name=value:LR``::

    miss = describe_miss(label, diagnosis, rank=None)      # a label of labels.jsonl and its diagnosis
    print("\\n".join(miss_lines(miss)))
    write_misses(Path("misses.md"), "hard, seed 1", evaluation.misses)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.records import Candidate, Diagnosis

TOP = 3


def _candidate(candidate: Candidate) -> dict[str, Any]:
    factors = " ".join(
        f"{f.name}={f.value if isinstance(f.value, str) else round(f.value, 2)}:{f.lr:.3g}"
        for f in candidate.evidence.factors
    )
    return {"rank": candidate.rank, "kind": str(candidate.kind), "node_id": candidate.node_id,
            "name": candidate.name, "confidence": round(candidate.confidence, 3), "factors": factors}


def describe_miss(label: dict[str, Any], diagnosis: Diagnosis, rank: int | None) -> dict[str, Any]:
    """The scenario, the agent's first :data:`TOP` candidates and the truth's candidate (``None``: not listed)."""
    truth = label["cause"]["node_id"]
    found = [c for c in diagnosis.candidates if c.node_id == truth]
    return {
        "scenario": label["scenario"], "kind": label["cause"]["kind"], "truth": truth, "rank": rank,
        "paging": label["paging_service"], "detected_at": label["detected_at"], "hops": label.get("hops"),
        "confounders": label["confounders"], "widened": diagnosis.widened,
        "window": f"{diagnosis.window_start:%H:%M}-{diagnosis.window_end:%H:%M}",
        "top": [_candidate(c) for c in diagnosis.candidates[:TOP]],
        "truth_candidate": _candidate(found[0]) if found else None,
    }  # fmt: skip


def miss_lines(miss: dict[str, Any]) -> list[str]:
    """A readable block for one miss."""
    lines = [f"### scenario {miss['scenario']}: {miss['kind']} {miss['truth']} (rank {miss['rank']}), "
             f"paging {miss['paging']} at {miss['detected_at']}, hops {miss['hops']}, window {miss['window']}"
             f"{' (widened)' if miss['widened'] else ''}; {', '.join(miss['confounders'])}"]
    for c in miss["top"]:
        lines.append(f"  {c['rank']}. {c['confidence']:.3f} {c['kind']} {c['name']} [{c['node_id']}]: {c['factors']}")
    truth = miss["truth_candidate"]
    if truth is None:
        lines.append("  truth: not a candidate")
    else:
        lines.append(f"  truth {truth['rank']}. {truth['confidence']:.3f} {truth['name']}: {truth['factors']}")
    return lines


def write_misses(path: Path, title: str, misses: list[dict[str, Any]]) -> None:
    """Append ``misses`` under ``title`` to ``path`` (several presets of one run share the file)."""
    blocks = [f"## {title}: {len(misses)} misses", ""]
    for miss in misses:
        blocks += [*miss_lines(miss), ""]
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(blocks) + "\n")
