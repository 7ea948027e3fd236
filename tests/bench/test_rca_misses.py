"""The per-scenario dump of the agent's misses: the labelled cause, the top three and the truth, with factors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agents.records import Anomaly, Candidate, CandidateKind, Diagnosis, Factor
from bench.rca.misses import describe_miss, miss_lines, write_misses

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LABEL = {
    "scenario": 4, "cause": {"node_id": "deploy:truth", "kind": "deploy"}, "paging_service": "service:default/web",
    "detected_at": "2026-03-10T12:00:00Z", "hops": 2, "confounders": ["decoy_alert", "silent_root"],
}  # fmt: skip


def _candidate(node_id: str | None, kind: CandidateKind, rank: int, confidence: float) -> Candidate:
    candidate = Candidate(kind, node_id, None, node_id or "unknown", rank=rank, confidence=confidence)
    candidate.evidence.factors = [Factor("prior", f"{kind} risk", 0.03), Factor("timing", 6.04, 2.5)]
    return candidate


def _diagnosis(ids: list[str | None]) -> Diagnosis:
    candidates = [_candidate(i, CandidateKind.DEPLOY if i else CandidateKind.UNKNOWN, n, 0.5 / n)
                  for n, i in enumerate(ids, start=1)]
    return Diagnosis(id="diagnosis:x", anomaly=Anomaly("service:default/web", AT), created_at=AT, window_start=AT,
                     window_end=AT, widened=False, candidates=candidates, timeline=[], config_name="default",
                     run_id="r")


def test_a_miss_lists_the_top_three_and_the_truth_further_down_with_their_factors() -> None:
    miss = describe_miss(LABEL, _diagnosis(["deploy:a", "deploy:b", None, "deploy:c", "deploy:truth"]), rank=5)
    lines = miss_lines(miss)
    assert lines[0].startswith("### scenario 4: deploy deploy:truth (rank 5), paging service:default/web")
    assert [line.split(" [")[1].split("]")[0] for line in lines[1:4]] == ["deploy:a", "deploy:b", "None"]
    assert "prior=deploy risk:0.03 timing=6.04:2.5" in lines[1]
    assert lines[4].startswith("  truth 5. 0.100 deploy:truth: prior=")


def test_a_cause_missing_from_the_list_says_so(tmp_path: Path) -> None:
    miss = describe_miss(LABEL, _diagnosis(["deploy:a", None]), rank=None)
    out = tmp_path / "misses.md"
    write_misses(out, "hard, seed 1", [miss])
    text = out.read_text(encoding="utf-8")
    assert text.startswith("## hard, seed 1: 1 misses") and "  truth: not a candidate" in text
