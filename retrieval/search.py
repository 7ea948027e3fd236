"""Hybrid search over runbook and postmortem sections: dense + BM25, fused, then ranked with the graph.

    searcher = Searcher(store, index, embedder)
    for hit in searcher.search("pods keep restarting after the upgrade", k=5, service="checkout"):
        print(hit.rank, hit.source, hit.heading, f"{hit.score:.3f}")

Dense candidates come from the vector index (:mod:`retrieval.vector_index`),
keyword candidates from the graph store's own BM25 index (SQLite FTS5 or a
Neo4j full-text index), so both see the same sections. They are fused by
weighted reciprocal rank; then sections whose document is linked in the graph
to a service in play (named in the query, or given as ``service``) or to its
dependency neighbourhood are boosted, and each document keeps its best
sections. The knobs are :class:`retrieval.config.RetrievalConfig`.
``mode="dense"`` and ``mode="bm25"`` return one retriever's ranking alone (no
fusion, no graph), the baselines of ``vidya eval retrieval``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graph.errors import ConfigError, VidyaError
from graph.model import Node
from graph.schema import NodeLabel, RelType
from graph.store import GraphStore
from retrieval.config import MODES, Mode, RetrievalConfig, preset
from retrieval.embeddings import Embedder
from retrieval.graph_links import Catalog, document_links
from retrieval.indexer import DOCUMENT_KINDS
from retrieval.vector_index import VectorIndex


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One section in a search result; ``source`` is its file's path relative to the ingest root."""

    rank: int
    node_id: str
    document_id: str
    source: str
    heading: str
    kind: str
    text: str
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    services: tuple[str, ...] = ()
    boosts: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "node_id": self.node_id, "document_id": self.document_id, "source": self.source,
            "heading": self.heading, "kind": self.kind, "score": round(self.score, 6), "dense_rank": self.dense_rank,
            "bm25_rank": self.bm25_rank, "services": list(self.services), "boosts": list(self.boosts), "text": self.text,
        }


@dataclass(slots=True)
class _Candidate:
    node: Node
    document: Node | None
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)
    boosts: list[str] = field(default_factory=list)
    services: tuple[str, ...] = ()

    @property
    def document_id(self) -> str:
        return self.document.id if self.document else self.node.id


class Searcher:
    """Searches one graph store and its vector index with one embedder (thread-compatible, not thread-safe)."""

    def __init__(
        self, store: GraphStore, index: VectorIndex | None, embedder: Embedder | None, config: RetrievalConfig | None = None
    ) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.config = config or preset()
        self.catalog = Catalog(store)

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: Mode = "hybrid",
        service: str | None = None,
        only_service: bool = False,
        kinds: Collection[str] | None = None,
        since: datetime | None = None,
    ) -> list[SearchHit]:
        """The best ``k`` sections for ``query`` (at most ``config.per_document`` per document), best first."""
        if not query.strip():
            raise VidyaError("search: the query is empty (expected some words, an error line or a question)")
        if mode not in MODES:
            raise ConfigError(f"search mode {mode!r}: expected one of {', '.join(MODES)}")
        if k < 1:
            raise ConfigError(f"search: k must be a positive integer, got {k}")
        cfg = self.config
        ranked: dict[str, list[str]] = {}
        if mode in ("hybrid", "dense"):
            ranked["dense"] = self._dense(query, cfg.candidates)
        if mode in ("hybrid", "bm25"):
            found = self.store.search_text(query, labels=[NodeLabel.SECTION], limit=cfg.candidates)
            ranked["bm25"] = [hit.node_id for hit in found]
        candidates = self._candidates(ranked)
        candidates = [c for c in candidates if _kind(c) in kinds] if kinds else candidates
        candidates = [c for c in candidates if _when(c) >= since] if since else candidates
        in_play = self.catalog.resolve(service) if service else []
        if mode == "hybrid" or in_play:
            candidates = self._rank_with_graph(query, candidates, in_play, only_service)
        return self._top(candidates, k)

    # retrievers -------------------------------------------------------------------
    def _dense(self, query: str, limit: int) -> list[str]:
        if self.index is None or self.embedder is None:
            raise ConfigError("search: dense retrieval needs the vector index and the embedding model (neither is configured)")
        return [hit.node_id for hit in self.index.search(self.embedder.embed_query(query), limit=limit)]

    def _candidates(self, ranked: dict[str, list[str]]) -> list[_Candidate]:
        cfg = self.config
        weights = {"dense": cfg.dense_weight, "bm25": cfg.bm25_weight}
        scores: dict[str, float] = defaultdict(float)
        ranks: dict[str, dict[str, int]] = defaultdict(dict)
        single = len(ranked) == 1
        for name, ids in ranked.items():
            for rank, node_id in enumerate(ids, start=1):
                ranks[node_id][name] = rank
                scores[node_id] += 1.0 / (cfg.rrf_k + rank) * (1.0 if single else weights[name])
        nodes = {n.id: n for n in self.store.get_nodes(scores) if n.retired_at is None}
        parents = {e.dst: e.src for e in self.store.incident_edges(list(nodes), "in", [RelType.HAS_SECTION])}
        documents = {n.id: n for n in self.store.get_nodes(set(parents.values()))}
        return [
            _Candidate(node, documents.get(parents.get(node_id, "")), scores[node_id], ranks[node_id])
            for node_id, node in nodes.items()
        ]

    # graph-aware ranking ----------------------------------------------------------
    def _rank_with_graph(
        self, query: str, candidates: list[_Candidate], in_play: list[str], only_service: bool
    ) -> list[_Candidate]:
        cfg = self.config
        named = self.catalog.named_in(query)
        focus = list(dict.fromkeys([*in_play, *named]))
        near = self.catalog.neighbourhood(focus, cfg.neighbour_depth) if focus else set()
        links = document_links(self.store, {c.document_id for c in candidates} | {c.node.id for c in candidates})
        kept: list[_Candidate] = []
        lowered = query.lower()
        for c in candidates:
            linked = links.get(c.document_id, set()) | links.get(c.node.id, set())
            c.services = tuple(sorted(linked))
            if linked & set(focus):
                c.score *= 1 + cfg.service_boost
                c.boosts.append("service")
            elif linked & near:
                c.score *= 1 + cfg.neighbour_boost
                c.boosts.append("neighbour")
            elif only_service and in_play:
                continue
            title = (c.document.name or "") if c.document else ""
            if len(title) >= 4 and title.lower() in lowered:
                c.score *= 1 + cfg.title_boost
                c.boosts.append("title")
            kept.append(c)
        return kept

    def _top(self, candidates: list[_Candidate], k: int) -> list[SearchHit]:
        support = self.config.section_support
        if support:
            totals: dict[str, float] = defaultdict(float)
            best: dict[str, float] = defaultdict(float)
            for c in candidates:
                totals[c.document_id] += c.score
                best[c.document_id] = max(best[c.document_id], c.score)
            for c in candidates:
                c.score += support * (totals[c.document_id] - best[c.document_id])
        candidates.sort(key=lambda c: (-c.score, c.node.id))
        per_doc: dict[str, int] = defaultdict(int)
        hits: list[SearchHit] = []
        for c in candidates:
            if per_doc[c.document_id] >= self.config.per_document:
                continue
            per_doc[c.document_id] += 1
            hits.append(_hit(len(hits) + 1, c))
            if len(hits) == k:
                break
        return hits


def _kind(c: _Candidate) -> str:
    return DOCUMENT_KINDS.get(c.document.label, "document") if c.document else "document"


def _when(c: _Candidate) -> datetime:
    doc = c.document
    return (doc.at if doc and doc.at else None) or c.node.provenance.ingested_at


def _hit(rank: int, c: _Candidate) -> SearchHit:
    node = c.node
    return SearchHit(
        rank=rank, node_id=node.id, document_id=c.document_id, source=node.provenance.source,
        heading=node.name or str(node.props.get("heading") or ""), kind=_kind(c), text=str(node.props.get("text") or ""),
        score=c.score, dense_rank=c.ranks.get("dense"), bm25_rank=c.ranks.get("bm25"), services=c.services,
        boosts=tuple(c.boosts),
    )
