"""The write statements of the Neo4j backend.

Same rules as :mod:`graph.neo4j_cypher`: every value is a parameter. Node
and edge writes are short statements with dynamic labels and types: an edge
is found from its source node (its id names its type and target), so they
need no relationship-property index and no type in the text, and plan in
milliseconds. Retiring or deleting a source looks its edges up by the
per-type ``source`` index: one statement, a ``UNION ALL`` of one indexed
branch per type, generated here from :class:`graph.schema.RelType`.

Lists whose length varies with the input travel inside a map parameter ``$p``:
the server caches a plan per statement and per rough size of each list
parameter (a map parameter is one cache entry whatever it holds).
"""

from __future__ import annotations

from graph.neo4j_cypher import N, all_types
from graph.schema import RelType

# Every write statement has one sensible plan whatever the counts (unique-index seeks, expands from
# a node found so, index hints), so ``replan=skip`` keeps the cached plan while the data grows
# instead of planning it again each time the statistics move (the server still plans it once).
_ONCE = "CYPHER replan=skip "

# --- node writes ---------------------------------------------------------------
NODE_STATES = (
    _ONCE + f"UNWIND $p.ids AS id MATCH (n:{N} {{id: id}}) "
    "RETURN collect({id: n.id, hash: n.content_hash, source: n.source, placeholder: n.placeholder, "
    "retired: n.retired_at IS NOT NULL}) AS rows"
)
NODE_INSERT = _ONCE + f"UNWIND $p.rows AS r CREATE (n:{N}) SET n = r.props SET n:$(r.label)"
NODE_UPDATE = (
    _ONCE + f"UNWIND $p.rows AS r MATCH (n:{N} {{id: r.props.id}}) "
    "WITH n, r, n.recorded_at AS recorded SET n = r.props SET n.recorded_at = recorded"
)
NODE_PLACEHOLDERS = (
    _ONCE + f"UNWIND $p.rows AS r MERGE (n:{N} {{id: r.props.id}}) ON CREATE SET n = r.props, n:$(r.label) "
    "ON MATCH SET n.retired_at = CASE WHEN n.placeholder THEN null ELSE n.retired_at END, "
    "n.valid_to = CASE WHEN n.placeholder THEN null ELSE n.valid_to END"
)

# --- edge writes -------------------------------------------------------------------
# An edge's id names its type and endpoints, so its stored versions are found from its source node
# (a unique-index seek) with no relationship-property index, so no type in the text: short
# statements that plan in milliseconds, where one indexed branch per type took seconds to plan
# (and again whenever the statistics moved).
_STATE = (
    "collect({id: e.id, src: a.id, type: type(e), current: e.retired_at IS NULL, "
    "hash: e.content_hash, source: e.source, valid_from: e.valid_from, valid_to: e.valid_to})"
)
# the versions of edges (``$p.rows``: {id, type, src}), reached from their source node's outgoing
# relationships (an event's few, or a dense node's chains of that direction); the target is left
# unconstrained (the id names it), so the planner cannot start from it instead and walk all of a
# popular service's incoming relationships
_FROM_SRC = f"UNWIND $p.rows AS r MATCH (a:{N} {{id: r.src}})-[e:$(r.type)]->(b) WHERE e.id = r.id "
#: everything the planner needs about an edge chunk, in one statement: ``real`` the endpoints
#: (``$p.ends``) that are real nodes (the rest need a placeholder), ``states`` the stored versions
#: of the chunk's edges (``$p.rows``: {id, type, src}), ``siblings`` the current edges of its
#: functional groups (``$p.groups``: {src, type}) that may still end after ``$p.since``
#: (see :func:`graph.planner.supersedes_from`)
EDGE_CHUNK_STATE = (
    _ONCE + f"CALL () {{ UNWIND $p.ends AS id MATCH (n:{N} {{id: id}}) WHERE NOT n.placeholder RETURN collect(n.id) AS real }} "
    f"CALL () {{ {_FROM_SRC}RETURN {_STATE} AS states }} "
    f"CALL () {{ UNWIND $p.groups AS g MATCH (a:{N} {{id: g.src}})-[e:$(g.type)]->(b) WHERE e.retired_at IS NULL "
    f"AND ($p.since IS NULL OR e.valid_to IS NULL OR e.valid_to > $p.since) RETURN {_STATE} AS siblings }} "
    "RETURN real, states, siblings"
)
#: the current versions of edges (``$p.rows``: {id, type, src} and the step's values)
_CURRENT = _FROM_SRC + "AND e.retired_at IS NULL "
#: retire current versions (rows with ``valid_to``) at ``$now``
EDGE_RETIRE = _ONCE + _CURRENT + "SET e.retired_at = $now, e.valid_to = r.valid_to"
#: close the validity of current versions (rows with ``valid_to``)
EDGE_CLOSE = _ONCE + _CURRENT + "SET e.valid_to = r.valid_to"
#: move current versions to another source (rows with the new provenance)
EDGE_REPROVENANCE = (
    _ONCE + _CURRENT + "SET e.source = r.source, e.source_location = r.source_location, e.run_id = r.run_id, "
    "e.ingested_at = r.ingested_at"
)
# dynamic types cost nothing here: nothing is looked up by a relationship property
EDGE_INSERT = (
    _ONCE + f"UNWIND $p.rows AS r MATCH (a:{N} {{id: r.src}}) MATCH (b:{N} {{id: r.dst}}) "
    "CREATE (a)-[e:$(r.type)]->(b) SET e = r.props"
)

# --- sources: one statement each ---------------------------------------------------------
# A source's edges are found through the per-type ``source`` index, a branch per type: such a
# statement takes seconds to plan, and every lookup in it is pinned to its index by a hint.
_EDGES_RETIRE = all_types(
    "MATCH ()-[e:{T}]->() USING INDEX e:{T}(source) WHERE e.source = $source AND e.retired_at IS NULL "
    "AND NOT e.id IN $p.keep_edges SET e.retired_at = $now, e.valid_to = coalesce(e.valid_to, $now) "
    "RETURN count(e) AS c",
    list(RelType),
)
_SOURCE_NODES = f"MATCH (n:{N}) USING INDEX n:{N}(source) WHERE n.source = $source "
#: retire what ``$source`` asserted, but ``$p.keep_nodes``/``$p.keep_edges``; edges first, so a
#: placeholder stays while a current edge still points at it
RETIRE_SOURCE = (
    _ONCE + _EDGES_RETIRE + "WITH sum(c) AS edges "
    f"CALL () {{ {_SOURCE_NODES}AND n.retired_at IS NULL AND NOT n.id IN $p.keep_nodes "
    "AND NOT (n.placeholder AND EXISTS { MATCH (n)-[e]-() WHERE e.retired_at IS NULL }) "
    "SET n.retired_at = $now, n.valid_to = coalesce(n.valid_to, $now) RETURN count(n) AS nodes } "
    "RETURN edges + nodes AS retired"
)
_EDGES_DELETE = all_types(
    "MATCH ()-[e:{T}]->() USING INDEX e:{T}(source) WHERE e.source = $source DELETE e RETURN count(e) AS c",
    list(RelType),
)
#: delete what ``$source`` asserted; a node of it that other sources' edges still use becomes
#: a placeholder with the provenance of its first remaining edge (``$hashes``: label -> hash)
DELETE_SOURCE = (
    _ONCE + _EDGES_DELETE + "WITH sum(c) AS edges "
    f"CALL () {{ {_SOURCE_NODES}"
    "MATCH (n)-[e]-() WITH n, e ORDER BY e.source, e.id "
    "WITH n, collect(e)[0] AS first "
    "SET n = {id: n.id, label: n.label, placeholder: true, source: first.source, "
    "source_location: first.source_location, run_id: first.run_id, ingested_at: first.ingested_at, "
    "recorded_at: n.recorded_at, content_hash: $hashes[n.label]} "
    "RETURN count(n) AS demoted } "
    f"CALL () {{ {_SOURCE_NODES}DETACH DELETE n RETURN count(n) AS nodes }} "
    "RETURN edges + nodes AS deleted, demoted"
)
