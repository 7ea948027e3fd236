"""Retrieval evaluation: a questions file, the metrics, and a report in one JSON shape.

A questions file is JSON Lines, one question per line::

    {"id": "q001", "query": "ceph says HEALTH_ERR, where do I start?",
     "expected": ["alerts/openshift-container-storage-operator/CephClusterErrorState.md"],
     "note": "optional, ignored"}

``expected`` lists the source paths (relative to the ingest root) of every
document that answers the question; any one of them in the results counts as
a hit. The metrics, for questions ``q_1 .. q_n`` and the rank ``r_i`` (1-based)
of the first expected source among the de-duplicated results of ``q_i``:

- **recall@k**: the share of questions with any expected source in the top
  ``k``, i.e. ``|{i : r_i <= k}| / n``;
- **MRR@10**: the mean over all questions of ``1 / r_i`` when ``r_i <= 10``,
  and ``0`` otherwise (a question with no hit in the top 10 still counts in
  the denominator).

Every metric is computed on the first ``k`` results the search returns (the
``k`` passed to :func:`evaluate`), so with ``k < 10`` the MRR@10 and recall@5
figures are lower bounds.

Example::

    questions = load_questions(Path("bench/questions/openshift-runbooks.jsonl"))
    hybrid = evaluate(questions, searcher_fn(searcher, "hybrid"), k=10)
    bm25 = evaluate(questions, searcher_fn(searcher, "bm25"), k=10)
    EvaluationReport(hybrid, {"bm25": bm25}).as_json()["mrr@10"]     # 0.0 .. 1.0
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.errors import FormatError, NotFound, VidyaError

if TYPE_CHECKING:
    from retrieval.config import Mode
    from retrieval.search import Searcher

#: ``search_fn(query, k)`` returns ranked source paths, one per document, at most ``k`` of them
SearchFn = Callable[[str, int], Sequence[str]]

#: how many returned sources each per-question entry shows
TOP_SHOWN = 3
_FIELDS = {"id", "query", "expected", "note"}


@dataclass(frozen=True)
class Question:
    """One evaluation question and the sources that answer it."""

    id: str
    query: str
    expected: tuple[str, ...]
    note: str | None = None


def load_questions(path: Path) -> list[Question]:
    """Read and validate a questions file (JSON Lines; blank lines are skipped).

    Raises :class:`NotFound` if the file is missing and :class:`FormatError`
    naming ``file:line`` and the field for bad JSON, missing or ill-typed
    fields, an empty ``expected``, unknown fields or a repeated id.

    Example: ``load_questions(Path("bench/questions/openshift-runbooks.jsonl"))[0].id == "q001"``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{path}: no such questions file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: cannot read questions file: {exc}") from None
    return parse_questions(text.splitlines(), str(path))


def parse_questions(lines: Iterable[str], name: str) -> list[Question]:
    """Validate the lines of a questions file; ``name`` is used in error messages."""
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        question = _parse_line(line, f"{name}:{number}")
        if question.id in seen:
            raise FormatError(f"{name}:{number}: id {question.id!r} is already used on line {seen[question.id]}")
        seen[question.id] = number
        questions.append(question)
    if not questions:
        raise FormatError(f"{name}: no questions (expected one JSON object per line)")
    return questions


def _parse_line(line: str, where: str) -> Question:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{where}: not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise FormatError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise FormatError(f"{where}: unknown field {unknown[0]!r} (allowed: expected, id, note, query)")
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        raise FormatError(f"{where}: field 'note' must be a string")
    return Question(_text(data, "id", where), _text(data, "query", where), _expected(data, where), note)


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    if key not in data:
        raise FormatError(f"{where}: missing field {key!r}")
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"{where}: field {key!r} must be a non-empty string")
    return value


def _expected(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    if "expected" not in data:
        raise FormatError(f"{where}: missing field 'expected'")
    value = data["expected"]
    if not isinstance(value, list) or not value:
        raise FormatError(f"{where}: field 'expected' must be a non-empty list of source paths")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise FormatError(f"{where}: expected[{index}] must be a non-empty string")
        if item.startswith("/") or "\\" in item:
            raise FormatError(f"{where}: expected[{index}] {item!r} must be a '/'-separated path relative to the ingest root")
    return tuple(value)


@dataclass(frozen=True)
class QuestionResult:
    """How one question fared: the rank of its first expected source (``None``: not in the top k)."""

    question: Question
    rank: int | None
    top: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        q = self.question
        return {"id": q.id, "query": q.query, "expected": list(q.expected), "rank": self.rank, "top": list(self.top)}


@dataclass(frozen=True)
class Metrics:
    """Recall@1, recall@5 and MRR@10 over a set of questions (see the module docstring)."""

    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float

    @classmethod
    def from_ranks(cls, ranks: Sequence[int | None]) -> Metrics:
        """The metrics of per-question ranks (``None`` where nothing expected was found)."""
        if not ranks:
            raise VidyaError("cannot compute retrieval metrics over zero questions")
        n = len(ranks)
        return cls(
            recall_at_1=sum(1 for r in ranks if r is not None and r <= 1) / n,
            recall_at_5=sum(1 for r in ranks if r is not None and r <= 5) / n,
            mrr_at_10=sum(1 / r for r in ranks if r is not None and r <= 10) / n,
        )

    def as_json(self) -> dict[str, float]:
        return {"recall@1": self.recall_at_1, "recall@5": self.recall_at_5, "mrr@10": self.mrr_at_10}


@dataclass(frozen=True)
class Evaluation:
    """The result of one search configuration over a question set."""

    k: int
    results: tuple[QuestionResult, ...]
    metrics: Metrics

    def misses(self) -> list[QuestionResult]:
        """Questions whose first expected source is not at rank 1."""
        return [r for r in self.results if r.rank != 1]


def first_hit(returned: Sequence[str], expected: Iterable[str]) -> int | None:
    """The 1-based rank of the first returned source that is expected, or ``None``."""
    wanted = set(expected)
    return next((i for i, source in enumerate(returned, start=1) if source in wanted), None)


def evaluate(questions: Sequence[Question], search_fn: SearchFn, k: int = 10) -> Evaluation:
    """Run every question through ``search_fn`` and score the rankings.

    ``search_fn(query, k)`` returns ranked source paths, de-duplicated per
    document; anything past the first ``k`` is ignored.

    Example::

        evaluate([Question("q1", "disk full", ("a.md",))], lambda q, k: ["b.md", "a.md"], k=10).metrics.mrr_at_10 == 0.5
    """
    if k < 1:
        raise VidyaError(f"k must be at least 1, got {k}")
    results = []
    for question in questions:
        returned = list(search_fn(question.query, k))[:k]
        results.append(QuestionResult(question, first_hit(returned, question.expected), tuple(returned[:TOP_SHOWN])))
    return Evaluation(k, tuple(results), Metrics.from_ranks([r.rank for r in results]))


def searcher_fn(searcher: Searcher, mode: Mode) -> SearchFn:
    """A :data:`SearchFn` over a :class:`~retrieval.search.Searcher` in one mode: ranked sources, one per document.

    The searcher returns up to ``per_document`` sections of each document, so
    ``k * per_document`` sections always hold ``k`` documents when there are that many.
    """

    def search(query: str, k: int) -> list[str]:
        hits = searcher.search(query, k=k * searcher.config.per_document, mode=mode)
        return list(dict.fromkeys(hit.source for hit in hits))[:k]

    return search


def expected_sources(questions: Iterable[Question]) -> set[str]:
    """Every source path some question expects."""
    return {path for q in questions for path in q.expected}


@dataclass(frozen=True)
class EvaluationReport:
    """The configured (hybrid) search with its per-question detail, plus baselines' metrics."""

    main: Evaluation
    baselines: Mapping[str, Evaluation] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """``{"recall@1", "recall@5", "mrr@10", "baselines": {name: {...}}, "per_question": [...]}``."""
        return {
            **self.main.metrics.as_json(),
            "baselines": {name: ev.metrics.as_json() for name, ev in self.baselines.items()},
            "per_question": [r.as_json() for r in self.main.results],
        }
