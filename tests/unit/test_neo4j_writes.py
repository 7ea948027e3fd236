"""The Neo4j batch holds a bounded number of records: small batches run whole (retried by the driver),
larger ones spill into an open transaction, and a transient failure there is a ``StoreRetryable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import neo4j
import pytest
from neo4j.exceptions import ClientError, TransientError

from graph.errors import StoreError, StoreRetryable
from graph.model import Counts
from graph.neo4j_store import Neo4jGraphStore
from graph.neo4j_writes import SPILL_RECORDS
from tests.conftest import Clock, wipe_neo4j
from tests.contract.helpers import dep, services, stats

pytestmark = pytest.mark.neo4j

KEYS = [f"s{i:05}" for i in range(SPILL_RECORDS + 1000)]


@pytest.fixture
def store(neo4j_uri: str, clock: Clock) -> Iterator[Neo4jGraphStore]:
    wipe_neo4j(neo4j_uri)
    opened = Neo4jGraphStore(neo4j_uri, clock=clock)
    opened.ensure_schema()
    try:
        yield opened
    finally:
        opened.close()


def fail_once_at(call: int, original: Callable[..., Any], error: Exception) -> Callable[..., Any]:
    """``original`` that raises ``error`` on its ``call``-th call (counting from 1), and only then."""
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == call:
            raise error
        return original(*args, **kwargs)

    return wrapper


def write_past_the_bound(store: Neo4jGraphStore) -> None:
    with store.batch() as batch:
        for start in range(0, len(KEYS), 1000):
            batch.upsert_nodes(services(*KEYS[start : start + 1000]))
        batch.upsert_edges([dep(KEYS[0], k) for k in KEYS[1:50]])


def test_a_small_batch_records_its_writes_and_the_driver_retries_it_whole(
    store: Neo4jGraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadlock = TransientError("deadlock detected (injected)")
    monkeypatch.setattr(neo4j.ManagedTransaction, "run", fail_once_at(3, neo4j.ManagedTransaction.run, deadlock))
    with store.batch() as batch:
        batch.upsert_nodes(services("a", "b"))
        batch.upsert_edges([dep("a", "b")])
        assert not batch.spilled and len(batch.ops) == 2 and batch.pending == 3
        assert store.get_node("service:a") is None  # nothing is sent before the block ends

    assert batch.stats == stats(created=3)  # counted once, though the driver ran the batch twice
    assert store.counts() == Counts(nodes={"Service": 2}, relationships={"DEPENDS_ON": 1})


def test_a_batch_past_the_bound_spills_and_then_holds_nothing(store: Neo4jGraphStore) -> None:
    with store.batch() as batch:
        for start in range(0, SPILL_RECORDS - 1000, 1000):
            batch.upsert_nodes(services(*KEYS[start : start + 1000]))
        assert not batch.spilled and batch.pending == SPILL_RECORDS - 1000
        batch.upsert_nodes(services(*KEYS[SPILL_RECORDS - 1000 : SPILL_RECORDS]))
        assert batch.spilled and batch.ops == [] and batch.pending == 0
        batch.upsert_nodes(services(*KEYS[SPILL_RECORDS:]))
        batch.upsert_edges([dep(KEYS[0], k) for k in KEYS[1:50]])
        assert batch.ops == [] and batch.pending == 0  # each write ran as it came
        assert store.get_node(f"service:{KEYS[0]}") is None  # not committed yet

    assert batch.stats == stats(created=len(KEYS) + 49)
    assert store.counts() == Counts(nodes={"Service": len(KEYS)}, relationships={"DEPENDS_ON": 49})


def test_a_transient_failure_in_a_spilled_batch_rolls_it_back_and_says_it_may_be_retried(
    store: Neo4jGraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadlock = TransientError("deadlock detected (injected)")
    monkeypatch.setattr(neo4j.Transaction, "run", fail_once_at(5, neo4j.Transaction.run, deadlock))
    with pytest.raises(StoreRetryable, match="rolled back") as raised:
        write_past_the_bound(store)

    assert store.uri in str(raised.value) and "deadlock detected (injected)" in str(raised.value)
    assert store.counts() == Counts(nodes={}, relationships={})
    write_past_the_bound(store)  # running it again succeeds
    assert store.counts() == Counts(nodes={"Service": len(KEYS)}, relationships={"DEPENDS_ON": 49})


def test_a_transient_failure_at_commit_leaves_nothing_and_is_retryable(
    store: Neo4jGraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadlock = TransientError("lock timeout (injected)")
    monkeypatch.setattr(neo4j.Transaction, "commit", fail_once_at(1, neo4j.Transaction.commit, deadlock))
    with pytest.raises(StoreRetryable, match="lock timeout"):
        write_past_the_bound(store)
    assert store.counts() == Counts(nodes={}, relationships={})


def test_a_lasting_error_in_a_spilled_batch_is_a_store_error_naming_the_uri(
    store: Neo4jGraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = ClientError("statement refused (injected)")
    monkeypatch.setattr(neo4j.Transaction, "run", fail_once_at(5, neo4j.Transaction.run, refused))
    with pytest.raises(StoreError, match="rejected a write") as raised:
        write_past_the_bound(store)
    assert not isinstance(raised.value, StoreRetryable) and store.uri in str(raised.value)
    assert store.counts() == Counts(nodes={}, relationships={})


def test_a_spilled_batch_whose_failure_was_caught_writes_nothing_more(
    store: Neo4jGraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadlock = TransientError("deadlock detected (injected)")
    monkeypatch.setattr(neo4j.Transaction, "run", fail_once_at(3, neo4j.Transaction.run, deadlock))
    with pytest.raises(StoreError, match="start a new batch"), store.batch() as batch:
        with pytest.raises(StoreRetryable):
            batch.upsert_nodes(services(*KEYS))
        batch.upsert_nodes(services("late"))
    assert store.counts() == Counts(nodes={}, relationships={})
