"""Fuses an exported BERT-family graph with ONNX Runtime's transformer optimizer, once, at export time.

The traced graph spells attention, GELU and layer normalisation as dozens of small
operators; the optimizer rewrites each layer into ONNX Runtime's fused kernels
(``EmbedLayerNormalization``, ``Attention``, ``BiasGelu``, ``SkipLayerNormalization``).
The arithmetic is the same in fp32, so vectors stay within a cosine of 0.9999 of
the unfused graph's; a query costs less CPU and a long batch a little less::

    >>> from retrieval.embeddings import bundled_model_path
    >>> bert_shape(bundled_model_path())  # (heads, width): what the fusions need to know
    (12, 384)
    >>> fused = optimize_bert(traced_path, fused_path, bundled_model_path())  # doctest: +SKIP
    >>> fused  # doctest: +SKIP
    {'EmbedLayerNormalization': 1, 'Attention': 6, 'BiasGelu': 6, 'SkipLayerNormalization': 12}

A model that is not BERT-shaped (``model_type`` in its ``config.json``), or whose
configuration does not give the head count and width, is left unfused: the graph
is copied as it is and the result is empty.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

#: ``model_type`` values whose layers the optimizer's ``bert`` patterns match
BERT_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "electra"})
#: the optimizer's own loggers, quietened to errors while it runs (it reports each fusion at INFO)
_OPTIMIZER_LOGGERS = ("onnx_model", "onnx_model_bert", "fusion_base", "fusion_utils", "fusion_attention", "fusion_embedlayer")


def bert_shape(model_path: Path) -> tuple[int, int] | None:
    """(attention heads, hidden width) of a BERT-family model from its ``config.json``; ``None`` otherwise."""
    try:
        config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or config.get("model_type") not in BERT_TYPES:
        return None
    heads = config.get("num_attention_heads", config.get("n_heads"))
    width = config.get("hidden_size", config.get("dim"))
    if isinstance(heads, int) and isinstance(width, int) and heads > 0 and width > 0 and width % heads == 0:
        return heads, width
    return None


def optimize_bert(raw: Path, out: Path, model_path: Path) -> dict[str, int]:
    """Write the fused graph of ``raw`` to ``out``; the count of each fused operator (empty: copied unfused)."""
    shape = bert_shape(model_path)
    if shape is None:
        log.info("%s: not a BERT-family model; the ONNX export is left unfused", model_path)
        shutil.copyfile(raw, out)
        return {}
    levels = {name: logging.getLogger(name).level for name in _OPTIMIZER_LOGGERS}
    try:
        for name in _OPTIMIZER_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        return _fuse(raw, out, *shape)
    except Exception as exc:  # the optimizer raises anything; the unfused graph is still right
        log.warning("%s: ONNX Runtime's transformer optimizer failed (%s); the ONNX export is left unfused", model_path, exc)
        shutil.copyfile(raw, out)
        return {}
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _fuse(raw: Path, out: Path, heads: int, width: int) -> dict[str, int]:
    from onnxruntime.transformers import optimizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the optimizer's notices about shapes it cannot infer
        # opt_level 0: only the transformer fusions; ONNX Runtime applies its own graph optimisations at load
        model = optimizer.optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=width, opt_level=0)
        fused = {str(op): int(count) for op, count in model.get_fused_operator_statistics().items() if count}
        model.save_model_to_file(str(out))
    return fused
