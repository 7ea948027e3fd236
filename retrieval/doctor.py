"""Find and repair drift between the graph's sections and the vector index.

The graph is the record: every current ``Section`` node should have exactly one
point, and no point should outlive its section. Drift happens when a process
dies between a source's graph transaction and its vector writes, or when the
vector index is deleted or swapped::

    drift = check(store, index)
    if not drift.clean:
        repair(store, index, embedder, drift)   # embeds the missing (cache first), deletes the orphans
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from retrieval.embeddings import Embedder
from retrieval.indexer import IndexItem, SectionIndexer, section_item
from retrieval.vector_index import VectorIndex

_READ_CHUNK = 2000


@dataclass(slots=True)
class Drift:
    """Sections without a point (``missing``) and points without a current section (``orphans``)."""

    sections: int
    points: int
    missing: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.missing and not self.orphans

    def as_json(self) -> dict[str, object]:
        return {
            "clean": self.clean, "sections": self.sections, "points": self.points,
            "missing": len(self.missing), "orphans": len(self.orphans),
            "missing_ids": self.missing[:50], "orphan_ids": self.orphans[:50],
        }


def section_ids(store: GraphStore) -> set[str]:
    """Ids of every current section in the graph."""
    return {node.id for node in store.find_nodes(NodeLabel.SECTION, limit=100_000_000)}


def check(store: GraphStore, index: VectorIndex) -> Drift:
    """Compare the graph's current sections with the index's points."""
    sections = section_ids(store)
    points = index.node_ids()
    return Drift(len(sections), len(points), sorted(sections - points), sorted(points - sections))


def load_items(store: GraphStore, ids: list[str]) -> list[IndexItem]:
    """Index items of the sections ``ids``, read back from the graph."""
    items: list[IndexItem] = []
    for start in range(0, len(ids), _READ_CHUNK):
        chunk = ids[start : start + _READ_CHUNK]
        parents = {section: doc.id for section, doc in store.parents(chunk, RelType.HAS_SECTION).items()}
        for node in store.get_nodes(chunk):
            item = section_item(node, parents.get(node.id))
            if item is not None:
                items.append(item)
    return items


def repair(
    store: GraphStore,
    index: VectorIndex,
    embedder: Embedder,
    drift: Drift | None = None,
    progress: Callable[[int], None] | None = None,
) -> Drift:
    """Embed and index the missing sections and delete orphan points; returns what was repaired."""
    drift = drift or check(store, index)
    if drift.orphans:
        index.delete(drift.orphans)
    indexer = SectionIndexer(embedder, index)
    for start in range(0, len(drift.missing), _READ_CHUNK):
        items = load_items(store, drift.missing[start : start + _READ_CHUNK])
        indexer.upsert(items)
        if progress:
            progress(len(items))
    return drift
