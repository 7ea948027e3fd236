"""Keeps the vector index in step with the graph's sections.

Every ``Section`` node (a runbook's or a postmortem's heading-delimited part)
gets one point in the vector index, keyed by the section's graph id. The text
embedded is the heading path and the section's text, the same text the graph's
keyword index holds::

    indexer = SectionIndexer(embedder, index)
    Ingester(store, sinks=[indexer]).run([Path("runbooks")])   # embeds what each source wrote
    indexer.stats                                               # IndexStats(sections=31, embedded=31, ...)

The graph is written first, in one transaction per source; the vectors follow,
pooled across small sources so the model embeds full batches, and are all
written when the ingest closes its sinks. A crash in between leaves sections
without vectors, which
:func:`retrieval.doctor.check` finds and :func:`retrieval.doctor.repair` fixes;
given the store, the indexer runs that repair itself when an ingest finishes, so
a killed ingest that is run again ends with the vectors of one clean run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graph.errors import VidyaError
from graph.model import Edge, Node
from graph.schema import NodeLabel, RelType, label_of
from graph.store import GraphStore
from ingest.records import ReadResult
from retrieval.embeddings import Embedder
from retrieval.vector_index import VectorIndex, VectorPoint

#: the labels whose sections are indexed, and the document kind each names
DOCUMENT_KINDS = {NodeLabel.RUNBOOK: "runbook", NodeLabel.POSTMORTEM: "postmortem"}
#: sections embedded in one call: the embedder batches texts of similar length together, and the more it
#: sees at once the less padding its batches carry (pools of 64 cost ~25% more model time than 512)
_EMBED_POOL = 512


@dataclass(frozen=True, slots=True)
class IndexItem:
    """One section as the vector index sees it."""

    node_id: str
    source: str
    heading: str
    kind: str
    text: str

    def embedding_text(self) -> str:
        """The heading path and the text: what the model reads (it stops after about 180 words)."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


@dataclass(slots=True)
class IndexStats:
    """What the indexer did: sections seen, embedded by the model, served from the cache, points deleted, repaired."""

    sections: int = 0
    embedded: int = 0
    cached: int = 0
    deleted: int = 0
    repaired: int = 0


def section_item(node: Node, document_id: str | None) -> IndexItem | None:
    """The index item of a ``Section`` node (``None`` for a node without text)."""
    text = node.props.get("text")
    if node.label is not NodeLabel.SECTION or not isinstance(text, str) or not text.strip():
        return None
    kind = DOCUMENT_KINDS.get(label_of(document_id), "document") if document_id else "document"
    heading = node.name or str(node.props.get("heading") or "")
    return IndexItem(node.id, node.provenance.source, heading, kind, text)


def items_from_records(nodes: Iterable[Node], edges: Iterable[Edge]) -> list[IndexItem]:
    """The index items of the sections among ``nodes``, their kind read from ``HAS_SECTION`` edges."""
    parent = {e.dst: e.src for e in edges if e.type is RelType.HAS_SECTION}
    items = (section_item(node, parent.get(node.id)) for node in nodes if node.label is NodeLabel.SECTION)
    return [item for item in items if item is not None]


class SectionIndexer:
    """Embeds and indexes the sections of each source the ingest pipeline writes (an ingest sink)."""

    def __init__(
        self, embedder: Embedder, index: VectorIndex, store: GraphStore | None = None, *, buffer: int = _EMBED_POOL
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.store = store
        self.stats = IndexStats()
        #: sections of small sources are pooled up to this many, so the model sees full batches of similar lengths
        self.buffer = buffer
        self._pending: list[IndexItem] = []
        self._by_source: dict[str, set[str]] | None = None

    def source_written(self, path: str, result: ReadResult) -> None:
        items = items_from_records(result.nodes, result.edges)
        fresh = {item.node_id for item in items}
        if self._by_source is None:
            self._by_source = self.index.ids_by_source()
        stale = self._by_source.get(path, set()) - fresh
        self._by_source[path] = fresh
        if stale:
            self.index.delete(stale)
            self.stats.deleted += len(stale)
        self._pending += items
        if len(self._pending) >= self.buffer:
            self.flush()

    def flush(self) -> None:
        """Embed and write the pooled sections."""
        pending, self._pending = self._pending, []
        self.upsert(pending)

    def source_retired(self, path: str) -> None:
        self.flush()
        self.stats.deleted += self.index.delete_source(path)
        if self._by_source is not None:
            self._by_source.pop(path, None)

    def close(self) -> None:
        """Write what is pooled, then repair drift left by an earlier, interrupted run (when the store was given)."""
        self.flush()
        if self.store is None:
            return
        from retrieval.doctor import check, repair

        drift = check(self.store, self.index)
        if not drift.clean:
            repair(self.store, self.index, self.embedder, drift)
            self.stats.repaired += len(drift.missing)
            self.stats.deleted += len(drift.orphans)

    def upsert(self, items: Sequence[IndexItem]) -> int:
        """Embed ``items`` (the cache answers unchanged text) and write their points; returns how many."""
        written = 0
        for start in range(0, len(items), _EMBED_POOL):
            chunk = items[start : start + _EMBED_POOL]
            before = _cache_misses(self.embedder)
            try:
                vectors = self.embedder.embed_documents([item.embedding_text() for item in chunk])
            except VidyaError:
                raise
            except (RuntimeError, ValueError, OSError) as exc:  # the model's own failures, named
                sources = sorted({item.source for item in chunk})
                more = f" and {len(sources) - 1} more" if len(sources) > 1 else ""
                raise VidyaError(f"{sources[0]}{more}: embedding failed: {exc}") from exc
            after = _cache_misses(self.embedder)
            misses = after - before if after is not None and before is not None else len(chunk)
            self.stats.embedded += misses
            self.stats.cached += len(chunk) - misses
            self.stats.sections += len(chunk)
            written += self.index.upsert(
                VectorPoint(item.node_id, vector, source=item.source, heading=item.heading, kind=item.kind)
                for item, vector in zip(chunk, vectors, strict=True)
            )
        return written


def _cache_misses(embedder: Embedder) -> int | None:
    stats = getattr(embedder, "stats", None)
    misses = getattr(stats, "misses", None)
    return misses if isinstance(misses, int) else None
