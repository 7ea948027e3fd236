"""Backend choice happens here, once, from plain configuration values.

    >>> store = open_store(GraphConfig(backend="sqlite", sqlite_path=Path(".vidya/graph.db")))

The API layer builds a :class:`GraphConfig` from its settings; nothing else
asks which backend it runs on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from graph.errors import StoreError
from graph.model import now_utc
from graph.store import GraphStore

Backend = Literal["sqlite", "neo4j"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "neo4j")


@dataclass(frozen=True)
class GraphConfig:
    backend: Backend = "sqlite"
    sqlite_path: Path = Path(".vidya/graph.db")
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str | None = None
    neo4j_password: str | None = None
    neo4j_database: str | None = None


def open_store(
    config: GraphConfig, *, clock: Callable[[], datetime] = now_utc, ensure_schema: bool = True
) -> GraphStore:
    """Open (and by default prepare) the configured graph store."""
    store: GraphStore
    if config.backend == "sqlite":
        from graph.sqlite_store import SqliteGraphStore

        store = SqliteGraphStore(config.sqlite_path, clock=clock)
    elif config.backend == "neo4j":
        from graph.neo4j_store import Neo4jGraphStore

        store = Neo4jGraphStore(
            config.neo4j_uri,
            user=config.neo4j_user,
            password=config.neo4j_password,
            database=config.neo4j_database,
            clock=clock,
        )
    else:
        raise StoreError(f"graph backend {config.backend!r}: expected one of {', '.join(BACKENDS)}")
    if ensure_schema:
        try:
            store.ensure_schema()
        except BaseException:
            store.close()  # a refused or unreachable store leaves no connection behind
            raise
    return store
