"""Decoded nodes kept between reads of the SQLite backend, by integer key (``rid``).

A neighbourhood returns hundreds of whole nodes, and decoding a row (its JSON
properties, times and provenance) costs as much as finding it. Reads close in
time meet many of the same nodes (a popular service and its dependents), so the
decoded :class:`graph.model.Node` records are kept in a bounded LRU map.

The cache is never stale: before each use it compares the database's change
counters with the ones it was filled under and empties itself if they moved.
``PRAGMA data_version`` moves when another connection (or process) commits, and
the connection's ``total_changes`` when this one writes. Inside an open
transaction it is not used at all (a rollback would undo rows it had seen)::

    cache = NodeCache(50_000)
    if cache.check(conn):
        found, missing = cache.lookup([12, 40])

A node row holds the one current version of a node (its validity and retirement
are columns of it), so a cached node serves every ``as_of``: what is visible
when is decided by the caller, never by the cache. Cached records are shared
between callers; like every record they are frozen, and their ``props`` must
not be changed in place.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from graph.errors import RecordError
from graph.model import Node

#: nodes kept by default (about 1 KiB each with their properties)
NODE_CACHE_SIZE = 50_000


class NodeCache:
    """A bounded LRU map from node ``rid`` to its decoded :class:`Node`.

    ``size`` 0 disables it: :meth:`check` then always answers False.
    """

    def __init__(self, size: int = NODE_CACHE_SIZE) -> None:
        if size < 0:
            raise RecordError(f"node cache size: expected 0 or more, got {size}")
        self.size = size
        self._nodes: OrderedDict[int, Node] = OrderedDict()
        self._token: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self._nodes)

    def check(self, conn: sqlite3.Connection) -> bool:
        """True when the cache may be used for a read on ``conn`` now; empties it if the database changed."""
        if self.size == 0 or conn.in_transaction:
            return False
        token = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        if token != self._token:
            self._nodes.clear()
            self._token = token
        return True

    def lookup(self, rids: Iterable[int]) -> tuple[dict[int, Node], list[int]]:
        """The cached nodes of ``rids`` (now the most recently used) and the rids not cached."""
        nodes = self._nodes
        found: dict[int, Node] = {}
        missing: list[int] = []
        touch = nodes.move_to_end
        for rid in rids:
            node = nodes.get(rid)
            if node is None:
                missing.append(rid)
            else:
                found[rid] = node
                touch(rid)
        return found, missing

    def add(self, nodes: Mapping[int, Node]) -> None:
        """Keep ``nodes`` (just read under the current check), dropping the least recently used."""
        self._nodes.update(nodes)
        excess = len(self._nodes) - self.size
        for _ in range(max(0, excess)):
            self._nodes.popitem(last=False)

    def clear(self) -> None:
        """Forget every node (the next reads decode their rows again)."""
        self._nodes.clear()
