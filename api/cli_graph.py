"""Graph commands: ``stats``, ``schema``, ``export``, ``import`` and ``demo``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import cast

import click
from rich.table import Table

from api.cli_common import Invocation, vidya_command
from api.output import console, counts_table, emit
from graph.errors import NotFound, VidyaError
from graph.rdf import RdfFormat, export_graph, format_for_path, import_graph
from graph.schema import LABELS, RELS


@click.command()
@vidya_command
def stats(inv: Invocation) -> None:
    """Count current nodes by label and relationships by type.

    Example: ``vidya stats --json`` prints
    ``{"nodes": {"Service": 12}, "relationships": {"DEPENDS_ON": 30}}``.
    """
    store = inv.graph()
    try:
        counts = store.counts()
        where = store.describe()
    finally:
        store.close()

    def render() -> None:
        console.print(f"[dim]{where}[/]")
        console.print(counts_table("Nodes", counts.nodes, "label"))
        console.print(counts_table("Relationships", counts.relationships, "type"))

    emit(inv.as_json, counts.as_json(), render)


@click.command()
@vidya_command
def schema(inv: Invocation) -> None:
    """List the node labels and relationship types of the graph schema.

    Example: ``vidya schema --json | jq '.relationships.DEPENDS_ON'``.
    """
    data = {
        "nodes": {
            str(label): {"id_prefix": s.prefix, "category": str(s.category), "event": s.event, "description": s.description}
            for label, s in LABELS.items()
        },
        "relationships": {
            str(t): {
                "from": sorted(map(str, s.sources)),
                "to": sorted(map(str, s.targets)),
                "functional": s.functional,
                "description": s.description,
            }
            for t, s in RELS.items()
        },
    }

    def render() -> None:
        labels = Table("label", "id prefix", "category", "description", title="Node labels", title_justify="left")
        for label, s in LABELS.items():
            labels.add_row(str(label), f"{s.prefix}:", str(s.category), s.description)
        rels = Table("type", "functional", "description", title="Relationship types", title_justify="left")
        for t, r in RELS.items():
            rels.add_row(str(t), "yes" if r.functional else "", r.description)
        console.print(labels)
        console.print(rels)

    emit(inv.as_json, data, render)


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["turtle", "jsonld"]), default="turtle", show_default=True,
    help="RDF serialisation.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
@click.option("--node", "nodes", multiple=True, help="Export only the neighbourhood of this node id (repeatable).")
@click.option("--depth", default=1, show_default=True, help="Hops around --node to include.")
@vidya_command
def export(inv: Invocation, fmt: str, out: Path | None, nodes: tuple[str, ...], depth: int) -> None:
    """Export the graph (or a neighbourhood) as RDF with W3C PROV-O provenance.

    Example: ``vidya export --format turtle --out estate.ttl``.
    """
    store = inv.graph()
    try:
        missing = [n for n in nodes if store.get_node(n) is None]
        if missing:
            raise NotFound(f"--node {missing[0]!r}: no such node")
        text = export_graph(store, cast(RdfFormat, fmt), node_ids=list(nodes) or None, depth=depth)
    finally:
        store.close()
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise VidyaError(f"cannot write {out}: {exc.strerror}") from exc
    summary = {"format": fmt, "out": str(out), "bytes": len(text.encode())}
    emit(inv.as_json, summary, lambda: console.print(f"wrote {summary['bytes']:,} bytes of {fmt} to {out}"))


@click.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["turtle", "jsonld"]), help="Default: from the file suffix.")
@vidya_command
def import_(inv: Invocation, file: Path, fmt: str | None) -> None:
    """Import an RDF file (Turtle or JSON-LD) exported by Vidya.

    Example: ``vidya import estate.ttl``.
    """
    summary = _import_file(inv, file, fmt)
    emit(inv.as_json, summary, lambda: _render_import(summary))


def _import_file(inv: Invocation, file: Path, fmt: str | None) -> dict[str, object]:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise VidyaError(f"cannot read {file}: {exc.strerror}") from exc
    chosen = fmt or format_for_path(file)
    started = time.perf_counter()
    store = inv.graph()
    try:
        result = import_graph(store, data, cast(RdfFormat, chosen))
        counts = store.counts()
    finally:
        store.close()
    return {
        "file": str(file),
        "format": chosen,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "seconds": round(time.perf_counter() - started, 3),
        "graph": counts.as_json(),
    }


def _render_import(summary: dict[str, object]) -> None:
    console.print(
        f"imported {summary['file']} ({summary['format']}): {summary['created']} created, "
        f"{summary['updated']} updated, {summary['unchanged']} unchanged in {summary['seconds']} s"
    )


COMMANDS = [stats, schema, export, import_]
