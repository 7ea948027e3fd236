"""Neighbourhoods, subgraphs and paths for the Neo4j backend.

Same answers as :class:`graph.traversal.TraversalMixin` (the contract suite
checks both backends alike, and path enumeration is its code), but with fewer
round trips: a neighbourhood to depth 2 is one statement that returns the
nodes with their depths, and path search gathers light edge rows (element id,
stable id, endpoints) from both ends in one statement, then fetches only the
edges of the paths found. Deeper searches step one statement per level,
returning ids only. A read of several statements (paths, subgraphs) runs
them in one read transaction::

    hops = store.neighbours("service:default/checkout", depth=2)
    paths = store.paths("deployment:d-42", "commit:abc", max_length=4)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from graph import neo4j_cypher as cy
from graph.model import Direction, Edge, Hop, Node, Path, Subgraph
from graph.neo4j_records import Decoder
from graph.schema import RelType
from graph.sqlite_read import hops_at
from graph.traversal import MAX_DEPTH, MAX_PATH_LENGTH, check_direction, check_range, reverse, simple_paths

T = TypeVar("T")
_ID = attrgetter("id")
#: searches this deep run as one statement (:data:`graph.neo4j_cypher.NEAR`, ``BALLS``)
_ONE_STATEMENT = 2


@dataclass(frozen=True, slots=True)
class Link:
    """An edge as path search needs it: where it goes, and how to fetch it."""

    eid: str
    id: str
    src: str
    dst: str


class Neo4jTraversalMixin:
    """Traversal reads of :class:`graph.neo4j_store.Neo4jGraphStore`."""

    # provided by the store ---------------------------------------------------------
    def _read(self, query: str, **params: Any) -> list[Any]:
        raise NotImplementedError

    def _rows(self, query: str, **params: Any) -> list[Any]:
        raise NotImplementedError

    def _time_params(self, as_of: datetime | None) -> dict[str, Any]:
        raise NotImplementedError

    def _in_one_read(self, work: Callable[[], T]) -> T:
        raise NotImplementedError

    def get_nodes(self, ids: Iterable[str]) -> list[Node]:
        raise NotImplementedError

    def incident_edges(
        self,
        ids: Collection[str],
        direction: Direction = "both",
        types: Collection[RelType] | None = None,
        as_of: datetime | None = None,
    ) -> list[Edge]:
        raise NotImplementedError

    def edges_by_element_ids(self, eids: Collection[str]) -> dict[str, Edge]:
        raise NotImplementedError

    # helpers -------------------------------------------------------------------------
    def _step_params(self, types: Collection[RelType] | None, as_of: datetime | None) -> dict[str, Any]:
        return self._time_params(as_of) | {
            "types": None if types is None else sorted(str(RelType(t)) for t in types)
        }

    def _bfs_ids(
        self,
        starts: Collection[str],
        depth: int,
        direction: Direction,
        params: dict[str, Any],
        max_nodes: int | None = None,
    ) -> dict[str, int]:
        """Shortest hop distance of every node within ``depth`` (starts at 0), one statement per level."""
        seen: dict[str, int] = {s: 0 for s in starts}
        frontier = sorted(seen)
        for level in range(1, depth + 1):
            if not frontier:
                break
            reached = set(self._rows(cy.STEP_IDS[direction, params["as_of"] is not None], ids=frontier, **params))
            found = sorted(reached - seen.keys())
            if max_nodes is not None:
                found = found[: max(0, max_nodes - len(seen))]
            for node in found:
                seen[node] = level
            frontier = found
        return seen

    def _ball_links(self, start: str, radius: int, direction: Direction, params: dict[str, Any]) -> list[Link]:
        """Every edge met walking ``radius`` hops from ``start``, level by level, as light rows."""
        links: list[Link] = []
        seen = {start}
        frontier = [start]
        for _ in range(radius):
            if not frontier:
                break
            level = _links(self._rows(cy.STEP_EDGES[direction, params["as_of"] is not None], ids=frontier, **params))
            links.extend(level)
            nxt = sorted({n for link in level for n in _next_nodes(link, frontier, direction)} - seen)
            seen.update(nxt)
            frontier = nxt
        return links

    def _path_links(
        self, src: str, dst: str, max_length: int, direction: Direction, params: dict[str, Any]
    ) -> list[Link]:
        """Every edge a path of ``max_length`` or fewer can use, by stable id (the last version met wins).

        Such an edge lies within ceil(L/2) hops of ``src`` or floor(L/2) hops (walking backwards)
        of ``dst``: meet in the middle, in one statement when both balls are small.
        """
        forward, backward = (max_length + 1) // 2, max_length // 2
        if forward <= _ONE_STATEMENT:
            key = (direction, params["as_of"] is not None, forward, backward)
            records = self._read(cy.BALLS[key], src=src, dst=dst, **params)
            if not records:  # pragma: no cover - the statement always returns one record
                return []
            record = records[0]
            levels = [_links(record[name]) for name in ("s1", "s2", "t1", "t2")]
            found = {link.id: link for level in levels for link in level}
        else:
            found = {link.id: link for link in self._ball_links(src, forward, direction, params)}
            found.update({link.id: link for link in self._ball_links(dst, backward, reverse(direction), params)})
        return list(found.values())

    # the GraphStore traversals ---------------------------------------------------------
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
        check_direction(direction)
        check_range("depth", depth, MAX_DEPTH)
        params = self._step_params(types, as_of)
        if depth <= _ONE_STATEMENT:
            node = Decoder().node
            levels: list[list[Node]] = [[] for _ in range(depth + 1)]
            for r in self._rows(cy.NEAR[direction, as_of is not None, depth], id=id_, **params):
                levels[r["d"]].append(node(r["p"]))
            hops = [hop for d in range(1, depth + 1) for hop in hops_at(sorted(levels[d], key=_ID), d)]
            return hops if limit is None else hops[:limit]
        dist = self._bfs_ids([id_], depth, direction, params)
        del dist[id_]
        nodes = {n.id: n for n in self.get_nodes(dist)}
        hops = sorted((Hop(nodes[i], d) for i, d in dist.items() if i in nodes), key=lambda h: (h.depth, h.node.id))
        return hops if limit is None else hops[:limit]

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
        check_direction(direction)
        if depth != 0:
            check_range("depth", depth, MAX_DEPTH)
        params = self._step_params(types, as_of)

        def work() -> Subgraph:
            present = [n.id for n in self.get_nodes(ids)]
            members = set(self._bfs_ids(present, depth, direction, params, max_nodes))
            edges = [e for e in self.incident_edges(sorted(members), "out", types, as_of) if e.dst in members]
            return Subgraph(nodes=self.get_nodes(members), edges=sorted(edges, key=lambda e: e.id))

        return self._in_one_read(work)

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
        check_direction(direction)
        check_range("max_length", max_length, MAX_PATH_LENGTH)
        if src == dst or limit < 1:
            return []
        params = self._step_params(types, as_of)

        def work() -> list[Path]:
            links = self._path_links(src, dst, max_length, direction, params)
            out = simple_paths(src, dst, max_length, links, direction, limit)
            edges = self.edges_by_element_ids({link.eid for _, path in out for link in path})
            return [Path(nodes=nodes, edges=[edges[link.eid] for link in path]) for nodes, path in out]

        return self._in_one_read(work)


def _links(rows: list[Any]) -> list[Link]:
    """Light edge rows of one level, in the order the generic search meets them."""
    rows = sorted(rows, key=lambda r: (r["id"], r["valid_from"] is not None, r["valid_from"] or 0))
    return [Link(r["eid"], r["id"], r["src"], r["dst"]) for r in rows]


def _next_nodes(link: Link, frontier: Collection[str], direction: Direction) -> list[str]:
    out = []
    if direction in ("out", "both") and link.src in frontier:
        out.append(link.dst)
    if direction in ("in", "both") and link.dst in frontier and link.src != link.dst:
        out.append(link.src)
    return out
