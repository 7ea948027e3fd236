"""``vidya ingest``: read every source, redact secrets, resolve references, and write each source atomically.

One source is one store batch: its nodes and edges, the retirement of what it
asserted before and no longer does, and its ``Source`` bookkeeping node
(content fingerprint, reader, status). A crash between sources leaves every
finished source complete and the others untouched; re-running skips the
unchanged ones, so it converges on the state of one clean run.

Sources are read one at a time (the walk only finds them), so memory holds
the source being written and, when a worker reads ahead, the next one; a
finished source leaves only counts in the report. A large source read by the
worker arrives in parts (:mod:`api.ingestion.parts`), each written into the
source's one batch and then dropped, so this process holds one part of it at
a time. A batch that rolled back part-way (the worker lost, or a transient
store failure in a batch too large to replay) is retried: the source is read
again here and written again, :data:`WRITE_ATTEMPTS` times in all before it
fails. After a source's batch commits, the sinks (the retrieval index, for
one) get its redacted records.

    report = ingest_paths(store, [Path("examples/estate")])
    assert report.ok
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from api.ingestion.read_ahead import ReadAhead, ReadJob, ReadOutcome, WorkerLost, paused_gc, read_file
from api.ingestion.report import IngestReport, SourceReport
from api.ingestion.resolver import Resolver
from api.ingestion.sinks import IngestSink, close_all, notify_written
from api.ingestion.written import Written
from graph.errors import FormatError, StoreRetryable, VidyaError
from graph.model import Edge, Node, Provenance, now_utc
from graph.schema import NodeLabel, RelType, node_id
from graph.store import GraphStore
from ingest.records import ReadContext, ReadResult, SourceFile
from ingest.registry import DETECT_BYTES, Reader, detect, reader_named, readers
from ingest.walker import LazySource, Limits, Unreadable, walk_lazy
from retrieval.graph_links import Catalog
from retrieval.mentions import mention_edges, usable_names

#: in a directory, files like these are not ops data: skipped, not failed
_NOT_DATA_NAMES = ("license", "licence", "copying", "notice", "owners", "codeowners", "authors", "makefile", "dockerfile")
_NOT_DATA_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".css", ".js", ".ts", ".py", ".sh", ".go", ".java",
    ".lock", ".toml", ".cfg", ".ini", ".editorconfig", ".gitignore", ".gitattributes", ".mod", ".sum",
})


def not_data(path: str) -> bool:
    """Whether a file found in a directory is plainly not ops data (licences, images, code, dotfiles)."""
    name = path.rsplit("/", 1)[-1].lower()
    stem, dot, suffix = name.rpartition(".")
    if name.startswith("."):
        return True
    base = stem if dot else name
    return base.split("-")[0].split("_")[0] in _NOT_DATA_NAMES or (bool(dot) and f".{suffix}" in _NOT_DATA_SUFFIXES)

__all__ = ["IngestReport", "IngestSink", "Ingester", "SourceReport", "fingerprint", "ingest_paths"]

TOPOLOGY_LABELS = frozenset({NodeLabel.SERVICE, NodeLabel.RESOURCE, NodeLabel.API, NodeLabel.SYSTEM})
MAX_ERRORS_KEPT = 50
DEFAULT_LIMITS = Limits()
#: with ``read_ahead=None``, a worker reads ahead when the sources to read add up to at least this much
READ_AHEAD_MIN_BYTES = 4 * 1024 * 1024
#: writes of one source before it fails: its batch rolled back (worker lost, transient store failure)
WRITE_ATTEMPTS = 3


@dataclass
class _Pending:
    source: LazySource
    reader: Reader
    size: int


@dataclass
class _Step:
    """One source on its way through the pipeline: a finished report, or a read to wait for."""

    item: _Pending
    report: SourceReport
    #: the source to read (its bytes dropped when the worker reads it), and what its fingerprint hashed
    file: SourceFile | None = None
    content: str = ""
    queued: bool = False
    #: the source was ingested before (a brand-new one has nothing to retire)
    known: bool = True


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def fingerprint(file: SourceFile, reader: Reader) -> str:
    """What decides whether a source changed: its bytes (or repository state) and the reader version."""
    return _fingerprint(_content(file), reader)


def _content(file: SourceFile) -> str:
    if file.is_directory and file.origin is not None:
        from ingest.git_repo import repo_fingerprint

        return repo_fingerprint(file.origin)
    return file.digest()


def _source_content(source: LazySource) -> str | Unreadable:
    """What :func:`_content` hashes, without holding a file on disk in memory."""
    if source.is_directory and source.origin is not None:
        from ingest.git_repo import repo_fingerprint

        return repo_fingerprint(source.origin)
    return source.digest()


def _fingerprint(content: str, reader: Reader) -> str:
    return hashlib.sha256(f"{reader.name}\x1f{reader.version}\x1f{content}".encode()).hexdigest()


class Ingester:
    """Runs one ingest over some paths into a graph store.

    ``sinks`` receive each written source's redacted records after its batch
    commits; ``read_ahead`` reads the next source in a worker process while
    the current one is written (``None``: when there is enough to read and
    more than one CPU).
    """

    def __init__(
        self,
        store: GraphStore,
        *,
        limits: Limits = DEFAULT_LIMITS,
        source_type: str | None = None,
        clock: Callable[[], datetime] = now_utc,
        on_source: Callable[[SourceReport], None] | None = None,
        sinks: Sequence[IngestSink] = (),
        read_ahead: bool | None = None,
    ) -> None:
        self.store = store
        self.limits = limits
        self.available = readers()
        self.forced = reader_named(source_type, self.available) if source_type else None
        self.clock = clock
        self.on_source = on_source or (lambda report: None)
        self.sinks = tuple(sinks)
        self.read_ahead = read_ahead
        started = clock()
        self.report = IngestReport(run_id=new_run_id(started), started_at=started)
        self.ctx = ReadContext(run_id=self.report.run_id, ingested_at=started)
        self.resolver = Resolver(store)
        self._names: dict[str, frozenset[str]] | None = None

    def collect(self, paths: Sequence[Path]) -> list[_Pending]:
        """Find every source and its reader, in load order; the bytes are read again when it is ingested.

        Detection looks at the first :data:`DETECT_BYTES` of each file, one file at a time.
        """
        pending: list[_Pending] = []
        for root in paths:
            for item in walk_lazy(root, self.limits):
                found = self._detect(root, item)
                if found is not None:
                    pending.append(found)
        pending.sort(key=lambda p: (p.reader.priority, p.source.path))
        return pending

    def _detect(self, root: Path, item: LazySource | Unreadable) -> _Pending | None:
        """The source with its reader, or ``None`` once its failure (or skip) is reported."""
        file = item if isinstance(item, Unreadable) else item.head(DETECT_BYTES)
        if isinstance(file, Unreadable):
            self._finish(SourceReport(path=file.path, type=None, status="failed", error=file.reason))
            return None
        assert isinstance(item, LazySource)
        try:
            reader = self.forced or detect(file, self.available)
        except FormatError as exc:
            if root.is_dir() and not_data(file.path):  # a LICENSE or a logo beside the runbooks
                self._finish(SourceReport(path=file.path, type=None, status="skipped", error="not a data file"))
            else:
                self._finish(SourceReport(path=file.path, type=None, status="failed", error=str(exc)))
            return None
        return _Pending(item, reader, item.size)

    def run(self, paths: Sequence[Path], on_plan: Callable[[int], None] | None = None) -> IngestReport:
        """Ingest ``paths``; the sinks are closed at the end, also when the run fails."""
        try:
            self._record_run("running")
            pending = self.collect(paths)
            if on_plan:
                on_plan(len(pending))
            with self.store.bulk_load():
                for report in self._ingest_all(pending):
                    self._finish(report)
            self.report.unresolved_references = self.resolver.unresolved
            self._record_run("finished")
        except BaseException:
            with contextlib.suppress(VidyaError):
                close_all(self.sinks)
            raise
        close_all(self.sinks)
        return self.report

    def _finish(self, report: SourceReport) -> None:
        self.report.sources.append(report)
        self.on_source(report)

    def _use_worker(self, pending: list[_Pending]) -> bool:
        readable = [p for p in pending if p.source.member is None]
        if self.read_ahead is not None:
            return self.read_ahead and len(readable) > 1
        enough = sum(p.size for p in readable) >= READ_AHEAD_MIN_BYTES
        return enough and len(readable) > 1 and (os.cpu_count() or 1) > 1

    def _ingest_all(self, pending: list[_Pending]) -> Iterator[SourceReport]:
        """Reports in load order; with a worker, the next source is read while this one is written."""
        with _Worker(self._use_worker(pending)) as worker:
            window: deque[_Step] = deque()
            for item in pending:
                window.append(self._prepare(item, worker))
                if len(window) > 1:
                    yield self._complete_paused(window.popleft(), worker.ahead)
            while window:
                yield self._complete_paused(window.popleft(), worker.ahead)

    def _complete_paused(self, step: _Step, ahead: ReadAhead | None) -> SourceReport:
        """:meth:`_complete` without cyclic GC: a source's records are many, short-lived and acyclic."""
        with paused_gc():
            return self._complete(step, ahead)

    def _prepare(self, item: _Pending, worker: _Worker) -> _Step:
        """Hash the source and compare its fingerprint; queue its read if it changed.

        A file on disk is hashed in blocks; it is loaded here only when it is read here.
        """
        step = _Step(item, SourceReport(path=item.source.path, type=item.reader.name, status="ingested"))
        try:
            content = _source_content(item.source)
        except VidyaError as exc:
            step.report.status, step.report.error = "failed", str(exc)
            return step
        if isinstance(content, Unreadable):
            step.report.status, step.report.error = "failed", content.reason
            return step
        step.content = content
        source = item.source
        known = self.store.get_node(node_id(NodeLabel.SOURCE, source.path))
        digest = _fingerprint(step.content, item.reader)
        if known is not None and known.retired_at is None and known.props.get("fingerprint") == digest:
            step.report.status = "unchanged"
            return step
        step.known = known is not None
        ahead = worker.for_next_read() if source.member is None else None
        if ahead is not None:
            ahead.submit(ReadJob(source, item.reader.name, self.ctx, type(item.reader).__module__))
            step.queued = True
            step.file = SourceFile(source.path, b"", source.origin, source.is_directory)  # the worker reads it
            return step
        loaded = source.load()
        if isinstance(loaded, Unreadable):
            step.report.status, step.report.error = "failed", loaded.reason
            return step
        if source.on_disk:  # what the reader sees (the file may have changed since it was hashed)
            step.content = loaded.digest()
        step.file = loaded
        return step

    def _complete(self, step: _Step, ahead: ReadAhead | None) -> SourceReport:
        """Wait for the step's read, then resolve, write and hand the records to the sinks."""
        if step.file is None:
            return step.report
        file, reader = step.file, step.item.reader
        parts: Iterable[ReadResult] | None = None
        if ahead is not None and step.queued:
            outcome, parts = ahead.receive_parts()
        else:
            outcome = read_file(file, reader, self.ctx, step.content)
        step.file = None
        unresolved = self.resolver.unresolved
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return self._write_outcome(step, file, outcome, parts)
            except (WorkerLost, StoreRetryable) as exc:  # the batch rolled back whole
                self.resolver.unresolved = unresolved
                step.report = SourceReport(path=step.report.path, type=step.report.type, status="ingested")
                if attempt == WRITE_ATTEMPTS:
                    step.report.status, step.report.error = "failed", f"not written after {attempt} attempts: {exc}"
                    return step.report
            loaded = step.item.source.load()  # read it here and write it again
            if isinstance(loaded, Unreadable):
                step.report.status, step.report.error = "failed", loaded.reason
                return step.report
            file, outcome, parts = loaded, read_file(loaded, reader, self.ctx), None
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns

    def _write_outcome(
        self, step: _Step, file: SourceFile, outcome: ReadOutcome, parts: Iterable[ReadResult] | None
    ) -> SourceReport:
        report, reader = step.report, step.item.reader
        report.redactions = dict(outcome.redactions)
        # a source in parts holds nothing the sinks read (documents, sections): they get an empty result
        for_sinks = ReadResult() if parts is not None else outcome.result
        if parts is None:
            if outcome.result is None:
                report.status, report.error = "failed", outcome.error
                return report
            parts = [outcome.result]
        if outcome.result is None or outcome.result.hinted:  # a source in parts may hold hinted edges
            self.resolver.ready()  # the catalogue as it was before this source, read outside its batch
        # the bytes the reader saw (a file may change between the fingerprint and the read)
        digest = _fingerprint(outcome.digest or step.content, reader)
        written = self._write(file, reader, digest, parts, report, step.known)
        if written.topology:
            self.resolver.invalidate()
            self._names = None
        failure = notify_written(self.sinks, file.path, for_sinks or ReadResult())
        if failure:
            report.add_error(failure)
        return report

    def _write(
        self, file: SourceFile, reader: Reader, digest: str, parts: Iterable[ReadResult], report: SourceReport, known: bool
    ) -> Written:
        """One batch: every part's records, then the source's bookkeeping and the retirement of what it dropped."""
        written = Written(keep_ids=known)
        with self.store.batch() as batch:
            for part in parts:
                edges = part.edges + self.resolver.resolve(part.hinted)
                if any(n.label is NodeLabel.SECTION for n in part.nodes):
                    edges += mention_edges(part.nodes, self._mention_names())
                batch.upsert_nodes(part.nodes)
                batch.upsert_edges(edges)
                written.add(part, edges, TOPOLOGY_LABELS)
                del part, edges  # not held while the next part arrives
            written.fill(report)
            source_node, run_edge = self._bookkeeping(file, reader, digest, report)
            batch.upsert_nodes([source_node])
            batch.upsert_edges([run_edge])
            if known:
                written.node_ids.add(source_node.id)
                written.edge_ids.add(run_edge.id)
                batch.retire_source(file.path, keep_nodes=written.node_ids, keep_edges=written.edge_ids)
        return written

    def _bookkeeping(self, file: SourceFile, reader: Reader, digest: str, report: SourceReport) -> tuple[Node, Edge]:
        """The source's ``Source`` node (fingerprint, reader, counts) and its edge to this run."""
        prov = self.ctx.provenance(file)
        source_node = Node(
            id=node_id(NodeLabel.SOURCE, file.path), label=NodeLabel.SOURCE, name=file.path, provenance=prov,
            props={
                "fingerprint": digest, "reader": reader.name, "reader_version": reader.version,
                "status": report.status, "nodes": report.nodes, "edges": report.edges,
                "record_errors": report.record_errors, "redactions": sum(report.redactions.values()),
            },
        )
        return source_node, Edge(type=RelType.INGESTED_IN, src=source_node.id, dst=self._run_id(), provenance=prov)

    def _mention_names(self) -> dict[str, frozenset[str]]:
        """Catalogue names a section's text may mention (rebuilt when topology changes)."""
        if self._names is None:
            self._names = usable_names(Catalog(self.store).names)
        return self._names

    def _run_id(self) -> str:
        return node_id(NodeLabel.INGEST_RUN, self.report.run_id)

    def _record_run(self, status: str) -> None:
        sources = self.report.sources
        errors = [f"{s.path}: {s.error}" for s in sources if s.error][:MAX_ERRORS_KEPT]
        prov = Provenance(source=f"run/{self.report.run_id}", run_id=self.report.run_id, ingested_at=self.ctx.ingested_at)
        run = Node(
            id=self._run_id(), label=NodeLabel.INGEST_RUN, name=self.report.run_id, at=self.report.started_at,
            provenance=prov,
            props={
                "status": status, "finished_at": self.clock().isoformat() if status == "finished" else "",
                "sources": len(sources), "nodes": sum(s.nodes for s in sources),
                "edges": sum(s.edges for s in sources), "errors": errors,
                "redactions": sum(self.report.redactions.values()),
                **{f"sources_{k}": v for k, v in self.report.by_status().items()},
            },
        )
        self.store.upsert_nodes([run])


class _Worker:
    """The read-ahead worker, started at the second source to read (a lone changed file is read here)."""

    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed
        self.ahead: ReadAhead | None = None
        self._reads = 0

    def for_next_read(self) -> ReadAhead | None:
        self._reads += 1
        if self.ahead is None and self.allowed and self._reads > 1:
            self.ahead = ReadAhead()
        return self.ahead

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ahead is not None:
            self.ahead.close()


def ingest_paths(store: GraphStore, paths: Sequence[Path], **options: object) -> IngestReport:
    """Ingest ``paths`` into ``store`` and return the report (see :class:`Ingester` for options).

    Example::

        report = ingest_paths(store, [Path("examples/estate")], sinks=[my_index])
        print(report.as_json()["ok"])
    """
    return Ingester(store, **options).run(paths)  # type: ignore[arg-type]
