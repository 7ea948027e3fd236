"""Incident-edge reads of the SQLite backend, decoded in one loop.

Both directions of a step are read with ``UNION ALL`` and an edge met twice (both
ends among the ids) is dropped here by its row key: SQLite's ``UNION`` would sort
whole rows (fourteen columns) to find the same duplicates. Rows are decoded in
one loop with the lookups bound to locals, into the records
:func:`graph.sqlite_schema.row_edge` gives (validated when they were written)::

    sql, params = incident_sql(["service:default/checkout"], "both", None, None, now)
    edges = decode_edges(conn.execute(sql, params))
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from graph.model import Direction, Edge, mutable_twin
from graph.schema import RelType
from graph.sqlite_schema import ids_param, provenance_by_columns, scan_props, time_of, visible

#: an edge row with its endpoints' text ids and its provenance, as :func:`decode_edges` reads it
_SELECT = (
    "SELECT e.seq, e.id, e.type, a.id, b.id, e.key, e.props, e.valid_from, e.valid_to, p.source, p.run_id, "
    "p.source_location, p.ingested_at, e.recorded_at, e.retired_at FROM edges e JOIN nodes a ON a.rid = e.src "
    "JOIN nodes b ON b.rid = e.dst JOIN edge_provenance p ON p.k = e.prov "
)

# edges are built as mutable twins that then become Edges (:func:`graph.model.mutable_twin`)
_new = object.__new__
_MutableEdge = mutable_twin(Edge)
_TYPES = {str(type_): type_ for type_ in RelType}


def incident_sql(
    ids: Collection[str],
    direction: Direction,
    types: Collection[RelType] | None,
    as_of: datetime | None,
    now: str | None,
) -> tuple[str, dict[str, Any]]:
    """The statement and parameters of the visible edges touching ``ids`` (rows for :func:`decode_edges`)."""
    params: dict[str, Any] = {"ids": ids_param([str(i) for i in ids]), "types": None, "now": now}
    if types is not None:
        params["types"] = ids_param([str(RelType(t)) for t in types])
    conds = []
    for alias in ("e", "a", "b"):
        cond, extra = visible(alias, as_of)
        conds.append(cond)
        params.update(extra)
    tail = "AND (:types IS NULL OR e.type IN (SELECT value FROM json_each(:types))) AND " + " AND ".join(conds)
    parts = []
    if direction in ("out", "both"):
        parts.append(_SELECT + "WHERE a.id IN (SELECT value FROM json_each(:ids)) " + tail)
    if direction in ("in", "both"):
        parts.append(_SELECT + "WHERE b.id IN (SELECT value FROM json_each(:ids)) " + tail)
    return " UNION ALL ".join(parts), params


def decode_edges(rows: Iterable[Any]) -> list[Edge]:
    """The edges of rows of :func:`incident_sql`, each once, in row order (validated when written)."""
    provenance = provenance_by_columns
    seen: set[int] = set()
    edges: list[Edge] = []
    append, new, twin, final, types = edges.append, _new, _MutableEdge, Edge, _TYPES
    for (seq, id_, type_, src, dst, key, props, valid_from, valid_to, source, run_id, location, ingested_at,
         recorded_at, retired_at) in rows:  # fmt: skip
        if seq in seen:
            continue
        seen.add(seq)
        edge = new(twin)
        edge.type = types[type_]
        edge.src = src
        edge.dst = dst
        edge.provenance = provenance(source, run_id, location, ingested_at)
        edge.props = scan_props(props)
        edge.key = key
        edge.valid_from = None if valid_from is None else time_of(valid_from)
        edge.valid_to = None if valid_to is None else time_of(valid_to)
        edge.recorded_at = None if recorded_at is None else time_of(recorded_at)
        edge.retired_at = None if retired_at is None else time_of(retired_at)
        edge._id = id_
        edge._hash = ""
        edge.__class__ = final
        append(edge)
    return edges
