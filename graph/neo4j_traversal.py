"""Neighbourhoods, subgraphs and paths for the Neo4j backend.

Same answers as :class:`graph.traversal.TraversalMixin` (the contract suite
checks both backends alike), but each breadth-first level is one Cypher
statement that returns only ids, and path search walks light edge rows
(element id, stable id, endpoints); only the nodes and edges returned are
decoded into records::

    hops = store.neighbours("service:default/checkout", depth=2)
    paths = store.paths("deployment:d-42", "commit:abc", max_length=4)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graph import neo4j_cypher as cy
from graph.errors import RecordError
from graph.model import Direction, Edge, Hop, Node, Path, Subgraph
from graph.schema import RelType
from graph.traversal import MAX_DEPTH, MAX_PATH_LENGTH, MAX_PATHS_PER_LENGTH

_REVERSE: dict[Direction, Direction] = {"out": "in", "in": "out", "both": "both"}


def check_range(name: str, value: int, high: int) -> None:
    if not 1 <= value <= high:
        raise RecordError(f"{name}: expected 1..{high}, got {value}")


def check_direction(direction: str) -> None:
    if direction not in _REVERSE:
        raise RecordError(f"direction: expected 'out', 'in' or 'both', got {direction!r}")


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
    def _rows(self, query: str, **params: Any) -> list[Any]:
        raise NotImplementedError

    def _time_params(self, as_of: datetime | None) -> dict[str, Any]:
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
            rows = self._rows(cy.STEP_EDGES[direction, params["as_of"] is not None], ids=frontier, **params)
            rows.sort(key=lambda r: (r["id"], r["valid_from"] is not None, r["valid_from"] or 0))
            level = [Link(r["eid"], r["id"], r["src"], r["dst"]) for r in rows]
            links.extend(level)
            nxt = sorted({n for link in level for n in _next_nodes(link, frontier, direction)} - seen)
            seen.update(nxt)
            frontier = nxt
        return links

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
        dist = self._bfs_ids([id_], depth, direction, self._step_params(types, as_of))
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
        present = [n.id for n in self.get_nodes(ids)]
        dist = self._bfs_ids(present, depth, direction, self._step_params(types, as_of), max_nodes)
        members = set(dist)
        edges = [e for e in self.incident_edges(sorted(members), "out", types, as_of) if e.dst in members]
        return Subgraph(nodes=self.get_nodes(members), edges=sorted(edges, key=lambda e: e.id))

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
        # every edge of a path of length <= L lies within ceil(L/2) hops of src
        # or floor(L/2) hops (walking backwards) of dst: meet in the middle
        found = {link.id: link for link in self._ball_links(src, (max_length + 1) // 2, direction, params)}
        found.update({link.id: link for link in self._ball_links(dst, max_length // 2, _REVERSE[direction], params)})
        adjacency = _adjacency(found.values(), direction)
        to_dst = _hops_to(dst, adjacency)
        out: list[tuple[list[str], list[Link]]] = []
        for length in range(1, max_length + 1):
            batch = _walks(src, dst, length, adjacency, to_dst)
            out.extend(sorted(batch, key=lambda p: (p[0], [link.id for link in p[1]])))
            if len(out) >= limit:
                break
        out = out[:limit]
        edges = self.edges_by_element_ids({link.eid for _, links in out for link in links})
        return [Path(nodes=nodes, edges=[edges[link.eid] for link in links]) for nodes, links in out]


def _next_nodes(link: Link, frontier: Collection[str], direction: Direction) -> list[str]:
    out = []
    if direction in ("out", "both") and link.src in frontier:
        out.append(link.dst)
    if direction in ("in", "both") and link.dst in frontier and link.src != link.dst:
        out.append(link.src)
    return out


def _adjacency(links: Iterable[Link], direction: Direction) -> dict[str, list[tuple[str, Link]]]:
    adjacency: dict[str, list[tuple[str, Link]]] = defaultdict(list)
    for link in links:
        if direction in ("out", "both"):
            adjacency[link.src].append((link.dst, link))
        if direction in ("in", "both") and link.src != link.dst:
            adjacency[link.dst].append((link.src, link))
    for steps in adjacency.values():
        steps.sort(key=lambda step: (step[0], step[1].id))
    return adjacency


def _hops_to(dst: str, adjacency: dict[str, list[tuple[str, Link]]]) -> dict[str, int]:
    """Hops from each node to ``dst`` along ``adjacency``."""
    backward: dict[str, list[str]] = defaultdict(list)
    for node, steps in adjacency.items():
        for nxt, _ in steps:
            backward[nxt].append(node)
    dist = {dst: 0}
    frontier = [dst]
    while frontier:
        following = []
        for node in frontier:
            for prev in backward[node]:
                if prev not in dist:
                    dist[prev] = dist[node] + 1
                    following.append(prev)
        frontier = following
    return dist


def _walks(
    src: str, dst: str, length: int, adjacency: dict[str, list[tuple[str, Link]]], to_dst: dict[str, int]
) -> list[tuple[list[str], list[Link]]]:
    """Simple paths of exactly ``length`` edges, at most MAX_PATHS_PER_LENGTH of them."""
    out: list[tuple[list[str], list[Link]]] = []
    nodes = [src]
    links: list[Link] = []

    def walk(node: str) -> None:
        if len(out) >= MAX_PATHS_PER_LENGTH:
            return
        remaining = length - len(links)
        if remaining == 0:
            if node == dst:
                out.append((list(nodes), list(links)))
            return
        for nxt, link in adjacency.get(node, ()):
            if nxt in nodes or to_dst.get(nxt, length + 1) > remaining - 1:
                continue
            nodes.append(nxt)
            links.append(link)
            walk(nxt)
            nodes.pop()
            links.pop()

    walk(src)
    return out
