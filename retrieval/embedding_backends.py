"""Chooses the embedding backend by name: ``torch`` (sentence-transformers) or ``onnx`` (ONNX Runtime).

    >>> model = open_backend("onnx", None, export_dir=models_dir)  # e.g. Path(".vidya/embeddings/models")
    >>> model.name, type(model).__name__
    ('sentence-transformers/all-MiniLM-L6-v2', 'OnnxEmbedder')

Both give the same model's vectors (cosine >= 0.9999 on the runbook corpus) under
the same name, so they share cache entries and vector collections; ``onnx`` runs
without torch once the model is exported and embeds a query several times faster.
"""

from __future__ import annotations

from pathlib import Path

from graph.errors import ConfigError
from retrieval.embedding_onnx import OnnxEmbedder
from retrieval.embeddings import Embedder, SentenceTransformerEmbedder

#: the values of ``VIDYA_EMBEDDING_BACKEND``; the first is the default
BACKENDS = ("onnx", "torch")
DEFAULT_BACKEND = BACKENDS[0]


def open_backend(backend: str, model_path: Path | None, *, export_dir: Path, threads: int | None = None) -> Embedder:
    """The embedder of ``backend`` for ``model_path`` (the bundled model when ``None``); loads nothing yet.

    ``export_dir`` caches the ONNX export (unused by ``torch``); an unknown name is a
    :class:`ConfigError` naming the setting and the allowed values.
    """
    name = backend.strip().lower()
    if name == "torch":
        return SentenceTransformerEmbedder(model_path, threads=threads)
    if name == "onnx":
        return OnnxEmbedder(model_path, export_dir=export_dir, threads=threads)
    allowed = ", ".join(BACKENDS)
    raise ConfigError(f"setting VIDYA_EMBEDDING_BACKEND: unknown embedding backend {backend!r}; expected one of {allowed}")
