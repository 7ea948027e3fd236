"""``vidya ingest``: read every source, resolve references, and write each source atomically.

One source is one store batch: its nodes and edges, the retirement of what it
asserted before and no longer does, and its ``Source`` bookkeeping node
(content fingerprint, reader, status). A crash between sources leaves every
finished source complete and the others untouched; re-running skips the
unchanged ones, so it converges on the state of one clean run.

    report = ingest_paths(store, [Path("examples/estate")])
    assert report.ok
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from api.ingestion.resolver import Resolver
from graph.errors import FormatError, VidyaError
from graph.model import Edge, Node, Provenance, now_utc
from graph.schema import NodeLabel, RelType, node_id
from graph.store import GraphStore
from ingest.records import ReadContext, ReadResult, SourceFile
from ingest.registry import Reader, detect, reader_named, readers
from ingest.walker import Limits, Unreadable, walk

TOPOLOGY_LABELS = frozenset({NodeLabel.SERVICE, NodeLabel.RESOURCE, NodeLabel.API, NodeLabel.SYSTEM})
MAX_ERRORS_KEPT = 50
DEFAULT_LIMITS = Limits()


@dataclass
class SourceReport:
    """What happened to one source (one line of the ingest summary)."""

    path: str
    type: str | None
    status: str  # ingested | unchanged | partial | failed
    nodes: int = 0
    edges: int = 0
    documents: int = 0
    error: str | None = None
    record_errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path, "type": self.type, "status": self.status, "nodes": self.nodes,
            "edges": self.edges, "documents": self.documents, "error": self.error,
        }


@dataclass
class IngestReport:
    run_id: str
    started_at: datetime
    sources: list[SourceReport] = field(default_factory=list)
    unresolved_references: int = 0

    @property
    def ok(self) -> bool:
        return all(s.status in ("ingested", "unchanged") for s in self.sources)

    def as_json(self) -> dict[str, object]:
        return {"run_id": self.run_id, "ok": self.ok, "sources": [s.as_json() for s in self.sources]}


@dataclass
class _Pending:
    file: SourceFile
    reader: Reader


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def fingerprint(file: SourceFile, reader: Reader) -> str:
    """What decides whether a source changed: its bytes (or repository state) and the reader version."""
    if file.is_directory and file.origin is not None:
        from ingest.git_repo import repo_fingerprint

        content = repo_fingerprint(file.origin)
    else:
        content = file.digest()
    return hashlib.sha256(f"{reader.name}\x1f{reader.version}\x1f{content}".encode()).hexdigest()


class Ingester:
    """Runs one ingest over some paths into a graph store."""

    def __init__(
        self,
        store: GraphStore,
        *,
        limits: Limits = DEFAULT_LIMITS,
        source_type: str | None = None,
        clock: Callable[[], datetime] = now_utc,
        on_source: Callable[[SourceReport], None] | None = None,
    ) -> None:
        self.store = store
        self.limits = limits
        self.available = readers()
        self.forced = reader_named(source_type, self.available) if source_type else None
        self.clock = clock
        self.on_source = on_source or (lambda report: None)
        started = clock()
        self.report = IngestReport(run_id=new_run_id(started), started_at=started)
        self.ctx = ReadContext(run_id=self.report.run_id, ingested_at=started)
        self.resolver = Resolver(store)

    def collect(self, paths: Sequence[Path]) -> list[_Pending]:
        pending: list[_Pending] = []
        for root in paths:
            for item in walk(root, self.limits):
                if isinstance(item, Unreadable):
                    self._finish(SourceReport(path=item.path, type=None, status="failed", error=item.reason))
                    continue
                try:
                    reader = self.forced or detect(item, self.available)
                except FormatError as exc:
                    self._finish(SourceReport(path=item.path, type=None, status="failed", error=str(exc)))
                    continue
                pending.append(_Pending(item, reader))
        pending.sort(key=lambda p: (p.reader.priority, p.file.path))
        return pending

    def run(self, paths: Sequence[Path], on_plan: Callable[[int], None] | None = None) -> IngestReport:
        self._record_run("running")
        pending = self.collect(paths)
        if on_plan:
            on_plan(len(pending))
        for item in pending:
            self._finish(self._ingest_one(item))
        self.report.unresolved_references = self.resolver.unresolved
        self._record_run("finished")
        return self.report

    def _finish(self, report: SourceReport) -> None:
        self.report.sources.append(report)
        self.on_source(report)

    def _ingest_one(self, item: _Pending) -> SourceReport:
        file, reader = item.file, item.reader
        report = SourceReport(path=file.path, type=reader.name, status="ingested")
        try:
            digest = fingerprint(file, reader)
        except VidyaError as exc:
            report.status, report.error = "failed", str(exc)
            return report
        source_id = node_id(NodeLabel.SOURCE, file.path)
        known = self.store.get_node(source_id)
        if known is not None and known.retired_at is None and known.props.get("fingerprint") == digest:
            report.status = "unchanged"
            return report
        try:
            result = reader.read(file, self.ctx)
        except VidyaError as exc:
            report.status, report.error = "failed", str(exc)
            return report
        edges = result.edges + self.resolver.resolve(result.hinted)
        report.record_errors = [str(e) for e in result.errors]
        if result.errors:
            report.status = "partial"
            report.error = f"{len(result.errors)} record(s) skipped; first: {result.errors[0]}"
        report.nodes, report.edges, report.documents = len(result.nodes), len(edges), len(result.documents)
        self._write(file, reader, digest, result, edges, report)
        if any(n.label in TOPOLOGY_LABELS for n in result.nodes):
            self.resolver.invalidate()
        return report

    def _write(
        self, file: SourceFile, reader: Reader, digest: str, result: ReadResult, edges: list[Edge], report: SourceReport
    ) -> None:
        prov = self.ctx.provenance(file)
        source_node = Node(
            id=node_id(NodeLabel.SOURCE, file.path), label=NodeLabel.SOURCE, name=file.path, provenance=prov,
            props={
                "fingerprint": digest, "reader": reader.name, "reader_version": reader.version,
                "status": report.status, "nodes": report.nodes, "edges": report.edges,
                "record_errors": len(result.errors),
            },
        )
        run_edge = Edge(type=RelType.INGESTED_IN, src=source_node.id, dst=self._run_id(), provenance=prov)
        nodes = [*result.nodes, source_node]
        all_edges = [*edges, run_edge]
        with self.store.batch() as batch:
            batch.upsert_nodes(nodes)
            batch.upsert_edges(all_edges)
            batch.retire_source(file.path, keep_nodes={n.id for n in nodes}, keep_edges={e.id for e in all_edges})

    def _run_id(self) -> str:
        return node_id(NodeLabel.INGEST_RUN, self.report.run_id)

    def _record_run(self, status: str) -> None:
        sources = self.report.sources
        errors = [f"{s.path}: {s.error}" for s in sources if s.error][:MAX_ERRORS_KEPT]
        by_status = {k: sum(1 for s in sources if s.status == k) for k in ("ingested", "unchanged", "partial", "failed")}
        prov = Provenance(source=f"run/{self.report.run_id}", run_id=self.report.run_id, ingested_at=self.ctx.ingested_at)
        run = Node(
            id=self._run_id(), label=NodeLabel.INGEST_RUN, name=self.report.run_id, at=self.report.started_at,
            provenance=prov,
            props={
                "status": status, "finished_at": self.clock().isoformat() if status == "finished" else "",
                "sources": len(sources), "nodes": sum(s.nodes for s in sources),
                "edges": sum(s.edges for s in sources), "errors": errors,
                **{f"sources_{k}": v for k, v in by_status.items()},
            },
        )
        self.store.upsert_nodes([run])


def ingest_paths(store: GraphStore, paths: Sequence[Path], **options: object) -> IngestReport:
    """Ingest ``paths`` into ``store`` and return the report (see :class:`Ingester` for options)."""
    return Ingester(store, **options).run(paths)  # type: ignore[arg-type]
