"""The ONNX Runtime embedding backend: the bundled model exported once to ONNX, then run without torch.

The exported graph includes the model's mean pooling and L2 normalisation, so one
``InferenceSession.run`` turns word pieces into the final vector; the tokenizer is
the model's own ``tokenizer.json`` (Hugging Face ``tokenizers``). A query is one
unpadded encode and one run, without sentence-transformers' per-call overhead::

    >>> model = OnnxEmbedder(export_dir=models_dir)  # e.g. Path(".vidya/embeddings/models")
    >>> vector = model.embed_query("pods keep restarting after the upgrade")
    >>> len(vector), model.name
    (384, 'sentence-transformers/all-MiniLM-L6-v2')

Its vectors match the torch backend's to a cosine of 0.9999 or more, so both share
one name (and so cache entries and vector collections). Exporting needs torch,
transformers and ``onnx`` (see :mod:`retrieval.embedding_export`); running needs
only ``onnxruntime``, ``tokenizers`` and numpy.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from graph.errors import ConfigError
from retrieval.embedding_export import INPUT_NAMES, export_onnx
from retrieval.embeddings import DEFAULT_MODEL, EmbedderUnavailable, bundled_model_path, configured_dim

ONNX_HINT = "`pip install onnxruntime onnx` (the onnx embedding backend)"
#: word pieces read per text when the model does not say (sentence-transformers' ``max_seq_length``)
MAX_TOKENS = 256


class OnnxEmbedder:
    """A sentence-transformers model run by ONNX Runtime on the CPU, exported on first use.

    ``export_dir`` is where exported models are cached (one directory per model
    and export version, written atomically and checked before use). Each run of
    the model uses one thread: a query is one short sequence, for which ONNX
    Runtime's intra-op threads cost more in hand-offs than they save, and a
    search embeds its query while its keyword search has the other core.
    Documents are embedded ``threads`` batches at a time instead (``None``: one
    per core). Nothing is exported, imported or loaded until the first text is
    embedded.
    """

    backend = "onnx"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        export_dir: Path,
        name: str | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"embedding batch_size: expected a positive integer, got {batch_size}")
        if threads is not None and threads < 1:
            raise ConfigError(f"embedding threads: expected a positive integer, got {threads}")
        self._model_path = model_path
        self._name = name or (model_path.name if model_path else DEFAULT_MODEL)
        self.export_dir = export_dir
        self.batch_size = batch_size
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
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
        """Read from the model's pooling config when it has one, so asking exports and loads nothing."""
        if self._dim is None:
            self._dim = configured_dim(self.model_path)
        if self._dim is None:
            self._load()
            assert self._dim is not None
        return self._dim

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads per text; the rest of a longer text is ignored."""
        return max_tokens(self.model_path)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        session, tokenizer = self._load()
        workers = self.threads or _cores()
        # a batch is padded to its longest text: batching texts of similar length (by characters, a
        # cheap stand-in for word pieces) wastes little work on padding; the result keeps input order.
        # A few texts are split so that every worker has a batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = min(self.batch_size, -(-len(order) // workers))
        batches = [order[start : start + size] for start in range(0, len(order), size)]
        encoded = [tokenizer.encode_batch([texts[i] for i in batch]) for batch in batches]

        def run(encodings: list[Any]) -> list[list[float]]:
            return self._run(session, [e.ids for e in encodings], [e.attention_mask for e in encodings])

        if len(batches) == 1:
            results = [run(encoded[0])]
        else:  # ONNX Runtime runs one session from several threads at once, without the GIL
            with ThreadPoolExecutor(max_workers=min(workers, len(batches)), thread_name_prefix="vidya-embed") as pool:
                results = list(pool.map(run, encoded))
        rows: list[list[float]] = [[] for _ in texts]
        for batch, vectors in zip(batches, results, strict=True):
            for i, vector in zip(batch, vectors, strict=True):
                rows[i] = vector
        return rows

    def embed_query(self, text: str) -> list[float]:
        session, tokenizer = self._load()
        encoding = tokenizer.encode(text)  # one text: no padding
        return self._run(session, [encoding.ids], [encoding.attention_mask])[0]

    def _run(self, session: Any, ids: list[list[int]], mask: list[list[int]]) -> list[list[float]]:
        import numpy as np

        input_ids = np.asarray(ids, dtype=np.int64)
        feeds = {
            INPUT_NAMES[0]: input_ids,
            INPUT_NAMES[1]: np.asarray(mask, dtype=np.int64),
            INPUT_NAMES[2]: np.zeros_like(input_ids),
        }
        (vectors,) = session.run(None, feeds)
        rows: list[list[float]] = vectors.astype("float32").tolist()
        return rows

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                self._tokenizer = _tokenizer(self.model_path)
                self._session = self._open_session()
                self._dim = int(self._session.get_outputs()[0].shape[-1])
            return self._session, self._tokenizer

    def _open_session(self) -> Any:
        try:
            import onnxruntime as ort
        except ImportError:
            raise EmbedderUnavailable(f"onnxruntime is not installed (the onnx embedding backend); {ONNX_HINT}") from None
        path = export_onnx(self.model_path, self.export_dir, self.name)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # one thread per run, the caller's: no pool threads to wake, hand work to or leave spinning
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no optimizer notices on the CLI's stderr
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EmbedderUnavailable(f"{path}: ONNX Runtime could not load the exported model: {exc}") from exc


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def max_tokens(model_path: Path) -> int:
    """The model's ``max_seq_length`` from ``sentence_bert_config.json`` (256 when it has none)."""
    try:
        value = json.loads((model_path / "sentence_bert_config.json").read_text(encoding="utf-8")).get("max_seq_length")
    except (OSError, ValueError):
        return MAX_TOKENS
    return value if isinstance(value, int) and value > 0 else MAX_TOKENS


def _tokenizer(model_path: Path) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise EmbedderUnavailable(f"tokenizers is not installed (needed for the onnx embedding backend); {ONNX_HINT}") from None
    path = model_path / "tokenizer.json"
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception subclasses
        raise EmbedderUnavailable(f"{path}: the model's tokenizer could not be read: {exc}") from exc
    tokenizer.enable_truncation(max_length=max_tokens(model_path))
    padding = tokenizer.padding or {}
    # pad to the longest text of a batch (tokenizer.json may ask for a fixed length)
    tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]"))
    return tokenizer
