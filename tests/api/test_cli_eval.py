"""`vidya eval retrieval` end to end: a few corpus runbooks ingested into a fresh home, then evaluated."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.cli import cli
from tests.api.test_cli import vidya

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpora" / "openshift-runbooks"
STORAGE = "alerts/openshift-container-storage-operator"
MACHINE_CONFIG = "alerts/machine-config-operator"
RUNBOOKS = [
    f"{STORAGE}/CephOSDFlapping.md",
    f"{STORAGE}/CephOSDDown.md",
    f"{STORAGE}/CephMonQuorumLost.md",
    f"{MACHINE_CONFIG}/MachineConfigDaemonRebootError.md",
    f"{MACHINE_CONFIG}/KubeletHealthState.md",
    "alerts/cluster-dns-operator/CoreDNSErrorsHigh.md",
]
QUESTIONS = [
    {"id": "reboot", "query": 'failed to run reboot: exec: "systemd-run": executable file not found',
     "expected": [f"{MACHINE_CONFIG}/MachineConfigDaemonRebootError.md"]},
    {"id": "flap", "query": "osd keeps getting marked down and up again", "expected": [f"{STORAGE}/CephOSDFlapping.md"]},
    {"id": "dns", "query": "pods get SERVFAIL resolving external names",
     "expected": ["alerts/cluster-dns-operator/CoreDNSErrorsHigh.md"]},
    {"id": "either", "query": "only one ceph monitor left",
     "expected": [f"{STORAGE}/CephMonQuorumLost.md", f"{STORAGE}/CephOSDDown.md"]},
]


def write_questions(path: Path, questions: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return path


def in_process(*args: str) -> Result:
    """Run the CLI in this process: the embedding model loads once, with no subprocess time limit."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("VIDYA_")}
    result = CliRunner().invoke(cli, list(args), env=unset, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def copy_runbooks(root: Path) -> Path:
    for relative in RUNBOOKS:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / relative, target)
    return root


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding six runbooks (graph and vectors) ingested from a copy of the corpus layout."""
    root = copy_runbooks(tmp_path_factory.mktemp("corpus"))
    data = tmp_path_factory.mktemp("home")
    in_process("ingest", str(root), "--json", "--home", str(data))
    return data


@pytest.mark.slow
def test_eval_reports_hybrid_metrics_baselines_and_consistent_per_question_ranks(home: Path, tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "qs.jsonl", QUESTIONS)
    result = in_process("eval", "retrieval", "--questions", str(questions), "--k", "5", "--json", "--home", str(home))
    report = json.loads(result.stdout)
    assert set(report) == {"recall@1", "recall@5", "mrr@10", "baselines", "per_question"}
    assert set(report["baselines"]) == {"dense", "bm25"}
    for metrics in report["baselines"].values():
        assert set(metrics) == {"recall@1", "recall@5", "mrr@10"}
        assert all(0 <= value <= 1 for value in metrics.values())
    rows = report["per_question"]
    assert [r["id"] for r in rows] == [q["id"] for q in QUESTIONS]
    for row, question in zip(rows, QUESTIONS, strict=True):
        assert row["query"] == question["query"] and row["expected"] == question["expected"]
        assert len(row["top"]) <= 3 and set(row["top"]) <= set(RUNBOOKS)
        if row["rank"] is not None and row["rank"] <= 3:
            assert row["top"][row["rank"] - 1] in question["expected"]
            assert not set(row["top"][: row["rank"] - 1]) & set(question["expected"])
    ranks = [r["rank"] for r in rows]
    assert report["recall@1"] == pytest.approx(sum(r == 1 for r in ranks) / len(ranks))
    assert report["recall@5"] == pytest.approx(sum(r is not None and r <= 5 for r in ranks) / len(ranks))
    assert report["mrr@10"] == pytest.approx(sum(1 / r for r in ranks if r is not None) / len(ranks))
    # the pasted log line is the runbook's own text: keyword search alone must find it first
    assert report["baselines"]["bm25"]["recall@1"] > 0


@pytest.mark.slow
def test_eval_prints_a_table_for_people_and_warns_about_sources_not_ingested(home: Path, tmp_path: Path) -> None:
    lost = {"id": "lost", "query": "osd down", "expected": ["alerts/elsewhere/Gone.md"]}
    questions = write_questions(tmp_path / "qs.jsonl", [*QUESTIONS[:2], lost])
    result = in_process("eval", "retrieval", "--questions", str(questions), "--home", str(home))
    for word in ("hybrid", "dense", "bm25", "recall@1", "MRR@10", "3 questions", "lost"):
        assert word in result.stdout
    assert "1 of 3 expected sources are not in the graph (first: alerts/elsewhere/Gone.md)" in result.stderr


def test_expected_sources_that_were_never_ingested_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "home"
    ingested = vidya("ingest", str(copy_runbooks(tmp_path / "corpus")), "--no-vectors", "--json", home=data)
    assert ingested.returncode == 0, ingested.stderr
    # the runbooks were ingested from the corpus root: paths relative to another folder match nothing
    questions = write_questions(tmp_path / "qs.jsonl", [{"id": "x", "query": "osd down", "expected": ["CephOSDDown.md"]}])
    result = vidya("eval", "retrieval", "--questions", str(questions), home=data)
    assert result.returncode == 1
    assert "none of the 1 expected sources is in the graph (first: CephOSDDown.md)" in result.stderr


def test_a_bad_questions_file_is_one_line_naming_file_line_and_field(tmp_path: Path) -> None:
    questions = tmp_path / "qs.jsonl"
    questions.write_text(json.dumps(QUESTIONS[0]) + "\n" + json.dumps({"id": "y", "query": "q", "expected": []}) + "\n")
    result = vidya("eval", "retrieval", "--questions", str(questions), home=tmp_path / "h")
    assert result.returncode == 1
    assert "qs.jsonl:2: field 'expected' must be a non-empty list" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_questions_file_is_named(tmp_path: Path) -> None:
    result = vidya("eval", "retrieval", "--questions", str(tmp_path / "nope.jsonl"), home=tmp_path / "h")
    assert result.returncode == 1
    assert "nope.jsonl: no such questions file" in result.stderr


def test_an_unknown_preset_lists_the_known_ones(tmp_path: Path) -> None:
    questions = write_questions(tmp_path / "qs.jsonl", QUESTIONS[:1])
    result = vidya("eval", "retrieval", "--questions", str(questions), "--preset", "nope", home=tmp_path / "h")
    assert result.returncode == 1
    assert "retrieval preset 'nope': expected one of" in result.stderr and "default" in result.stderr


def test_questions_are_required(tmp_path: Path) -> None:
    result = vidya("eval", "retrieval", home=tmp_path / "h")
    assert result.returncode == 2
    assert "--questions" in result.stderr
