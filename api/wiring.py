"""Builds the components a command or request needs from :class:`api.settings.Settings`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from api.settings import Settings
from graph.errors import ConfigError
from graph.factory import open_store
from graph.store import GraphStore
from retrieval.config import preset
from retrieval.embedding_backends import open_backend
from retrieval.embeddings import CachedEmbedder
from retrieval.search import Searcher
from retrieval.vector_index import VectorIndex


def open_graph(settings: Settings) -> GraphStore:
    """Open the configured graph store, creating its schema if needed."""
    return open_store(settings.graph_config())


def open_embedder(settings: Settings) -> CachedEmbedder:
    """The configured model and backend behind the content-hash cache (the model loads on first use)."""
    model = Path(settings.embedding_model) if settings.embedding_model else None
    if model is not None and not model.is_dir():
        raise ConfigError(f"setting VIDYA_EMBEDDING_MODEL: {model} is not a directory of a sentence-transformers model")
    cache = settings.embedding_cache
    inner = open_backend(settings.embedding_backend, model, export_dir=cache / "models", threads=settings.embedding_threads)
    return CachedEmbedder(inner, cache)


def open_vector_index(settings: Settings, dim: int) -> VectorIndex:
    """Qdrant at ``VIDYA_QDRANT_URL``, else local mode under the data directory."""
    if settings.qdrant_url:
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return VectorIndex(dim, url=settings.qdrant_url, api_key=key, collection=settings.qdrant_collection)
    return VectorIndex(dim, path=settings.vector_path, collection=settings.qdrant_collection)


@contextmanager
def retrieval_components(settings: Settings) -> Iterator[tuple[GraphStore, VectorIndex, CachedEmbedder]]:
    """The graph, the vector index and the embedder, closed (in reverse) on exit."""
    with ExitStack() as stack:
        store = open_graph(settings)
        stack.callback(store.close)
        embedder = open_embedder(settings)
        stack.callback(embedder.close)
        index = open_vector_index(settings, embedder.dim)
        stack.callback(index.close)
        yield store, index, embedder


@contextmanager
def open_searcher(settings: Settings, preset_name: str | None = None) -> Iterator[Searcher]:
    """A :class:`retrieval.search.Searcher` over the configured stores; ``preset_name`` overrides the setting."""
    config = preset(preset_name or settings.retrieval_preset)
    with retrieval_components(settings) as (store, index, embedder):
        yield Searcher(store, index, embedder, config)
