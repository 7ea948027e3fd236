"""The ``GraphStore`` protocol: what the rest of Vidya needs from a graph backend.

Two backends implement it, ``sqlite`` (embedded default) and ``neo4j``; the
contract suite in ``tests/contract/`` runs the same tests on both. Writes go
through a batch, which is all-or-nothing::

    with store.batch() as batch:
        batch.upsert_nodes(nodes)
        batch.upsert_edges(edges)
        batch.retire_source("catalog/checkout.yaml", keep_nodes=ids, keep_edges=edge_ids)
    print(batch.stats)

Time semantics, shared by every backend:

* without ``as_of`` a query sees *current* facts: not retired, and not ended
  (``valid_to`` unset or in the future);
* with ``as_of=T`` it sees what was true in the world at ``T``
  (``valid_from <= T < valid_to``, open ends unbounded), including facts
  retired since, so history stays answerable. An event node without
  ``valid_from`` exists from its ``at`` on, so nothing that happened after
  ``T`` shows up.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from graph.model import Counts, Direction, Edge, Hop, Node, Path, Subgraph, WriteStats
from graph.schema import NodeLabel, RelType


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """An event node and the topology nodes it is linked to (``AFFECTS``/``TARGETS``)."""

    node: Node
    services: list[str]


@dataclass(frozen=True, slots=True)
class TextHit:
    """A node that matched a keyword search, with its relevance (higher is better).

    Scores rank the hits of one search; they are not comparable across searches or backends.
    """

    node_id: str
    score: float


class WriteBatch(Protocol):
    """The writes of one all-or-nothing batch. ``stats`` is complete once the batch has committed."""

    stats: WriteStats

    def upsert_nodes(self, nodes: Iterable[Node]) -> None: ...

    def upsert_edges(self, edges: Iterable[Edge]) -> None: ...

    def retire_source(
        self, source: str, *, keep_nodes: Collection[str] = (), keep_edges: Collection[str] = ()
    ) -> None:
        """Retire what ``source`` produced, except the listed node and edge ids."""
        ...

    def delete_source(self, source: str) -> None:
        """Delete what ``source`` produced; nodes others still point at become placeholders."""
        ...


@runtime_checkable
class GraphStore(Protocol):
    """A property graph with provenance and bi-temporal edges."""

    def describe(self) -> str:
        """Where the store lives, for messages (a path or a URI; never a password)."""
        ...

    def ensure_schema(self) -> None:
        """Create tables, constraints and indexes; safe to call again."""
        ...

    def close(self) -> None: ...

    # writes -------------------------------------------------------------------
    def batch(self) -> AbstractContextManager[WriteBatch]: ...

    def bulk_load(self) -> AbstractContextManager[None]:
        """A long run of writes (an ingest): the store may keep less read cache meanwhile, so its memory
        stays flat however much is written; reads and writes work as usual inside."""
        ...

    def upsert_nodes(self, nodes: Iterable[Node]) -> WriteStats: ...

    def upsert_edges(self, edges: Iterable[Edge]) -> WriteStats: ...

    def retire_source(
        self, source: str, *, keep_nodes: Collection[str] = (), keep_edges: Collection[str] = ()
    ) -> WriteStats: ...

    def delete_source(self, source: str) -> WriteStats: ...

    # point reads ----------------------------------------------------------------
    def get_node(self, id_: str) -> Node | None:
        """The node with this id, retired or not, or ``None``."""
        ...

    def get_nodes(self, ids: Iterable[str]) -> list[Node]:
        """The nodes that exist among ``ids``, in id order."""
        ...

    def find_nodes(
        self,
        label: NodeLabel | None = None,
        props: dict[str, object] | None = None,
        *,
        name: str | None = None,
        include_retired: bool = False,
        limit: int = 1000,
    ) -> list[Node]:
        """Nodes with the label, name and property values given, in id order."""
        ...

    def get_edge(self, id_: str) -> Edge | None:
        """The current version of an edge (or its latest version if retired)."""
        ...

    def edge_history(self, id_: str) -> list[Edge]:
        """Every version of an edge, oldest first."""
        ...

    # traversal --------------------------------------------------------------------
    def incident_edges(
        self,
        ids: Collection[str],
        direction: Direction = "both",
        types: Collection[RelType] | None = None,
        as_of: datetime | None = None,
    ) -> list[Edge]:
        """Visible edges touching ``ids`` whose far end is visible, in id order."""
        ...

    def neighbours(
        self,
        id_: str,
        *,
        direction: Direction = "both",
        types: Collection[RelType] | None = None,
        depth: int = 1,
        as_of: datetime | None = None,
        limit: int | None = None,
    ) -> list[Hop]:
        """Nodes within ``depth`` hops, each once at its shortest distance, by (depth, id)."""
        ...

    def subgraph(
        self,
        ids: Collection[str],
        *,
        depth: int = 1,
        direction: Direction = "both",
        types: Collection[RelType] | None = None,
        as_of: datetime | None = None,
        max_nodes: int = 5000,
    ) -> Subgraph:
        """The k-hop neighbourhood of ``ids`` and the edges among its nodes."""
        ...

    def paths(
        self,
        src: str,
        dst: str,
        *,
        max_length: int = 4,
        direction: Direction = "out",
        types: Collection[RelType] | None = None,
        as_of: datetime | None = None,
        limit: int = 10,
    ) -> list[Path]:
        """Simple paths from ``src`` to ``dst``, shortest first, then by node ids."""
        ...

    def events(
        self,
        kinds: Collection[NodeLabel],
        start: datetime,
        end: datetime,
        services: Collection[str] | None = None,
        *,
        limit: int = 10000,
    ) -> list[TimelineEvent]:
        """Events of the given labels with ``start <= at < end``, on ``services`` if given, by (at, id)."""
        ...

    def parents(self, ids: Collection[str], type_: RelType) -> dict[str, Node]:
        """For each of ``ids``, the node a current ``type_`` edge comes from (the smallest id when several do).

        Both ends and the edge must be current; ids without such an edge are left out. Read for a
        page of hits at once: the document of each section (``HAS_SECTION``).
        """
        ...

    def linked_events(
        self,
        entities: Collection[str],
        link: RelType,
        labels: Collection[NodeLabel],
        start: datetime,
        end: datetime,
    ) -> list[tuple[Node, list[str]]]:
        """Current events of ``labels`` with ``start <= at < end`` whose ``link`` edges reach ``entities``.

        Each event once, in (at, id) order, with the entities (in id order) its ``link`` edges, as the
        graph stood at ``end``, point at. Retired events and placeholders are left out.
        """
        ...

    def search_text(
        self, query: str, *, labels: Collection[NodeLabel] | None = None, limit: int = 50
    ) -> list[TextHit]:
        """Current nodes of the text-indexed labels that match ``query``, best first (BM25).

        The query is plain words, never search syntax: each whitespace-separated term is
        looked up as a quoted phrase and the terms are OR-ed; English stemming applies, so
        "restarting" finds "restart". Stop words alone, or a blank query, find nothing.
        Hits are ordered by score (higher is better), then node id::

            >>> [h.node_id for h in store.search_text("restart checkout", labels=[NodeLabel.SECTION])]
            ['section:runbooks/checkout.md#2', ...]

        The labels and fields indexed are :data:`graph.schema.TEXT_FIELDS`.
        """
        ...

    # whole-graph reads -------------------------------------------------------------
    def counts(self) -> Counts:
        """Current nodes by label and edges by type (placeholders not counted)."""
        ...

    def iter_nodes(self, *, include_retired: bool = False) -> Iterator[Node]: ...

    def iter_edges(self, *, include_retired: bool = False) -> Iterator[Edge]: ...


def sorted_ids(ids: Iterable[str]) -> Sequence[str]:
    return sorted(set(ids))
