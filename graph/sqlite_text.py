"""Keyword search in SQLite: an FTS5 index kept in step with ``nodes`` in every write transaction.

``node_text`` has one column per field of :data:`graph.schema.TEXT_FIELDS`
(porter stemming, diacritics folded) and holds exactly the current,
non-placeholder nodes of the text-indexed labels. Triggers on ``nodes`` note
every insert, update, retirement, demotion to placeholder and delete of such a
node in ``node_text_pending``; :func:`apply_pending` re-indexes the noted nodes
with a few set-based statements just before the batch commits. So the index
changes in the same transaction as the graph (a rolled-back batch leaves
nothing behind), no write path can forget it, and FTS5 is written once per
batch rather than once per row (on SQLite before 3.44 a per-row FTS5 write in a
trigger flushes the index every time, which made ingest about five times slower).
``node_text_ids`` gives each indexed node a stable integer rowid (the ``nodes``
rowid may change on ``VACUUM``) and keeps its label and ``valid_to``, so a
search filters its matches without reading ``nodes``.

Every statement is generated once, here, from the schema constants (labels and
field names are checked against strict patterns); none holds input.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3

from graph.errors import StoreError
from graph.text_query import TEXT_COLUMNS, TEXT_LABELS, weight

TOKENIZE = "porter unicode61 remove_diacritics 2"
_FIELD = re.compile(r"^[a-z][a-z_]*$")
_LABEL = re.compile(r"^[A-Z][A-Za-z]*$")


def _checked(names: tuple[str, ...], pattern: re.Pattern[str]) -> tuple[str, ...]:
    for name in names:
        if not pattern.match(name):  # pragma: no cover - the schema only has such names
            raise ValueError(f"{name!r} cannot be written into SQL")
    return names


_COLUMNS = _checked(TEXT_COLUMNS, _FIELD)
_LABELS_SQL = "(" + ", ".join(f"'{label}'" for label in _checked(tuple(map(str, TEXT_LABELS)), _LABEL)) + ")"


def _eligible(row: str) -> str:
    return f"{row}.label IN {_LABELS_SQL} AND {row}.placeholder = 0 AND {row}.retired_at IS NULL"


def _value(row: str, field: str) -> str:
    """The SQL for a field of a ``nodes`` row: the name, or a property's strings (as Neo4j indexes them)."""
    if field == "name":
        return f"{row}.name"
    path = f"'$.{field}'"
    return (
        f"CASE json_type({row}.props, {path}) WHEN 'text' THEN json_extract({row}.props, {path}) "
        f"WHEN 'array' THEN (SELECT group_concat(j.value, ' ') FROM json_each({row}.props, {path}) j "
        "WHERE j.type = 'text') END"
    )


_COLUMN_LIST = ", ".join(f'"{c}"' for c in _COLUMNS)
_MARK = "INSERT OR IGNORE INTO node_text_pending(id) VALUES ({row}.id);"

_DROP = """
DROP TRIGGER IF EXISTS nodes_text_insert;
DROP TRIGGER IF EXISTS nodes_text_update;
DROP TRIGGER IF EXISTS nodes_text_delete;
DROP TABLE IF EXISTS node_text;
DROP TABLE IF EXISTS node_text_ids;
DROP TABLE IF EXISTS node_text_pending;
"""
_CREATE = f"""
CREATE TABLE node_text_ids (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, label TEXT NOT NULL, valid_to TEXT);
CREATE TABLE node_text_pending (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE node_text USING fts5({_COLUMN_LIST}, tokenize='{TOKENIZE}');
CREATE TRIGGER nodes_text_insert AFTER INSERT ON nodes WHEN {_eligible("new")} BEGIN
    {_MARK.format(row="new")}
END;
CREATE TRIGGER nodes_text_update AFTER UPDATE OF label, name, props, placeholder, retired_at, valid_to ON nodes
WHEN ({_eligible("old")}) OR ({_eligible("new")}) BEGIN
    {_MARK.format(row="new")}
END;
CREATE TRIGGER nodes_text_delete AFTER DELETE ON nodes WHEN {_eligible("old")} BEGIN
    {_MARK.format(row="old")}
END;
"""
_APPLY = (
    "DELETE FROM node_text WHERE rowid IN "
    "(SELECT m.rowid FROM node_text_pending p JOIN node_text_ids m ON m.id = p.id)",
    "DELETE FROM node_text_ids WHERE id IN (SELECT id FROM node_text_pending)",
    "INSERT INTO node_text_ids(id, label, valid_to) SELECT n.id, n.label, n.valid_to FROM node_text_pending p "
    "JOIN nodes n ON n.id = p.id "
    f"WHERE {_eligible('n')} ORDER BY n.id",
    f"INSERT INTO node_text(rowid, {_COLUMN_LIST}) SELECT m.rowid, {', '.join(_value('n', c) for c in _COLUMNS)} "
    "FROM node_text_pending p JOIN node_text_ids m ON m.id = p.id JOIN nodes n ON n.id = p.id",
    "DELETE FROM node_text_pending",
)
_BACKFILL = f"INSERT INTO node_text_pending(id) SELECT n.id FROM nodes n WHERE {_eligible('n')}"
#: identifies the index definition; a database built with another one is re-indexed by ``ensure_text_index``
VERSION = hashlib.sha256(repr((_CREATE, _APPLY)).encode()).hexdigest()[:16]

_WEIGHTS = ", ".join(f"{weight(c):.3f}" for c in _COLUMNS)
#: ``bm25`` is lower-is-better; the store negates it. The index holds only current, non-placeholder nodes,
#: and ``node_text_ids`` their label and end of validity, so no match is looked up in ``nodes``
SEARCH = f"""
SELECT m.id AS id, bm25(node_text, {_WEIGHTS}) AS bm25_rank
FROM node_text JOIN node_text_ids m ON m.rowid = node_text.rowid
WHERE node_text MATCH :match AND (m.valid_to IS NULL OR m.valid_to > :now)
AND m.label IN (SELECT value FROM json_each(:labels))
ORDER BY bm25_rank, m.id LIMIT :limit
"""


def fts5_match(terms: list[str]) -> str:
    """An FTS5 query that ORs the terms, each a quoted string (so FTS5 syntax in them is plain text)."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def apply_pending(conn: sqlite3.Connection) -> None:
    """Re-index the nodes the triggers noted (call inside the write transaction, before it commits)."""
    if conn.execute("SELECT 1 FROM node_text_pending LIMIT 1").fetchone() is None:
        return
    for statement in _APPLY:
        conn.execute(statement)


def ensure_text_index(conn: sqlite3.Connection) -> None:
    """Create the index and fill it from ``nodes``, unless it is there with this definition already."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'text_index'").fetchone()
        if row is None or row[0] != VERSION:
            # one by one: executescript would commit half-way
            for statement in _statements(_DROP + _CREATE):
                conn.execute(statement)
            conn.execute(_BACKFILL)
            apply_pending(conn)
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('text_index', ?)", (VERSION,))
    except sqlite3.OperationalError as exc:
        conn.execute("ROLLBACK")
        hint = f" (SQLite {sqlite3.sqlite_version} lacks FTS5)" if "fts5" in str(exc) else ""
        raise StoreError(f"cannot build the keyword index: {exc}{hint}") from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """Split a script of whole statements; a trigger body (``BEGIN ... END;``) stays one statement."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return [s for s in out if s]
