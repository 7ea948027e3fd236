"""What an ingest run reports: one line per source, counts only.

A report never holds the records of a source: once a source is written its
nodes, edges and documents are gone, so a run's memory does not grow with the
number of events it reads.

    report = ingest_paths(store, [Path("examples/estate")])
    print(report.as_json()["sources"][0])
    # {"path": "catalog/org.yaml", "type": "backstage", "status": "ingested", "nodes": 9, "edges": 8,
    #  "documents": 0, "error": None, "redactions": {}}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

#: the statuses a source can end in, in the order the summary lists them
STATUSES = ("ingested", "unchanged", "skipped", "partial", "failed")


@dataclass
class SourceReport:
    """What happened to one source (one line of the ingest summary).

    ``redactions`` counts the secrets replaced by ``[REDACTED:<kind>]`` per
    kind; ``record_errors`` is how many records the reader could not use (the
    first one is in ``error``).
    """

    path: str
    type: str | None
    status: str  # ingested | unchanged | partial | failed
    nodes: int = 0
    edges: int = 0
    documents: int = 0
    error: str | None = None
    record_errors: int = 0
    redactions: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path, "type": self.type, "status": self.status, "nodes": self.nodes,
            "edges": self.edges, "documents": self.documents, "error": self.error,
            "redactions": dict(sorted(self.redactions.items())),
        }

    def add_error(self, message: str) -> None:
        """Mark the source ``partial`` with ``message`` in front of any error it already had."""
        self.status = "partial" if self.status != "failed" else self.status
        self.error = message if not self.error else f"{message}; {self.error}"


@dataclass
class IngestReport:
    run_id: str
    started_at: datetime
    sources: list[SourceReport] = field(default_factory=list)
    unresolved_references: int = 0

    @property
    def ok(self) -> bool:
        return all(s.status in ("ingested", "unchanged", "skipped") for s in self.sources)

    @property
    def redactions(self) -> Counter[str]:
        """Secrets redacted in this run, per kind, over every source."""
        total: Counter[str] = Counter()
        for source in self.sources:
            total.update(source.redactions)
        return total

    def by_status(self) -> dict[str, int]:
        return {k: sum(1 for s in self.sources if s.status == k) for k in STATUSES}

    def as_json(self) -> dict[str, object]:
        return {"run_id": self.run_id, "ok": self.ok, "sources": [s.as_json() for s in self.sources]}
