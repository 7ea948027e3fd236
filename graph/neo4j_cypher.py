"""Every Cypher statement of the Neo4j backend, in one place.

All values travel as parameters. Labels and relationship types are written
with Cypher 5.26's dynamic ``$(...)`` syntax where that costs nothing; where a
relationship-property index must be used (lookups by edge id or by source),
the type has to be spelled in the query text, so those statements are
generated once, here, from :class:`graph.schema.RelType` members checked
against a strict identifier pattern; they never contain input. The full-text
index is generated the same way from :data:`graph.schema.TEXT_FIELDS`, and a
keyword query reaches Lucene only through :func:`lucene_query`, which quotes
every term.
"""

from __future__ import annotations

import re

from graph.schema import BASE_LABEL, RelType
from graph.text_query import TEXT_COLUMNS, TEXT_LABELS, weight

_IDENT = re.compile(r"^[A-Z][A-Z_]*$")
_LABEL = re.compile(r"^[A-Z][A-Za-z]*$")
_PROPERTY = re.compile(r"^[a-z][a-z_]*$")


def _ident(type_: RelType) -> str:
    name = str(type_)
    if not _IDENT.match(name):  # pragma: no cover - the schema only has such names
        raise ValueError(f"relationship type {name!r} is not a plain identifier")
    return name


def _per_type(template: str) -> dict[RelType, str]:
    return {t: template.replace("{T}", _ident(t)).replace("{t}", _ident(t).lower()) for t in RelType}


def _plain(names: tuple[str, ...], pattern: re.Pattern[str]) -> tuple[str, ...]:
    for name in names:
        if not pattern.match(name):  # pragma: no cover - the schema only has such names
            raise ValueError(f"{name!r} is not a plain identifier")
    return names


#: the full-text index keyword search uses, and its definition
TEXT_INDEX = "vidya_text"
TEXT_INDEX_LABELS = _plain(tuple(str(label) for label in TEXT_LABELS), _LABEL)
TEXT_INDEX_PROPERTIES = _plain(TEXT_COLUMNS, _PROPERTY)
#: Lucene's English analyzer (standard tokenizer, possessives, lower case, stop words, Porter
#: stemmer); updates are applied when a write commits (not eventually), so a search sees them
TEXT_INDEX_CONFIG: dict[str, str | bool] = {"fulltext.analyzer": "english", "fulltext.eventually_consistent": False}


def _literal(value: str | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else "'" + value + "'"


N = BASE_LABEL

SCHEMA: list[str] = [
    f"CREATE CONSTRAINT vidya_node_id IF NOT EXISTS FOR (n:{N}) REQUIRE n.id IS UNIQUE",
    f"CREATE INDEX vidya_node_label IF NOT EXISTS FOR (n:{N}) ON (n.label)",
    f"CREATE INDEX vidya_node_name IF NOT EXISTS FOR (n:{N}) ON (n.name)",
    f"CREATE INDEX vidya_node_source IF NOT EXISTS FOR (n:{N}) ON (n.source)",
    f"CREATE INDEX vidya_node_at IF NOT EXISTS FOR (n:{N}) ON (n.at)",
    *_per_type("CREATE INDEX vidya_rel_{t}_id IF NOT EXISTS FOR ()-[r:{T}]-() ON (r.id)").values(),
    *_per_type("CREATE INDEX vidya_rel_{t}_source IF NOT EXISTS FOR ()-[r:{T}]-() ON (r.source)").values(),
    f"CREATE FULLTEXT INDEX {TEXT_INDEX} IF NOT EXISTS FOR (n:{'|'.join(TEXT_INDEX_LABELS)}) "
    f"ON EACH [{', '.join(f'n.{p}' for p in TEXT_INDEX_PROPERTIES)}] "
    "OPTIONS {indexConfig: {" + ", ".join(f"`{k}`: {_literal(v)}" for k, v in TEXT_INDEX_CONFIG.items()) + "}}",
]
# ``IF NOT EXISTS`` keeps an index of that name whatever its definition; these find and drop an outdated one
TEXT_INDEX_SHOW = (
    f"SHOW FULLTEXT INDEXES YIELD name, labelsOrTypes, properties, options WHERE name = '{TEXT_INDEX}' "
    "RETURN labelsOrTypes AS labels, properties, options.indexConfig AS config"
)
TEXT_INDEX_DROP = f"DROP INDEX {TEXT_INDEX} IF EXISTS"
AWAIT_INDEXES = "CALL db.awaitIndexes(300)"

# visibility of a record now ($as_of null) or at $as_of; {x} is a fixed alias
_VISIBLE = (
    "(CASE WHEN $as_of IS NULL THEN {x}.retired_at IS NULL AND ({x}.valid_to IS NULL OR {x}.valid_to > $now) "
    "ELSE ({start} IS NULL OR {start} <= $as_of) AND ({x}.valid_to IS NULL OR {x}.valid_to > $as_of) END)"
)


def visible(alias: str) -> str:
    if alias not in {"n", "e", "a", "b"}:  # pragma: no cover
        raise ValueError(alias)
    # an event node exists from its ``at`` on: a timeline as of T has nothing that happened after T
    start = "{x}.valid_from" if alias == "e" else "coalesce({x}.valid_from, {x}.at)"
    return _VISIBLE.replace("{start}", start).replace("{x}", alias)


# --- node writes ---------------------------------------------------------------
NODE_STATES = (
    f"UNWIND $ids AS id MATCH (n:{N} {{id: id}}) "
    "RETURN n.id AS id, n.content_hash AS hash, n.source AS source, n.placeholder AS placeholder, "
    "n.retired_at IS NOT NULL AS retired"
)
NODE_INSERT = f"UNWIND $rows AS r CREATE (n:{N}) SET n = r.props SET n:$(r.label)"
NODE_UPDATE = (
    f"UNWIND $rows AS r MATCH (n:{N} {{id: r.props.id}}) "
    "WITH n, r, n.recorded_at AS recorded SET n = r.props SET n.recorded_at = recorded"
)
NODE_PLACEHOLDERS = (
    f"UNWIND $rows AS r MERGE (n:{N} {{id: r.props.id}}) ON CREATE SET n = r.props, n:$(r.label) "
    "ON MATCH SET n.retired_at = CASE WHEN n.placeholder THEN null ELSE n.retired_at END, "
    "n.valid_to = CASE WHEN n.placeholder THEN null ELSE n.valid_to END"
)

# --- edge writes ---------------------------------------------------------------
EDGE_STATES = (
    f"UNWIND $rows AS r MATCH (a:{N} {{id: r.src}})-[e]->(b:{N} {{id: r.dst}}) WHERE e.id = r.id "
    "RETURN e.id AS id, a.id AS src, type(e) AS type, e.retired_at IS NULL AS current, "
    "e.content_hash AS hash, e.source AS source, e.valid_from AS valid_from, e.valid_to AS valid_to"
)
EDGE_SIBLINGS = (
    f"UNWIND $groups AS g MATCH (a:{N} {{id: g[0]}})-[e]->() WHERE type(e) = g[1] AND e.retired_at IS NULL "
    "RETURN e.id AS id, a.id AS src, type(e) AS type, true AS current, "
    "e.content_hash AS hash, e.source AS source, e.valid_from AS valid_from, e.valid_to AS valid_to"
)
EDGE_RETIRE = (
    f"UNWIND $rows AS r MATCH (a:{N} {{id: r.src}})-[e]->() WHERE e.id = r.id AND e.retired_at IS NULL "
    "SET e.retired_at = $now, e.valid_to = r.valid_to"
)
EDGE_CLOSE = (
    f"UNWIND $rows AS r MATCH (a:{N} {{id: r.src}})-[e]->() WHERE e.id = r.id AND e.retired_at IS NULL "
    "SET e.valid_to = r.valid_to"
)
EDGE_REPROVENANCE = (
    f"UNWIND $rows AS r MATCH (a:{N} {{id: r.src}})-[e]->() WHERE e.id = r.id AND e.retired_at IS NULL "
    "SET e.source = r.source, e.source_location = r.source_location, e.run_id = r.run_id, "
    "e.ingested_at = r.ingested_at"
)
EDGE_INSERT = (
    f"UNWIND $rows AS r MATCH (a:{N} {{id: r.src}}), (b:{N} {{id: r.dst}}) "
    "CREATE (a)-[e:$(r.type)]->(b) SET e = r.props"
)

# --- sources -----------------------------------------------------------------------
NODES_RETIRE_SOURCE = (
    f"MATCH (n:{N}) WHERE n.source = $source AND n.retired_at IS NULL AND NOT n.id IN $keep "
    "AND NOT (n.placeholder AND EXISTS { MATCH (n)-[e]-() WHERE e.retired_at IS NULL }) "
    "SET n.retired_at = $now, n.valid_to = coalesce(n.valid_to, $now) RETURN count(n) AS c"
)
EDGES_RETIRE_SOURCE = _per_type(
    "MATCH ()-[e:{T}]->() WHERE e.source = $source AND e.retired_at IS NULL AND NOT e.id IN $keep "
    "SET e.retired_at = $now, e.valid_to = coalesce(e.valid_to, $now) RETURN count(e) AS c"
)
EDGES_DELETE_SOURCE = _per_type("MATCH ()-[e:{T}]->() WHERE e.source = $source DELETE e RETURN count(e) AS c")
NODES_DEMOTE_SOURCE = (
    f"MATCH (n:{N}) WHERE n.source = $source "
    "MATCH (n)-[e]-() WITH n, e ORDER BY e.source, e.id "
    "WITH n, collect(e)[0] AS first "
    "SET n = {id: n.id, label: n.label, placeholder: true, source: first.source, "
    "source_location: first.source_location, run_id: first.run_id, ingested_at: first.ingested_at, "
    "recorded_at: n.recorded_at, content_hash: $hashes[n.label]} "
    "RETURN count(n) AS c"
)
NODES_DELETE_SOURCE = f"MATCH (n:{N}) WHERE n.source = $source DETACH DELETE n RETURN count(n) AS c"

# --- reads -------------------------------------------------------------------------
NODE_BY_ID = f"MATCH (n:{N} {{id: $id}}) RETURN n"
NODES_BY_IDS = f"UNWIND $ids AS id MATCH (n:{N} {{id: id}}) RETURN n ORDER BY n.id"
FIND_NODES = (
    f"MATCH (n:{N}) WHERE ($label IS NULL OR n.label = $label) AND ($name IS NULL OR n.name = $name) "
    "AND all(k IN keys($props) WHERE n[k] = $props[k]) AND ($retired OR n.retired_at IS NULL) "
    "RETURN n ORDER BY n.id LIMIT $limit"
)
EDGE_BY_ID = _per_type(
    "MATCH (a)-[e:{T} {id: $id}]->(b) RETURN a.id AS src, b.id AS dst, type(e) AS type, e "
    "ORDER BY e.retired_at IS NULL DESC, e.recorded_at DESC, e.retired_at DESC LIMIT 1"
)
EDGE_HISTORY = _per_type(
    "MATCH (a)-[e:{T} {id: $id}]->(b) RETURN a.id AS src, b.id AS dst, type(e) AS type, e "
    "ORDER BY e.recorded_at, e.retired_at IS NULL, e.retired_at"
)
_INCIDENT_TAIL = (
    "WHERE ($types IS NULL OR type(e) IN $types) AND "
    + " AND ".join(visible(x) for x in ("e", "a", "b"))
    + " RETURN elementId(e) AS eid, a.id AS src, b.id AS dst, type(e) AS type, e"
)
INCIDENT_OUT = f"UNWIND $ids AS id MATCH (a:{N} {{id: id}})-[e]->(b:{N}) " + _INCIDENT_TAIL
INCIDENT_IN = f"UNWIND $ids AS id MATCH (a:{N})-[e]->(b:{N} {{id: id}}) " + _INCIDENT_TAIL
EVENTS = (
    f"MATCH (n:{N}) WHERE n.at >= $start AND n.at < $end AND n.label IN $kinds "
    "AND n.retired_at IS NULL AND NOT n.placeholder "
    f"AND ($services IS NULL OR EXISTS {{ MATCH (n)-[e]->(s:{N}) WHERE type(e) IN $links "
    "AND e.retired_at IS NULL AND s.id IN $services }) "
    "RETURN n ORDER BY n.at, n.id LIMIT $limit"
)
EVENT_LINKS = (
    f"UNWIND $ids AS id MATCH (n:{N} {{id: id}})-[e]->(s:{N}) WHERE type(e) IN $links AND e.retired_at IS NULL "
    "AND ($services IS NULL OR s.id IN $services) RETURN DISTINCT n.id AS src, s.id AS dst ORDER BY dst"
)
COUNT_NODES = (
    f"MATCH (n:{N}) WHERE NOT n.placeholder AND {visible('n')} RETURN n.label AS key, count(*) AS c"
)
COUNT_EDGES = f"MATCH ()-[e]->() WHERE {visible('e')} RETURN type(e) AS key, count(*) AS c"
ALL_NODES = f"MATCH (n:{N}) WHERE $retired OR n.retired_at IS NULL RETURN n ORDER BY n.id"
ALL_EDGES = (
    f"MATCH (a:{N})-[e]->(b:{N}) WHERE $retired OR e.retired_at IS NULL "
    "RETURN a.id AS src, b.id AS dst, type(e) AS type, e ORDER BY e.id, e.recorded_at"
)

# --- keyword search ----------------------------------------------------------------
TEXT_SEARCH = (
    f"CALL db.index.fulltext.queryNodes('{TEXT_INDEX}', $lucene) YIELD node AS n, score "
    "WHERE n.retired_at IS NULL AND NOT n.placeholder AND (n.valid_to IS NULL OR n.valid_to > $now) "
    "AND n.label IN $labels RETURN n.id AS id, score ORDER BY score DESC, id LIMIT $limit"
)


def _lucene_phrase(term: str) -> str:
    # inside quotes only the backslash and the quote are special to Lucene's query parser
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lucene_query(terms: list[str]) -> str:
    """A Lucene query that ORs the terms, each a quoted phrase, in every indexed field with its weight.

    >>> lucene_query(['restart'])
    'name:("restart")^3 OR heading:("restart")^2 OR summary:("restart")^1.5 OR description:("restart")^1 OR text:("restart")^1'
    """
    phrases = " OR ".join(_lucene_phrase(term) for term in terms)
    return " OR ".join(f"{field}:({phrases})^{weight(field):g}" for field in TEXT_INDEX_PROPERTIES)
