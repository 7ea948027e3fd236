"""Exports a local sentence-transformers model to ONNX once, and keeps the export in a checked cache.

The graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` and returns
the mean-pooled, L2-normalised sentence vector, so a runtime needs no torch. The
export is made from the model's own files (never fetched), its transformer layers
fused by ONNX Runtime's optimizer (:mod:`retrieval.embedding_optimize`), written to a
temporary directory and renamed into place, and recorded with the SHA-256 of the
ONNX file; a directory whose file does not match, or that an older export version
wrote, is exported again::

    >>> from retrieval.embeddings import DEFAULT_MODEL, bundled_model_path
    >>> path = export_onnx(bundled_model_path(), models_dir, DEFAULT_MODEL)  # e.g. Path(".vidya/embeddings/models")
    >>> path.name
    'model.onnx'

The cache directory is keyed by the model (its name, configuration and weight
files' sizes and times) and by :data:`EXPORT_VERSION` and the ONNX opset, so a
new model or a new export format never reuses an old file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from retrieval.embedding_optimize import optimize_bert
from retrieval.embeddings import EmbedderUnavailable, offline_environment

log = logging.getLogger(__name__)

#: bump when the exported graph changes (inputs, pooling, normalisation, fusion); 2: fused by the optimizer
EXPORT_VERSION = 2
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "sentence_embedding"
EXPORT_HINT = "`pip install onnx` (needed once, to export the model for the onnx embedding backend)"
_MODEL_FILE = "model.onnx"
_TRACED_FILE = "traced.onnx"
_META_FILE = "export.json"
_KEY_FILES = ("config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def export_key(model_path: Path, name: str) -> str:
    """A directory name for the export of ``model_path``: the model's name, then a digest of what shapes the graph."""
    digest = hashlib.sha256(f"{name}\x00v{EXPORT_VERSION}\x00opset{OPSET}".encode())
    for relative in _KEY_FILES:
        path = model_path / relative
        digest.update(f"\x00{relative}\x00".encode() + (path.read_bytes() if path.is_file() else b""))
    for relative in _WEIGHT_FILES:
        path = model_path / relative
        if path.is_file():
            stat = path.stat()
            digest.update(f"\x00{relative}\x00{stat.st_size}\x00{stat.st_mtime_ns}".encode())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"
    return f"{slug}-onnx-v{EXPORT_VERSION}-{digest.hexdigest()[:16]}"


def export_onnx(model_path: Path, export_dir: Path, name: str) -> Path:
    """The path of the checked ONNX export of ``model_path`` under ``export_dir``, exporting it if needed."""
    target = export_dir / export_key(model_path, name)
    if _intact(target):
        return target / _MODEL_FILE
    if target.exists():
        log.warning("%s: the cached ONNX export is incomplete or damaged; exporting it again", target)
    require_mean_pooling(model_path)
    try:
        export_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=export_dir))
    except OSError as exc:
        raise EmbedderUnavailable(f"{export_dir}: cannot write the ONNX export there: {exc}") from exc
    try:
        log.warning("exporting the embedding model %s to ONNX (once; up to a minute) into %s", name, target)
        started = time.monotonic()
        _export(model_path, staging / _TRACED_FILE)
        fused = optimize_bert(staging / _TRACED_FILE, staging / _MODEL_FILE, model_path)
        (staging / _TRACED_FILE).unlink()
        meta = {
            "name": name,
            "export_version": EXPORT_VERSION,
            "opset": OPSET,
            "fused_operators": fused,
            "sha256": _sha256(staging / _MODEL_FILE),
        }
        (staging / _META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _replace(staging, target)
        _remove_older_versions(export_dir, target)
        fusions = ", ".join(f"{count} {op}" for op, count in fused.items()) or "none"
        log.warning("exported %s to ONNX in %.1f s (fused operators: %s)", name, time.monotonic() - started, fusions)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / _MODEL_FILE


def require_mean_pooling(model_path: Path) -> None:
    """Refuse a model whose pooling the exported graph would not reproduce (it does mean pooling only)."""
    path = model_path / "1_Pooling" / "config.json"
    try:
        pooling = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbedderUnavailable(f"{path}: the onnx embedding backend needs the model's pooling config: {exc}") from exc
    modes = {key for key, value in pooling.items() if key.startswith("pooling_mode_") and value is True}
    if modes != {"pooling_mode_mean_tokens"}:
        raise EmbedderUnavailable(
            f"{path}: the onnx embedding backend supports mean pooling only, this model uses {sorted(modes) or 'none'}; "
            "set VIDYA_EMBEDDING_BACKEND=torch"
        )


def _intact(target: Path) -> bool:
    try:
        meta = json.loads((target / _META_FILE).read_text(encoding="utf-8"))
        return bool(meta.get("export_version") == EXPORT_VERSION and meta.get("sha256") == _sha256(target / _MODEL_FILE))
    except (OSError, ValueError, AttributeError):
        return False


def _replace(staging: Path, target: Path) -> None:
    """Move the finished export into place; a damaged old one is moved aside first, a concurrent good one kept."""
    if target.exists():
        if _intact(target):
            return  # another process finished the same export first
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, aside / "export")
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.replace(staging, target)
    except OSError:
        if not _intact(target):
            raise


def _remove_older_versions(export_dir: Path, target: Path) -> None:
    """Delete this model's exports that an older export version wrote (a loaded session keeps its copy in memory)."""
    prefix = target.name.split("-onnx-v", 1)[0] + "-onnx-v"
    current = f"{prefix}{EXPORT_VERSION}-"
    for old in export_dir.glob(f"{prefix}*"):
        if old.is_dir() and not old.name.startswith(current):
            log.warning("%s: removing an ONNX export of an older export version", old)
            shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _export(model_path: Path, out: Path) -> None:
    with offline_environment():
        try:
            import onnx  # noqa: F401  (torch's exporter needs it; say so before loading the model)
            import torch
            from transformers import AutoModel
        except ImportError as exc:
            missing = (exc.name or "onnx").split(".")[0]
            raise EmbedderUnavailable(f"{missing} is not installed; {EXPORT_HINT}") from None
        try:
            model = AutoModel.from_pretrained(str(model_path), local_files_only=True, attn_implementation="eager").eval()
        except (OSError, ValueError) as exc:
            raise EmbedderUnavailable(f"{model_path}: the model could not be loaded for the ONNX export: {exc}") from exc
        # a padded batch, so the traced graph keeps the attention mask on every path
        ids = torch.ones(2, 8, dtype=torch.long)
        mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
        axes = {name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES} | {OUTPUT_NAME: {0: "batch"}}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notices about constants and the deprecated exporter
            torch.onnx.export(
                _pooled(torch, model),
                (ids, mask, torch.zeros_like(ids)),
                str(out),
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )


def _pooled(torch: Any, model: Any) -> Any:
    """The transformer followed by mean pooling over the real tokens and L2 normalisation."""

    class Pooled(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            hidden = out.last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    return Pooled()
