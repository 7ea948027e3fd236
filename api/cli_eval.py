"""Evaluation commands: ``eval retrieval`` measures search against a question set."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import click
from rich.table import Table

from api.cli_common import Invocation, vidya_command
from api.output import console, emit, err_console
from api.wiring import open_searcher
from graph.errors import NotFound
from graph.schema import node_id
from graph.store import GraphStore
from retrieval.config import Mode
from retrieval.evaluation import (
    Evaluation,
    EvaluationReport,
    Question,
    evaluate,
    expected_sources,
    load_questions,
    searcher_fn,
)
from retrieval.indexer import DOCUMENT_KINDS

#: the baselines measured next to the configured hybrid search
BASELINES: tuple[Mode, ...] = ("dense", "bm25")
_MISSES_SHOWN = 15


@click.group(name="eval")
def eval_group() -> None:
    """Measure Vidya against a question set.

    Example: ``vidya eval retrieval --questions bench/questions/openshift-runbooks.jsonl``.
    """


@eval_group.command()
@click.option(
    "--questions", "questions_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help='JSON Lines: {"id", "query", "expected": [source paths relative to the ingest root]} per line.',
)
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1), help="Results considered per question.")
@click.option("--preset", "preset_name", default=None, help="Retrieval preset (default: $VIDYA_RETRIEVAL_PRESET).")
@vidya_command
def retrieval(inv: Invocation, questions_file: Path, k: int, preset_name: str | None) -> None:
    """Recall@1, recall@5 and MRR@10 of hybrid search, with dense-only and BM25-only baselines.

    Each question's rank is that of the first expected source among the
    results; recall@k is the share of questions with an expected source in
    the top k, MRR@10 the mean of 1/rank (0 beyond 10). The corpus must be
    ingested first, from the folder the expected paths are relative to.

    Example: ``vidya ingest corpora/openshift-runbooks`` then
    ``vidya eval retrieval --questions bench/questions/openshift-runbooks.jsonl --json``
    prints ``{"recall@1", "recall@5", "mrr@10", "baselines": {"dense", "bm25"}, "per_question"}``.
    """
    questions = load_questions(questions_file)
    with open_searcher(inv.settings, preset_name) as searcher:
        _check_sources(searcher.store, questions, questions_file)
        main = evaluate(questions, searcher_fn(searcher, "hybrid"), k)
        baselines: dict[str, Evaluation] = {m: evaluate(questions, searcher_fn(searcher, m), k) for m in BASELINES}
        preset = searcher.config.name
    report = EvaluationReport(main, baselines)
    emit(inv.as_json, report.as_json(), lambda: _render(report, preset, questions_file))


def _check_sources(store: GraphStore, questions: list[Question], questions_file: Path) -> None:
    """Refuse a run that cannot score anything; warn about expected sources the graph does not hold."""
    wanted = expected_sources(questions)
    missing = sorted(wanted - _present(store, wanted))
    if len(missing) == len(wanted):
        raise NotFound(
            f"{questions_file}: none of the {len(wanted)} expected sources is in the graph (first: {missing[0]}); "
            "ingest the folder the paths are relative to, e.g. `vidya ingest DIR`"
        )
    if missing:
        err_console.print(
            f"[yellow]warning:[/] {len(missing)} of {len(wanted)} expected sources are not in the graph "
            f"(first: {missing[0]}); questions expecting only those cannot score",
            highlight=False, soft_wrap=True,
        )


def _present(store: GraphStore, sources: Collection[str]) -> set[str]:
    """The sources among ``sources`` that some current runbook or postmortem was read from."""
    ids = {node_id(label, source): source for source in sources for label in DOCUMENT_KINDS}
    return {ids[node.id] for node in store.get_nodes(ids) if node.retired_at is None}


def _render(report: EvaluationReport, preset: str, questions_file: Path) -> None:
    console.print(f"[bold]{questions_file.name}[/]: {len(report.main.results)} questions, k={report.main.k}, preset {preset}")
    table = Table("search", "recall@1", "recall@5", "MRR@10")
    for name, ev in [("hybrid", report.main), *report.baselines.items()]:
        m = ev.metrics
        table.add_row(name, f"{m.recall_at_1:.3f}", f"{m.recall_at_5:.3f}", f"{m.mrr_at_10:.3f}")
    console.print(table)
    _render_misses(report.main)


def _render_misses(main: Evaluation) -> None:
    misses = main.misses()
    if not misses:
        return
    table = Table("id", "rank", "expected", "first result", title=f"hybrid: {len(misses)} not at rank 1",
                  title_justify="left")
    for r in misses[:_MISSES_SHOWN]:
        table.add_row(r.question.id, str(r.rank or "-"), "\n".join(_name(p) for p in r.question.expected),
                      _name(r.top[0]) if r.top else "-")
    console.print(table)
    if len(misses) > _MISSES_SHOWN:
        console.print(f"[dim]... {len(misses) - _MISSES_SHOWN} more; --json lists every question[/]")


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


COMMANDS = [eval_group]
