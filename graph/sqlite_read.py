"""Neighbourhood reads of the SQLite backend: whole nodes by hop distance.

Each level is one statement over the adjacency indexes alone (edge visibility is
in SQL, the edges' far ends come back as integer keys), then one read of the
nodes not yet decoded, by key. A far node's own visibility is checked here on
the decoded node, by the same rule as :func:`graph.sqlite_schema.visible`, so a
node found in the :class:`graph.sqlite_cache.NodeCache` costs no row read::

    levels = reach(store._query, cache, "service:default/checkout", 2, "both", None, None, now)
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from operator import attrgetter

from graph.model import Direction, Node
from graph.schema import RelType
from graph.sqlite_cache import NodeCache
from graph.sqlite_schema import NODE_SELECT, ids_param, row_node
from graph.sqlite_search import Query, ends_sql, start_sql, step_params

_ID = attrgetter("id")
_BY_RID = f"SELECT n.rid, {NODE_SELECT} FROM nodes n WHERE n.rid IN (SELECT value FROM json_each(?))"


def nodes_by_rid(query: Query, rids: Collection[int], cache: NodeCache | None) -> dict[int, Node]:
    """The nodes of ``rids`` that exist, from ``cache`` when it has them (None: no cache)."""
    if cache is None:
        found: dict[int, Node] = {}
        missing = list(rids)
    else:
        found, missing = cache.lookup(rids)
    if missing:
        # in key order: neighbouring keys share b-tree pages
        read = {row[0]: row_node(row[1:]) for row in query(_BY_RID, (json.dumps(sorted(missing)),))}
        found.update(read)
        if cache is not None:
            cache.add(read)
    return found


def _is_visible(node: Node, as_of: datetime | None, now: datetime) -> bool:
    """:func:`graph.sqlite_schema.visible` of a node row, on the decoded node."""
    if as_of is None:
        return node.retired_at is None and (node.valid_to is None or node.valid_to > now)
    start = node.at if node.valid_from is None else node.valid_from
    return (start is None or start <= as_of) and (node.valid_to is None or node.valid_to > as_of)


def _start(query: Query, id_: str, as_of: datetime | None, params: dict[str, object]) -> int | None:
    """The rid of the start node if it exists and is visible."""
    rows = query(start_sql(as_of), {**params, "ids": ids_param([id_])})
    return rows[0][1] if rows and rows[0][2] else None


def reach(
    query: Query,
    cache: NodeCache | None,
    id_: str,
    depth: int,
    direction: Direction,
    types: Collection[RelType] | None,
    as_of: datetime | None,
    now: str | None,
) -> list[list[Node]]:
    """The visible nodes 1, 2, ... ``depth`` hops from ``id_`` (one list per distance, in id order).

    A start that does not exist or is not visible (retired, or outside ``as_of``) reaches nothing.
    """
    sql = ends_sql(direction, as_of)
    params = step_params(types, as_of, now)
    start = _start(query, id_, as_of, params)
    if start is None:
        return []
    # the times the SQL conditions compare with, as the same fixed-width text decoded
    at = None if as_of is None else datetime.fromisoformat(str(params["as_of"]))
    clock = datetime.fromisoformat(str(now))
    seen = {start}
    frontier = [start]
    levels: list[list[Node]] = []
    while frontier and len(levels) < depth:
        params["rids"] = json.dumps(sorted(frontier))
        new = {rid for (rid,) in query(sql, params)} - seen
        seen |= new
        frontier = []
        level = []
        for rid, node in nodes_by_rid(query, new, cache).items():
            if _is_visible(node, at, clock):
                level.append(node)
                frontier.append(rid)
        level.sort(key=_ID)
        levels.append(level)
    return levels
