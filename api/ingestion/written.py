"""What one source's batch wrote, tallied part by part: counts for the report, ids to keep, what the sinks get.

The pipeline writes a source's parts one after another and drops each; this
keeps only what the end of the batch needs::

    written = Written(keep_ids=True)
    for part in parts:
        ...                                # write the part's nodes and edges
        written.add(part, edges, TOPOLOGY_LABELS)
    written.fill(report)                   # nodes, edges, documents, record errors, status
    batch.retire_source(path, keep_nodes=written.node_ids, keep_edges=written.edge_ids)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from api.ingestion.report import SourceReport
from graph.model import Edge
from graph.schema import NodeLabel
from ingest.records import ReadResult, RecordError


@dataclass
class Written:
    """Counts and (when ``keep_ids``) the ids of what a source's parts wrote."""

    #: collect node and edge ids, for retiring what a source asserted before and no longer does
    keep_ids: bool = True
    nodes: int = 0
    edges: int = 0
    documents: int = 0
    errors: int = 0
    first_error: RecordError | None = None
    #: a part held catalogue entities (the resolver's index is stale once they are written)
    topology: bool = False
    node_ids: set[str] = field(default_factory=set)
    edge_ids: set[str] = field(default_factory=set)

    def add(self, part: ReadResult, edges: list[Edge], topology: Collection[NodeLabel]) -> None:
        """Tally one written part; ``edges`` are its edges with the resolved and mention edges added."""
        self.nodes += len(part.nodes)
        self.edges += len(edges)
        self.documents += len(part.documents)
        if part.errors:
            self.first_error = self.first_error or part.errors[0]
            self.errors += len(part.errors)
        self.topology = self.topology or any(n.label in topology for n in part.nodes)
        if self.keep_ids:
            self.node_ids.update([n.id for n in part.nodes])
            self.edge_ids.update([e.id for e in edges])

    def fill(self, report: SourceReport) -> None:
        """Put the counts (and the first record error, making it ``partial``) into the source's report."""
        report.nodes, report.edges, report.documents = self.nodes, self.edges, self.documents
        report.record_errors = self.errors
        if self.first_error is not None:
            report.status = "partial"
            report.error = f"{self.errors} record(s) skipped; first: {self.first_error}"
