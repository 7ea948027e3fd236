"""The write statements of the Neo4j backend.

Same rules as :mod:`graph.neo4j_cypher`: every value is a parameter; a
relationship type appears in the text only where a relationship-property
index must be used, generated here from :class:`graph.schema.RelType`. A step
that touches every type is one statement, a ``UNION ALL`` of one indexed
branch per type reading its rows from a parameter map keyed by type (a
missing key is null, and unwinding null gives no rows), so an edge chunk reads
what the planner needs in one round trip and a source is retired or deleted
in one statement.

Lists whose length varies with the input travel inside a map parameter ``$p``:
the server caches a plan per statement and per rough size of each list
parameter, and planning the larger statements costs seconds, once per size
(a map parameter is one cache entry whatever it holds).
"""

from __future__ import annotations

from graph.neo4j_cypher import N, all_types
from graph.schema import RELS, RelType

# --- node writes ---------------------------------------------------------------
NODE_STATES = (
    f"UNWIND $p.ids AS id MATCH (n:{N} {{id: id}}) "
    "RETURN collect({id: n.id, hash: n.content_hash, source: n.source, placeholder: n.placeholder, "
    "retired: n.retired_at IS NOT NULL}) AS rows"
)
NODE_INSERT = f"UNWIND $p.rows AS r CREATE (n:{N}) SET n = r.props SET n:$(r.label)"
NODE_UPDATE = (
    f"UNWIND $p.rows AS r MATCH (n:{N} {{id: r.props.id}}) "
    "WITH n, r, n.recorded_at AS recorded SET n = r.props SET n.recorded_at = recorded"
)
NODE_PLACEHOLDERS = (
    f"UNWIND $p.rows AS r MERGE (n:{N} {{id: r.props.id}}) ON CREATE SET n = r.props, n:$(r.label) "
    "ON MATCH SET n.retired_at = CASE WHEN n.placeholder THEN null ELSE n.retired_at END, "
    "n.valid_to = CASE WHEN n.placeholder THEN null ELSE n.valid_to END"
)

# --- edge writes -------------------------------------------------------------------
_STATE = (
    "collect({id: e.id, src: a.id, type: type(e), current: e.retired_at IS NULL, hash: e.content_hash, "
    "source: e.source, valid_from: e.valid_from, valid_to: e.valid_to})"
)
_FUNCTIONAL = [t for t in RelType if RELS[t].functional]
#: everything the planner needs about an edge chunk, in one statement: ``real`` the endpoints
#: (``$p.ends``) that are real nodes (the rest need a placeholder), ``states`` the stored versions
#: of the chunk's edges (``$ids``: type name -> ids), ``siblings`` the current edges of its
#: functional groups (``$srcs``: type name -> source node ids) that may still end after ``$since``
#: (see :func:`graph.planner.supersedes_from`)
EDGE_CHUNK_STATE = (
    f"CALL () {{ UNWIND $p.ends AS id MATCH (n:{N} {{id: id}}) WHERE NOT n.placeholder RETURN collect(n.id) AS real }} "
    "CALL () { "
    + all_types("UNWIND $ids.{T} AS id MATCH (a)-[e:{T} {id: id}]->() RETURN a, e", list(RelType))
    + f"RETURN {_STATE} AS states }} "
    "CALL () { "
    + all_types(
        f"UNWIND $srcs.{{T}} AS src MATCH (a:{N} {{id: src}})-[e:{{T}}]->() WHERE e.retired_at IS NULL "
        "AND ($since IS NULL OR e.valid_to IS NULL OR e.valid_to > $since) RETURN a, e",
        _FUNCTIONAL,
    )
    + f"RETURN {_STATE} AS siblings }} "
    "RETURN real, states, siblings"
)


def _by_type(branch: str) -> str:
    """A statement running ``branch`` on the rows of every type (``$rows``: type name -> rows)."""
    body = "UNWIND $rows.{T} AS r MATCH ()-[e:{T} {id: r.id}]->() WHERE e.retired_at IS NULL " + branch
    return all_types(body + " RETURN count(*) AS c", list(RelType)) + "RETURN sum(c) AS c"


#: retire current versions (``$rows``: type name -> [{id, valid_to}]) at ``$now``
EDGE_RETIRE = _by_type("SET e.retired_at = $now, e.valid_to = r.valid_to")
#: close the validity of current versions (``$rows``: type name -> [{id, valid_to}])
EDGE_CLOSE = _by_type("SET e.valid_to = r.valid_to")
#: move current versions to another source (``$rows``: type name -> provenance rows)
EDGE_REPROVENANCE = _by_type(
    "SET e.source = r.source, e.source_location = r.source_location, e.run_id = r.run_id, "
    "e.ingested_at = r.ingested_at"
)
# dynamic types cost nothing here: nothing is looked up by a relationship property
EDGE_INSERT = (
    f"UNWIND $p.rows AS r MATCH (a:{N} {{id: r.src}}) MATCH (b:{N} {{id: r.dst}}) "
    "CREATE (a)-[e:$(r.type)]->(b) SET e = r.props"
)

# --- sources: one statement each ---------------------------------------------------------
_EDGES_RETIRE = all_types(
    "MATCH ()-[e:{T}]->() WHERE e.source = $source AND e.retired_at IS NULL AND NOT e.id IN $p.keep_edges "
    "SET e.retired_at = $now, e.valid_to = coalesce(e.valid_to, $now) RETURN count(e) AS c",
    list(RelType),
)
#: retire what ``$source`` asserted, but ``$p.keep_nodes``/``$p.keep_edges``; edges first, so a
#: placeholder stays while a current edge still points at it
RETIRE_SOURCE = (
    _EDGES_RETIRE + "WITH sum(c) AS edges "
    f"CALL () {{ MATCH (n:{N}) WHERE n.source = $source AND n.retired_at IS NULL AND NOT n.id IN $p.keep_nodes "
    "AND NOT (n.placeholder AND EXISTS { MATCH (n)-[e]-() WHERE e.retired_at IS NULL }) "
    "SET n.retired_at = $now, n.valid_to = coalesce(n.valid_to, $now) RETURN count(n) AS nodes } "
    "RETURN edges + nodes AS retired"
)
_EDGES_DELETE = all_types(
    "MATCH ()-[e:{T}]->() WHERE e.source = $source DELETE e RETURN count(e) AS c", list(RelType)
)
#: delete what ``$source`` asserted; a node of it that other sources' edges still use becomes
#: a placeholder with the provenance of its first remaining edge (``$hashes``: label -> hash)
DELETE_SOURCE = (
    _EDGES_DELETE + "WITH sum(c) AS edges "
    f"CALL () {{ MATCH (n:{N}) WHERE n.source = $source "
    "MATCH (n)-[e]-() WITH n, e ORDER BY e.source, e.id "
    "WITH n, collect(e)[0] AS first "
    "SET n = {id: n.id, label: n.label, placeholder: true, source: first.source, "
    "source_location: first.source_location, run_id: first.run_id, ingested_at: first.ingested_at, "
    "recorded_at: n.recorded_at, content_hash: $hashes[n.label]} "
    "RETURN count(n) AS demoted } "
    f"CALL () {{ MATCH (n:{N}) WHERE n.source = $source DETACH DELETE n RETURN count(n) AS nodes }} "
    "RETURN edges + nodes AS deleted, demoted"
)
