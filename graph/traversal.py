"""Traversals written once over two backend primitives.

A backend supplies ``incident_edges`` (one hop, filtered by direction, type
and time) and ``get_nodes``; neighbourhoods, k-hop subgraphs and path search
are built here on top of them, so every backend gives the same answers by
construction and the per-backend code stays small. A backend may also replace
``_bfs`` (the search behind neighbourhoods and subgraphs) and ``_hops`` (the
answer of ``neighbours``) with more direct versions that return the same
results, as the SQLite backend does with an ids-only search in SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Protocol, TypeVar

from graph.errors import RecordError
from graph.model import Direction, Edge, Hop, Node, Path, Subgraph, WriteStats
from graph.schema import NodeLabel, RelType, label_of
from graph.store import WriteBatch

MAX_DEPTH = 10
MAX_PATH_LENGTH = 10
#: paths of one length enumerated at most, so a dense graph cannot run away
MAX_PATHS_PER_LENGTH = 50_000

_REVERSE: dict[Direction, Direction] = {"out": "in", "in": "out", "both": "both"}


def _check_range(name: str, value: int, high: int) -> None:
    if not 1 <= value <= high:
        raise RecordError(f"{name}: expected 1..{high}, got {value}")


def _check_direction(direction: str) -> None:
    if direction not in _REVERSE:
        raise RecordError(f"direction: expected 'out', 'in' or 'both', got {direction!r}")


def _steps(edges: Iterable[Edge], frontier: Collection[str], direction: Direction) -> list[tuple[str, Edge]]:
    """(next node, edge) pairs for stepping from ``frontier`` along ``edges``."""
    out: list[tuple[str, Edge]] = []
    for edge in edges:
        if direction in ("out", "both") and edge.src in frontier:
            out.append((edge.dst, edge))
        if direction in ("in", "both") and edge.dst in frontier and edge.src != edge.dst:
            out.append((edge.src, edge))
    return out


def current_event_in(node: Node, start: datetime, end: datetime) -> bool:
    """Whether ``node`` is a current event (not retired, not a placeholder) with ``start <= at < end``."""
    return not node.placeholder and node.retired_at is None and node.at is not None and start <= node.at < end


def first_hops(dist: dict[str, int], limit: int | None) -> list[str]:
    """The ids of a search result in answer order, (depth, id), cut to ``limit``.

    Only these nodes need to be read: every node a search reaches exists, because it was
    reached through an edge whose far end is visible.
    """
    order = sorted(dist, key=lambda i: (dist[i], i))
    return order if limit is None else order[:limit]


class TraversalMixin:
    """Shared reads and write conveniences for :class:`graph.store.GraphStore` backends."""

    # primitives a backend provides -------------------------------------------
    def batch(self) -> AbstractContextManager[WriteBatch]:
        raise NotImplementedError

    def bulk_load(self) -> AbstractContextManager[None]:
        """Nothing to change by default (see :meth:`graph.store.GraphStore.bulk_load`)."""
        return nullcontext()

    def incident_edges(
        self,
        ids: Collection[str],
        direction: Direction = "both",
        types: Collection[RelType] | None = None,
        as_of: datetime | None = None,
    ) -> list[Edge]:
        raise NotImplementedError

    def get_nodes(self, ids: Iterable[str]) -> list[Node]:
        raise NotImplementedError

    # reads built on the primitives -----------------------------------------------
    def parents(self, ids: Collection[str], type_: RelType) -> dict[str, Node]:
        """See :meth:`graph.store.GraphStore.parents`: one ``incident_edges`` and one ``get_nodes`` read."""
        wanted = set(ids)
        if not wanted:
            return {}
        first: dict[str, str] = {}
        for edge in self.incident_edges(sorted(wanted), "in", (RelType(type_),)):
            if edge.dst in wanted and (edge.dst not in first or edge.src < first[edge.dst]):
                first[edge.dst] = edge.src
        nodes = {node.id: node for node in self.get_nodes(set(first.values()))}
        return {id_: nodes[src] for id_, src in first.items() if src in nodes}

    def linked_events(
        self,
        entities: Collection[str],
        link: RelType,
        labels: Collection[NodeLabel],
        start: datetime,
        end: datetime,
    ) -> list[tuple[Node, list[str]]]:
        """See :meth:`graph.store.GraphStore.linked_events`: one ``incident_edges`` and one ``get_nodes`` read."""
        wanted, kinds = set(entities), {NodeLabel(label) for label in labels}
        if not wanted or not kinds:
            return []
        reached: dict[str, set[str]] = defaultdict(set)
        for edge in self.incident_edges(sorted(wanted), "in", (RelType(link),), as_of=end):
            if edge.dst in wanted and label_of(edge.src) in kinds:
                reached[edge.src].add(edge.dst)
        found = [
            (node, sorted(reached[node.id]))
            for node in self.get_nodes(reached)
            if node.label in kinds and current_event_in(node, start, end)
        ]
        return sorted(found, key=lambda pair: (pair[0].at or end, pair[0].id))

    # write conveniences: each is one batch ---------------------------------------
    def upsert_nodes(self, nodes: Iterable[Node]) -> WriteStats:
        with self.batch() as batch:
            batch.upsert_nodes(nodes)
        return batch.stats

    def upsert_edges(self, edges: Iterable[Edge]) -> WriteStats:
        with self.batch() as batch:
            batch.upsert_edges(edges)
        return batch.stats

    def retire_source(
        self, source: str, *, keep_nodes: Collection[str] = (), keep_edges: Collection[str] = ()
    ) -> WriteStats:
        with self.batch() as batch:
            batch.retire_source(source, keep_nodes=keep_nodes, keep_edges=keep_edges)
        return batch.stats

    def delete_source(self, source: str) -> WriteStats:
        with self.batch() as batch:
            batch.delete_source(source)
        return batch.stats

    # traversals ---------------------------------------------------------------------
    def _bfs(
        self,
        starts: Collection[str],
        depth: int,
        direction: Direction,
        types: Collection[RelType] | None,
        as_of: datetime | None,
        max_nodes: int | None = None,
    ) -> dict[str, int]:
        """Shortest hop distance of every node within ``depth`` (starts at 0)."""
        seen: dict[str, int] = {s: 0 for s in starts}
        frontier = sorted(seen)
        for level in range(1, depth + 1):
            if not frontier:
                break
            level_edges = self.incident_edges(frontier, direction, types, as_of)
            found = sorted({n for n, _ in _steps(level_edges, set(frontier), direction)} - seen.keys())
            if max_nodes is not None:
                found = found[: max(0, max_nodes - len(seen))]
            for node in found:
                seen[node] = level
            frontier = found
        return seen

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
        _check_direction(direction)
        _check_range("depth", depth, MAX_DEPTH)
        return self._hops(id_, depth, direction, types, as_of, limit)

    def _hops(
        self,
        id_: str,
        depth: int,
        direction: Direction,
        types: Collection[RelType] | None,
        as_of: datetime | None,
        limit: int | None,
    ) -> list[Hop]:
        """The answer of :meth:`neighbours` for checked arguments (a backend may compute it more directly)."""
        dist = self._bfs([id_], depth, direction, types, as_of)
        del dist[id_]
        wanted = first_hops(dist, limit)
        nodes = {n.id: n for n in self.get_nodes(wanted)}
        return [Hop(nodes[i], dist[i]) for i in wanted if i in nodes]

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
        _check_direction(direction)
        if depth != 0:
            _check_range("depth", depth, MAX_DEPTH)
        present = [n.id for n in self.get_nodes(ids)]
        dist = self._bfs(present, depth, direction, types, as_of, max_nodes)
        members = set(dist)
        edges = [e for e in self.incident_edges(sorted(members), "out", types, as_of) if e.dst in members]
        nodes = self.get_nodes(members)
        return Subgraph(nodes=nodes, edges=sorted(edges, key=lambda e: e.id))

    def _ball(
        self, start: str, radius: int, direction: Direction, types: Collection[RelType] | None, as_of: datetime | None
    ) -> list[Edge]:
        """Every edge met walking ``radius`` hops from ``start``."""
        edges: list[Edge] = []
        seen = {start}
        frontier = [start]
        for _ in range(radius):
            if not frontier:
                break
            level = self.incident_edges(frontier, direction, types, as_of)
            edges.extend(level)
            nxt = sorted({n for n, _ in _steps(level, set(frontier), direction)} - seen)
            seen.update(nxt)
            frontier = nxt
        return edges

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
        _check_direction(direction)
        _check_range("max_length", max_length, MAX_PATH_LENGTH)
        if src == dst or limit < 1:
            return []
        # every edge of a path of length <= L lies within ceil(L/2) hops of src
        # or floor(L/2) hops (walking backwards) of dst: meet in the middle.
        found = {e.id: e for e in self._ball(src, (max_length + 1) // 2, direction, types, as_of)}
        found.update({e.id: e for e in self._ball(dst, max_length // 2, _REVERSE[direction], types, as_of)})
        found_paths = simple_paths(src, dst, max_length, found.values(), direction, limit)
        return [Path(nodes=nodes, edges=edges) for nodes, edges in found_paths]


class Step(Protocol):
    """What path search needs of an edge: its stable id and its endpoints."""

    @property
    def id(self) -> str: ...

    @property
    def src(self) -> str: ...

    @property
    def dst(self) -> str: ...


S = TypeVar("S", bound=Step)
Adjacency = dict[str, list[tuple[str, S]]]


def check_direction(direction: str) -> None:
    """Refuse a direction other than ``out``, ``in`` or ``both`` with a :class:`RecordError`."""
    _check_direction(direction)


def check_range(name: str, value: int, high: int) -> None:
    """Refuse ``value`` outside ``1..high`` with a :class:`RecordError` naming ``name``."""
    _check_range(name, value, high)


def reverse(direction: Direction) -> Direction:
    return _REVERSE[direction]


def simple_paths(
    src: str, dst: str, max_length: int, edges: Iterable[S], direction: Direction, limit: int
) -> list[tuple[list[str], list[S]]]:
    """Simple paths from ``src`` to ``dst`` along ``edges``, shortest first, then by nodes and edge ids.

    ``edges`` holds every edge a path of ``max_length`` or fewer may use (both balls of a
    meet-in-the-middle search); at most ``limit`` paths are returned.
    """
    adjacency = _adjacency(edges, direction)
    to_dst = _distances(dst, adjacency)
    out: list[tuple[list[str], list[S]]] = []
    for length in range(1, max_length + 1):
        batch = _paths_of_length(src, dst, length, adjacency, to_dst)
        out.extend(sorted(batch, key=lambda p: (p[0], [e.id for e in p[1]])))
        if len(out) >= limit:
            break
    return out[:limit]


def _adjacency(edges: Iterable[S], direction: Direction) -> Adjacency[S]:
    adjacency: Adjacency[S] = defaultdict(list)
    for edge in edges:
        if direction in ("out", "both"):
            adjacency[edge.src].append((edge.dst, edge))
        if direction in ("in", "both") and edge.src != edge.dst:
            adjacency[edge.dst].append((edge.src, edge))
    for steps in adjacency.values():
        steps.sort(key=lambda step: (step[0], step[1].id))
    return adjacency


def _distances(dst: str, adjacency: Adjacency[S]) -> dict[str, int]:
    """Hops from each node to ``dst`` along ``adjacency``."""
    backward: dict[str, list[str]] = defaultdict(list)
    for node, steps in adjacency.items():
        for nxt, _ in steps:
            backward[nxt].append(node)
    dist = {dst: 0}
    frontier = [dst]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for prev in backward[node]:
                if prev not in dist:
                    dist[prev] = dist[node] + 1
                    nxt_frontier.append(prev)
        frontier = nxt_frontier
    return dist


def _paths_of_length(
    src: str, dst: str, length: int, adjacency: Adjacency[S], to_dst: dict[str, int]
) -> list[tuple[list[str], list[S]]]:
    """Simple paths of exactly ``length`` edges, at most MAX_PATHS_PER_LENGTH of them."""
    out: list[tuple[list[str], list[S]]] = []
    nodes = [src]
    edges: list[S] = []

    def walk(node: str) -> None:
        if len(out) >= MAX_PATHS_PER_LENGTH:
            return
        remaining = length - len(edges)
        if remaining == 0:
            if node == dst:
                out.append((list(nodes), list(edges)))
            return
        for nxt, edge in adjacency.get(node, ()):
            if nxt in nodes or to_dst.get(nxt, length + 1) > remaining - 1:
                continue
            nodes.append(nxt)
            edges.append(edge)
            walk(nxt)
            nodes.pop()
            edges.pop()

    walk(src)
    return out
