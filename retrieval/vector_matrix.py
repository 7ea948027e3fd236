"""An in-memory copy of a local-mode collection's vectors, for fast brute-force search.

Qdrant's local mode answers a query by re-normalising every stored vector,
sorting all scores and deep-copying the payload of each hit, which costs tens
of milliseconds at ten thousand points. A local-mode directory has exactly one
writer (this process holds its lock), so :class:`retrieval.vector_index.VectorIndex`
keeps this matrix of unit vectors beside it, loaded on the first search and
kept in step by every write it makes::

    >>> matrix = VectorMatrix(dim=2)
    >>> matrix.load([("a", [1.0, 0.0], "x.md"), ("b", [0.0, 2.0], "y.md")])
    >>> matrix.search([0.1, 0.9], limit=1)
    [('b', 0.9938837...)]
    >>> matrix.delete_source("y.md")
    >>> [node for node, _ in matrix.search([0.1, 0.9], limit=2)]
    ['a']

Search is one matrix-vector product (on the calling thread) and a partial sort of the scores.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

_EPSILON = 1e-12


def _dot(matrix: np.ndarray[Any, Any], vector: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``matrix @ vector`` on the calling thread.

    BLAS splits a matrix-vector product this size over every core and its idle
    workers then spin: at 10,000 rows that cost about as much CPU as the rest of
    a search, to save a millisecond. numpy's own loop is single-threaded and as
    fast (so is :func:`_unit`, for the same reason).
    """
    scores: np.ndarray[Any, Any] = np.einsum("ij,j->i", matrix, vector)
    return scores


def _unit(vector: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    norm = float(np.sqrt(np.einsum("i,i", vector, vector)))
    unit: np.ndarray[Any, Any] = vector / max(norm, _EPSILON)
    return unit


class VectorMatrix:
    """Unit vectors by node id, with each one's source; rows of deleted nodes are reused lazily."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._rows: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._sources: list[str] = []
        self._data: np.ndarray[Any, Any] = np.zeros((0, dim), dtype=np.float32)
        self._live: np.ndarray[Any, Any] = np.zeros(0, dtype=bool)
        self._pending: list[np.ndarray[Any, Any]] = []
        self._dirty = False

    def __len__(self) -> int:
        return len(self._rows)

    def load(self, points: Iterable[tuple[str, Sequence[float], str]]) -> None:
        """Add or replace ``(node_id, vector, source)`` points."""
        for node_id, vector, source in points:
            row = np.asarray(vector, dtype=np.float32)
            row = _unit(row)
            at = self._rows.get(node_id)
            if at is None:
                self._rows[node_id] = len(self._ids)
                self._ids.append(node_id)
                self._sources.append(source)
                self._pending.append(row)
                self._dirty = True
            else:
                self._sources[at] = source
                self._flush()  # the row may still be pending, and compaction may move it
                self._data[self._rows[node_id]] = row

    def delete(self, node_ids: Collection[str]) -> None:
        for node_id in node_ids:
            at = self._rows.pop(node_id, None)
            if at is not None:
                self._ids[at] = None
                self._dirty = True

    def delete_source(self, source: str) -> None:
        self.delete([node for node, src in zip(self._ids, self._sources, strict=True) if node is not None and src == source])

    def search(
        self, vector: Sequence[float], limit: int, only: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``limit`` nearest node ids and cosine similarities, best first (only among ``only`` when given)."""
        self._flush()
        query = np.asarray(vector, dtype=np.float32)
        query = _unit(query)
        if only is not None:
            rows = np.fromiter((self._rows[n] for n in only if n in self._rows), dtype=np.int64)
            scores = _dot(self._data[rows], query)
        else:
            rows = np.flatnonzero(self._live)
            scores = _dot(self._data, query)
            scores = scores[rows] if len(rows) < len(self._live) else scores
        best = np.argpartition(-scores, limit)[:limit] if limit < len(scores) else np.arange(len(scores))
        best = best[np.lexsort((rows[best], -scores[best]))]
        return [(str(self._ids[rows[i]]), float(scores[i])) for i in best]

    def _flush(self) -> None:
        """Append the rows added since the last search, drop deleted rows once they outnumber live ones."""
        if self._pending:
            self._data = np.vstack([self._data, *self._pending])
            self._pending = []
        if not self._dirty:
            return
        self._dirty = False
        live = np.fromiter((node is not None for node in self._ids), dtype=bool, count=len(self._ids))
        if len(self._ids) - len(self._rows) > max(1024, len(self._rows)):
            self._data = self._data[live]
            self._sources = [src for src, keep in zip(self._sources, live, strict=True) if keep]
            self._ids = [node for node in self._ids if node is not None]
            self._rows = {node: at for at, node in enumerate(self._ids) if node is not None}
            live = np.ones(len(self._ids), dtype=bool)
        self._live = live
