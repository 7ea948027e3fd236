"""The Neo4j layout marker: the schema step is idempotent and a database from a newer layout is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import neo4j
import pytest

from graph.errors import StoreError
from graph.factory import GraphConfig, open_store
from graph.model import Node, Provenance
from graph.schema import NodeLabel
from tests.conftest import wipe_neo4j

pytestmark = pytest.mark.neo4j


def test_reopening_keeps_the_data_and_a_newer_layout_is_refused(neo4j_uri: str) -> None:
    wipe_neo4j(neo4j_uri)
    config = GraphConfig(backend="neo4j", neo4j_uri=neo4j_uri)
    at = datetime(2026, 10, 13, 3, 12, tzinfo=UTC)
    prov = Provenance(source="t.yaml", run_id="r", ingested_at=at)
    store = open_store(config)
    store.upsert_nodes([Node("deploy:d1", NodeLabel.DEPLOYMENT, prov, "d1", at=at)])
    before = store.get_node("deploy:d1")
    store.close()

    again = open_store(config)  # the schema step runs again: nothing changes
    assert again.get_node("deploy:d1") == before and before is not None and before.at == at
    assert [e.node.id for e in again.events([NodeLabel.DEPLOYMENT], at, at.replace(hour=4))] == ["deploy:d1"]
    again.close()

    with neo4j.GraphDatabase.driver(neo4j_uri, auth=None) as driver:
        driver.execute_query("MATCH (m:VidyaMeta {name: 'layout'}) SET m.version = 99")
    with pytest.raises(StoreError, match="layout 99"):
        open_store(config)
    wipe_neo4j(neo4j_uri)
