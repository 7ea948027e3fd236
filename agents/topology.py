"""The dependency neighbourhood of an anomalous entity, as the topology stood at detection time.

``DEPENDS_ON`` points from a caller to what it needs. Walking it *out* of the
anomalous entity finds its dependencies (``down``: a change there can
propagate up to the symptom); walking it *in* finds its callers (``up``)::

    topo = load_topology(store, "service:default/checkout", depth=3, as_of=detected_at)
    topo.down["resource:default/orders-db"]      # 2: checkout -> orders -> orders-db
    topo.shortest_paths("resource:default/orders-db")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from agents.reads import EventMemo
from graph.model import Edge
from graph.schema import RelType
from graph.store import GraphStore

DEPENDENCY_TYPES = (RelType.DEPENDS_ON,)
#: shortest paths enumerated per node at most (diamonds multiply them)
MAX_PATHS = 24


@dataclass
class Topology:
    root: str
    #: dependencies of the root and their hop distance
    down: dict[str, int] = field(default_factory=dict)
    #: callers of the root and their hop distance
    up: dict[str, int] = field(default_factory=dict)
    #: every DEPENDS_ON edge met, by (caller, callee)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)
    callees: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    callers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: entities whose callers have all been read (not only those met walking the neighbourhood)
    loaded_callers: set[str] = field(default_factory=set)
    #: the events read on this neighbourhood so far (a widened window reads only what it adds)
    memo: EventMemo = field(default_factory=EventMemo, repr=False, compare=False)

    def members(self) -> set[str]:
        return {self.root, *self.down, *self.up}

    def signed_distance(self, node: str) -> int | None:
        """0 for the root, +hops for a dependency, -hops for a caller, ``None`` outside."""
        if node == self.root:
            return 0
        if node in self.down:
            return self.down[node]
        if node in self.up:
            return -self.up[node]
        return None

    def add(self, edge: Edge) -> None:
        self.edges[(edge.src, edge.dst)] = edge
        self.callees[edge.src].add(edge.dst)
        self.callers[edge.dst].add(edge.src)

    def shortest_paths(self, node: str) -> list[list[str]]:
        """Shortest paths from ``node`` to the root, each listed from ``node`` to the root."""
        if node == self.root:
            return [[node]]
        if node in self.down:
            # root -> ... -> node along DEPENDS_ON: step from node to a caller one hop nearer the root
            return list(_walk(node, self.root, lambda n: self.callers[n], self._dist_down))
        if node in self.up:
            return list(_walk(node, self.root, lambda n: self.callees[n], self._dist_up))
        return []

    def _dist_down(self, node: str) -> int | None:
        return 0 if node == self.root else self.down.get(node)

    def _dist_up(self, node: str) -> int | None:
        return 0 if node == self.root else self.up.get(node)

    def dependencies_of(self, node: str) -> set[str]:
        """Everything ``node`` depends on (transitively) among the edges met."""
        return _closure(node, self.callees)

    def cone(self, node: str, path: Sequence[str], max_hops: int, *, up: bool = True) -> dict[str, tuple[int, int]]:
        """What a failure of ``node`` can reach: entity -> (hops from ``node``, hops from the nearest of ``path``).

        ``up``: what depends on ``node`` (a failure travels to the callers); otherwise what it depends on (a
        traffic shift travels to what it calls). Within ``max_hops`` of ``node``, among the edges met.
        """
        step = self.callers if up else self.callees
        hops = _distances([node], step, max_hops)
        off = _distances(path, step, max_hops)
        return {e: (h, off.get(e, h)) for e, h in hops.items() if e != node}

    def edge_between(self, a: str, b: str) -> Edge | None:
        """The DEPENDS_ON edge joining ``a`` and ``b`` in either direction."""
        return self.edges.get((a, b)) or self.edges.get((b, a))


def _closure(node: str, step: dict[str, set[str]]) -> set[str]:
    """Every node reachable from ``node`` along ``step`` (``node`` itself excluded)."""
    seen: set[str] = set()
    frontier = [node]
    while frontier:
        nxt = [c for n in frontier for c in step.get(n, ()) if c not in seen and c != node]
        seen.update(nxt)
        frontier = nxt
    return seen


def _distances(sources: Iterable[str], step: dict[str, set[str]], max_hops: int) -> dict[str, int]:
    """Hops from the nearest of ``sources`` (0 for themselves) along ``step``, up to ``max_hops``."""
    seen = dict.fromkeys(sources, 0)
    frontier = list(seen)
    for hops in range(1, max_hops + 1):
        frontier = list(dict.fromkeys(n for here in frontier for n in sorted(step.get(here, ())) if n not in seen))
        seen.update(dict.fromkeys(frontier, hops))
    return seen


def _walk(
    node: str, root: str, step: Callable[[str], Iterable[str]], dist: Callable[[str], int | None]
) -> Iterator[list[str]]:
    out: list[list[str]] = []

    def go(path: list[str]) -> None:
        if len(out) >= MAX_PATHS:
            return
        here = path[-1]
        if here == root:
            out.append(list(path))
            return
        d = dist(here)
        for nxt in sorted(step(here)):
            nd = dist(nxt)
            if nd is not None and d is not None and nd == d - 1:
                path.append(nxt)
                go(path)
                path.pop()

    go([node])
    yield from out


def load_topology(store: GraphStore, root: str, *, depth: int, as_of: datetime) -> Topology:
    """Breadth-first both ways: per hop, the out-edges of the dependencies and the in-edges of the callers found."""
    topo = Topology(root=root)
    frontier_down, frontier_up = {root}, {root}
    for level in range(1, depth + 1):
        next_down: set[str] = set()
        next_up: set[str] = set()
        if frontier_down:
            for edge in store.incident_edges(sorted(frontier_down), "out", DEPENDENCY_TYPES, as_of):
                topo.add(edge)
                if edge.dst != root and edge.dst not in topo.down:
                    next_down.add(edge.dst)
        if frontier_up:
            for edge in store.incident_edges(sorted(frontier_up), "in", DEPENDENCY_TYPES, as_of):
                topo.add(edge)
                if edge.src != root and edge.src not in topo.up:
                    next_up.add(edge.src)
        for node in next_down:
            topo.down[node] = level
        # a node both calling and called (a cycle) is treated as a dependency
        next_up -= topo.down.keys()
        for node in next_up:
            topo.up[node] = level
        frontier_down, frontier_up = next_down, next_up
    return topo


def load_callers(store: GraphStore, topo: Topology, entities: Collection[str], as_of: datetime) -> None:
    """Add every caller of ``entities`` (inside the neighbourhood or not) to ``topo.callers``."""
    known = set(topo.loaded_callers)
    wanted = sorted(set(entities) - known)
    if wanted:
        for edge in store.incident_edges(wanted, "in", DEPENDENCY_TYPES, as_of):
            topo.add(edge)
        topo.loaded_callers.update(wanted)
