"""Session-wide fixtures: a controllable clock and the graph backends.

The ``graph_store`` fixture is parametrised over every backend (ids ``sqlite``
and ``neo4j``). Neo4j is a real server: ``VIDYA_NEO4J_URI`` when set,
otherwise the dev launcher in ``tools/neo4j-dev`` is built and started once
per session. With ``CI=true`` a Neo4j that cannot start fails the run.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from graph.factory import GraphConfig, open_store
from graph.store import GraphStore

# the same examples on every run: a property test found one bug then, not a different one each CI run
settings.register_profile("vidya", derandomize=True, print_blob=True)
settings.load_profile("vidya")

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ["sqlite", "neo4j"]


class Clock:
    """A clock the tests move by hand, so system times are the same on every backend."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))


def _load_launcher() -> ModuleType:
    path = ROOT / "tools" / "neo4j-dev" / "neo4j_dev.py"
    spec = importlib.util.spec_from_file_location("neo4j_dev", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["neo4j_dev"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Bolt URI of a real Neo4j: the given one, or a dev server started for this session."""
    given = os.environ.get("VIDYA_NEO4J_URI")
    if given:
        yield given
        return
    try:
        launcher = _load_launcher()
        launcher.build()
        port = launcher.free_port()
        log = tmp_path_factory.mktemp("neo4j") / "neo4j.log"
        proc = launcher.start(port, None, log)
        launcher.wait_ready(port, proc)
    except Exception as exc:  # the reason goes into the failure or skip message
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Neo4j dev server could not start (CI=true forbids skipping): {exc}")
        pytest.skip(f"Neo4j dev server unavailable: {exc}")
    try:
        yield f"bolt://127.0.0.1:{port}"
    finally:
        launcher.stop(proc)


def wipe_neo4j(uri: str) -> None:
    import neo4j

    # CALL ... IN TRANSACTIONS needs an auto-commit transaction, hence session.run
    with neo4j.GraphDatabase.driver(uri, auth=None) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def graph_config(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> GraphConfig:
    if backend == "neo4j":
        uri = request.getfixturevalue("neo4j_uri")
        wipe_neo4j(uri)
        return GraphConfig(backend="neo4j", neo4j_uri=uri)
    return GraphConfig(backend="sqlite", sqlite_path=tmp_path / "graph.db")


@pytest.fixture
def graph_store(graph_config: GraphConfig, clock: Clock) -> Iterator[GraphStore]:
    store = open_store(graph_config, clock=clock)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One embedding cache for the whole session, CLI subprocesses included: each text is embedded once."""
    fixed = os.environ.get("VIDYA_TEST_EMBEDDING_CACHE")  # a developer's cache that outlives the session
    path = Path(fixed) if fixed else tmp_path_factory.mktemp("embeddings")
    saved = os.environ.get("VIDYA_EMBEDDING_CACHE_DIR")
    os.environ["VIDYA_EMBEDDING_CACHE_DIR"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("VIDYA_EMBEDDING_CACHE_DIR", None)
    else:
        os.environ["VIDYA_EMBEDDING_CACHE_DIR"] = saved
