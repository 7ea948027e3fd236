"""Node rows of the SQLite backend decoded in one loop, for reads that return many nodes.

A neighbourhood decodes hundreds of node rows per call. :func:`graph.sqlite_schema.row_node`
decodes one row through about ten function calls; :func:`decode_nodes` does the same work
for a whole cursor inside one loop, with the lookups bound to locals, and gives the same
records (rows were validated when they were written, so nothing is validated again)::

    rows = conn.execute(f"SELECT {NODE_ROW_SELECT} FROM nodes n WHERE n.rid IN (1, 2)")
    nodes = decode_nodes(rows)  # {rid: Node}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graph.model import Node, mutable_twin
from graph.schema import NodeLabel
from graph.sqlite_schema import PROVENANCES, TIMES, provenance_by_columns, scan_json, time_of

#: a node row with its integer key first, read from table alias ``n``: what :func:`decode_nodes` takes
NODE_ROW_SELECT = (
    "n.rid, n.id, n.label, n.name, n.props, n.at, n.valid_from, n.valid_to, n.placeholder, n.source, "
    "n.source_location, n.run_id, n.ingested_at, n.recorded_at, n.retired_at, n.content_hash"
)

# Nodes are built as mutable twins that then become Nodes (:func:`graph.model.mutable_twin`).
# Times and provenance records come from the caches :mod:`graph.sqlite_schema` keeps for every read.
_new = object.__new__
_MutableNode = mutable_twin(Node)

_LABELS = {str(label): label for label in NodeLabel}


def decode_nodes(rows: Iterable[tuple[Any, ...]]) -> dict[int, Node]:
    """``{rid: Node}`` of rows of :data:`NODE_ROW_SELECT`, in row order."""
    out: dict[int, Node] = {}
    new, twin, final = _new, _MutableNode, Node
    labels, scan = _LABELS, scan_json
    time, times = time_of, TIMES.get
    provs = PROVENANCES.get
    for (rid, id_, label, name, props, at, valid_from, valid_to, placeholder, source, location, run_id,
         ingested_at, recorded_at, retired_at, content_hash) in rows:  # fmt: skip
        node = new(twin)
        node.id = id_
        node.label = labels[label]
        key = (source, run_id, location, ingested_at)
        node.provenance = provs(key) or provenance_by_columns(*key)
        node.name = name
        node.props = {} if props == "{}" else scan(props, 0)[0]
        node.at = None if at is None else times(at) or time(at)
        node.valid_from = None if valid_from is None else times(valid_from) or time(valid_from)
        node.valid_to = None if valid_to is None else times(valid_to) or time(valid_to)
        node.placeholder = placeholder != 0
        node.recorded_at = None if recorded_at is None else times(recorded_at) or time(recorded_at)
        node.retired_at = None if retired_at is None else times(retired_at) or time(retired_at)
        node._hash = content_hash
        node.__class__ = final
        out[rid] = node
    return out
