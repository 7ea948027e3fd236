"""Breadth-first search of the SQLite backend, in SQL on integer node keys.

Each level is one statement from the frontier's ``rid`` list to the (rid, id)
of the nodes one hop away. Only the far end of an edge is joined and checked
for visibility: a frontier node is visible by construction (a start is checked
once, every later node was reached through a visible far end). The adjacency
indexes cover every column a level reads, so an edge costs one index entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from graph.model import Direction
from graph.schema import RelType
from graph.sqlite_schema import ids_param, visible

Query = Callable[[str, Any], list[Any]]

_TYPES = "(:types IS NULL OR e.type IN (SELECT value FROM json_each(:types)))"
#: one hop along each direction: the far node's (rid, id); ``{cond}`` is the visibility of ``e`` and ``n``
_OUT = (
    "SELECT n.rid, n.id FROM edges e JOIN nodes n ON n.rid = e.dst "
    f"WHERE e.src IN (SELECT value FROM json_each(:rids)) AND {_TYPES} AND {{cond}}"
)
_IN = (
    "SELECT n.rid, n.id FROM edges e JOIN nodes n ON n.rid = e.src "
    f"WHERE e.dst IN (SELECT value FROM json_each(:rids)) AND e.src != e.dst AND {_TYPES} AND {{cond}}"
)


def step_params(types: Collection[RelType] | None, as_of: datetime | None, now: str | None) -> dict[str, Any]:
    """The parameters of a level's statement (:func:`step_sql`, :func:`ends_sql`); frontier rids go in ``rids``."""
    params: dict[str, Any] = {"now": now, "rids": "[]"}
    params["types"] = None if types is None else ids_param([str(RelType(t)) for t in types])
    params.update(visible("e", as_of)[1])
    return params


def step_sql(
    direction: Direction, types: Collection[RelType] | None, as_of: datetime | None, now: str | None
) -> tuple[str, dict[str, Any]]:
    """The statement of one level (frontier rids in ``:rids``) and its parameters."""
    params = step_params(types, as_of, now)
    edge_cond, _ = visible("e", as_of)
    node_cond, _ = visible("n", as_of)
    cond = f"{edge_cond} AND {node_cond}"
    parts = []
    if direction in ("out", "both"):
        parts.append(_OUT.format(cond=cond))
    if direction in ("in", "both"):
        parts.append(_IN.format(cond=cond))
    # duplicates (a node reached by several edges) are dropped in Python, cheaper than a temp b-tree
    return " UNION ALL ".join(parts), params


#: the far ends of one hop: rids only, so each node is then read (or found decoded) once
_OUT_ENDS = (
    "SELECT e.dst FROM edges e "
    f"WHERE e.src IN (SELECT value FROM json_each(:rids)) AND {_TYPES} AND {{cond}}"
)
_IN_ENDS = (
    "SELECT e.src FROM edges e "
    f"WHERE e.dst IN (SELECT value FROM json_each(:rids)) AND e.src != e.dst AND {_TYPES} AND {{cond}}"
)


def ends_sql(direction: Direction, as_of: datetime | None) -> str:
    """The far ends (rids, repeated per edge) of the visible edges of ``:rids``.

    Takes the parameters of :func:`step_params`. Only the adjacency indexes are read: the
    caller checks the far nodes' visibility on the nodes it reads anyway.
    """
    edge_cond, _ = visible("e", as_of)
    parts = []
    if direction in ("out", "both"):
        parts.append(_OUT_ENDS.format(cond=edge_cond))
    if direction in ("in", "both"):
        parts.append(_IN_ENDS.format(cond=edge_cond))
    return " UNION ALL ".join(parts)


def start_sql(as_of: datetime | None) -> str:
    """(id, rid, visible) of the start nodes that exist; the ids are ``:ids``."""
    cond, _ = visible("n", as_of)
    return f"SELECT n.id, n.rid, {cond} FROM nodes n WHERE n.id IN (SELECT value FROM json_each(:ids)) ORDER BY n.rid"


def search(
    query: Query,
    starts: Collection[str],
    depth: int,
    direction: Direction,
    types: Collection[RelType] | None,
    as_of: datetime | None,
    now: str | None,
    max_nodes: int | None = None,
) -> tuple[dict[str, tuple[int, int]], list[int]]:
    """(hop distance, rid) of every node within ``depth`` hops, and the rids of the last level reached.

    A start that does not exist has rid 0; one that exists but is not visible (retired, or
    outside ``as_of``) reaches nothing. ``depth`` 0 gives the visible starts as the last level.
    """
    seen: dict[str, tuple[int, int]] = {s: (0, 0) for s in starts}
    sql, params = step_sql(direction, types, as_of, now)
    frontier = []
    for id_, rid, is_visible in query(start_sql(as_of), {**params, "ids": ids_param(list(seen))}):
        seen[id_] = (0, rid)
        if is_visible:
            frontier.append(rid)
    for level in range(1, depth + 1):
        if not frontier:
            break
        params["rids"] = json.dumps(frontier)
        found = sorted({(id_, rid) for rid, id_ in query(sql, params) if id_ not in seen})
        if max_nodes is not None:
            found = found[: max(0, max_nodes - len(seen))]
        for id_, rid in found:
            seen[id_] = (level, rid)
        frontier = [rid for _, rid in found]
    return seen, frontier
