"""The evaluation harness: question-file validation and the metrics on hand-computed rankings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.ingestion.pipeline import Ingester
from graph.errors import FormatError, NotFound, VidyaError
from graph.factory import GraphConfig, open_store
from retrieval.config import preset
from retrieval.evaluation import (
    EvaluationReport,
    Metrics,
    Question,
    evaluate,
    expected_sources,
    first_hit,
    load_questions,
    parse_questions,
    searcher_fn,
)
from retrieval.search import Searcher

ROOT = Path(__file__).resolve().parents[2]
CORPUS_ROOT = ROOT.parent / "shared" / "corpora" / "openshift-runbooks"
QUESTIONS = ROOT / "bench" / "questions" / "openshift-runbooks.jsonl"


def line(**fields: object) -> str:
    return json.dumps(fields)


class Ranked:
    """A search function that answers from a fixed table and records the k it was asked for."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[int] = []

    def __call__(self, query: str, k: int) -> list[str]:
        self.asked.append(k)
        return self.table[query]


# --- metrics, hand-computed -------------------------------------------------------------------------


def test_first_hit_is_the_one_based_rank_of_any_expected_source() -> None:
    assert first_hit(["a", "b", "c"], ["c", "b"]) == 2
    assert first_hit(["a", "b", "c"], ["a"]) == 1
    assert first_hit(["a", "b"], ["z"]) is None
    assert first_hit([], ["a"]) is None


def test_metrics_from_ranks_hand_computed() -> None:
    # ranks 1, 3, 6, 12 (beyond 10), missing:
    # recall@1 = 1/5; recall@5 = 2/5; MRR@10 = (1 + 1/3 + 1/6 + 0 + 0) / 5 = 1.5 / 5 = 0.3
    m = Metrics.from_ranks([1, 3, 6, 12, None])
    assert m.recall_at_1 == pytest.approx(0.2)
    assert m.recall_at_5 == pytest.approx(0.4)
    assert m.mrr_at_10 == pytest.approx(0.3)


def test_rank_ten_counts_for_mrr_and_rank_five_for_recall_at_five() -> None:
    m = Metrics.from_ranks([5, 10])
    assert m.recall_at_1 == 0
    assert m.recall_at_5 == pytest.approx(0.5)
    assert m.mrr_at_10 == pytest.approx((1 / 5 + 1 / 10) / 2)


def test_metrics_need_at_least_one_question() -> None:
    with pytest.raises(VidyaError, match="zero questions"):
        Metrics.from_ranks([])


def test_evaluate_scores_each_question_and_keeps_the_top_three() -> None:
    questions = [
        Question("q1", "disk full", ("full.md",)),
        Question("q2", "osd down", ("osd.md", "node.md")),
        Question("q3", "dns broken", ("dns.md",)),
    ]
    search = Ranked({
        "disk full": ["full.md", "x.md", "y.md", "z.md"],
        "osd down": ["x.md", "y.md", "node.md", "osd.md"],
        "dns broken": ["x.md", "y.md"],
    })
    result = evaluate(questions, search, k=10)
    assert search.asked == [10, 10, 10]
    assert [r.rank for r in result.results] == [1, 3, None]
    assert result.results[0].top == ("full.md", "x.md", "y.md")
    # recall@1 = 1/3, recall@5 = 2/3, MRR@10 = (1 + 1/3 + 0) / 3 = 4/9
    assert result.metrics.recall_at_1 == pytest.approx(1 / 3)
    assert result.metrics.recall_at_5 == pytest.approx(2 / 3)
    assert result.metrics.mrr_at_10 == pytest.approx(4 / 9)
    assert [r.question.id for r in result.misses()] == ["q2", "q3"]


def test_results_beyond_k_are_ignored() -> None:
    questions = [Question("q1", "q", ("hit.md",))]
    result = evaluate(questions, lambda q, k: ["a.md", "b.md", "hit.md"], k=2)
    assert result.results[0].rank is None
    assert result.metrics.mrr_at_10 == 0


def test_k_must_be_positive() -> None:
    with pytest.raises(VidyaError, match="k must be at least 1"):
        evaluate([Question("q1", "q", ("a.md",))], lambda q, k: [], k=0)


def test_report_json_has_hybrid_at_the_top_and_baselines_by_name() -> None:
    questions = [Question("q1", "a", ("a.md",)), Question("q2", "b", ("b.md",))]
    hybrid = evaluate(questions, Ranked({"a": ["a.md"], "b": ["x.md", "b.md"]}), k=10)
    bm25 = evaluate(questions, Ranked({"a": ["x.md"], "b": ["b.md"]}), k=10)
    data = EvaluationReport(hybrid, {"bm25": bm25}).as_json()
    assert set(data) == {"recall@1", "recall@5", "mrr@10", "baselines", "per_question"}
    assert data["mrr@10"] == pytest.approx(0.75)
    assert data["baselines"] == {"bm25": {"recall@1": 0.5, "recall@5": 0.5, "mrr@10": 0.5}}
    assert data["per_question"][1] == {"id": "q2", "query": "b", "expected": ["b.md"], "rank": 2, "top": ["x.md", "b.md"]}
    json.dumps(data)  # serialisable as is


def test_searcher_fn_gives_one_source_per_document_and_k_documents(tmp_path: Path) -> None:
    # BM25 over a real SQLite store; the "broad" preset returns two sections of each document
    folder = "alerts/openshift-container-storage-operator"
    for name in ("CephOSDDown.md", "CephOSDFlapping.md", "CephOSDSlowOps.md", "CephOSDNearFull.md", "CephNodeDown.md"):
        (tmp_path / "corpus" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "corpus" / folder / name).write_bytes((CORPUS_ROOT / folder / name).read_bytes())
    store = open_store(GraphConfig(sqlite_path=tmp_path / "graph.db"))
    try:
        assert Ingester(store).run([tmp_path / "corpus"]).ok
        searcher = Searcher(store, None, None, preset("broad"))
        sections = searcher.search("osd", k=6, mode="bm25")
        sources = searcher_fn(searcher, "bm25")("osd", 3)
    finally:
        store.close()
    assert len({h.source for h in sections}) < len(sections)  # several sections of one runbook
    assert len(sources) == 3 and len(set(sources)) == 3
    assert sources == list(dict.fromkeys(h.source for h in sections))[:3]
    assert all(s.startswith(folder + "/") for s in sources)


def test_expected_sources_is_the_union() -> None:
    questions = [Question("q1", "a", ("a.md", "b.md")), Question("q2", "b", ("b.md", "c.md"))]
    assert expected_sources(questions) == {"a.md", "b.md", "c.md"}


# --- the questions file -----------------------------------------------------------------------------


def test_parse_skips_blank_lines_and_keeps_the_note() -> None:
    lines = [line(id="q1", query="a", expected=["a.md"], note="why"), "", "  ",
             line(id="q2", query="b", expected=["b.md", "c.md"])]
    questions = parse_questions(lines, "qs.jsonl")
    assert questions == [Question("q1", "a", ("a.md",), "why"), Question("q2", "b", ("b.md", "c.md"))]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"id": "q2", "query": ', r"qs\.jsonl:2: not valid JSON"),
        ('["q2"]', r"qs\.jsonl:2: expected a JSON object, got list"),
        (line(query="b", expected=["b.md"]), r"qs\.jsonl:2: missing field 'id'"),
        (line(id="q2", expected=["b.md"]), r"qs\.jsonl:2: missing field 'query'"),
        (line(id="q2", query="b"), r"qs\.jsonl:2: missing field 'expected'"),
        (line(id="q2", query="  ", expected=["b.md"]), r"qs\.jsonl:2: field 'query' must be a non-empty string"),
        (line(id=2, query="b", expected=["b.md"]), r"qs\.jsonl:2: field 'id' must be a non-empty string"),
        (line(id="q2", query="b", expected=[]), r"qs\.jsonl:2: field 'expected' must be a non-empty list"),
        (line(id="q2", query="b", expected="b.md"), r"qs\.jsonl:2: field 'expected' must be a non-empty list"),
        (line(id="q2", query="b", expected=["b.md", ""]), r"qs\.jsonl:2: expected\[1\] must be a non-empty string"),
        (line(id="q2", query="b", expected=["/abs/b.md"]), r"qs\.jsonl:2: expected\[0\] '/abs/b.md' must be a '/'-separated"),
        (line(id="q2", query="b", expected=["b.md"], note=3), r"qs\.jsonl:2: field 'note' must be a string"),
        (line(id="q2", query="b", expected=["b.md"], expect=["c.md"]), r"qs\.jsonl:2: unknown field 'expect'"),
        (line(id="q1", query="b", expected=["b.md"]), r"qs\.jsonl:2: id 'q1' is already used on line 1"),
    ],
)
def test_a_bad_line_is_named_with_file_line_and_field(bad: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_questions([line(id="q1", query="a", expected=["a.md"]), bad], "qs.jsonl")


def test_an_empty_file_is_an_error() -> None:
    with pytest.raises(FormatError, match=r"qs\.jsonl: no questions"):
        parse_questions(["", "   "], "qs.jsonl")


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nope\.jsonl: no such questions file"):
        load_questions(tmp_path / "nope.jsonl")


def test_load_reads_a_file_and_reports_its_path(tmp_path: Path) -> None:
    path = tmp_path / "qs.jsonl"
    path.write_text(line(id="q1", query="a", expected=["a.md"]) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(FormatError, match=rf"{path.name}:2: not valid JSON"):
        load_questions(path)


# --- the shipped OpenShift question set -------------------------------------------------------------


def test_the_openshift_question_set_is_valid_and_every_expected_runbook_exists() -> None:
    questions = load_questions(QUESTIONS)
    assert 70 <= len(questions) <= 80
    missing = [(q.id, path) for q in questions for path in q.expected if not (CORPUS_ROOT / path).is_file()]
    assert missing == []


def test_no_question_names_a_runbook() -> None:
    # questions are asked in the engineer's words: the alert name would make retrieval trivial
    names = {p.stem.lower() for p in CORPUS_ROOT.rglob("*.md") if len(p.stem) > 6}
    leaks = [(q.id, name) for q in load_questions(QUESTIONS) for name in names if name in q.query.lower()]
    assert leaks == []
