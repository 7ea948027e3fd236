"""Keyword search in SQLite: an FTS5 index kept in step with ``nodes`` by triggers.

``node_text`` has one column per field of :data:`graph.schema.TEXT_FIELDS`
(porter stemming, diacritics folded) and holds exactly the current,
non-placeholder nodes of the text-indexed labels. Triggers on ``nodes`` keep it
so: every insert, update, retirement, demotion to placeholder and delete changes
the index in the same transaction, so a rolled-back batch leaves nothing
behind. ``node_text_ids`` gives each indexed node a stable integer rowid (the
``nodes`` rowid may change on ``VACUUM``).

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
#: identifies the index definition; a database built with another one is re-indexed by ``ensure_text_index``
VERSION = hashlib.sha256(repr((_COLUMNS, _LABELS_SQL, TOKENIZE)).encode()).hexdigest()[:16]


def _eligible(row: str) -> str:
    return f"{row}.label IN {_LABELS_SQL} AND {row}.placeholder = 0 AND {row}.retired_at IS NULL"


def _value(row: str, field: str) -> str:
    """The SQL for a field of a ``nodes`` row: the name column, or a string property (others are not text)."""
    if field == "name":
        return f"{row}.name"
    return f"CASE json_type({row}.props, '$.{field}') WHEN 'text' THEN json_extract({row}.props, '$.{field}') END"


_COLUMN_LIST = ", ".join(f'"{c}"' for c in _COLUMNS)
_MAPPED = "(SELECT rowid FROM node_text_ids WHERE id = {row}.id)"


def _index_row(row: str) -> str:
    values = ", ".join(_value(row, c) for c in _COLUMNS)
    return (
        f"INSERT INTO node_text_ids(id) SELECT {row}.id WHERE {_eligible(row)}; "
        f"INSERT INTO node_text(rowid, {_COLUMN_LIST}) SELECT m.rowid, {values} "
        f"FROM node_text_ids m WHERE m.id = {row}.id AND {_eligible(row)};"
    )


def _unindex_row(row: str) -> str:
    return (
        f"DELETE FROM node_text WHERE rowid = {_MAPPED.format(row=row)}; "
        f"DELETE FROM node_text_ids WHERE id = {row}.id;"
    )


_DROP = """
DROP TRIGGER IF EXISTS nodes_text_insert;
DROP TRIGGER IF EXISTS nodes_text_update;
DROP TRIGGER IF EXISTS nodes_text_delete;
DROP TABLE IF EXISTS node_text;
DROP TABLE IF EXISTS node_text_ids;
"""
_CREATE = f"""
CREATE TABLE node_text_ids (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE node_text USING fts5({_COLUMN_LIST}, tokenize='{TOKENIZE}');
CREATE TRIGGER nodes_text_insert AFTER INSERT ON nodes WHEN new.label IN {_LABELS_SQL} BEGIN
    {_unindex_row("new")}
    {_index_row("new")}
END;
CREATE TRIGGER nodes_text_update AFTER UPDATE OF label, name, props, placeholder, retired_at ON nodes
WHEN old.label IN {_LABELS_SQL} OR new.label IN {_LABELS_SQL} BEGIN
    {_unindex_row("old")}
    {_index_row("new")}
END;
CREATE TRIGGER nodes_text_delete AFTER DELETE ON nodes WHEN old.label IN {_LABELS_SQL} BEGIN
    {_unindex_row("old")}
END;
"""
_BACKFILL = (
    f"INSERT INTO node_text_ids(id) SELECT n.id FROM nodes n WHERE {_eligible('n')} ORDER BY n.id",
    f"INSERT INTO node_text(rowid, {_COLUMN_LIST}) SELECT m.rowid, {', '.join(_value('n', c) for c in _COLUMNS)} "
    "FROM node_text_ids m JOIN nodes n ON n.id = m.id",
)

_WEIGHTS = ", ".join(f"{weight(c):.3f}" for c in _COLUMNS)
#: ``bm25`` is lower-is-better; the store negates it
SEARCH = f"""
SELECT n.id AS id, bm25(node_text, {_WEIGHTS}) AS bm25_rank
FROM node_text JOIN node_text_ids m ON m.rowid = node_text.rowid JOIN nodes n ON n.id = m.id
WHERE node_text MATCH :match AND n.retired_at IS NULL AND n.placeholder = 0
AND (n.valid_to IS NULL OR n.valid_to > :now) AND n.label IN (SELECT value FROM json_each(:labels))
ORDER BY bm25_rank, n.id LIMIT :limit
"""


def fts5_match(terms: list[str]) -> str:
    """An FTS5 query that ORs the terms, each a quoted string (so FTS5 syntax in them is plain text)."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def ensure_text_index(conn: sqlite3.Connection) -> None:
    """Create the index and fill it from ``nodes``, unless it is there with this definition already."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'text_index'").fetchone()
        if row is None or row[0] != VERSION:
            # one by one: executescript would commit half-way
            for statement in _statements(_DROP + _CREATE):
                conn.execute(statement)
            for statement in _BACKFILL:
                conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('text_index', ?)", (VERSION,))
    except sqlite3.OperationalError as exc:
        conn.execute("ROLLBACK")
        raise StoreError(f"cannot build the keyword index (SQLite {sqlite3.sqlite_version} with FTS5 needed): {exc}") from exc
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
