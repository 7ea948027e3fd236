"""The one place Vidya reads its configuration (environment variables ``VIDYA_*``).

    >>> Settings(home=Path("/tmp/v")).graph_config().sqlite_path
    PosixPath('/tmp/v/graph.db')

Lower layers never read the environment: they get plain values from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.factory import GraphConfig


class Settings(BaseSettings):
    """Vidya's settings; each field can be set as ``VIDYA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="VIDYA_", extra="ignore")

    #: the data directory: the SQLite graph, the vector index, caches
    home: Path = Path(".vidya")
    #: ``sqlite`` (embedded, default) or ``neo4j``
    graph_backend: Literal["sqlite", "neo4j"] = "sqlite"
    #: Bolt URI of the Neo4j server, cluster or Aura instance
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str | None = None
    neo4j_password: SecretStr | None = None
    #: the Neo4j database name; the server's default when unset
    neo4j_database: str | None = None

    def graph_config(self) -> GraphConfig:
        password = self.neo4j_password.get_secret_value() if self.neo4j_password else None
        return GraphConfig(
            backend=self.graph_backend,
            sqlite_path=self.home / "graph.db",
            neo4j_uri=self.neo4j_uri,
            neo4j_user=self.neo4j_user,
            neo4j_password=password,
            neo4j_database=self.neo4j_database,
        )
