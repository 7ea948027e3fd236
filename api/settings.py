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
    #: URL of a Qdrant server or cluster; unset means Qdrant's local mode under ``home``
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    #: the Qdrant collection that holds section vectors
    qdrant_collection: str = "vidya_sections"
    #: sentence-transformers model: a directory, or the bundled all-MiniLM-L6-v2 when unset
    embedding_model: str | None = None
    #: where computed embeddings are cached by content hash (default ``<home>/embeddings``; may be shared)
    embedding_cache_dir: Path | None = None
    #: threads for embedding: torch's intra-op threads, or how many document batches ONNX Runtime runs at once
    #: (each on one thread; a query always uses one) (default: one per core)
    embedding_threads: int | None = None
    #: how the model runs: ``onnx`` (ONNX Runtime, default: the same vectors as torch to cosine 0.9999997,
    #: several times faster for one query; exported once into ``<embedding cache>/models``) or ``torch``
    #: (sentence-transformers)
    embedding_backend: str = "onnx"
    #: retrieval preset (see ``vidya search --help``)
    retrieval_preset: str = "default"
    #: an OpenAI-compatible endpoint (``…/v1``) that may rewrite `vidya ask` answers from the cited passages;
    #: unset means extractive answers only
    llm_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    #: the remediation policy YAML; the shipped default when unset
    policy_file: Path | None = None
    #: HTTP webhook that executes approved remediation actions; unset means nothing is ever executed
    executor_url: str | None = None
    #: bearer token sent to the executor webhook
    executor_token: SecretStr | None = None
    #: comma-separated names of callers allowed to execute actions (empty: nobody)
    allowed_actors: str = ""

    @property
    def vector_path(self) -> Path:
        """Where Qdrant's local mode keeps its files."""
        return self.home / "qdrant"

    @property
    def embedding_cache(self) -> Path:
        """The content-addressed cache of computed embeddings."""
        return self.embedding_cache_dir or self.home / "embeddings"

    def actors(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.allowed_actors.split(",") if a.strip())

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
