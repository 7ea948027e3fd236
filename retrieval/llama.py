"""A llama-index retriever over Vidya's hybrid search (needs the ``llama`` extra: ``llama-index-core``).

    from retrieval.llama import VidyaRetriever
    retriever = VidyaRetriever(searcher, k=5, service="checkout")
    for result in retriever.retrieve("checkout p99 latency is high"):
        print(result.score, result.node.metadata["source"], result.node.metadata["heading"])

Each result is a ``NodeWithScore`` whose ``TextNode`` has the section's graph
id as its id, the section text, and metadata: ``source`` (path relative to the
ingest root), ``heading``, ``document_id``, ``kind``, ``services`` and the
dense/BM25 ranks. A query engine or agent built on llama-index can use it like
any other retriever.
"""

from __future__ import annotations

from typing import Any

from graph.errors import VidyaError
from retrieval.config import Mode
from retrieval.search import Searcher, SearchHit

try:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise VidyaError("the llama-index retriever needs llama-index-core: pip install 'vidya[llama]'") from exc


def to_node(hit: SearchHit) -> NodeWithScore:
    """A search hit as a llama-index ``NodeWithScore``."""
    metadata: dict[str, Any] = {
        "source": hit.source, "heading": hit.heading, "document_id": hit.document_id, "kind": hit.kind,
        "services": list(hit.services), "dense_rank": hit.dense_rank, "bm25_rank": hit.bm25_rank, "rank": hit.rank,
    }
    node = TextNode(id_=hit.node_id, text=hit.text, metadata=metadata,
                    excluded_embed_metadata_keys=list(metadata), excluded_llm_metadata_keys=["services", "dense_rank",
                                                                                             "bm25_rank", "rank"])
    return NodeWithScore(node=node, score=hit.score)


class VidyaRetriever(BaseRetriever):  # type: ignore[misc, unused-ignore]
    """Retrieves runbook and postmortem sections through a :class:`retrieval.search.Searcher`."""

    def __init__(self, searcher: Searcher, *, k: int = 5, mode: Mode = "hybrid", service: str | None = None) -> None:
        super().__init__()
        self._searcher = searcher
        self._k = k
        self._mode = mode
        self._service = service

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._searcher.search(query_bundle.query_str, k=self._k, mode=self._mode, service=self._service)
        return [to_node(hit) for hit in hits]
