"""Every Cypher statement of the Neo4j backend, in one place.

All values travel as parameters. Labels and relationship types are written
with Cypher 5.26's dynamic ``$(...)`` syntax where that costs nothing; where a
relationship-property index must be used (lookups by edge id or by source),
the type has to be spelled in the query text, so those statements are
generated once from :class:`graph.schema.RelType` members checked against a
strict identifier pattern; they never contain input. The write path
(:mod:`graph.neo4j_write_cypher`) uses one short indexed statement per type. The full-text
index is generated the same way from :data:`graph.schema.TEXT_FIELDS`, and a
keyword query reaches Lucene only through :func:`lucene_query`, which quotes
every term.
"""

from __future__ import annotations

import re

from graph.neo4j_records import TIME_FIELDS as _TIME_FIELDS
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


def per_type(template: str, types: list[RelType] | None = None) -> dict[RelType, str]:
    """``template`` with ``{T}`` (and ``{t}``, lower case) replaced by each type's name, checked to be a plain identifier.

    >>> per_type("MATCH ()-[e:{T}]->() RETURN e", [RelType.RUNS])[RelType.RUNS]
    'MATCH ()-[e:RUNS]->() RETURN e'
    """
    return {
        t: template.replace("{T}", _ident(t)).replace("{t}", _ident(t).lower())
        for t in (RelType if types is None else types)
    }


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
    # events of some kinds in a time window (timelines, past cases): the kind first, then the range
    f"CREATE INDEX vidya_node_label_at IF NOT EXISTS FOR (n:{N}) ON (n.label, n.at)",
    *per_type("CREATE INDEX vidya_rel_{t}_id IF NOT EXISTS FOR ()-[r:{T}]-() ON (r.id)").values(),
    *per_type("CREATE INDEX vidya_rel_{t}_source IF NOT EXISTS FOR ()-[r:{T}]-() ON (r.source)").values(),
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


# the two branches of _VISIBLE, for statements made for one mode (simpler to evaluate per row)
_VISIBLE_NOW = "{x}.retired_at IS NULL AND ({x}.valid_to IS NULL OR {x}.valid_to > $now)"
_VISIBLE_AS_OF = "({start} IS NULL OR {start} <= $as_of) AND ({x}.valid_to IS NULL OR {x}.valid_to > $as_of)"


def visible(alias: str, as_of: bool | None = None) -> str:
    """Visibility of ``alias``: now, as of ``$as_of``, or (``as_of`` None) whichever ``$as_of`` asks for."""
    if alias not in {"n", "e", "a", "b", "x"}:  # pragma: no cover
        raise ValueError(alias)
    # an event node exists from its ``at`` on: a timeline as of T has nothing that happened after T
    start = "{x}.valid_from" if alias == "e" else "coalesce({x}.valid_from, {x}.at)"
    template = _VISIBLE if as_of is None else _VISIBLE_AS_OF if as_of else _VISIBLE_NOW
    return "(" + template.replace("{start}", start).replace("{x}", alias) + ")"


# --- layout ------------------------------------------------------------------------
# a node outside ``VidyaNode`` records which property layout the database holds
LAYOUT_GET = "MATCH (m:VidyaMeta {name: 'layout'}) RETURN m.version AS version"
LAYOUT_SET = "MERGE (m:VidyaMeta {name: 'layout'}) SET m.version = $version"
ANY_NODE = f"MATCH (n:{N}) RETURN count(n) > 0 AS found"
# layout 1 stored times as DateTime values; layout 2 as epoch microseconds
_TO_MICROS = (
    "CASE WHEN {x}.{p} IS :: ZONED DATETIME THEN {x}.{p}.epochSeconds * 1000000 + {x}.{p}.microsecond "
    "ELSE {x}.{p} END"
)


def _to_micros(alias: str) -> str:
    return ", ".join(
        f"{alias}.{p} = " + _TO_MICROS.replace("{x}", alias).replace("{p}", p) for p in _plain(_TIME_FIELDS, _PROPERTY)
    )


MIGRATE_NODES_TIMES = f"MATCH (n:{N}) CALL (n) {{ SET {_to_micros('n')} }} IN TRANSACTIONS OF 10000 ROWS"
MIGRATE_EDGES_TIMES = f"MATCH ()-[e]->() CALL (e) {{ SET {_to_micros('e')} }} IN TRANSACTIONS OF 10000 ROWS"

# the write statements are in graph.neo4j_write_cypher


# --- reads -------------------------------------------------------------------------
NODE_BY_ID = f"MATCH (n:{N} {{id: $id}}) RETURN properties(n) AS p"
NODES_BY_IDS = f"UNWIND $ids AS id MATCH (n:{N} {{id: id}}) RETURN collect(properties(n)) AS rows"


def _find_nodes(label: bool, name: bool) -> str:
    # a predicate only for what is given, so the label or name index is used (``$x IS NULL OR``
    # would make the planner scan every node)
    where = [p for p, given in (("n.label = $label", label), ("n.name = $name", name)) if given]
    return (
        f"MATCH (n:{N}) WHERE " + " AND ".join([*where, "all(k IN keys($props) WHERE n[k] = $props[k])"])
        + " AND ($retired OR n.retired_at IS NULL) WITH n ORDER BY n.id LIMIT $limit RETURN collect(properties(n)) AS rows"
    )


#: nodes by label and/or name and properties, by (label given, name given)
FIND_NODES = {(label, name): _find_nodes(label, name) for label in (False, True) for name in (False, True)}

_EDGE_ROW = "a.id AS src, b.id AS dst, type(e) AS type, properties(e) AS p"
EDGE_BY_ID = per_type(
    "MATCH (a)-[e:{T} {id: $id}]->(b) RETURN " + _EDGE_ROW + " "
    "ORDER BY e.retired_at IS NULL DESC, e.recorded_at DESC, e.retired_at DESC LIMIT 1"
)
EDGE_HISTORY = per_type(
    "MATCH (a)-[e:{T} {id: $id}]->(b) RETURN " + _EDGE_ROW + " "
    "ORDER BY e.recorded_at, e.retired_at IS NULL, e.retired_at"
)
EDGES_BY_ELEMENT_IDS = (
    f"UNWIND $eids AS eid MATCH (a:{N})-[e]->(b:{N}) WHERE elementId(e) = eid "
    "RETURN collect({eid: eid, src: a.id, dst: b.id, type: type(e), p: properties(e)}) AS rows"
)
_PATTERNS = {"out": "(a)-[e]->(b)", "in": "(a)<-[e]-(b)", "both": "(a)-[e]-(b)"}


def _step(direction: str, as_of: bool, tail: str) -> str:
    return (
        f"UNWIND $ids AS id MATCH (a:{N} {{id: id}}) WHERE {visible('a', as_of)} "
        f"MATCH {_PATTERNS[direction]} WHERE ($types IS NULL OR type(e) IN $types) "
        f"AND {visible('e', as_of)} AND {visible('b', as_of)} " + tail
    )


_STEP_KEYS = [(d, as_of) for d in _PATTERNS for as_of in (False, True)]
#: one traversal step from the frontier ``$ids``: the visible neighbours' ids, by (direction, as_of given)
STEP_IDS = {k: _step(*k, "RETURN collect(DISTINCT b.id) AS rows") for k in _STEP_KEYS}
#: one step as light edge rows: element id, stable id, endpoints and start of validity
STEP_EDGES = {
    k: _step(
        *k,
        "WITH DISTINCT e RETURN collect({eid: elementId(e), id: e.id, src: startNode(e).id, dst: endNode(e).id, "
        "valid_from: e.valid_from}) AS rows",
    )
    for k in _STEP_KEYS
}


def _level(direction: str, as_of: bool, frontier: str, tail: str) -> str:
    """A subquery stepping once from the node(s) ``frontier`` names (a fixed alias or list)."""
    source = f"WITH {frontier} AS x" if frontier == "a" else f"UNWIND {frontier} AS x"
    return (
        f"{source} MATCH {_PATTERNS[direction].replace('(a)', '(x)')} WHERE ($types IS NULL OR type(e) IN $types) "
        f"AND {visible('e', as_of)} AND {visible('b', as_of)} {tail}"
    )


def _near(direction: str, as_of: bool, depth: int) -> str:
    levels = f"CALL (a) {{ {_level(direction, as_of, 'a', 'RETURN collect(DISTINCT b) AS l1')} }} "
    hops = "[n IN l1 | {n: n, d: 1}]"
    if depth == 2:
        levels += f"CALL (l1) {{ {_level(direction, as_of, 'l1', 'RETURN collect(DISTINCT b) AS l2')} }} "
        hops += " + [n IN l2 | {n: n, d: 2}]"
    return (
        f"MATCH (a:{N} {{id: $id}}) WHERE {visible('a', as_of)} {levels}"
        f"UNWIND {hops} AS hop WITH a, hop.n AS n, min(hop.d) AS d WHERE n <> a "
        "RETURN collect({d: d, p: properties(n)}) AS rows"
    )


#: the neighbourhood of ``$id`` to depth 1 or 2 in one statement: ``rows`` of {d: depth, p: properties},
#: by (direction, as_of given, depth); deeper searches step level by level (:data:`STEP_IDS`)
NEAR = {(d, as_of, depth): _near(d, as_of, depth) for d, as_of in _STEP_KEYS for depth in (1, 2)}
_LINK = "{eid: elementId(e), id: e.id, src: startNode(e).id, dst: endNode(e).id, valid_from: e.valid_from}"


def _ball(direction: str, as_of: bool, start: str, radius: int, name: str) -> str:
    """A subquery with the light rows of the edges within ``radius`` hops of ``start``, by level."""
    if radius == 0:
        return f"CALL () {{ RETURN [] AS {name}1, [] AS {name}2 }} "
    first = "RETURN collect(DISTINCT e) AS e1, collect(DISTINCT b) AS l1"
    body = f"OPTIONAL MATCH (a:{N} {{id: {start}}}) WHERE {visible('a', as_of)} "
    body += f"CALL (a) {{ {_level(direction, as_of, 'a', first)} }} "
    if radius == 2:
        body += (
            f"CALL (a, l1) {{ {_level(direction, as_of, '[n IN l1 WHERE n <> a]', 'RETURN collect(DISTINCT e) AS e2')} }} "
        )
    else:
        body += "WITH e1, [] AS e2 "
    return f"CALL () {{ {body}RETURN [e IN e1 | {_LINK}] AS {name}1, [e IN e2 | {_LINK}] AS {name}2 }} "


def _balls(direction: str, as_of: bool, forward: int, backward: int) -> str:
    back = {"out": "in", "in": "out", "both": "both"}[direction]
    return (
        _ball(direction, as_of, "$src", forward, "s") + _ball(back, as_of, "$dst", backward, "t")
        + "RETURN s1, s2, t1, t2"
    )


#: the edges of a path search in one statement: light rows of the edges within ``forward`` hops of
#: ``$src`` (s1, s2 by level) and ``backward`` hops of ``$dst`` walking backwards (t1, t2), by
#: (direction, as_of given, forward, backward)
BALLS = {
    (d, as_of, f, b): _balls(d, as_of, f, b) for d, as_of in _STEP_KEYS for f in (1, 2) for b in (0, 1, 2)
}
_INCIDENT_TAIL = (
    "WHERE ($types IS NULL OR type(e) IN $types) AND "
    + " AND ".join(visible(x) for x in ("e", "a", "b"))
    + " RETURN collect({eid: elementId(e), src: a.id, dst: b.id, type: type(e), p: properties(e)}) AS rows"
)
INCIDENT_OUT = f"UNWIND $ids AS id MATCH (a:{N} {{id: id}})-[e]->(b:{N}) " + _INCIDENT_TAIL
INCIDENT_IN = f"UNWIND $ids AS id MATCH (a:{N})-[e]->(b:{N} {{id: id}}) " + _INCIDENT_TAIL
#: current events of $kinds with $start <= at < $end whose $type edges, as of $as_of, reach the entities $ids:
#: ``rows`` of {p: the event's properties, entities: the ids it reaches}
LINKED_EVENTS = (
    f"UNWIND $ids AS id MATCH (a:{N})-[e]->(b:{N} {{id: id}}) WHERE type(e) = $type AND a.label IN $kinds "
    "AND a.at >= $start AND a.at < $end AND a.retired_at IS NULL AND NOT coalesce(a.placeholder, false) AND "
    + " AND ".join(visible(x, True) for x in ("e", "a", "b"))
    + " WITH a, collect(DISTINCT b.id) AS entities RETURN collect({p: properties(a), entities: entities}) AS rows"
)
EVENTS = (
    f"MATCH (n:{N}) WHERE n.at >= $start AND n.at < $end AND n.label IN $kinds "
    "AND n.retired_at IS NULL AND NOT n.placeholder "
    f"AND ($services IS NULL OR EXISTS {{ MATCH (n)-[e]->(s:{N}) WHERE type(e) IN $links "
    "AND e.retired_at IS NULL AND s.id IN $services }) "
    "WITH n ORDER BY n.at, n.id LIMIT $limit "
    # the services each event is linked to (among $services when given), in id order
    f"CALL (n) {{ OPTIONAL MATCH (n)-[e]->(s:{N}) WHERE type(e) IN $links AND e.retired_at IS NULL "
    "AND ($services IS NULL OR s.id IN $services) WITH DISTINCT s.id AS dst ORDER BY dst "
    "RETURN collect(dst) AS services } "
    "RETURN collect({p: properties(n), services: services}) AS rows"
)
COUNT_NODES = (
    f"MATCH (n:{N}) WHERE NOT n.placeholder AND {visible('n')} RETURN n.label AS key, count(*) AS c"
)
COUNT_EDGES = f"MATCH ()-[e]->() WHERE {visible('e')} RETURN type(e) AS key, count(*) AS c"
ALL_NODES = f"MATCH (n:{N}) WHERE $retired OR n.retired_at IS NULL RETURN properties(n) AS p ORDER BY n.id"
ALL_EDGES = (
    f"MATCH (a:{N})-[e]->(b:{N}) WHERE $retired OR e.retired_at IS NULL "
    "RETURN " + _EDGE_ROW + " ORDER BY e.id, e.recorded_at"
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
