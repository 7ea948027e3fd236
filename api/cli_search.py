"""Retrieval commands: ``search``, ``ask`` and ``doctor``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.anomaly_input import parse_at
from api.cli_common import Invocation, vidya_command
from api.ingestion.resolver import Resolver
from api.output import console, emit, err_console, fail
from api.wiring import open_searcher, retrieval_components
from graph.errors import FormatError, NotFound
from graph.model import now_utc
from graph.schema import NodeLabel, label_of
from ingest.alertmanager import READER
from ingest.records import ReadContext, SourceFile
from retrieval.alert_runbooks import AlertQuery, select_runbooks
from retrieval.answer import Answer, compose_answer
from retrieval.config import MODES, PRESETS
from retrieval.doctor import check, repair
from retrieval.graph_links import ENTITY_LABELS
from retrieval.llm import RewriteRejected, rewrite_text
from retrieval.search import Searcher


def _since(value: str | None) -> datetime | None:
    return parse_at(value) if value else None


@click.command()
@click.argument("query", required=False)
@click.option("--k", default=10, show_default=True, help="How many sections to return (one per document by default).")
@click.option("--service", help="Boost sections linked to this service (a name or id) and its dependency neighbourhood.")
@click.option("--only-service", is_flag=True, help="With --service: drop sections not linked to it or its neighbours.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["runbook", "postmortem"]), help="Only this kind.")
@click.option("--since", help="Only documents from this time on (RFC 3339).")
@click.option("--mode", type=click.Choice(list(MODES)), default="hybrid", show_default=True,
              help="hybrid, or one retriever alone (dense vectors or BM25 keywords).")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="Retrieval knobs (default: $VIDYA_RETRIEVAL_PRESET).")
@click.option("--alert", "alert_file", type=click.Path(path_type=Path),
              help="Instead of a query: the runbooks that apply to this Alertmanager payload.")
@vidya_command
def search(
    inv: Invocation, query: str | None, k: int, service: str | None, only_service: bool, kinds: tuple[str, ...],
    since: str | None, mode: str, preset: str | None, alert_file: Path | None,
) -> None:
    """Search runbooks and postmortems: dense and keyword hits fused, then ranked with the graph.

    Hits carry the source path (relative to the ingest root), the heading path,
    the score and the section's node id. With ``--alert FILE`` it selects the
    runbooks that apply to an Alertmanager alert (its runbook_url, its name,
    the service its labels name, and its meaning).

    Example: ``vidya search "pods keep restarting after the upgrade" --k 5 --json``.
    """
    if (query is None) == (alert_file is None):
        raise click.UsageError("give a QUERY or --alert FILE (one of them)")
    with open_searcher(inv.settings, preset) as searcher:
        if alert_file is not None:
            _search_alert(inv, searcher, alert_file, k)
            return
        assert query is not None
        hits = searcher.search(query, k=k, mode=mode, service=service, only_service=only_service,  # type: ignore[arg-type]
                               kinds=kinds or None, since=_since(since))
    data = {"query": query, "mode": mode, "preset": searcher.config.name, "hits": [h.as_json() for h in hits]}

    def render() -> None:
        table = Table("#", "score", "source", "heading", "why", title=f"search: {query}", title_justify="left")
        for h in hits:
            why = ", ".join(filter(None, [f"dense {h.dense_rank}" if h.dense_rank else "",
                                          f"bm25 {h.bm25_rank}" if h.bm25_rank else "", *h.boosts]))
            table.add_row(str(h.rank), f"{h.score:.4f}", escape(h.source), escape(h.heading), why)
        console.print(table if hits else "no matching section")

    emit(inv.as_json, data, render)


def _alert_queries(searcher: Searcher, path: Path) -> list[AlertQuery]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"--alert {path}: cannot read the file ({exc.strerror})") from None
    result = READER.read(SourceFile(str(path), data, origin=path), ReadContext(run_id="search", ingested_at=now_utc()))
    resolver = Resolver(searcher.store)
    queries: dict[str, AlertQuery] = {}
    for node in result.nodes:
        if node.label is not NodeLabel.ALERT:
            continue
        found = [resolver.lookup(h.hint) for h in result.hinted if h.src == node.id]
        entities = tuple(e for e in found if e and label_of(e) in ENTITY_LABELS and searcher.store.get_node(e))
        queries.setdefault(node.name or node.id, AlertQuery.from_node(node, entities))
    if not queries:
        raise FormatError(f"--alert {path}: no alert in the payload")
    return list(queries.values())


def _search_alert(inv: Invocation, searcher: Searcher, path: Path, k: int) -> None:
    results = [(q, select_runbooks(searcher, q, k)) for q in _alert_queries(searcher, path)]
    data = {"alerts": [{"alert": q.name, "entities": list(q.entities), "runbooks": [m.as_json() for m in matches]}
                       for q, matches in results]}

    def render() -> None:
        for q, matches in results:
            on = f" on {', '.join(q.entities)}" if q.entities else ""
            table = Table("#", "score", "runbook", "why", "best section", title=f"runbooks for {q.name}{on}",
                          title_justify="left")
            for i, m in enumerate(matches, 1):
                table.add_row(str(i), f"{m.score:.3f}", escape(m.source), ", ".join(m.reasons),
                              escape(m.section.heading) if m.section else "")
            console.print(table if matches else f"no runbook applies to {q.name}")

    emit(inv.as_json, data, render)


@click.command()
@click.argument("question")
@click.option("--k", default=5, show_default=True, help="Sections to consider.")
@click.option("--service", help="The service the question is about (a name or id).")
@click.option("--at", "at", help="Time the question is asked about (RFC 3339; default now) for recent changes.")
@click.option("--no-llm", is_flag=True, help="Keep the extractive answer even when $VIDYA_LLM_URL is set.")
@vidya_command
def ask(inv: Invocation, question: str, k: int, service: str | None, at: str | None, no_llm: bool) -> None:
    """Answer a question from your runbooks and postmortems, with numbered citations and graph context.

    The answer is extractive (steps stay steps, commands verbatim), followed by
    recent changes on the services involved and similar past incidents with
    what was done about them. With ``$VIDYA_LLM_URL`` set (and no ``--no-llm``)
    an LLM rewrites the passages into a short answer that keeps their
    citations; a rewrite that cites a passage that does not exist or shows a
    command no passage contains is dropped with a warning.

    Example: ``vidya ask "ceph monitors lost quorum, what do I do?"``.
    """
    with open_searcher(inv.settings) as searcher:
        answer = compose_answer(searcher, question, k=k, service=service, at=_since(at))
    if inv.settings.llm_url and not no_llm and answer.found:
        answer = _rewrite(inv, answer)

    def render() -> None:
        console.print(answer.render_text(), markup=False, highlight=False, soft_wrap=True)

    emit(inv.as_json, answer.as_json(), render)


def _rewrite(inv: Invocation, answer: Answer) -> Answer:
    key = inv.settings.llm_api_key
    try:
        answer.rewritten = rewrite_text(answer, url=str(inv.settings.llm_url), model=inv.settings.llm_model,
                                        api_key=key.get_secret_value() if key else None)
    except RewriteRejected as exc:
        err_console.print(f"warning: LLM rewrite not used ({exc}); showing the extractive answer", markup=False,
                          highlight=False, soft_wrap=True)
    return answer


@click.command()
@click.option("--repair", "do_repair", is_flag=True, help="Embed sections that lack vectors and delete orphan points.")
@vidya_command
def doctor(inv: Invocation, do_repair: bool) -> None:
    """Check that the vector index matches the graph's sections, and repair drift.

    Drift is a section without a vector (a crash between a source's graph
    write and its vector write) or a vector whose section is gone. Exits 1
    when drift remains.

    Example: ``vidya doctor --repair``.
    """
    with retrieval_components(inv.settings) as (store, index, embedder):
        drift = check(store, index)
        repaired = False
        if do_repair and not drift.clean:
            with Progress(TextColumn("[bold]re-index[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=err_console, disable=inv.as_json or not err_console.is_terminal, transient=True) as bar:
                task = bar.add_task("", total=len(drift.missing))
                repair(store, index, embedder, drift, progress=lambda n: bar.update(task, advance=n))
            repaired = True
        after = check(store, index) if repaired else drift
    data = {"before": drift.as_json(), "repaired": repaired, "after": after.as_json(), "graph": store.describe(),
            "vector_index": index.describe()}

    def render() -> None:
        console.print(f"graph {store.describe()}: {drift.sections} sections; vector index {index.describe()}: "
                      f"{drift.points} points", highlight=False)
        if drift.clean:
            console.print("[green]in step[/]: every section has its vector and no vector is orphaned")
            return
        console.print(f"[yellow]drift[/]: {len(drift.missing)} section(s) without a vector, "
                      f"{len(drift.orphans)} orphan vector(s)")
        if repaired:
            state = "[green]repaired[/]" if after.clean else f"[red]still drifting[/]: {after.as_json()}"
            console.print(state)
        else:
            console.print("run `vidya doctor --repair` to fix it")

    emit(inv.as_json, data, render)
    if not after.clean:
        if not inv.as_json:
            fail("the vector index and the graph disagree")
        raise SystemExit(1)


COMMANDS = [search, ask, doctor]
