"""Neighbourhood reads of the SQLite backend: whole nodes by hop distance.

Each level is one statement over the adjacency indexes alone (edge visibility is
in SQL, the edges' far ends come back as one JSON array of integer keys), then
one read of the nodes not yet decoded, by key (decoded in one loop by
:func:`graph.sqlite_read_nodes.decode_nodes`). A far node's own visibility is
checked here on the decoded node, by the same rule as
:func:`graph.sqlite_schema.visible`, so a node found in the
:class:`graph.sqlite_cache.NodeCache` costs no row read::

    hops = reach(conn.execute, cache, "service:default/checkout", 2, "both", None, None, now)

A read allocates as few objects as it can: a neighbourhood is hundreds of
records, and every object that outlives a statement (a row tuple, a cached
record) is one more for the garbage collector to walk over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from operator import attrgetter
from typing import Any

from graph.model import Direction, Hop, Node, mutable_twin
from graph.schema import RelType
from graph.sqlite_cache import NodeCache
from graph.sqlite_read_nodes import NODE_ROW_SELECT, decode_nodes
from graph.sqlite_schema import ids_param
from graph.sqlite_search import ends_sql, start_sql, step_params

#: runs a statement and gives its rows (``sqlite3.Connection.execute``): rows are decoded as
#: they come, rather than all held in a list first
Rows = Callable[[str, Any], Iterable[Any]]

_ID = attrgetter("id")
_BY_RID = f"SELECT {NODE_ROW_SELECT} FROM nodes n WHERE n.rid IN (SELECT value FROM json_each(?))"

# A Hop is built as a mutable twin that then becomes a Hop (:func:`graph.model.mutable_twin`):
# about half the cost of the frozen dataclass's ``__init__``, and a neighbourhood builds hundreds.
_new = object.__new__
_MutableHop = mutable_twin(Hop)


def hops_at(nodes: list[Node], depth: int) -> list[Hop]:
    """``Hop(node, depth)`` of each node, in order (the nodes are a store's own records)."""
    hops: list[Hop] = []
    append = hops.append
    for node in nodes:
        hop = _new(_MutableHop)
        hop.node = node
        hop.depth = depth
        hop.__class__ = Hop
        append(hop)
    return hops


def nodes_by_rid(query: Rows, rids: Collection[int], cache: NodeCache | None) -> dict[int, Node]:
    """The nodes of ``rids`` that exist, from ``cache`` when it has them (None: no cache)."""
    if cache is None:
        found: dict[int, Node] = {}
        missing = list(rids)
    else:
        found, missing = cache.lookup(rids)
    if missing:
        # in key order: neighbouring keys share b-tree pages
        read = decode_nodes(query(_BY_RID, (json.dumps(sorted(missing)),)))
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


def _start(query: Rows, id_: str, as_of: datetime | None, params: dict[str, object]) -> int | None:
    """The rid of the start node if it exists and is visible."""
    for _, rid, visible in query(start_sql(as_of), {**params, "ids": ids_param([id_])}):
        return int(rid) if visible else None
    return None


def _visible(nodes: dict[int, Node], as_of: datetime | None, now: datetime) -> dict[int, Node]:
    """The visible ones of ``nodes`` (now, or at ``as_of``)."""
    if as_of is None:  # most nodes are neither retired nor end: no time to compare
        return {
            rid: n
            for rid, n in nodes.items()
            if (n.retired_at is None and n.valid_to is None) or _is_visible(n, None, now)
        }
    return {rid: n for rid, n in nodes.items() if _is_visible(n, as_of, now)}


def reach(
    query: Rows,
    cache: NodeCache | None,
    id_: str,
    depth: int,
    direction: Direction,
    types: Collection[RelType] | None,
    as_of: datetime | None,
    now: str | None,
) -> list[Hop]:
    """The visible nodes 1, 2, ... ``depth`` hops from ``id_``, by distance then id.

    A start that does not exist or is not visible (retired, or outside ``as_of``) reaches nothing.
    """
    sql = f"WITH ends(far) AS ({ends_sql(direction, as_of)}) SELECT json_group_array(far) FROM ends"
    params = step_params(types, as_of, now)
    start = _start(query, id_, as_of, params)
    if start is None:
        return []
    # the times the SQL conditions compare with, as the same fixed-width text decoded
    at = None if as_of is None else datetime.fromisoformat(str(params["as_of"]))
    clock = datetime.fromisoformat(str(now))
    seen = {start}
    frontier = [start]
    hops: list[Hop] = []
    level = 0
    while frontier and level < depth:
        level += 1
        params["rids"] = json.dumps(sorted(frontier))
        ((ends,),) = query(sql, params)
        new = set(json.loads(ends)) - seen
        seen |= new
        found = _visible(nodes_by_rid(query, new, cache), at, clock)
        hops += hops_at(sorted(found.values(), key=_ID), level)
        frontier = list(found) if level < depth else []
    return hops
