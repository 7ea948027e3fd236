"""Every retrieval knob in one object, with named presets.

    >>> preset("default").rrf_k
    10
    >>> preset("keyword-heavy").bm25_weight > preset("keyword-heavy").dense_weight
    True

Hybrid search takes ``candidates`` hits from each retriever (dense vectors and
the graph store's BM25 index), fuses them by weighted reciprocal rank
(``weight / (rrf_k + rank)``), multiplies the fused score of sections linked to
the services in play (named in the query or given as a filter) by
``1 + service_boost`` and of those linked to their dependency neighbourhood by
``1 + neighbour_boost``, and of those whose document title (a runbook's alert
name, camelCase split) shares words with the query by up to ``1 + title_words_boost``,
then keeps the best ``per_document`` sections of each document.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from graph.errors import ConfigError

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")


class RetrievalConfig(BaseModel):
    """Knobs of :class:`retrieval.search.Searcher`; build one with :func:`preset` and ``model_copy``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "default"
    #: hits taken from each retriever before fusion
    candidates: int = Field(default=50, ge=1, le=1000)
    #: the reciprocal-rank constant; larger flattens the difference between ranks (10 measured best on
    #: the OpenShift question set, docs/retrieval-eval.md; the textbook 60 gave MRR@10 0.825 against 0.831)
    rrf_k: int = Field(default=10, ge=1)
    dense_weight: float = Field(default=1.0, ge=0)
    bm25_weight: float = Field(default=1.0, ge=0)
    #: extra weight of a section whose document is linked to a service in play
    service_boost: float = Field(default=0.5, ge=0)
    #: extra weight when linked to a dependency or caller of a service in play
    neighbour_boost: float = Field(default=0.2, ge=0)
    #: hops of the dependency neighbourhood that ``neighbour_boost`` reaches
    neighbour_depth: int = Field(default=1, ge=0, le=3)
    #: sections kept per document in the result
    per_document: int = Field(default=1, ge=1)
    #: a document title (a runbook's alert name) that appears in the query scores this extra fused weight
    title_boost: float = Field(default=0.3, ge=0)
    #: otherwise, the extra fused weight of a document whose title words all appear in the query (a share
    #: of them, each weighted by its rarity among the candidates' titles, a share of it): an alert name such
    #: as ``CephMonQuorumLost`` is a summary of its runbook (0.3 measured on the OpenShift question set,
    #: docs/retrieval-eval.md)
    title_words_boost: float = Field(default=0.3, ge=0)
    #: share of the scores of a document's other matching sections added to its best section's score
    section_support: float = Field(default=0.0, ge=0, le=1)


PRESETS: dict[str, RetrievalConfig] = {
    "default": RetrievalConfig(),
    # for short queries full of identifiers (error strings, metric names)
    "keyword-heavy": RetrievalConfig(name="keyword-heavy", dense_weight=0.7, bm25_weight=1.3),
    # for questions in the engineer's own words
    "semantic-heavy": RetrievalConfig(name="semantic-heavy", dense_weight=1.3, bm25_weight=0.7),
    # more context per answer: two sections of each document, deeper candidate lists
    "broad": RetrievalConfig(name="broad", candidates=100, per_document=2, neighbour_depth=2),
}


def preset(name: str = "default") -> RetrievalConfig:
    """The named preset; unknown names raise ``ConfigError`` listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"retrieval preset {name!r}: expected one of {', '.join(sorted(PRESETS))}") from None
