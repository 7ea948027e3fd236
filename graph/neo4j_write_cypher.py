"""The write statements of the Neo4j backend.

Same rules as :mod:`graph.neo4j_cypher`: every value is a parameter. Node
writes and edge inserts are short statements with dynamic labels and types.
A lookup of edges by id or by source must use a relationship-property index,
and an index is per type, so the type has to be spelled in the text: those
statements come one per type (:func:`graph.neo4j_cypher.per_type`), generated from
:class:`graph.schema.RelType` members checked against a strict identifier
pattern, and a step runs the ones of the types its rows have. Each is a
single index seek the server plans in milliseconds (a ``UNION`` of one branch
per type took seconds of server CPU to plan, and again whenever the
statistics moved); every lookup is pinned to its index by a hint, so no plan
ever walks a dense node's relationships to find an edge. The hints ask for a
*seek*: a plain index hint is also met by a scan of the whole index, which the
planner picks when the statistics say a type has no relationships yet (a
statement first planned early in a load scanned every node id per row).

Lists whose length varies with the input travel inside a map parameter ``$p``:
the server caches a plan per statement and per rough size of each list
parameter (a map parameter is one cache entry whatever it holds).
"""

from __future__ import annotations

from graph.neo4j_cypher import N, per_type
from graph.schema import RELS, RelType

#: the bulk write path's statements keep their cached plan when the statistics move: every one
#: is anchored by index seeks the hints demand, so a new plan could only be the same one
PINNED = "CYPHER replan=skip "


# --- node writes ---------------------------------------------------------------
NODE_STATES = (
    PINNED + f"UNWIND $p.ids AS id MATCH (n:{N} {{id: id}}) USING INDEX SEEK n:{N}(id) "
    "RETURN collect({id: n.id, hash: n.content_hash, source: n.source, placeholder: n.placeholder, "
    "retired: n.retired_at IS NOT NULL}) AS rows"
)
NODE_INSERT = PINNED + f"UNWIND $p.rows AS r CREATE (n:{N}) SET n = r.props SET n:$(r.label)"
NODE_UPDATE = (
    PINNED + f"UNWIND $p.rows AS r MATCH (n:{N} {{id: r.props.id}}) USING INDEX SEEK n:{N}(id) "
    "WITH n, r, n.recorded_at AS recorded SET n = r.props SET n.recorded_at = recorded"
)
NODE_PLACEHOLDERS = (
    f"UNWIND $p.rows AS r MERGE (n:{N} {{id: r.props.id}}) ON CREATE SET n = r.props, n:$(r.label) "
    "ON MATCH SET n.retired_at = CASE WHEN n.placeholder THEN null ELSE n.retired_at END, "
    "n.valid_to = CASE WHEN n.placeholder THEN null ELSE n.valid_to END"
)

# --- what the planner needs about an edge chunk --------------------------------------
#: the endpoints (``$p.ends``) that are real nodes (the rest need a placeholder)
REAL_ENDS = (
    PINNED + f"UNWIND $p.ends AS id MATCH (n:{N} {{id: id}}) USING INDEX SEEK n:{N}(id) WHERE NOT"
    " n.placeholder RETURN collect(n.id) AS rows"
)
_STATE = (
    "collect({id: e.id, src: a.id, type: type(e), current: e.retired_at IS NULL, hash: e.content_hash, "
    "source: e.source, valid_from: e.valid_from, valid_to: e.valid_to}) AS rows"
)
_BY_ID = "MATCH (a)-[e:{T} {id: {ID}}]->() USING INDEX SEEK e:{T}(id) "
#: every stored version of the edges ``$p.ids`` of one type
EDGE_STATES = per_type(PINNED + "UNWIND $p.ids AS id " + _BY_ID.replace("{ID}", "id") + "RETURN " + _STATE)
_FUNCTIONAL = [t for t in RelType if RELS[t].functional]
#: the current edges of one functional type from the source nodes ``$p.srcs`` (a batch with an undated
#: functional edge reads its groups whole); typed expands from a node found by its unique index (a dense
#: node keeps each type's relationships apart)
SIBLINGS = per_type(
    PINNED + f"UNWIND $p.srcs AS src MATCH (a:{N} {{id: src}})-[e:{{T}}]->() USING INDEX SEEK a:{N}(id) "
    "WHERE e.retired_at IS NULL RETURN " + _STATE,
    _FUNCTIONAL,
)
#: per probe ``{src, at}`` of one functional type (see :func:`graph.planner.sibling_probes`): the
#: current edges from ``src`` in force at ``at`` and the first one that starts after it
SIBLINGS_AT = per_type(
    PINNED + f"UNWIND $p.probes AS pr MATCH (a:{N} {{id: pr.src}}) USING INDEX SEEK a:{N}(id) "
    "CALL (a, pr) { MATCH (a)-[e:{T}]->() WHERE e.retired_at IS NULL "
    "AND (e.valid_from IS NULL OR e.valid_from <= pr.at) AND (e.valid_to IS NULL OR e.valid_to > pr.at) RETURN e "
    "UNION MATCH (a)-[e:{T}]->() WHERE e.retired_at IS NULL AND e.valid_from > pr.at "
    "RETURN e ORDER BY e.valid_from LIMIT 1 } WITH DISTINCT a, e RETURN " + _STATE,
    _FUNCTIONAL,
)

# --- edge writes: current versions of one type (``$p.rows``: {id, ...}) -------------------
_CURRENT = PINNED + "UNWIND $p.rows AS r " + _BY_ID.replace("{ID}", "r.id") + "WHERE e.retired_at IS NULL "
#: retire current versions (rows with ``valid_to``) at ``$now``
EDGE_RETIRE = per_type(_CURRENT + "SET e.retired_at = $now, e.valid_to = r.valid_to")
#: close the validity of current versions (rows with ``valid_to``)
EDGE_CLOSE = per_type(_CURRENT + "SET e.valid_to = r.valid_to")
#: move current versions to another source (rows with the new provenance)
EDGE_REPROVENANCE = per_type(
    _CURRENT + "SET e.source = r.source, e.source_location = r.source_location, e.run_id = r.run_id, "
    "e.ingested_at = r.ingested_at"
)
# dynamic types cost nothing here: nothing is looked up by a relationship property
EDGE_INSERT = (
    PINNED + f"UNWIND $p.rows AS r MATCH (a:{N} {{id: r.src}}) USING INDEX SEEK a:{N}(id) "
    f"MATCH (b:{N} {{id: r.dst}}) USING INDEX SEEK b:{N}(id) CREATE (a)-[e:$(r.type)]->(b) SET e = r.props"
)

# --- sources -------------------------------------------------------------------------
_OF_SOURCE = "MATCH ()-[e:{T}]->() USING INDEX SEEK e:{T}(source) WHERE e.source = $source "
#: retire the current edges of one type that ``$source`` asserted, but ``$p.keep``
SOURCE_EDGES_RETIRE = per_type(
    _OF_SOURCE + "AND e.retired_at IS NULL AND NOT e.id IN $p.keep "
    "SET e.retired_at = $now, e.valid_to = coalesce(e.valid_to, $now) RETURN count(e) AS c"
)
_SOURCE_NODES = f"MATCH (n:{N}) USING INDEX SEEK n:{N}(source) WHERE n.source = $source "
#: retire the nodes ``$source`` asserted, but ``$p.keep``; run after the edges, so a placeholder
#: stays while a current edge still points at it
SOURCE_NODES_RETIRE = (
    _SOURCE_NODES + "AND n.retired_at IS NULL AND NOT n.id IN $p.keep "
    "AND NOT (n.placeholder AND EXISTS { MATCH (n)-[e]-() WHERE e.retired_at IS NULL }) "
    "SET n.retired_at = $now, n.valid_to = coalesce(n.valid_to, $now) RETURN count(n) AS c"
)
#: delete the edges of one type that ``$source`` asserted
SOURCE_EDGES_DELETE = per_type(_OF_SOURCE + "DELETE e RETURN count(e) AS c")
#: the nodes of ``$source`` that other sources' edges still use become placeholders with the
#: provenance of their first remaining edge (``$hashes``: label -> hash); run after the edges
SOURCE_NODES_DEMOTE = (
    _SOURCE_NODES + "MATCH (n)-[e]-() WITH n, e ORDER BY e.source, e.id "
    "WITH n, collect(e)[0] AS first "
    "SET n = {id: n.id, label: n.label, placeholder: true, source: first.source, "
    "source_location: first.source_location, run_id: first.run_id, ingested_at: first.ingested_at, "
    "recorded_at: n.recorded_at, content_hash: $hashes[n.label]} "
    "RETURN count(n) AS c"
)
#: delete the nodes ``$source`` still holds (after the demotion: those no other source uses)
SOURCE_NODES_DELETE = _SOURCE_NODES + "DETACH DELETE n RETURN count(n) AS c"
