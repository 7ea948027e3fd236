"""The Neo4j schema step: constraints, indexes and the property layout.

Idempotent, so every process may run it at start-up::

    with neo4j.GraphDatabase.driver(uri, auth=None) as driver:
        ensure_schema(driver, None)

A node ``(:VidyaMeta {name: 'layout'})`` records the layout version
(:data:`graph.neo4j_records.LAYOUT`). A database without it that holds data
was written with times as ``DateTime`` values (layout 1); they are rewritten
as epoch microseconds, in transactions of 10,000 records, before the marker is
set. A database from a newer layout is refused with a :class:`StoreError`.
"""

from __future__ import annotations

import re
from typing import Any, LiteralString

import neo4j

from graph import neo4j_cypher as cy
from graph.errors import StoreError
from graph.neo4j_records import LAYOUT

#: the names of the indexes in place (a uniqueness constraint's index has the constraint's name)
_INDEX_NAMES = "SHOW INDEXES YIELD name RETURN collect(name) AS names"
_NAMED = re.compile(r"^CREATE (?:CONSTRAINT|INDEX|FULLTEXT INDEX) (\w+) IF NOT EXISTS ")


def _q(text: str) -> LiteralString:
    return text


def _name(statement: str) -> str | None:
    """The name a schema statement creates, or None when it is not a named ``IF NOT EXISTS`` one."""
    match = _NAMED.match(statement)
    return None if match is None else match.group(1)


def ensure_schema(driver: neo4j.Driver, database: str | None) -> None:
    """Create what queries rely on and migrate the layout; raises ``neo4j`` errors as they come."""
    _drop_outdated_text_index(driver, database)
    present = set(_single(driver, database, _INDEX_NAMES) or [])
    # each schema command costs the server a parse and a schema lookup: send only the missing ones
    for statement in cy.SCHEMA:
        if _name(statement) not in present:
            driver.execute_query(_q(statement), database_=database)
    driver.execute_query(_q(cy.AWAIT_INDEXES), database_=database)
    _ensure_layout(driver, database)


def _single(driver: neo4j.Driver, database: str | None, query: str) -> Any:
    records, _, _ = driver.execute_query(_q(query), database_=database)
    return records[0][0] if records else None


def _ensure_layout(driver: neo4j.Driver, database: str | None) -> None:
    version = _single(driver, database, cy.LAYOUT_GET)
    if version == LAYOUT:
        return
    if isinstance(version, int) and version > LAYOUT:
        raise StoreError(
            f"the database holds Vidya graph layout {version}; this version reads layout {LAYOUT} "
            "(upgrade Vidya, or use another database)"
        )
    if _single(driver, database, cy.ANY_NODE):
        with driver.session(database=database) as session:
            # CALL ... IN TRANSACTIONS needs an auto-commit transaction, hence session.run
            session.run(_q(cy.MIGRATE_NODES_TIMES)).consume()
            session.run(_q(cy.MIGRATE_EDGES_TIMES)).consume()
    driver.execute_query(_q(cy.LAYOUT_SET), version=LAYOUT, database_=database)


def _drop_outdated_text_index(driver: neo4j.Driver, database: str | None) -> None:
    """Drop the full-text index if it was made with another definition (the schema step remakes it)."""
    records, _, _ = driver.execute_query(_q(cy.TEXT_INDEX_SHOW), database_=database)
    for record in records:
        config = {k: record["config"].get(k) for k in cy.TEXT_INDEX_CONFIG}
        if (sorted(record["labels"]), sorted(record["properties"]), config) != (
            sorted(cy.TEXT_INDEX_LABELS), sorted(cy.TEXT_INDEX_PROPERTIES), cy.TEXT_INDEX_CONFIG
        ):
            driver.execute_query(_q(cy.TEXT_INDEX_DROP), database_=database)
