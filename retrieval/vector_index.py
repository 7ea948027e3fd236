"""Dense vectors of graph nodes (mostly sections) in Qdrant.

One class for both deployments: Qdrant's local mode in a directory (the embedded
default, brute-force search, one process per directory) or a Qdrant server at a
URL; only the constructor argument differs::

    >>> index = VectorIndex(dim=3, path=index_dir)  # or VectorIndex(dim=384, url="http://127.0.0.1:6333")
    >>> index.upsert([VectorPoint("section:runbooks/checkout.md#1", [0.1, 0.9, 0.0], source="runbooks/checkout.md")])
    1
    >>> [(hit.node_id, round(hit.score, 3)) for hit in index.search([0.1, 0.9, 0.0], limit=1)]
    [('section:runbooks/checkout.md#1', 1.0)]
    >>> index.close()

Point ids are ``uuid5`` of the node id, so re-indexing a node replaces its
point. The payload carries the node id, its source file (for ``delete_source``),
heading, kind, services and time, so hits can be filtered without the graph.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from graph.errors import ConfigError, RecordError, StoreUnavailable
from retrieval.qdrant_local import sync_at_checkpoints
from retrieval.vector_matrix import VectorMatrix

#: namespace of the point ids; changing it orphans every stored point
POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:vidya:vector-index")
DEFAULT_COLLECTION = "sections"
_UPSERT_BATCH = 256
_SCROLL_PAGE = 1000
_KEYWORD_FIELDS = ("node_id", "source", "kind", "services")
_INSTALL_HINT = "pip install qdrant-client"
#: the paths this process has open: a second open would fail on Qdrant's own lock
_OPEN_HERE: set[Path] = set()
#: Qdrant's local mode warns on every write to a collection this big; Vidya says so once per process instead
_LARGE_LOCAL = 20_000
_LARGE_LOCAL_WARNING = "Local mode is not recommended"
_warned_large: list[bool] = []


class VectorIndexUnavailable(StoreUnavailable):
    """The vector index could not be opened or reached (the path or URL is named)."""


class VectorIndexLocked(VectorIndexUnavailable):
    """Another process holds the local-mode directory (Qdrant allows one per directory)."""


@dataclass(frozen=True, slots=True)
class VectorPoint:
    """One node's vector and the payload stored beside it."""

    node_id: str
    vector: Sequence[float]
    source: str
    heading: str = ""
    kind: str = ""
    services: tuple[str, ...] = ()
    at: datetime | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "source": self.source,
            "heading": self.heading,
            "kind": self.kind,
            "services": list(self.services),
            "at": self.at.isoformat() if self.at else None,
        }


class VectorHit(NamedTuple):
    """A node near the query vector; ``score`` is the cosine similarity (higher is nearer)."""

    node_id: str
    score: float


def point_id(node_id: str) -> str:
    """The stable Qdrant point id of a node: ``uuid5(POINT_NAMESPACE, node_id)``."""
    return str(uuid.uuid5(POINT_NAMESPACE, node_id))


class VectorIndex:
    """A cosine-distance collection of ``dim``-long vectors, in a directory or on a Qdrant server.

    Give exactly one of ``path`` (local mode; created if missing) and ``url``. The
    collection is created on open if it does not exist; an existing one must
    have the same size and distance.
    """

    def __init__(
        self,
        dim: int,
        *,
        path: Path | None = None,
        url: str | None = None,
        api_key: str | None = None,
        collection: str = DEFAULT_COLLECTION,
        timeout: int = 10,
    ) -> None:
        if (path is None) == (url is None):
            raise ConfigError("vector index: give exactly one of a directory (local mode) or a Qdrant URL")
        if dim < 1:
            raise ConfigError(f"vector index: dim must be a positive integer, got {dim}")
        self.dim = dim
        self.collection = collection
        self.path = path.resolve() if path is not None else None
        self.url = url
        # local mode is plain Python over numpy arrays and SQLite: one caller at a time
        self._guard: AbstractContextManager[Any] = threading.RLock() if path is not None else nullcontext()
        # local mode: searched in memory (loaded on the first search, kept in step by every write here)
        self._matrix: VectorMatrix | None = None
        self._client = self._open_local(self.path) if self.path is not None else self._open_remote(url or "", api_key, timeout)
        try:
            self._ensure_collection()
        except BaseException:
            self.close()
            raise
        if self.path is not None:  # one disk sync per checkpoint, not per point
            sync_at_checkpoints(self._client, self.collection)

    # opening ----------------------------------------------------------------------
    def describe(self) -> str:
        """Where the index lives, for messages (never the API key)."""
        where = str(self.path) if self.path is not None else self.url
        return f"{where} (collection {self.collection!r})"

    def _open_local(self, path: Path) -> Any:
        QdrantClient = _client_class()
        if path in _OPEN_HERE:
            raise VectorIndexLocked(f"the vector index at {path} is already open in this process; share that VectorIndex")
        # probed first: Qdrant reads the whole collection before it takes its lock, and leaks the lock file when it fails
        if _held_elsewhere(path):
            raise _locked(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            with _quiet_large_local(path):
                client = QdrantClient(path=str(path))
        except RuntimeError as exc:
            if _held_elsewhere(path):  # taken since the probe
                raise _locked(path) from None
            raise VectorIndexUnavailable(f"the vector index at {path} could not be opened: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise VectorIndexUnavailable(f"the vector index at {path} could not be opened: {exc}") from exc
        _OPEN_HERE.add(path)
        return client

    def _open_remote(self, url: str, api_key: str | None, timeout: int) -> Any:
        QdrantClient = _client_class()
        try:
            # the client's own version check runs in a thread and warns at a random later time;
            # _check_server does it in line instead
            return QdrantClient(url=url, api_key=api_key, timeout=timeout, check_compatibility=False)
        except ValueError as exc:
            raise ConfigError(f"vector index URL {url!r}: {exc}") from exc

    def _ensure_collection(self) -> None:
        from qdrant_client import models

        try:
            if self.url is not None:
                self._check_server()
            if self._client.collection_exists(self.collection):
                self._check_collection()
                return
            self._client.create_collection(
                self.collection, vectors_config=models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
            )
            if self.url is not None:  # payload indexes only serve a server; local mode warns and ignores them
                for field in _KEYWORD_FIELDS:
                    self._client.create_payload_index(self.collection, field, models.PayloadSchemaType.KEYWORD)
        except _transport_errors() as exc:
            raise VectorIndexUnavailable(f"the Qdrant server at {self.url} could not be reached: {exc}") from exc

    def _check_server(self) -> None:
        from importlib.metadata import version

        from qdrant_client.common.version_check import is_compatible

        client, server = version("qdrant-client"), self._client.info().version
        if not is_compatible(client, server):
            warnings.warn(
                f"the Qdrant server at {self.url} runs {server}, which qdrant-client {client} may not speak "
                "(major versions must match, minor ones differ by at most 1)",
                UserWarning,
                stacklevel=4,
            )

    def _check_collection(self) -> None:
        from qdrant_client import models

        params = self._client.get_collection(self.collection).config.params.vectors
        size = getattr(params, "size", None)
        distance = getattr(getattr(params, "distance", None), "value", None)
        if size != self.dim or distance != models.Distance.COSINE.value:
            raise ConfigError(
                f"vector index {self.describe()}: holds {size}-long {distance} vectors but the embedder gives "
                f"{self.dim}-long cosine ones; use another collection or delete the index and re-ingest"
            )

    def close(self) -> None:
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            with self._guard:
                client.close()
        if self.path is not None:
            _OPEN_HERE.discard(self.path)

    def __enter__(self) -> VectorIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # writes -----------------------------------------------------------------------
    def upsert(self, points: Iterable[VectorPoint]) -> int:
        """Insert or replace the points (by node id); returns how many were written."""
        from qdrant_client import models

        written = 0
        batch: list[models.PointStruct] = []
        for point in points:
            vector = self._vector(point.node_id, point.vector)
            batch.append(models.PointStruct(id=point_id(point.node_id), vector=vector, payload=point.payload()))
            if len(batch) >= _UPSERT_BATCH:
                written += self._write(batch)
                batch = []
        return written + (self._write(batch) if batch else 0)

    def _vector(self, what: str, vector: Sequence[float]) -> list[float]:
        if len(vector) != self.dim:
            raise RecordError(f"{what}: vector has {len(vector)} dimensions, the index {self.dim}")
        return [float(x) for x in vector]

    def _write(self, batch: list[Any]) -> int:
        with self._guard, _quiet_large_local(self.path):
            self._client.upsert(self.collection, points=batch, wait=True)
            if self._matrix is not None:
                self._matrix.load((p.payload["node_id"], p.vector, p.payload["source"]) for p in batch)
        return len(batch)

    def delete(self, node_ids: Collection[str]) -> None:
        """Delete the points of these nodes; unknown ids are ignored."""
        from qdrant_client import models

        if node_ids:
            selector = models.PointIdsList(points=[point_id(node_id) for node_id in node_ids])
            with self._guard:
                self._client.delete(self.collection, points_selector=selector, wait=True)
                if self._matrix is not None:
                    self._matrix.delete(node_ids)

    def delete_source(self, source: str) -> int:
        """Delete every point whose payload ``source`` is ``source``; returns how many there were."""
        from qdrant_client import models

        selector = models.Filter(must=[models.FieldCondition(key="source", match=models.MatchValue(value=source))])
        with self._guard:
            found = int(self._client.count(self.collection, count_filter=selector, exact=True).count)
            if found:
                self._client.delete(self.collection, points_selector=models.FilterSelector(filter=selector), wait=True)
            if self._matrix is not None:
                self._matrix.delete_source(source)
        return found

    # reads ------------------------------------------------------------------------
    def search(
        self, vector: Sequence[float], limit: int = 10, filter_node_ids: Collection[str] | None = None
    ) -> list[VectorHit]:
        """The ``limit`` nearest nodes, best first; only among ``filter_node_ids`` when given.

        In local mode the search runs over an in-memory copy of the vectors
        (read from the collection on the first search; about 1.5 KiB a point).
        """
        from qdrant_client import models

        if filter_node_ids is not None and not filter_node_ids:
            return []
        if self.path is not None:
            with self._guard:
                found = self._local_matrix().search(self._vector("query", vector), limit, filter_node_ids)
            return [VectorHit(node_id, score) for node_id, score in found]
        query_filter = None
        if filter_node_ids is not None:
            query_filter = models.Filter(must=[models.HasIdCondition(has_id=[point_id(n) for n in filter_node_ids])])
        query = self._vector("query", vector)
        with self._guard:
            response = self._client.query_points(
                self.collection, query=query, limit=limit, query_filter=query_filter, with_payload=["node_id"]
            )
        return [VectorHit(str((hit.payload or {})["node_id"]), float(hit.score)) for hit in response.points]

    def _local_matrix(self) -> VectorMatrix:
        if self._matrix is None:
            matrix = VectorMatrix(self.dim)
            offset: Any = None
            while True:
                points, offset = self._client.scroll(
                    self.collection, limit=_SCROLL_PAGE, offset=offset, with_payload=["node_id", "source"], with_vectors=True
                )
                matrix.load(
                    (str(p.payload["node_id"]), p.vector, str(p.payload.get("source", ""))) for p in points if p.payload
                )
                if offset is None:
                    break
            self._matrix = matrix
        return self._matrix

    def count(self) -> int:
        with self._guard:
            return int(self._client.count(self.collection, exact=True).count)

    def ids_by_source(self) -> dict[str, set[str]]:
        """Every indexed node id grouped by its payload ``source`` (one pass over the collection)."""
        grouped: dict[str, set[str]] = {}
        offset: Any = None
        while True:
            with self._guard:
                points, offset = self._client.scroll(
                    self.collection, limit=_SCROLL_PAGE, offset=offset, with_payload=["node_id", "source"],
                    with_vectors=False,
                )
            for point in points:
                payload = point.payload or {}
                grouped.setdefault(str(payload.get("source", "")), set()).add(str(payload["node_id"]))
            if offset is None:
                return grouped

    def node_ids(self, source: str | None = None) -> set[str]:
        """Every indexed node id (of one ``source`` when given), to compare with the graph's sections."""
        from qdrant_client import models

        scroll_filter = None
        if source is not None:
            scroll_filter = models.Filter(must=[models.FieldCondition(key="source", match=models.MatchValue(value=source))])
        ids: set[str] = set()
        offset: Any = None
        while True:
            with self._guard:
                points, offset = self._client.scroll(
                    self.collection, limit=_SCROLL_PAGE, offset=offset, with_payload=["node_id"], with_vectors=False,
                    scroll_filter=scroll_filter,
                )
            ids.update(str((point.payload or {})["node_id"]) for point in points)
            if offset is None:
                return ids


@contextmanager
def _quiet_large_local(path: Path | None) -> Iterator[None]:
    """Qdrant's local mode warns on every write to a big collection; say it once per process, with the way out."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        if _LARGE_LOCAL_WARNING in str(warning.message):
            if not _warned_large:
                _warned_large.append(True)
                warnings.warn(
                    f"the vector index at {path} holds more than {_LARGE_LOCAL:,} points, more than Qdrant's local "
                    "mode is meant for (it writes slowly and keeps every vector in memory): set VIDYA_QDRANT_URL "
                    "to a Qdrant server for a collection this big",
                    UserWarning,
                    stacklevel=4,
                )
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno, source=warning.source)


def _client_class() -> Any:
    try:
        from qdrant_client import QdrantClient
    except ImportError:
        raise VectorIndexUnavailable(f"qdrant-client is not installed; {_INSTALL_HINT}") from None
    return QdrantClient


def _locked(path: Path) -> VectorIndexLocked:
    return VectorIndexLocked(
        f"the vector index at {path} is in use by another Vidya process (a running `vidya serve`?); "
        "stop it or point VIDYA_QDRANT_URL at a Qdrant server"
    )


def _held_elsewhere(path: Path) -> bool:
    """Whether another open file holds Qdrant's lock on ``path`` (probed the way Qdrant takes it)."""
    import portalocker

    lock_file = path / ".lock"
    if not lock_file.exists():
        return False
    with lock_file.open("r+") as handle:
        try:
            portalocker.lock(handle, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
        except portalocker.exceptions.LockException:
            return True
        portalocker.unlock(handle)
    return False


def _transport_errors() -> tuple[type[Exception], ...]:
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    return (ResponseHandlingException, UnexpectedResponse, ConnectionError, TimeoutError)
