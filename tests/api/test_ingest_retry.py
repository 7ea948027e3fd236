"""A source whose Neo4j batch fails on a transient error is read and written again, up to three times in all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import neo4j
import pytest
from neo4j.exceptions import TransientError

from api.ingestion.pipeline import WRITE_ATTEMPTS, Ingester
from graph.factory import GraphConfig, open_store
from graph.schema import NodeLabel
from graph.store import GraphStore
from tests.api.test_ingest import _copy_estate, _deploys, snapshot
from tests.conftest import wipe_neo4j

pytestmark = pytest.mark.neo4j

BIG = "events/big.jsonl"
FIXED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # retirement times equal in every run


@pytest.fixture
def store(neo4j_uri: str) -> Iterator[GraphStore]:
    wipe_neo4j(neo4j_uri)
    opened = open_store(GraphConfig(backend="neo4j", neo4j_uri=neo4j_uri), clock=lambda: FIXED)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    """The catalog and alerts, and one events file large enough that its batch spills."""
    root = _copy_estate(tmp_path, ["catalog", "alerts"])
    (root / "events").mkdir()
    (root / BIG).write_text(_deploys(3000))  # 3,000 nodes and over 12,000 edges
    return root


def ingest(store: GraphStore, estate: Path) -> tuple[list[dict[str, object]], Any]:
    report = Ingester(store, read_ahead=True).run([estate])  # the big file arrives in parts from the worker
    sources = {n.id: n.props for n in store.find_nodes(NodeLabel.SOURCE)}
    return [{**s.as_json(), "path": s.path} for s in report.sources], (snapshot(store), sources)


def failing(original: Callable[..., Any], calls: list[int], fail: Callable[[int], bool]) -> Callable[..., Any]:
    """``original`` that raises a transient error on the calls ``fail`` picks (``calls`` counts them)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if fail(len(calls)):
            raise TransientError("deadlock detected (injected)")
        return original(*args, **kwargs)

    return wrapper


def test_a_source_whose_batch_failed_on_a_transient_error_is_written_again_as_in_one_clean_run(
    store: GraphStore, estate: Path, neo4j_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = ingest(store, estate)
    assert all(s["status"] == "ingested" for s in clean[0]), clean[0]
    wipe_neo4j(neo4j_uri)

    calls: list[int] = []  # the first spilled batch fails part-way, once it has written some of its parts
    monkeypatch.setattr(neo4j.Transaction, "run", failing(neo4j.Transaction.run, calls, lambda n: n == 12))
    retried = ingest(store, estate)

    assert len(calls) > 12
    assert retried == clean


def test_a_source_that_keeps_failing_fails_alone_after_three_attempts(
    store: GraphStore, estate: Path, neo4j_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = ingest(store, estate)
    wipe_neo4j(neo4j_uri)

    begun: list[int] = []
    monkeypatch.setattr(neo4j.Session, "begin_transaction", failing(neo4j.Session.begin_transaction, begun, lambda n: False))
    monkeypatch.setattr(neo4j.Transaction, "run", failing(neo4j.Transaction.run, [], lambda n: n % 7 == 0))
    lines, (facts, sources) = ingest(store, estate)

    assert len(begun) == WRITE_ATTEMPTS  # only the big file spills, and it is tried three times
    big = next(line for line in lines if line["path"] == BIG)
    assert big["status"] == "failed" and big["nodes"] == big["edges"] == 0
    assert str(big["error"]).startswith(f"not written after {WRITE_ATTEMPTS} attempts: Neo4j at {neo4j_uri} ")
    assert "deadlock detected (injected)" in str(big["error"])
    assert [line for line in lines if line["path"] != BIG] == [line for line in clean[0] if line["path"] != BIG]
    assert f"source:{BIG}" not in sources and not any(str(n[0]).startswith("deploy:") for n in facts[0])

    monkeypatch.undo()  # the store recovers: a second run writes the big file
    again = Ingester(store, read_ahead=True).run([estate])
    assert [s.status for s in again.sources if s.path == BIG] == ["ingested"]
    nodes, edges = snapshot(store)
    clean_nodes, clean_edges = clean[1][0]
    # the same facts; only a placeholder's source differs (the alerts, not the events, met it first this time)
    assert [n[:-1] for n in nodes] == [n[:-1] for n in clean_nodes] and edges == clean_edges
