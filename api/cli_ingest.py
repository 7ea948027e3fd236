"""Ingestion commands: ``ingest`` and ``provenance``."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli_common import Invocation, vidya_command
from api.ingestion.pipeline import Ingester, IngestReport, SourceReport
from api.output import console, emit, err_console, fail
from api.wiring import open_embedder, open_vector_index
from graph.provenance import provenance_chain
from graph.store import GraphStore
from ingest.registry import readers
from ingest.walker import Limits
from retrieval.indexer import SectionIndexer

_STATUS_STYLE = {"ingested": "green", "unchanged": "dim", "skipped": "dim", "partial": "yellow", "failed": "red"}


def _source_types_help() -> str:
    return "Skip detection and read every file as this type: " + ", ".join(r.name for r in readers()) + "."


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source-type", "source_type", help="Read every file as this type (see `vidya ingest --help`).")
@click.option("--max-file-mb", default=50, show_default=True, help="Refuse files (and archive members) larger than this.")
@click.option("--no-vectors", is_flag=True, help="Write the graph only; `vidya doctor --repair` embeds the sections later.")
@vidya_command
def ingest(inv: Invocation, paths: tuple[Path, ...], source_type: str | None, max_file_mb: int, no_vectors: bool) -> None:
    """Ingest files, directories, archives and git repositories into the graph.

    Formats are detected from content and suffix: Backstage catalogs, Kubernetes
    manifests, CDEvents, deploy logs, Alertmanager payloads, PagerDuty incidents,
    postmortems, runbooks (Markdown, HTML, text, PDF), git repositories and SLSA
    provenance. Unchanged sources are skipped; changed ones replace what they
    asserted before. Exits 1 if any source failed.

    Example: ``vidya ingest examples/estate --json``.
    """
    store = inv.graph()
    limits = Limits(max_file_bytes=max_file_mb * 1024 * 1024)
    try:
        report = ingest_with_progress(inv, store, list(paths), source_type, limits, vectors=not no_vectors)
    finally:
        store.close()
    emit(inv.as_json, report.as_json(), lambda: _render(report))
    if not report.ok:
        failed = [s for s in report.sources if s.status in ("failed", "partial")]
        first = failed[0]
        fail(f"{len(failed)} of {len(report.sources)} source(s) failed or were partly read; first: {first.path}: {first.error}")
        raise SystemExit(1)


def ingest_with_progress(
    inv: Invocation, store: GraphStore, paths: list[Path], source_type: str | None, limits: Limits | None = None,
    *, vectors: bool = True,
) -> IngestReport:
    """Run an ingest with a progress bar on a terminal (never with ``--json``), embedding sections unless ``vectors`` is off."""
    with ExitStack() as stack:
        sinks: list[SectionIndexer] = []
        if vectors:
            embedder = open_embedder(inv.settings)
            stack.callback(embedder.close)
            index = open_vector_index(inv.settings, embedder.dim)
            stack.callback(index.close)
            sinks.append(SectionIndexer(embedder, index, store))
        return _run(inv, store, paths, source_type, limits, sinks)


def _run(
    inv: Invocation, store: GraphStore, paths: list[Path], source_type: str | None, limits: Limits | None,
    sinks: list[SectionIndexer],
) -> IngestReport:
    quiet = inv.as_json or not err_console.is_terminal
    with Progress(
        TextColumn("[bold]ingest[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=err_console, disable=quiet, transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def on_source(report: SourceReport) -> None:
            progress.update(task, advance=1, description=report.path[-60:])

        ingester = Ingester(store, limits=limits or Limits(), source_type=source_type, on_source=on_source, sinks=sinks)
        return ingester.run(paths, on_plan=lambda n: progress.update(task, total=n))


def _render(report: IngestReport) -> None:
    table = Table("source", "type", "status", "nodes", "edges", "docs", "note", title=f"ingest run {report.run_id}",
                  title_justify="left")
    for s in report.sources:
        style = _STATUS_STYLE.get(s.status, "")
        table.add_row(s.path, s.type or "-", f"[{style}]{s.status}[/]", str(s.nodes), str(s.edges), str(s.documents),
                      s.error or "")
    console.print(table)
    totals = {k: sum(1 for s in report.sources if s.status == k) for k in _STATUS_STYLE}
    console.print(", ".join(f"{v} {k}" for k, v in totals.items() if v) or "nothing to ingest")
    redacted = sum(report.redactions.values())
    if redacted:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(report.redactions.items()))
        console.print(f"[yellow]{redacted} secret(s) redacted before storing[/] ({kinds})")
    if report.unresolved_references:
        console.print(f"[yellow]{report.unresolved_references} reference(s) named no known entity and were dropped[/]")


@click.command()
@click.argument("node")
@vidya_command
def provenance(inv: Invocation, node: str) -> None:
    """Walk the delivery chain through NODE: requirement, pull request, commit, build, artifact, deployment, service.

    NODE is a node id (``deploy:<CDEvents id>``, ``artifact:sha256:<digest>``,
    ``commit:<sha>``, ``req:PAY-142``), an artifact digest, or a unique name.

    Example: ``vidya provenance artifact:sha256:3f9c... --json``.
    """
    store = inv.graph()
    try:
        chain = provenance_chain(store, node)
    finally:
        store.close()

    def render() -> None:
        console.print(f"[bold]provenance of[/] {chain.start.id}")
        for stage in chain.stages:
            console.print(f"[bold cyan]{stage.label}[/]")
            for n in stage.nodes:
                when = f"  [dim]{n.at:%Y-%m-%d %H:%M} UTC[/]" if n.at else ""
                mark = " [yellow](referenced, not ingested)[/]" if n.placeholder else ""
                console.print(f"  {n.name or n.id}  [dim]{n.id}[/]{when}{mark}", highlight=False)

    emit(inv.as_json, chain.as_json(), render)


COMMANDS = [ingest, provenance]
