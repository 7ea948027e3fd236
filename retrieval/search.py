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

import functools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
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
    node_id: str
    document: Node | None
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)
    boosts: list[str] = field(default_factory=list)
    services: tuple[str, ...] = ()
    #: read from the store only when needed (the final hits, or a ``since`` filter)
    node: Node | None = None

    @property
    def document_id(self) -> str:
        return self.document.id if self.document else self.node_id


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
        self._pool: ThreadPoolExecutor | None = None

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
        candidates = self._candidates(self._retrieve(query, mode, self.config.candidates))
        candidates = [c for c in candidates if _kind(c) in kinds] if kinds else candidates
        if since:
            self._hydrate(candidates)
            candidates = [c for c in candidates if c.node is not None and _when(c) >= since]
        in_play = self.catalog.resolve(service) if service else []
        focus: list[str] = []
        if mode == "hybrid" or in_play:
            focus = list(dict.fromkeys([*in_play, *self.catalog.named_in(query)]))
            candidates = self._rank_with_graph(query, candidates, focus, in_play, only_service)
        return self._top(candidates, k, linked=bool(focus))

    # retrievers -------------------------------------------------------------------
    def _retrieve(self, query: str, mode: Mode, limit: int) -> dict[str, list[str]]:
        """Each retriever's ranked ids; in hybrid mode the keyword search runs beside the query embedding."""
        if mode == "dense":
            return {"dense": self._dense(query, limit)}
        if mode == "bm25":
            return {"bm25": self._bm25(query, limit)}
        keyword = self._worker().submit(self._bm25, query, limit)
        try:
            dense = self._dense(query, limit)
        except BaseException:
            wait([keyword])  # the store is not left in use by a search that has returned
            raise
        return {"dense": dense, "bm25": keyword.result()}

    def _worker(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidya-keyword-search")
        return self._pool

    def _bm25(self, query: str, limit: int) -> list[str]:
        return [hit.node_id for hit in self.store.search_text(query, labels=[NodeLabel.SECTION], limit=limit)]

    def _dense(self, query: str, limit: int) -> list[str]:
        if self.index is None or self.embedder is None:
            raise ConfigError("search: dense retrieval needs the vector index and the embedding model (neither is configured)")
        return [hit.node_id for hit in self.index.search(self.embedder.embed_query(query), limit=limit)]

    def _candidates(self, ranked: dict[str, list[str]]) -> list[_Candidate]:
        """Fused scores, each with its document; the sections themselves are read later, for the hits only."""
        cfg = self.config
        weights = {"dense": cfg.dense_weight, "bm25": cfg.bm25_weight}
        scores: dict[str, float] = defaultdict(float)
        ranks: dict[str, dict[str, int]] = defaultdict(dict)
        single = len(ranked) == 1
        for name, ids in ranked.items():
            for rank, node_id in enumerate(ids, start=1):
                ranks[node_id][name] = rank
                scores[node_id] += 1.0 / (cfg.rrf_k + rank) * (1.0 if single else weights[name])
        documents = self.store.parents(list(scores), RelType.HAS_SECTION)
        return [_Candidate(node_id, documents.get(node_id), score, ranks[node_id]) for node_id, score in scores.items()]

    def _hydrate(self, candidates: list[_Candidate]) -> None:
        """Read the section node of each candidate that lacks it; a deleted or retired one keeps ``None``."""
        missing = [c for c in candidates if c.node is None]
        nodes = {n.id: n for n in self.store.get_nodes(c.node_id for c in missing) if n.retired_at is None}
        for c in missing:
            c.node = nodes.get(c.node_id)

    # graph-aware ranking ----------------------------------------------------------
    def _rank_with_graph(
        self, query: str, candidates: list[_Candidate], focus: list[str], in_play: list[str], only_service: bool
    ) -> list[_Candidate]:
        cfg = self.config
        near = self.catalog.neighbourhood(focus, cfg.neighbour_depth) if focus else set()
        if focus:
            _link(self.store, candidates)
        kept: list[_Candidate] = []
        lowered = query.lower()
        shares = title_shares({c.document_id: _title(c) for c in candidates}, query_words(query))
        for c in candidates:
            linked = set(c.services)
            if linked & set(focus):
                c.score *= 1 + cfg.service_boost
                c.boosts.append("service")
            elif linked & near:
                c.score *= 1 + cfg.neighbour_boost
                c.boosts.append("neighbour")
            elif only_service and in_play:
                continue
            title = _title(c)
            if len(title) >= 4 and title.lower() in lowered:
                c.score *= 1 + cfg.title_boost
                c.boosts.append("title")
            elif cfg.title_words_boost and (share := shares[c.document_id]):
                c.score *= 1 + cfg.title_words_boost * share
                c.boosts.append("title words")
            kept.append(c)
        return kept

    def _top(self, candidates: list[_Candidate], k: int, *, linked: bool) -> list[SearchHit]:
        support = self.config.section_support
        if support:
            totals: dict[str, float] = defaultdict(float)
            best: dict[str, float] = defaultdict(float)
            for c in candidates:
                totals[c.document_id] += c.score
                best[c.document_id] = max(best[c.document_id], c.score)
            for c in candidates:
                c.score += support * (totals[c.document_id] - best[c.document_id])
        candidates.sort(key=lambda c: (-c.score, c.node_id))
        per_doc: dict[str, int] = defaultdict(int)
        chosen: list[_Candidate] = []
        for start in range(0, len(candidates), _READ_AHEAD * k):
            chunk = candidates[start : start + _READ_AHEAD * k]
            self._hydrate(chunk)  # only the leading candidates are read; a section gone since indexing is skipped
            for c in chunk:
                if c.node is None or per_doc[c.document_id] >= self.config.per_document:
                    continue
                per_doc[c.document_id] += 1
                chosen.append(c)
                if len(chosen) == k:
                    break
            if len(chosen) == k:
                break
        if not linked:
            _link(self.store, chosen)
        return [_hit(rank, c) for rank, c in enumerate(chosen, start=1)]


#: candidates read per search round, as a multiple of ``k`` (more rounds only when sections have gone)
_READ_AHEAD = 2


def _link(store: GraphStore, candidates: list[_Candidate]) -> None:
    """Set each candidate's ``services``: what its document or the section itself is linked to."""
    links = document_links(store, {c.document_id for c in candidates} | {c.node_id for c in candidates})
    for c in candidates:
        c.services = tuple(sorted(links.get(c.document_id, set()) | links.get(c.node_id, set())))


def query_words(text: str) -> set[str]:
    """The words of ``text``, lower-cased and without a plural ``s``; camelCase and dotted identifiers split too.

    >>> sorted(query_words("storageClassName on nodes"))
    ['class', 'name', 'node', 'on', 'storage', 'storageclassname']
    """
    return {_singular(w) for w in _WORD.findall(text)} | {_singular(w) for w in _CAMEL.findall(text)}


def title_shares(titles: Mapping[str, str], words: set[str]) -> dict[str, float]:
    """For each document id, the weighted share of its title's words found in ``words``.

    A title's words are camelCase split, three letters or more. Each counts by
    its rarity among the titles given (``log(1 + (n - df + 0.5) / (df + 0.5))``,
    BM25's idf over the ``n`` titles): among Ceph runbooks "ceph" says little,
    "restarted" much.

    >>> shares = title_shares({"a": "CephMonQuorumLost", "b": "CephOSDDown"}, query_words("one ceph mon left"))
    >>> round(shares["a"], 3), round(shares["b"], 3)
    (0.387, 0.116)
    """
    parts = {doc: _title_words(title) for doc, title in titles.items()}
    df = Counter(w for words_of in parts.values() for w in set(words_of))
    n = len(parts)
    idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}
    return {
        doc: sum(idf[w] for w in ws if w in words) / total if (total := sum(idf[w] for w in ws)) else 0.0
        for doc, ws in parts.items()
    }


@functools.lru_cache(maxsize=65536)
def _title_words(title: str) -> tuple[str, ...]:
    """A title's words that count (a title recurs in many searches, so they are kept)."""
    return tuple(_singular(w) for w in _CAMEL.findall(title) if len(w) >= 3)


_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def _singular(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _title(c: _Candidate) -> str:
    return (c.document.name or "") if c.document else ""


def _kind(c: _Candidate) -> str:
    return DOCUMENT_KINDS.get(c.document.label, "document") if c.document else "document"


def _when(c: _Candidate) -> datetime:
    doc = c.document
    assert c.node is not None  # hydrated before the filter
    return (doc.at if doc and doc.at else None) or c.node.provenance.ingested_at


def _hit(rank: int, c: _Candidate) -> SearchHit:
    node = c.node
    assert node is not None  # only hydrated candidates become hits
    return SearchHit(
        rank=rank, node_id=node.id, document_id=c.document_id, source=node.provenance.source,
        heading=node.name or str(node.props.get("heading") or ""), kind=_kind(c), text=str(node.props.get("text") or ""),
        score=c.score, dense_rank=c.ranks.get("dense"), bm25_rank=c.ranks.get("bm25"), services=c.services,
        boosts=tuple(c.boosts),
    )
