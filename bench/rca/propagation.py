"""Fault propagation: from a root cause on one entity, failures and alerts travel up to its callers.

A failure on ``X`` makes the callers on the path to the paging service fail,
each a log-normal delay (median 1.5 min) after the dependency it calls; every
other caller of a failing entity fails with the preset's ``spread``, up to
three hops from ``X``. A traffic spike travels the other way: from the edge
service down to the services it calls, which saturate. Each failing entity
alerts with ``path_alert`` (the paging service always does; the cause's own
entity unless the root cause is silent)::

    >>> reach = Reach(estate)
    >>> reach.up["resource:default/orders-db"]["service:default/checkout"]
    2
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from bench.rca.estate import Estate

MAX_HOPS = 3
#: a failing node's callers beyond the path are followed this far from the cause
MAX_FAILING = 14


def lognormal_minutes(rng: random.Random, median: float, sigma: float) -> timedelta:
    return timedelta(minutes=median * math.exp(rng.gauss(0, sigma)))


class Reach:
    """Hop distances within :data:`MAX_HOPS`: ``up[x][p]`` callers of ``x``, ``down[x][p]`` dependencies of ``x``."""

    def __init__(self, estate: Estate) -> None:
        self.callers = estate.callers()
        self.callees = {k: list(v) for k, v in estate.depends.items()}
        self.up = {e: _bfs(e, self.callers) for e in estate.tier}
        self.down = {e: _bfs(e, self.callees) for e in estate.tier}

    def path_up(self, cause: str, paging: str, rng: random.Random) -> list[str]:
        """A shortest path from ``cause`` up to ``paging`` (callers), both included."""
        return _path(cause, paging, self.callers, self.up, rng)

    def path_down(self, edge: str, paging: str, rng: random.Random) -> list[str]:
        """A shortest path from ``edge`` down to ``paging`` (dependencies), both included."""
        return _path(edge, paging, self.callees, self.down, rng)


def _bfs(start: str, step: dict[str, list[str]]) -> dict[str, int]:
    seen = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if seen[node] == MAX_HOPS:
            continue
        for nxt in step.get(node, ()):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    return seen


def _path(start: str, end: str, step: dict[str, list[str]], dist: dict[str, dict[str, int]], rng: random.Random) -> list[str]:
    """Walk from ``start`` one hop at a time, always to a node one hop nearer ``end``."""
    path = [start]
    while path[-1] != end:
        here = dist[path[-1]].get(end)
        options = sorted(n for n in step.get(path[-1], ()) if end in dist[n] or n == end)
        options = [n for n in options if n == end or (here is not None and dist[n].get(end) == here - 1)]
        path.append(end if end in options else rng.choice(options))
    return path


@dataclass(frozen=True)
class Failure:
    """One failing entity: when it started failing, which failing entity it caught it from, whether it alerts."""

    entity: str
    at: datetime
    parent: str | None
    alerts: bool


def propagate(
    path: list[str], start: datetime, step: dict[str, list[str]], rng: random.Random, *, spread: float,
    path_alert: float, root_alerts: bool,
) -> list[Failure]:
    """Failures from ``path[0]`` (failing at ``start``) along ``path`` and, with ``spread``, to other neighbours.

    ``step`` gives the entities a failure reaches next (callers, or callees for a traffic spike).
    The last entity of the path (the paging service) always alerts.
    """
    failures = {path[0]: Failure(path[0], start, None, root_alerts)}
    for parent, node in pairwise(path):
        at = failures[parent].at + lognormal_minutes(rng, 1.5, 0.5)
        alerts = node == path[-1] or rng.random() < path_alert
        failures[node] = Failure(node, at, parent, alerts)
    frontier = [(node, hops) for hops, node in enumerate(path)]
    while frontier and len(failures) < MAX_FAILING:
        node, hops = frontier.pop(0)
        if hops >= MAX_HOPS:
            continue
        for nxt in sorted(step.get(node, ())):
            if nxt not in failures and len(failures) < MAX_FAILING and rng.random() < spread:
                at = failures[node].at + lognormal_minutes(rng, 1.5, 0.5)
                failures[nxt] = Failure(nxt, at, node, rng.random() < path_alert)
                frontier.append((nxt, hops + 1))
    return sorted(failures.values(), key=lambda f: (f.at, f.entity))
